"""Job queue DTOs."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from docledger.models.job import PRIORITY_MAX, PRIORITY_MIN
from docledger.schemas.common import InputModel, OutputModel
from docledger.vocab import JobStatus


class JobCreate(InputModel):
    task: str = Field(min_length=1, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict)
    queue: str = Field(default="default", min_length=1, max_length=100)
    priority: int = Field(default=0, ge=PRIORITY_MIN, le=PRIORITY_MAX)
    run_after: datetime | None = None
    max_attempts: int = Field(default=3, ge=1, le=1000)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=300)
    document_id: uuid.UUID | None = None
    workspace_id: uuid.UUID | None = None

    @field_validator("payload", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        """Payloads are stored as JSON: refuse what JSON cannot hold, before anything is written."""
        if not isinstance(value, dict):
            raise ValueError("payload must be a JSON object (a dict)")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"payload is not JSON-serialisable: {exc}") from exc
        return value

    @field_validator("run_after")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("run_after must be timezone-aware")
        return value


class Job(OutputModel):
    id: uuid.UUID
    workspace_id: uuid.UUID | None
    queue: str
    task: str
    payload: dict[str, Any]
    status: JobStatus
    priority: int
    attempts: int
    max_attempts: int
    run_after: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    idempotency_key: str | None
    document_id: uuid.UUID | None
    progress: int
    result: dict[str, Any] | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobEvent(OutputModel):
    id: uuid.UUID
    job_id: uuid.UUID
    event: str
    from_status: JobStatus | None
    to_status: JobStatus | None
    attempt: int
    worker: str | None
    details: dict[str, Any]
    error: str | None
    duration_ms: int | None
    at: datetime


class JobDetail(Job):
    events: list[JobEvent]


class QueueStats(OutputModel):
    queue: str
    counts: dict[str, int]
    oldest_queued_age_s: float | None
    succeeded_last_minute: int


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job leased to a worker: what the task receives as ``ctx.job``. A plain dataclass
    rather than a pydantic model: claims are the queue's hot path and the values come
    straight from the database."""

    id: uuid.UUID
    task: str
    queue: str
    payload: dict[str, Any]
    priority: int
    attempt: int
    max_attempts: int
    document_id: uuid.UUID | None
    workspace_id: uuid.UUID | None
