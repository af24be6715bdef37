"""SQLite: full-text indexing deferred to a catch-up over pending rows

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22

FTS5 writes a new index segment at every commit, and its cost grows with the distinct words
of the commit, not its rows: indexing segments row by row in each extraction's transaction
made segment inserts 3-4x slower than the table alone, while indexing 50,000 pending rows
in one statement costs about 3 microseconds a row (measured; see bench/content.py). So an
insert only records its rowid in ``fts_pending`` (a trigger, so every write path is covered),
and ``docledger.db.dialect.full_text_catch_up`` indexes the pending rows in one statement:
before every full-text query, at the end of an extraction run, and whenever the backlog
passes a threshold. Deleting or changing a still-pending row only touches ``fts_pending``
(FTS5 external-content deletes must never name a row that was not indexed). PostgreSQL is
unchanged.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXED = "NOT EXISTS (SELECT 1 FROM fts_pending WHERE rowid = old.rowid)"

SQLITE_UP = [
    "CREATE TABLE fts_pending (rowid INTEGER PRIMARY KEY)",
    "DROP TRIGGER fts_segments_ai",
    "DROP TRIGGER fts_segments_ad",
    "DROP TRIGGER fts_segments_au",
    "CREATE TRIGGER fts_segments_ai AFTER INSERT ON segments BEGIN "
    "INSERT INTO fts_pending (rowid) VALUES (new.rowid); END",
    "CREATE TRIGGER fts_segments_ad AFTER DELETE ON segments BEGIN "
    "INSERT INTO fts_segments (fts_segments, rowid, text) "
    f"SELECT 'delete', old.rowid, old.text WHERE {_INDEXED}; "
    "DELETE FROM fts_pending WHERE rowid = old.rowid; END",
    "CREATE TRIGGER fts_segments_au AFTER UPDATE OF text ON segments BEGIN "
    "INSERT INTO fts_segments (fts_segments, rowid, text) "
    f"SELECT 'delete', old.rowid, old.text WHERE {_INDEXED}; "
    "INSERT OR IGNORE INTO fts_pending (rowid) VALUES (new.rowid); END",
]
SQLITE_DOWN = [
    # index what is pending, then go back to indexing row by row
    "INSERT INTO fts_segments (rowid, text) SELECT s.rowid, s.text FROM segments s "
    "JOIN fts_pending p ON p.rowid = s.rowid",
    "DROP TRIGGER fts_segments_ai",
    "DROP TRIGGER fts_segments_ad",
    "DROP TRIGGER fts_segments_au",
    "DROP TABLE fts_pending",
    "CREATE TRIGGER fts_segments_ai AFTER INSERT ON segments BEGIN "
    "INSERT INTO fts_segments(rowid, text) VALUES (new.rowid, new.text); END",
    "CREATE TRIGGER fts_segments_ad AFTER DELETE ON segments BEGIN "
    "INSERT INTO fts_segments(fts_segments, rowid, text) VALUES ('delete', old.rowid, old.text); "
    "END",
    "CREATE TRIGGER fts_segments_au AFTER UPDATE OF text ON segments BEGIN "
    "INSERT INTO fts_segments(fts_segments, rowid, text) VALUES ('delete', old.rowid, old.text); "
    "INSERT INTO fts_segments(rowid, text) VALUES (new.rowid, new.text); END",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
