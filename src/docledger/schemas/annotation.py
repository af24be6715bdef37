"""Annotation DTOs and the per-kind value schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from docledger.schemas.common import OutputModel
from docledger.vocab import AnnotationAction, AnnotationKind, AnnotationStatus, AnnotationTarget


class _Value(BaseModel):
    """Required fields per kind; other keys (notes, tool metadata) are kept as they come."""

    model_config = ConfigDict(extra="allow")


class LabelValue(_Value):
    label: str = Field(min_length=1)


class ClassificationValue(_Value):
    label: str = Field(min_length=1)
    score: float | None = Field(default=None, ge=0, le=1)


class CorrectionValue(_Value):
    """The OCR platform's user_corrections: what was read, what it should be, and the
    confidence before and after."""

    original: str | None = None
    corrected: str
    confidence_before: float | None = Field(default=None, ge=0, le=1)
    confidence_after: float | None = Field(default=None, ge=0, le=1)


class BBoxValue(_Value):
    x0: float
    y0: float
    x1: float
    y1: float
    unit: str = "pt"
    label: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> BBoxValue:
        if self.x0 > self.x1 or self.y0 > self.y1:
            raise ValueError("bbox needs x0 <= x1 and y0 <= y1")
        return self


class SpanValue(_Value):
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    label: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> SpanValue:
        if self.start > self.end:
            raise ValueError("span needs start <= end")
        return self


class ReviewValue(_Value):
    verdict: str = Field(min_length=1)
    comment: str | None = None


VALUE_SCHEMAS: dict[str, type[_Value]] = {
    "label": LabelValue,
    "classification": ClassificationValue,
    "correction": CorrectionValue,
    "bbox": BBoxValue,
    "span": SpanValue,
    "review": ReviewValue,
}


class Annotation(OutputModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    target_type: AnnotationTarget
    document_id: uuid.UUID
    version_id: uuid.UUID | None
    segment_id: uuid.UUID | None
    kind: AnnotationKind
    value: dict[str, Any]
    status: AnnotationStatus
    author_id: uuid.UUID | None
    revision: int
    created_at: datetime
    updated_at: datetime


class AnnotationEvent(OutputModel):
    id: uuid.UUID
    annotation_id: uuid.UUID
    action: AnnotationAction
    revision: int
    actor_id: uuid.UUID | None
    actor: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime
