"""deletes of embeddings move their space's change counter

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

The exact search path keeps each space's vectors, and the segment columns it filters on, in
memory, and trusts them while ``embedding_spaces.change_counter`` is unchanged. Upserts move
the counter in the repository; deletes happen by cascade (a document, version, extraction or
segment removed), outside any repository, so a trigger moves it. SQLite: per row. PostgreSQL:
once per statement over the deleted rows (a transition table), which is what a cascade of
thousands of rows needs.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "CREATE TRIGGER embeddings_moved_ad AFTER DELETE ON embeddings BEGIN "
    "UPDATE embedding_spaces SET change_counter = change_counter + 1 WHERE id = old.space_id; "
    "END",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS embeddings_moved_ad"]
POSTGRES_UP = [
    """CREATE FUNCTION embeddings_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE embedding_spaces SET change_counter = change_counter + 1
        WHERE id IN (SELECT DISTINCT space_id FROM gone);
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER embeddings_moved AFTER DELETE ON embeddings "
    "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION embeddings_moved()",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS embeddings_moved ON embeddings",
    "DROP FUNCTION IF EXISTS embeddings_moved()",
]


def upgrade() -> None:
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN
    for statement in statements:
        op.execute(statement)
