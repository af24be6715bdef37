"""Reading a Label Studio export back: each labelled rectangle becomes an annotation on the
segment it came from (its region id is the segment id, as docledger exports them), plus a box
annotation when a reviewer moved it, converted back into the segment's own unit; a rectangle
drawn in Label Studio becomes a box annotation on the page's version."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from docledger.errors import NotFound
from docledger.formats.base import PageFailure, percent_box
from docledger.formats.labelstudio import Region
from docledger.models import Annotation as AnnotationRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.annotation import AnnotationRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository
from docledger.schemas.export import LabelStudioImport
from docledger.schemas.extraction import BBox
from docledger.services.export_records import page_sizes


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def _moved_box(record: dict[str, Any], original: BBox, region: Region) -> dict[str, Any] | None:
    """The region's box in the segment's own unit, or None when it was not moved (or its
    page has no size to place it on)."""
    try:
        pct = percent_box(record, original)
    except PageFailure:  # no page size: the label is kept, a moved box cannot be placed
        return None
    moved = (region.x, region.y, region.x + region.width, region.y + region.height)
    if all(_close(a, b) for a, b in zip(moved, (pct.x0, pct.y0, pct.x1, pct.y1), strict=True)):
        return None
    if pct.x1 <= pct.x0 or pct.y1 <= pct.y0:
        return None
    scale_x = (original.x1 - original.x0) / (pct.x1 - pct.x0)
    scale_y = (original.y1 - original.y0) / (pct.y1 - pct.y0)
    return {
        "x0": original.x0 + (moved[0] - pct.x0) * scale_x,
        "y0": original.y0 + (moved[1] - pct.y0) * scale_y,
        "x1": original.x0 + (moved[2] - pct.x0) * scale_x,
        "y1": original.y0 + (moved[3] - pct.y0) * scale_y,
        "unit": original.unit, "label": region.label,
    }  # fmt: skip


def import_regions(
    session: Any,
    regions: list[Region],
    status: str | None,
    actor: str | uuid.UUID | None,
    workspace: WorkspaceRef | None,
) -> LabelStudioImport:
    notes = AnnotationRepository(session)
    ws = WorkspaceRepository(session).get(workspace).id
    created: list[uuid.UUID] = []
    unchanged = unmatched = 0
    sizes_of: dict[uuid.UUID, dict[int, tuple[Any, Any]]] = {}  # one query per extraction
    for region in regions:
        seg = session.get(SegmentRow, region.segment_id) if region.segment_id else None
        if seg is not None and seg.workspace_id != ws:
            seg = None
        state = status or region.status
        if seg is None:
            if region.version_id is None or region.page is None:
                unmatched += 1
                continue
            value = {
                "x0": region.x, "y0": region.y, "x1": region.x + region.width,
                "y1": region.y + region.height, "unit": "percent", "label": region.label,
                "page": region.page,
            }  # fmt: skip
            try:
                made = notes.create("version", region.version_id, "bbox", value, status=state,
                                    actor=actor, workspace=ws)  # fmt: skip
            except NotFound:
                unmatched += 1
                continue
            created.append(made.id)
            continue
        existing = session.scalars(
            select(AnnotationRow).where(AnnotationRow.segment_id == seg.id)
        ).all()
        if not any(a.kind == "label" and a.value.get("label") == region.label for a in existing):
            made = notes.create("segment", seg.id, "label", {"label": region.label},
                                status=state, actor=actor, workspace=ws)  # fmt: skip
            created.append(made.id)
        else:
            unchanged += 1
        if seg.bbox is None or seg.page_number is None:
            continue
        if seg.extraction_id not in sizes_of:
            sizes_of[seg.extraction_id] = page_sizes(session, seg.extraction_id)
        page_box, size = sizes_of[seg.extraction_id].get(seg.page_number, (None, None))
        record = {"page": seg.page_number, "page_box": page_box, "page_size_pt": size}
        box = _moved_box(record, BBox.model_validate(seg.bbox), region)
        if box is None:
            continue
        if any(
            a.kind == "bbox"
            and all(_close(a.value.get(k, 0), box[k]) for k in ("x0", "y0", "x1", "y1"))
            for a in existing
        ):
            continue
        made = notes.create("segment", seg.id, "bbox", box, status=state, actor=actor, workspace=ws)
        created.append(made.id)
    return LabelStudioImport(
        created=len(created), unchanged=unchanged, unmatched=unmatched, annotation_ids=created
    )
