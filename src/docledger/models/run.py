"""Runs (pipeline, training, evaluation, comparison sessions), their events and metrics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin
from docledger.db.checks import one_of
from docledger.db.types import (
    BigIntPK,
    JSONType,
    json_default_dict,
    json_default_list,
    utcnow,
)
from docledger.vocab import LogLevel, RunKind, RunStatus


class Run(IdMixin, CreatedMixin, Base):
    __tablename__ = "runs"
    __table_args__ = (
        one_of("kind", RunKind),
        one_of("status", RunStatus),
        Index("ix_runs_workspace_id_kind_created_at", "workspace_id", "kind", "created_at"),
        Index("ix_runs_status", "status"),
        Index(
            "ix_runs_parent_run_id",
            "parent_run_id",
            sqlite_where=text("parent_run_id IS NOT NULL"),
            postgresql_where=text("parent_run_id IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="running")
    params: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    tags: Mapped[list[Any]] = mapped_column(default=json_default_list)
    parent_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE")
    )
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class RunEvent(IdMixin, Base):
    __tablename__ = "run_events"
    __table_args__ = (
        one_of("level", LogLevel),
        Index("ix_run_events_run_id_at", "run_id", "at"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(8), default="info")
    event: Mapped[str] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricChunk(Base):
    """The points of one metric key that one call logged for one run, stored as one row.

    A row per point cost more than the write itself on PostgreSQL (a serial key, an index entry
    and a foreign-key check per point: a raw COPY of 1M points into that table ran at only 11-12x
    MLflow's rate). Points are kept in logged order as a JSON array of ``[step, value]`` pairs, so
    SQL can still read them (the ``metrics`` view unnests them into the design's point rows); the
    summary columns answer latest, best and range queries without unpacking a chunk.
    """

    __tablename__ = "metric_chunks"
    __table_args__ = (
        Index("ix_metric_chunks_run_id_key", "run_id", "key"),
        Index("ix_metric_chunks_key", "key"),
        CheckConstraint("n_points > 0", name="n_points_positive"),
        CheckConstraint("first_step <= last_step", name="step_range"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(250))
    n_points: Mapped[int]
    first_step: Mapped[int] = mapped_column(BigInteger)
    last_step: Mapped[int] = mapped_column(BigInteger)
    #: the value logged last at ``last_step``: what "latest" means when a step repeats
    last_value: Mapped[float] = mapped_column(Float)
    min_value: Mapped[float] = mapped_column(Float)
    max_value: Mapped[float] = mapped_column(Float)
    points: Mapped[list[Any]] = mapped_column(JSONType)
    at: Mapped[datetime] = mapped_column(default=utcnow)
