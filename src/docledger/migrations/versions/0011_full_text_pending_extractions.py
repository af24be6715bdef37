"""Full-text indexing deferred on both dialects, tracked per extraction

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23

Measured on 250-segment extractions: indexing full text inside the write transaction was the
largest single cost of recording segments -- on PostgreSQL 27 us a row (tsvector, GIN entry,
foreign-key check: more than the COPY of the row itself), on SQLite 6 us a row at catch-up
plus 4 us for the per-row trigger that queued each rowid. Writes now only note their
extraction in ``fts_pending`` (one row per extraction, written by ``extractions.record``, no
per-row trigger), and ``docledger.db.dialect.full_text_catch_up`` indexes every pending
extraction in one statement: before every full-text query (so a query always sees every
committed segment), at the end of an extraction run, and on demand. Updates of a segment's
text are rare and stay row-level. On SQLite, whether a row is in the FTS5 index is read from
FTS5's own ``fts_segments_docsize`` (one row per indexed rowid), never inferred: the delete and
update triggers remove only rows that are indexed (an external-content delete of a row that
was never indexed corrupts the index), an edited row is queued again, and the catch-up skips
rows already indexed. So segments written by any other path (raw SQL, the ORM) can never
corrupt the index; they are indexed once their extraction is pending.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXED = "EXISTS (SELECT 1 FROM fts_segments_docsize WHERE id = old.rowid)"

SQLITE_UP = [
    # index what 0009 left pending, then switch to pending extractions
    "INSERT INTO fts_segments (rowid, text) SELECT s.rowid, s.text FROM segments s "
    "JOIN fts_pending p ON p.rowid = s.rowid",
    "DROP TRIGGER fts_segments_ai",
    "DROP TRIGGER fts_segments_ad",
    "DROP TRIGGER fts_segments_au",
    "DROP TABLE fts_pending",
    "CREATE TABLE fts_pending (extraction_id CHAR(32) NOT NULL PRIMARY KEY) WITHOUT ROWID",
    "CREATE TRIGGER fts_segments_ad AFTER DELETE ON segments BEGIN "
    "INSERT INTO fts_segments (fts_segments, rowid, text) "
    f"SELECT 'delete', old.rowid, old.text WHERE {_INDEXED}; END",
    "CREATE TRIGGER fts_segments_au AFTER UPDATE OF text ON segments BEGIN "
    "INSERT INTO fts_segments (fts_segments, rowid, text) "
    f"SELECT 'delete', old.rowid, old.text WHERE {_INDEXED}; "
    "INSERT OR IGNORE INTO fts_pending (extraction_id) VALUES (new.extraction_id); END",
]
SQLITE_DOWN = [
    "INSERT INTO fts_segments (rowid, text) SELECT s.rowid, s.text FROM segments s "
    "JOIN fts_pending p ON p.extraction_id = s.extraction_id "
    "WHERE NOT EXISTS (SELECT 1 FROM fts_segments_docsize d WHERE d.id = s.rowid)",
    "DROP TRIGGER fts_segments_ad",
    "DROP TRIGGER fts_segments_au",
    "DROP TABLE fts_pending",
    # 0009's shape
    "CREATE TABLE fts_pending (rowid INTEGER PRIMARY KEY)",
    "CREATE TRIGGER fts_segments_ai AFTER INSERT ON segments BEGIN "
    "INSERT INTO fts_pending (rowid) VALUES (new.rowid); END",
    "CREATE TRIGGER fts_segments_ad AFTER DELETE ON segments BEGIN "
    "INSERT INTO fts_segments (fts_segments, rowid, text) "
    "SELECT 'delete', old.rowid, old.text "
    "WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE rowid = old.rowid); "
    "DELETE FROM fts_pending WHERE rowid = old.rowid; END",
    "CREATE TRIGGER fts_segments_au AFTER UPDATE OF text ON segments BEGIN "
    "INSERT INTO fts_segments (fts_segments, rowid, text) "
    "SELECT 'delete', old.rowid, old.text "
    "WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE rowid = old.rowid); "
    "INSERT OR IGNORE INTO fts_pending (rowid) VALUES (new.rowid); END",
]
POSTGRES_UP = [
    "DROP TRIGGER IF EXISTS fts_segments_added ON segments",
    "DROP FUNCTION IF EXISTS fts_segments_added()",
    "CREATE TABLE fts_pending (extraction_id uuid PRIMARY KEY)",
]
POSTGRES_DOWN = [
    "INSERT INTO fts_segments (segment_id, tsv) "
    "SELECT s.id, to_tsvector('simple', coalesce(s.text, '')) FROM segments s "
    "JOIN fts_pending p ON p.extraction_id = s.extraction_id "
    "ON CONFLICT (segment_id) DO NOTHING",
    "DROP TABLE fts_pending",
    # 0010's shape
    """CREATE FUNCTION fts_segments_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO fts_segments (segment_id, tsv)
        SELECT id, to_tsvector('simple', coalesce(text, '')) FROM added;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER fts_segments_added AFTER INSERT ON segments "
    "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION fts_segments_added()",
]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_UP if sqlite else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_DOWN if sqlite else POSTGRES_DOWN:
        op.execute(statement)
