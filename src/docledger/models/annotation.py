"""Human labels and corrections, with an append-only history of every change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, IdMixin, TimestampMixin
from docledger.db.checks import at_least, one_of
from docledger.db.types import utcnow
from docledger.vocab import AnnotationAction, AnnotationKind, AnnotationStatus, AnnotationTarget


class Annotation(IdMixin, TimestampMixin, Base):
    """A label on a document, a version or a segment.

    ``document_id`` is always set (the target's document) so deleting a document cascades to its
    annotations, and "all labels of this document" is one index look-up. ``revision`` is the
    optimistic-concurrency counter: an update names the revision it read.
    """

    __tablename__ = "annotations"
    __table_args__ = (
        one_of("target_type", AnnotationTarget),
        one_of("kind", AnnotationKind),
        one_of("status", AnnotationStatus),
        at_least("revision", 1),
        CheckConstraint(
            "(target_type = 'document' AND version_id IS NULL AND segment_id IS NULL)"
            " OR (target_type = 'version' AND version_id IS NOT NULL AND segment_id IS NULL)"
            " OR (target_type = 'segment' AND segment_id IS NOT NULL)",
            name="target_matches_type",
        ),
        Index("ix_annotations_workspace_id_status", "workspace_id", "status"),
        Index(
            "ix_annotations_version_id",
            "version_id",
            sqlite_where=text("version_id IS NOT NULL"),
            postgresql_where=text("version_id IS NOT NULL"),
        ),
        Index(
            "ix_annotations_segment_id",
            "segment_id",
            sqlite_where=text("segment_id IS NOT NULL"),
            postgresql_where=text("segment_id IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE")
    )
    segment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="draft")
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    revision: Mapped[int] = mapped_column(default=1)


class AnnotationEvent(IdMixin, Base):
    """Append-only: never updated; deleted only with its annotation's document or by a purge."""

    __tablename__ = "annotation_events"
    __table_args__ = (
        one_of("action", AnnotationAction),
        Index("ix_annotation_events_annotation_id_at", "annotation_id", "at"),
        Index("ix_annotation_events_actor_id_at", "actor_id", "at"),
    )

    annotation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("annotations.id", ondelete="CASCADE")
    )
    action: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(String(320))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)
