"""Run, run event, metric, lineage and model registry DTOs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from docledger.schemas.common import OutputModel
from docledger.vocab import EntityType, LineageDirection, LogLevel, ModelStage, RunKind, RunStatus


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


class LineageNode(OutputModel):
    """An entity reached by a lineage walk, with the run that links it and the distance.
    ``via_run_id`` is None where the schema itself links the two (a version and its document,
    an extraction and its version, a segment and its extraction)."""

    entity_type: EntityType
    entity_id: str
    via_run_id: uuid.UUID | None
    depth: int


class LineageEdge(OutputModel):
    run_id: uuid.UUID
    direction: LineageDirection
    entity_type: EntityType
    entity_id: str


class ModelVersion(OutputModel):
    id: uuid.UUID
    workspace_id: uuid.UUID | None
    name: str
    version: int
    run_id: uuid.UUID | None
    artifact_sha256: str | None
    stage: ModelStage
    metrics: dict[str, Any]
    description: str | None
    created_at: datetime
    stage_changed_at: datetime
