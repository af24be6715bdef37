"""full-text search over segment text

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

The index lives in an ``fts_segments`` table on both dialects (the migration environment
leaves ``fts_*`` tables out of model comparison), kept in step with ``segments`` by
triggers, so every write path (ORM, executemany, COPY) indexes its rows in the same
transaction. SQLite: an FTS5 external-content table over segments' rowid (BM25 ranking).
PostgreSQL: a tsvector per segment with a GIN index (ts_rank ranking), ``simple`` config so
no language is assumed.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE fts_segments USING fts5(text, content='segments', "
    "content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER fts_segments_ai AFTER INSERT ON segments BEGIN "
    "INSERT INTO fts_segments(rowid, text) VALUES (new.rowid, new.text); END",
    "CREATE TRIGGER fts_segments_ad AFTER DELETE ON segments BEGIN "
    "INSERT INTO fts_segments(fts_segments, rowid, text) VALUES ('delete', old.rowid, old.text); "
    "END",
    "CREATE TRIGGER fts_segments_au AFTER UPDATE OF text ON segments BEGIN "
    "INSERT INTO fts_segments(fts_segments, rowid, text) VALUES ('delete', old.rowid, old.text); "
    "INSERT INTO fts_segments(rowid, text) VALUES (new.rowid, new.text); END",
    "INSERT INTO fts_segments(fts_segments) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS fts_segments_au",
    "DROP TRIGGER IF EXISTS fts_segments_ad",
    "DROP TRIGGER IF EXISTS fts_segments_ai",
    "DROP TABLE IF EXISTS fts_segments",
]
POSTGRES_UP = [
    "CREATE TABLE fts_segments (segment_id uuid PRIMARY KEY REFERENCES segments(id) "
    "ON DELETE CASCADE, tsv tsvector NOT NULL)",
    "CREATE INDEX fts_segments_tsv ON fts_segments USING gin (tsv)",
    """CREATE FUNCTION fts_segments_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO fts_segments (segment_id, tsv)
        VALUES (NEW.id, to_tsvector('simple', coalesce(NEW.text, '')))
        ON CONFLICT (segment_id) DO UPDATE SET tsv = EXCLUDED.tsv;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER fts_segments_sync AFTER INSERT OR UPDATE OF text ON segments "
    "FOR EACH ROW EXECUTE FUNCTION fts_segments_sync()",
    "INSERT INTO fts_segments (segment_id, tsv) "
    "SELECT id, to_tsvector('simple', coalesce(text, '')) FROM segments",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS fts_segments_sync ON segments",
    "DROP FUNCTION IF EXISTS fts_segments_sync()",
    "DROP TABLE IF EXISTS fts_segments",
]


def upgrade() -> None:
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN
    for statement in statements:
        op.execute(statement)
