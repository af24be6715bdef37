"""What an extraction's rows are made of: the segment columns, the params hash, validation,
and the box matching that links a re-extraction's segments to their predecessors."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import aliased

from docledger.db.bounds import check_json
from docledger.errors import InvalidInput
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Extraction as ExtractionRow
from docledger.models import Segment as SegmentRow
from docledger.schemas.common import validate_dicts
from docledger.schemas.extraction import (
    SegmentFields,
    SegmentIn,
    check_boxes,
)

SEGMENTS: Table = SegmentRow.__table__  # type: ignore[assignment]
EXTRACTIONS: Table = ExtractionRow.__table__  # type: ignore[assignment]
SEGMENT_COLUMNS = (
    "id",
    "workspace_id",
    "extraction_id",
    "version_id",
    "ordinal",
    "kind",
    "label",
    "page_number",
    "bbox",
    "text",
    "content_hash",
    "confidence",
    "parent_id",
    "predecessor_id",
    "metadata",
    "created_at",
)
#: Boxes overlapping at least this much (intersection over union) are "the same zone".
IOU_MATCH = 0.5


def params_hash(params: Mapping[str, Any]) -> str:
    try:
        canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"extraction params must be JSON: {exc}") from exc
    return hashlib.sha256(canonical.encode()).hexdigest()


def iou(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    if a.get("unit") != b.get("unit"):
        return 0.0
    ix = max(0.0, min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]))
    iy = max(0.0, min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]))
    inter = ix * iy
    union = (
        (a["x1"] - a["x0"]) * (a["y1"] - a["y0"])
        + (b["x1"] - b["x0"]) * (b["y1"] - b["y0"])
        - inter
    )
    return inter / union if union > 0 else 0.0


def match_by_box(
    items: Sequence[SegmentFields],
    by_place: dict[tuple[str, int | None], list[tuple[uuid.UUID, dict[str, Any]]]],
    found: dict[int, uuid.UUID],
    used: set[uuid.UUID],
) -> None:
    """Second pass: an unmatched segment takes the unused old segment of the same kind on the
    same page whose box overlaps it most (IoU >= IOU_MATCH)."""
    for index, item in enumerate(items):
        box = item.get("bbox")
        if index in found or box is None:
            continue
        best, best_iou = None, IOU_MATCH
        # Only boxes of the same kind on the same page are compared (not every pair).
        for sid, bbox in by_place.get((item["kind"], item.get("page_number")), []):
            if sid in used:
                continue
            score = iou(box, bbox)
            if score >= best_iou:
                best, best_iou = sid, score
        if best is not None:
            found[index] = best
            used.add(best)


def segment_digest(segment: SegmentFields) -> str | None:
    """The given content hash, else the SHA-256 of the text (None without either)."""
    given, text_ = segment.get("content_hash"), segment.get("text")
    if given is not None:
        return given
    return None if text_ is None else hashlib.sha256(text_.encode()).hexdigest()


@functools.cache
def lookup_statement() -> Any:
    """record()'s one look-up: the version's tenant, the extraction already recorded under
    the same (version, extractor, extractor version, params hash) key, and the newest
    extraction of the same document by the same extractor (whose segments the new ones may
    succeed)."""
    same_run = (
        select(ExtractionRow.id)
        .where(
            ExtractionRow.version_id == VersionRow.id,
            ExtractionRow.extractor == bindparam("ex"),
            ExtractionRow.extractor_version == bindparam("ev"),
            ExtractionRow.params_hash == bindparam("ph"),
        )
        .scalar_subquery()
    )
    sibling = aliased(VersionRow)
    previous = (
        select(ExtractionRow.id)
        .join(sibling, sibling.id == ExtractionRow.version_id)
        .where(
            sibling.document_id == VersionRow.document_id,
            ExtractionRow.extractor == bindparam("ex"),
        )
        .order_by(ExtractionRow.created_at.desc(), ExtractionRow.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return select(
        VersionRow.workspace_id, same_run.label("existing"), previous.label("previous")
    ).where(VersionRow.id == bindparam("v", type_=VersionRow.id.type))


def validated_segments(segments: Iterable[SegmentIn | Mapping[str, Any]]) -> list[SegmentFields]:
    """Segments as validated plain dicts, in one pydantic-core pass; SegmentIn objects (what
    the built-in extractors produce) are already valid and only become dicts."""
    given = list(segments)
    raw = [s.model_dump(exclude_unset=True) if isinstance(s, SegmentIn) else s for s in given]
    items: list[SegmentFields] = validate_dicts(SegmentFields, raw, "segment")
    check_boxes(items)
    for index, item in enumerate(items):
        parent, box = item.get("parent"), item.get("bbox")
        if parent is not None and parent >= index:
            raise InvalidInput(f"segment {index}: its parent must come before it")
        # the bulk path hands values to the driver as they are: the column checks of
        # docledger.db.bounds are made here instead
        for name in ("text", "label"):
            value = item.get(name)
            if isinstance(value, str) and "\x00" in value:
                raise InvalidInput(f"segment {index}: {name} contains a NUL character")
        if item.get("metadata"):
            check_json(item["metadata"], f"segment {index} metadata")
        if box is not None and "unit" not in box:
            box["unit"] = "pt"  # stored spelled out, and compared by unit when matching
    return items


def extraction_row(
    extraction_id: uuid.UUID,
    workspace_id: uuid.UUID,
    version_id: uuid.UUID,
    run: tuple[str, str, Mapping[str, Any] | None, str],
    stats: dict[str, Any],
    error: str | None,
    now: Any,
) -> dict[str, Any]:
    """An extraction row: succeeded without an error, failed with one."""
    extractor, extractor_version, params, digest = run
    return {
        "id": extraction_id,
        "workspace_id": workspace_id,
        "version_id": version_id,
        "extractor": extractor,
        "extractor_version": extractor_version,
        "params": dict(params or {}),
        "params_hash": digest,
        "status": "failed" if error is not None else "succeeded",
        "stats": stats,
        "error": error,
        "started_at": now,
        "finished_at": now,
        "created_at": now,
    }
