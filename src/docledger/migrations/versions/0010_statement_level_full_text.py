"""PostgreSQL: full-text rows for new segments written once per statement

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22

The row-level trigger of 0006 ran a PL/pgSQL function per inserted segment. A statement-level
trigger over the transition table of new rows indexes a whole COPY or multi-row INSERT with one
``INSERT ... SELECT``; updates of a segment's text (rare) keep a row-level trigger, because
PostgreSQL allows no transition table on a trigger with a column list. SQLite is unchanged.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRES_UP = [
    "DROP TRIGGER IF EXISTS fts_segments_sync ON segments",
    """CREATE FUNCTION fts_segments_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO fts_segments (segment_id, tsv)
        SELECT id, to_tsvector('simple', coalesce(text, '')) FROM added;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER fts_segments_added AFTER INSERT ON segments "
    "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION fts_segments_added()",
    "CREATE TRIGGER fts_segments_sync AFTER UPDATE OF text ON segments "
    "FOR EACH ROW EXECUTE FUNCTION fts_segments_sync()",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS fts_segments_added ON segments",
    "DROP FUNCTION IF EXISTS fts_segments_added()",
    "DROP TRIGGER IF EXISTS fts_segments_sync ON segments",
    "CREATE TRIGGER fts_segments_sync AFTER INSERT OR UPDATE OF text ON segments "
    "FOR EACH ROW EXECUTE FUNCTION fts_segments_sync()",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_DOWN:
            op.execute(statement)
