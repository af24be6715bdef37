"""Metric points stored in chunks; ``metrics`` becomes a view of the same point rows

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23

A row per metric point made logging cost more than the write itself on PostgreSQL: a serial
key, an entry in the (run, key, step) index and a foreign-key check per point. A raw COPY of 1M
points into that table ran at only 11-12x MLflow's ``log_batch``. ``metric_chunks`` holds the
points one call logged for one key as one row: a JSON array of ``[step, value]`` pairs in logged
order, plus the summary columns (step range, last value, min, max) that latest/best queries
read without unpacking. ``metrics`` is now a view with the design's columns (run_id, key, step,
value, at; plus chunk_id and position for ordering), so SQL written against the point table
keeps reading.

Existing points are carried over: consecutive points of one run and key that share a
timestamp (one logging call) become one chunk, so nothing is lost, per-point times included.
"""

from collections.abc import Iterator, Sequence
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from alembic import op

import docledger.db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK_LIMIT = 10_000

_POINTS = {
    "sqlite": (
        "SELECT c.run_id AS run_id, c.key AS key, "
        "CAST(json_extract(p.value, '$[0]') AS INTEGER) AS step, "
        "CAST(json_extract(p.value, '$[1]') AS REAL) AS value, c.at AS at, "
        "c.id AS chunk_id, CAST(p.key AS INTEGER) AS position "
        "FROM metric_chunks c, json_each(c.points) p"
    ),
    "postgresql": (
        "SELECT c.run_id AS run_id, c.key AS key, (p.pair ->> 0)::bigint AS step, "
        "(p.pair ->> 1)::double precision AS value, c.at AS at, c.id AS chunk_id, "
        "(p.ordinality - 1)::integer AS position "
        "FROM metric_chunks c "
        "CROSS JOIN LATERAL jsonb_array_elements(c.points) WITH ORDINALITY AS p(pair, ordinality)"
    ),
}

_old = sa.table(
    "metrics",
    sa.column("id", sa.BigInteger()),
    sa.column("run_id", sa.Uuid()),
    sa.column("key", sa.String()),
    sa.column("step", sa.Integer()),
    sa.column("value", sa.Float()),
    sa.column("at", docledger.db.types.UTCDateTime(timezone=True)),
)


def _id_run_key() -> list[sa.Column[Any]]:
    """The columns the point table and the chunk table begin with."""
    return [
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
    ]


def _create_chunks() -> sa.Table:
    table = op.create_table(
        "metric_chunks",
        *_id_run_key(),
        sa.Column("n_points", sa.Integer(), nullable=False),
        sa.Column("first_step", sa.BigInteger(), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=False),
        sa.Column("max_value", sa.Float(), nullable=False),
        sa.Column("points", docledger.db.types.JSONType, nullable=False),
        sa.Column("at", docledger.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("first_step <= last_step", name=op.f("ck_metric_chunks_step_range")),
        sa.CheckConstraint("n_points > 0", name=op.f("ck_metric_chunks_n_points_positive")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_metric_chunks_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_chunks")),
    )
    with op.batch_alter_table("metric_chunks", schema=None) as batch_op:
        batch_op.create_index("ix_metric_chunks_key", ["key"], unique=False)
        batch_op.create_index("ix_metric_chunks_run_id_key", ["run_id", "key"], unique=False)
    assert table is not None
    return table


def _chunk_rows(points: Iterator[Any]) -> Iterator[dict[str, Any]]:
    """Consecutive points of one run and key logged at one time, at most CHUNK_LIMIT a chunk."""
    for (run_id, key, at), group in groupby(points, key=lambda p: (p.run_id, p.key, p.at)):
        rows = list(group)
        for start in range(0, len(rows), CHUNK_LIMIT):
            part = rows[start : start + CHUNK_LIMIT]
            steps = [p.step for p in part]
            values = [p.value for p in part]
            last_step = max(steps)
            last = len(steps) - 1 - steps[::-1].index(last_step)
            yield {
                "run_id": run_id,
                "key": key,
                "n_points": len(part),
                "first_step": min(steps),
                "last_step": last_step,
                "last_value": values[last],
                "min_value": min(values),
                "max_value": max(values),
                "points": [[s, v] for s, v in zip(steps, values, strict=True)],
                "at": at,
            }


def upgrade() -> None:
    bind = op.get_bind()
    chunks = _create_chunks()
    ordered = sa.select(_old).order_by(_old.c.run_id, _old.c.key, _old.c.id)
    batch: list[dict[str, Any]] = []
    for row in _chunk_rows(iter(bind.execute(ordered))):
        batch.append(row)
        if len(batch) >= 1000:
            bind.execute(sa.insert(chunks), batch)
            batch = []
    if batch:
        bind.execute(sa.insert(chunks), batch)
    with op.batch_alter_table("metrics", schema=None) as batch_op:
        batch_op.drop_index("ix_metrics_run_id_key_step")
    op.drop_table("metrics")
    op.execute(f"CREATE VIEW metrics AS {_POINTS[bind.dialect.name]}")


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("DROP VIEW metrics")
    op.create_table(
        "metrics",
        *_id_run_key(),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("at", docledger.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_metrics_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics")),
    )
    with op.batch_alter_table("metrics", schema=None) as batch_op:
        batch_op.create_index("ix_metrics_run_id_key_step", ["run_id", "key", "step"], unique=False)
    op.execute(
        "INSERT INTO metrics (run_id, key, step, value, at) "
        f"SELECT run_id, key, step, value, at FROM ({_POINTS[bind.dialect.name]}) points "
        "ORDER BY chunk_id, position"
    )
    with op.batch_alter_table("metric_chunks", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_chunks_run_id_key")
        batch_op.drop_index("ix_metric_chunks_key")
    op.drop_table("metric_chunks")
