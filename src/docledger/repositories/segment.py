"""Segments: what extractions found (pages, blocks, lines, words, zones, chunks), read back in
reading order, by version, by extraction, or below a confidence for review. Extractions
write them (repositories/extraction.py)."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, cast, exists, select

from docledger.errors import InvalidInput, NotFound
from docledger.models import Annotation as AnnotationRow
from docledger.models import Extraction as ExtractionRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.annotation import AnnotationRepository
from docledger.repositories.base import (
    Repository,
    check_limit,
    is_number,
    readonly,
    require_uuid,
    where_given,
)
from docledger.repositories.extraction import ExtractionRepository
from docledger.repositories.workspace import (
    WorkspaceRef,
    WorkspaceRepository,
    version_in,
)
from docledger.schemas.common import output_list
from docledger.schemas.extraction import (
    Segment,
)

#: The columns a Segment DTO is built from, read as plain rows: no ORM objects, one validation
#: call for the whole list. UUID and JSON columns are read as text and parsed by pydantic-core:
#: the driver's and SQLAlchemy's per-value Python converters were most of a 250-segment page.
_AS_TEXT = {"id", "extraction_id", "version_id", "bbox", "parent_id", "predecessor_id", "meta"}
SEGMENT_FIELDS = tuple(
    cast(column, Text).label(column.key) if column.key in _AS_TEXT else column
    for column in (
        SegmentRow.id,
        SegmentRow.extraction_id,
        SegmentRow.version_id,
        SegmentRow.ordinal,
        SegmentRow.kind,
        SegmentRow.label,
        SegmentRow.page_number,
        SegmentRow.bbox,
        SegmentRow.text,
        SegmentRow.content_hash,
        SegmentRow.confidence,
        SegmentRow.parent_id,
        SegmentRow.predecessor_id,
        SegmentRow.meta,
    )
)
_SEGMENT_NAMES = [c.key for c in SEGMENT_FIELDS]


def _segments(session: Any, stmt: Any) -> list[Segment]:
    result = session.connection().execute(stmt)  # Core: no ORM result machinery for plain rows
    rows = [dict(zip(_SEGMENT_NAMES, row, strict=True)) for row in result.all()]
    return output_list(Segment, rows)


class SegmentRepository(Repository):
    @readonly
    def get(self, segment_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None) -> Segment:
        stmt = select(*SEGMENT_FIELDS).where(
            SegmentRow.id == require_uuid(segment_id, "segment id")
        )
        if workspace is not None:
            ws = WorkspaceRepository(self.session).get(workspace)
            stmt = stmt.where(SegmentRow.workspace_id == ws.id)
        found = _segments(self.session, stmt)
        if not found:
            raise NotFound(f"no segment {segment_id}")
        return found[0]

    @readonly
    def of_extraction(
        self,
        extraction_id: uuid.UUID | str,
        *,
        page: int | None = None,
        kind: str | None = None,
        label: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> list[Segment]:
        """Segments in reading order (their ordinal), optionally one page / kind / label."""
        key = require_uuid(extraction_id, "extraction id")
        if workspace is not None:
            ExtractionRepository(self.session).get(key, workspace=workspace)
        return self._in_order(key, page=page, kind=kind, label=label)

    @readonly
    def of_version(
        self,
        version_id: uuid.UUID | str,
        *,
        extractor: str | None = None,
        page: int | None = None,
        kind: str | None = None,
        label: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> list[Segment]:
        """Segments of a version's newest extraction (by one extractor if named), in reading
        order; empty when the version has no extraction. One statement: the newest extraction
        is a scalar subquery, not a round trip of its own."""
        version = require_uuid(version_id, "version id")
        if workspace is not None:
            version_in(self.session, version, workspace)
        newest = select(ExtractionRow.id).where(ExtractionRow.version_id == version)
        if extractor is not None:
            newest = newest.where(ExtractionRow.extractor == extractor)
        newest = newest.order_by(ExtractionRow.created_at.desc(), ExtractionRow.id.desc())
        return self._in_order(
            newest.limit(1).scalar_subquery(),
            page=page,
            kind=kind,
            label=label,
            # redundant, but it tells the planner the rows are few: PostgreSQL cannot see
            # the subquery's value and otherwise ANDs in a scan of every row on that page
            version=version,
        )

    def _in_order(
        self,
        extraction: Any,
        *,
        page: int | None,
        kind: str | None,
        label: str | None,
        version: uuid.UUID | None = None,
    ) -> list[Segment]:
        stmt = where_given(
            select(*SEGMENT_FIELDS).where(SegmentRow.extraction_id == extraction),
            (SegmentRow.version_id, version),
            (SegmentRow.page_number, page),
            (SegmentRow.kind, kind),
            (SegmentRow.label, label),
        )
        return _segments(self.session, stmt.order_by(SegmentRow.ordinal))

    @readonly
    def low_confidence(
        self,
        threshold: float,
        *,
        extraction: uuid.UUID | str | None = None,
        limit: int = 100,
        workspace: WorkspaceRef | None = None,
        kinds: Sequence[str] | None = None,
        unreviewed: bool = False,
    ) -> list[Segment]:
        """The OCR review queue: segments below ``threshold``, worst first; of some kinds
        only, and (``unreviewed``) only those no annotation targets yet, in one statement."""
        if not is_number(threshold) or not 0 <= threshold <= 1:
            raise InvalidInput("threshold is a number between 0 and 1")
        check_limit(limit)
        stmt = select(*SEGMENT_FIELDS).where(SegmentRow.confidence < threshold)
        if kinds is not None:
            if isinstance(kinds, str) or not all(isinstance(k, str) for k in kinds):
                raise InvalidInput("kinds is a list of segment kinds")
            stmt = stmt.where(SegmentRow.kind.in_(list(kinds)))
        if unreviewed:
            stmt = stmt.where(~exists().where(AnnotationRow.segment_id == SegmentRow.id))
        if workspace is not None:
            ws = WorkspaceRepository(self.session).get(workspace)
            stmt = stmt.where(SegmentRow.workspace_id == ws.id)
        if extraction is not None:
            stmt = stmt.where(SegmentRow.extraction_id == require_uuid(extraction, "extraction"))
        stmt = stmt.order_by(SegmentRow.confidence, SegmentRow.id).limit(limit)
        return _segments(self.session, stmt)

    def carry_forward(
        self, old_extraction: uuid.UUID | str, new_extraction: uuid.UUID | str
    ) -> int:
        """Deprecated: ``annotations.carry_forward`` (annotations are written by their own
        repository)."""
        warnings.warn(
            "segments.carry_forward() is deprecated and goes away in the next release: use "
            "annotations.carry_forward()",
            DeprecationWarning,
            stacklevel=2,
        )
        return AnnotationRepository(self.session).carry_forward(old_extraction, new_extraction)
