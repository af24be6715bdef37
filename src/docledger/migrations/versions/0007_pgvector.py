"""pgvector copies and HNSW indexes, where the server has the extension

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

PostgreSQL only, and only when ``vector`` is in ``pg_available_extensions`` and this role may
create it; everywhere else nothing changes and vector search stays on the exact path. The
``vec_embeddings`` table is outside the models (the migration environment skips ``vec_*``
tables). See ``docledger.db.vector_index``. A server that gains pgvector later is brought in
with ``docledger db pgvector``.
"""

from collections.abc import Sequence

from alembic import op

from docledger.db import vector_index

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    vector_index.enable(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        vector_index.disable(op.get_bind())
