"""what the vector files beside an SQLite database read to catch up with the database

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27

The embedded default keeps each embedding space's vectors, filter columns and ANN index in
files beside the database (``docledger.services.vector_files``); the database stays the source
of truth. To catch up without rescanning a space:

- ``embeddings.seq``: the space's ``change_counter`` of the write that last stored the row's
  vector, so "what changed since counter C" is one range over the new
  ``(space_id, seq)`` index (which replaces the index on ``space_id`` alone);
- ``embedding_spaces.removal_counter``: moves when vectors are removed or replaced (deletes by
  trigger, replacements and loads in the repositories). Only then do the files compare the whole
  space's ids with the database's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGER = (
    "CREATE TRIGGER embeddings_moved_ad AFTER DELETE ON embeddings BEGIN "
    "UPDATE embedding_spaces SET change_counter = change_counter + 1{also} "
    "WHERE id = old.space_id; END"
)
POSTGRES_FUNCTION = """CREATE OR REPLACE FUNCTION embeddings_moved() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE embedding_spaces SET change_counter = change_counter + 1{also}
        WHERE id IN (SELECT DISTINCT space_id FROM gone);
        RETURN NULL;
    END $$"""
ALSO = ", removal_counter = removal_counter + 1"


def _trigger(also: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS embeddings_moved_ad")
        op.execute(SQLITE_TRIGGER.format(also=also))
    else:
        op.execute(POSTGRES_FUNCTION.format(also=also))


def upgrade() -> None:
    # plain ADD COLUMN with a constant default: no table rebuild on either dialect
    op.add_column(
        "embeddings", sa.Column("seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "embedding_spaces",
        sa.Column("removal_counter", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_index("ix_embeddings_space_id_seq", "embeddings", ["space_id", "seq"])
    op.drop_index("ix_embeddings_space_id", table_name="embeddings")
    _trigger(ALSO)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # the table rebuild below cannot rename a table a trigger names
        op.execute("DROP TRIGGER IF EXISTS embeddings_moved_ad")
    else:
        _trigger("")
    op.create_index("ix_embeddings_space_id", "embeddings", ["space_id"])
    op.drop_index("ix_embeddings_space_id_seq", table_name="embeddings")
    with op.batch_alter_table("embedding_spaces") as batch:
        batch.drop_column("removal_counter")
    with op.batch_alter_table("embeddings") as batch:
        batch.drop_column("seq")
    if sqlite:
        _trigger("")
