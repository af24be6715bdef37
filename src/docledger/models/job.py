"""The durable job queue and its append-only processing history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, IdMixin, TimestampMixin
from docledger.db.checks import at_least, one_of
from docledger.db.types import json_default_dict, utcnow
from docledger.vocab import JobStatus

PRIORITY_MIN = -1000
PRIORITY_MAX = 1000


#: the condition of the status index: finished jobs only
FINISHED_ONLY = "status NOT IN ('queued', 'running')"


class Job(IdMixin, TimestampMixin, Base):
    """One unit of queued work.

    The claim index (below the class) holds only queued jobs and the lease index only running
    ones, so both stay small however many finished jobs the table keeps. Every transition
    rewrites the row and adds an entry to each index whose condition it meets, so the other
    indexes are partial too (migration 0013): the idempotency index holds only keyed jobs, and
    the status index only finished ones (queued and running jobs are listed through the
    claim and lease indexes).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "uq_jobs_queue_idempotency_key",
            "queue",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        one_of("status", JobStatus),
        CheckConstraint(
            f"priority >= {PRIORITY_MIN} AND priority <= {PRIORITY_MAX}", name="priority_range"
        ),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        at_least("attempts", 0),
        at_least("max_attempts", 1),
        Index(
            "ix_jobs_lease",
            "lease_expires_at",
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
        Index(
            "ix_jobs_status_created_at",
            "status",
            "created_at",
            sqlite_where=text(FINISHED_ONLY),
            postgresql_where=text(FINISHED_ONLY),
        ),
        Index(
            "ix_jobs_document_id",
            "document_id",
            sqlite_where=text("document_id IS NOT NULL"),
            postgresql_where=text("document_id IS NOT NULL"),
        ),
        Index(
            "ix_jobs_workspace_id",
            "workspace_id",
            sqlite_where=text("workspace_id IS NOT NULL"),
            postgresql_where=text("workspace_id IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    queue: Mapped[str] = mapped_column(String(100), default="default")
    task: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    priority: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(300))
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE")
    )
    progress: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


#: The claim index, in exactly the claim's order: highest priority first, then oldest (UUIDv7
#: ids grow with time). run_after rides along so due-ness is checked inside the index. Partial
#: on 'queued', so it holds only waiting jobs however many finished ones the table keeps.
Index(
    "ix_jobs_claim",
    Job.queue,
    Job.priority.desc(),
    Job.id,
    Job.run_after,
    sqlite_where=text("status = 'queued'"),
    postgresql_where=text("status = 'queued'"),
)


class JobEvent(IdMixin, Base):
    """A status transition or retry of a job (the seeds' processing_history)."""

    __tablename__ = "job_events"
    __table_args__ = (
        Index("ix_job_events_job_id_at", "job_id", "at"),
        one_of("to_status", JobStatus, nullable=True),
        one_of("from_status", JobStatus, nullable=True),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)
