"""Inferred items (features, change analyses, comparisons) and the evidence behind them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin, TimestampMixin
from docledger.db.checks import one_of, unit_interval
from docledger.db.types import json_default_dict
from docledger.vocab import EntityType, FindingStatus


class Finding(IdMixin, TimestampMixin, Base):
    __tablename__ = "findings"
    __table_args__ = (
        one_of("status", FindingStatus),
        unit_interval("confidence"),
        Index("ix_findings_workspace_id_status_created_at", "workspace_id", "status", "created_at"),
        Index("ix_findings_kind", "kind"),
        Index(
            "ix_findings_document_id",
            "document_id",
            sqlite_where=text("document_id IS NOT NULL"),
            postgresql_where=text("document_id IS NOT NULL"),
        ),
        Index(
            "ix_findings_run_id",
            "run_id",
            sqlite_where=text("run_id IS NOT NULL"),
            postgresql_where=text("run_id IS NOT NULL"),
        ),
        Index(
            "ix_findings_reviewed_by",
            "reviewed_by",
            sqlite_where=text("reviewed_by IS NOT NULL"),
            postgresql_where=text("reviewed_by IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE")
    )
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    confidence: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None]


class FindingLink(IdMixin, CreatedMixin, Base):
    """Evidence for a finding: any entity (segment, version, document, ...) with a relation."""

    __tablename__ = "finding_links"
    __table_args__ = (
        UniqueConstraint("finding_id", "target_type", "target_id"),
        one_of("target_type", EntityType),
        unit_interval("strength"),
        Index("ix_finding_links_target_type_target_id", "target_type", "target_id"),
    )

    finding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[str] = mapped_column(String(64))
    relation: Mapped[str] = mapped_column(String(50), default="supports")
    strength: Mapped[float | None] = mapped_column(Float)
    reasoning: Mapped[str | None] = mapped_column(Text)
