"""Run, run event and metric DTOs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from docledger.schemas.common import OutputModel
from docledger.vocab import LogLevel, RunKind, RunStatus


class Run(OutputModel):
    id: uuid.UUID
    workspace_id: uuid.UUID | None
    kind: RunKind
    name: str
    status: RunStatus
    params: dict[str, Any]
    tags: list[Any]
    parent_run_id: uuid.UUID | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime


class RunEvent(OutputModel):
    id: uuid.UUID
    run_id: uuid.UUID
    level: LogLevel
    event: str
    message: str | None
    data: dict[str, Any]
    at: datetime


class MetricPoint(OutputModel):
    run_id: uuid.UUID
    key: str
    step: int
    value: float
    at: datetime
