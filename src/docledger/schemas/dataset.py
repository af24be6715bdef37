"""Dataset DTOs: a frozen, hashed version of approved annotations and its items."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from docledger.schemas.common import OutputModel
from docledger.vocab import AnnotationKind, AnnotationTarget


class Dataset(OutputModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    version: int
    content_hash: str
    filter: dict[str, Any]
    item_count: int
    created_at: datetime


class DatasetItem(OutputModel):
    ordinal: int
    annotation_id: uuid.UUID | None
    annotation_revision: int
    target_type: AnnotationTarget
    target_id: uuid.UUID
    kind: AnnotationKind
    value: dict[str, Any]
