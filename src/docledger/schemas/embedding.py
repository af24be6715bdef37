"""Embedding space and search result DTOs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

from docledger.schemas.common import OutputModel, from_json_text
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
    #: The box to draw the citation with (page-relative, top-left origin; see BBox).
    bbox: Annotated[dict[str, Any] | None, BeforeValidator(from_json_text)] = None
    #: The SHA-256 of the version's bytes: the exact file the citation points into.
    sha256: str | None = None
    extraction_id: uuid.UUID | None = None
    meta: dict[str, Any] = {}
