"""Embedding space and search result DTOs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from docledger.schemas.common import OutputModel
from docledger.vocab import EmbeddingMetric


class EmbeddingSpace(OutputModel):
    id: uuid.UUID
    name: str
    model: str
    dimensions: int
    metric: EmbeddingMetric
    change_counter: int
    created_at: datetime


class SearchHit(OutputModel):
    segment_id: uuid.UUID
    score: float
    document_id: uuid.UUID
    external_key: str
    version_id: uuid.UUID
    page_number: int | None
    kind: str
    label: str | None
    text: str | None
    meta: dict[str, Any] = {}
