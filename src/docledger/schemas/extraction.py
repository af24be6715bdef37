"""Extraction and segment DTOs, with the one bbox convention."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Annotated, Any, NotRequired, Required

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict

from docledger.errors import InvalidInput
from docledger.schemas.common import InputModel, OutputModel, from_json_text
from docledger.vocab import BBoxUnit, ExtractionStatus, SegmentKind


class BBox(InputModel):
    """docledger's one box convention: page-relative, origin at the TOP-LEFT corner, y growing
    downwards, in the stated unit (``pt`` = 1/72 inch, ``px``, ``fraction`` or ``percent`` of
    the page). Converters to and from other tools' conventions live in ``docledger.bbox``."""

    x0: float
    y0: float
    x1: float
    y1: float
    unit: BBoxUnit = "pt"

    @model_validator(mode="after")
    def _ordered(self) -> BBox:
        if self.x0 > self.x1 or self.y0 > self.y1:
            raise ValueError("bbox needs x0 <= x1 and y0 <= y1")
        outside = min(self.x0, self.y0) < 0 or max(self.x1, self.y1) > 1
        if self.unit == "fraction" and outside:
            raise ValueError("a fraction bbox lies within 0..1")
        return self


class SegmentIn(InputModel):
    """One segment to record. ``parent`` is the index (in the same list) of its parent."""

    kind: SegmentKind
    label: str | None = Field(default=None, max_length=200)
    page_number: int | None = Field(default=None, ge=1, le=2**31 - 1)
    bbox: BBox | None = None
    text: str | None = None
    content_hash: str | None = Field(default=None, min_length=64, max_length=64)
    confidence: float | None = Field(default=None, ge=0, le=1)
    parent: int | None = Field(default=None, ge=0)
    metadata: dict[str, Any] = Field(default_factory=dict)

    def digest(self) -> str | None:
        """The given content hash, or the SHA-256 of the text (None without either)."""
        if self.content_hash is not None:
            return self.content_hash
        if self.text is None:
            return None
        return hashlib.sha256(self.text.encode()).hexdigest()


@with_config(ConfigDict(extra="forbid"))
class BBoxFields(TypedDict):
    """A BBox as a plain dict (``SegmentFields``); its order is checked by ``check_boxes``."""

    x0: Annotated[float, Field(allow_inf_nan=False)]
    y0: Annotated[float, Field(allow_inf_nan=False)]
    x1: Annotated[float, Field(allow_inf_nan=False)]
    y1: Annotated[float, Field(allow_inf_nan=False)]
    unit: NotRequired[BBoxUnit]


@with_config(ConfigDict(extra="forbid"))
class SegmentFields(TypedDict, total=False):
    """``SegmentIn`` as a plain dict: what ``extractions.record`` validates its input into.
    One pydantic-core pass over a list of these is about three times faster than building
    models, and a 250-segment record spent more time validating than inserting. The fields
    and limits are SegmentIn's (a test keeps them equal); text is kept exactly as given."""

    kind: Required[SegmentKind]
    label: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)]
    page_number: Annotated[int | None, Field(ge=1, le=2**31 - 1)]
    bbox: BBoxFields | None
    text: str | None
    content_hash: Annotated[str | None, Field(min_length=64, max_length=64)]
    confidence: Annotated[float | None, Field(ge=0, le=1)]
    parent: Annotated[int | None, Field(ge=0)]
    metadata: dict[str, Any]


def check_boxes(items: list[SegmentFields]) -> None:
    """BBox's own rules for a validated batch: ordered corners, fractions within 0..1."""
    for index, item in enumerate(items):
        box = item.get("bbox")
        if box is None:
            continue
        if box["x0"] > box["x1"] or box["y0"] > box["y1"]:
            raise InvalidInput(f"segment {index}: bbox needs x0 <= x1 and y0 <= y1")
        if box.get("unit") == "fraction" and (
            min(box["x0"], box["y0"]) < 0 or max(box["x1"], box["y1"]) > 1
        ):
            raise InvalidInput(f"segment {index}: a fraction bbox lies within 0..1")


def box_json(box: BBoxFields) -> str:
    """A validated box as stored (unit spelled out; finite floats, so repr is valid JSON)."""
    unit = box.get("unit", "pt")
    return (
        f'{{"x0":{box["x0"]!r},"y0":{box["y0"]!r},"x1":{box["x1"]!r},'
        f'"y1":{box["y1"]!r},"unit":"{unit}"}}'
    )


class Extraction(OutputModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    version_id: uuid.UUID
    extractor: str
    extractor_version: str
    params: dict[str, Any]
    params_hash: str
    status: ExtractionStatus
    stats: dict[str, Any]
    error: str | None = None
    created_at: datetime


class Segment(OutputModel):
    id: uuid.UUID
    extraction_id: uuid.UUID
    version_id: uuid.UUID
    ordinal: int
    kind: SegmentKind
    label: str | None
    page_number: int | None
    bbox: Annotated[dict[str, Any] | None, BeforeValidator(from_json_text)]
    text: str | None
    content_hash: str | None
    confidence: float | None
    parent_id: uuid.UUID | None
    predecessor_id: uuid.UUID | None
    meta: Annotated[dict[str, Any], BeforeValidator(from_json_text)]


class RecordResult(OutputModel):
    """What ``extractions.record`` did: ``created`` is False when the same run was recorded
    before (nothing was written)."""

    extraction: Extraction
    created: bool
    segments: int
    linked_to_predecessors: int
