"""The model registry's DTO: one registered version of a model."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from docledger.schemas.common import OutputModel
from docledger.vocab import ModelStage


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
