"""Extraction runs over one document version, and the segments they produce.

Zones (OCR), chunks (RAG), evidence (feature inference), pages (drawings) and text blocks are all
segments: one table, told apart by ``kind``, so search, annotation and lineage work on all of them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin
from docledger.db.checks import at_least, one_of, partial_index, unit_interval
from docledger.db.types import json_default_dict
from docledger.vocab import ExtractionStatus, SegmentKind


class Extraction(IdMixin, CreatedMixin, Base):
    """A snapshot: re-running the same extractor with the same params is the same extraction."""

    __tablename__ = "extractions"
    __table_args__ = (
        UniqueConstraint("version_id", "extractor", "extractor_version", "params_hash"),
        one_of("status", ExtractionStatus),
        Index("ix_extractions_workspace_id_created_at", "workspace_id", "created_at"),
        # what a search leaves out is listed from these (migration 0021)
        partial_index(
            "ix_extractions_unsucceeded", "workspace_id", "id", where="status <> 'succeeded'"
        ),
        partial_index("ix_extractions_superseded", "workspace_id", "id", where="superseded"),
    )

    workspace_id: Mapped[uuid.UUID]  # denormalised tenant key
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE")
    )
    extractor: Mapped[str] = mapped_column(String(200))
    extractor_version: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    params_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="succeeded")
    stats: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: Its version is not the document's current one, or a newer successful run of the same
    #: extractor over the same version replaced it: kept by triggers (migration 0021) wherever
    #: that can change, so a search reads the answer instead of computing it.
    superseded: Mapped[bool] = mapped_column(default=False, server_default=false())


class Segment(IdMixin, CreatedMixin, Base):
    """A zone, page, block, chunk or piece of evidence.

    ``bbox`` is page-relative with a top-left origin: ``{"x0","y0","x1","y1","unit"}``.
    ``predecessor_id`` links a segment to the matching one of an earlier extraction, which is how
    annotations are carried forward instead of orphaned.

    Indexes are deliberately few (this is the largest table): the unique (extraction, ordinal)
    key gives reading order, (version, page) serves the by-page queries the seeds run, and the
    self-references are partial indexes so the common NULL costs nothing.
    """

    __tablename__ = "segments"
    __table_args__ = (
        UniqueConstraint("extraction_id", "ordinal"),
        one_of("kind", SegmentKind),
        unit_interval("confidence"),
        at_least("page_number", 1, nullable=True),
        at_least("ordinal", 0),
        Index("ix_segments_version_id_page_number", "version_id", "page_number"),
        Index("ix_segments_workspace_id_kind", "workspace_id", "kind"),
        Index(
            "ix_segments_parent_id",
            "parent_id",
            sqlite_where=text("parent_id IS NOT NULL"),
            postgresql_where=text("parent_id IS NOT NULL"),
        ),
        Index(
            "ix_segments_predecessor_id",
            "predecessor_id",
            sqlite_where=text("predecessor_id IS NOT NULL"),
            postgresql_where=text("predecessor_id IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID]  # denormalised tenant key (search filters use it)
    extraction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("extractions.id", ondelete="CASCADE")
    )
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE")
    )
    ordinal: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(200))
    page_number: Mapped[int | None]
    bbox: Mapped[dict[str, Any] | None]
    text: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE")
    )
    predecessor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL")
    )
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=json_default_dict)
