"""Inferred items (features, change analyses, comparisons), the evidence behind them, their
review history, their versioned outputs and the kinds users register for them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin, TimestampMixin
from docledger.db.checks import at_least, one_of, unit_interval
from docledger.db.types import json_default_dict, json_default_list
from docledger.vocab import EntityType, FindingAction, FindingStatus, LinkState


def _partial(name: str, column: str) -> Index:
    where = text(f"{column} IS NOT NULL")
    return Index(name, column, sqlite_where=where, postgresql_where=where)


class Finding(IdMixin, TimestampMixin, Base):
    __tablename__ = "findings"
    __table_args__ = (
        one_of("status", FindingStatus),
        unit_interval("confidence"),
        at_least("revision", 1),
        Index("ix_findings_workspace_id_status_created_at", "workspace_id", "status", "created_at"),
        Index("ix_findings_kind", "kind"),
        Index("ix_findings_workspace_id_status_confidence", "workspace_id", "status", "confidence"),
        _partial("ix_findings_document_id", "document_id"),
        _partial("ix_findings_run_id", "run_id"),
        _partial("ix_findings_reviewed_by", "reviewed_by"),
        _partial("ix_findings_merged_into_id", "merged_into_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE")
    )
    #: the run (a comparison session, a feature-extraction run) that produced it: deleting the
    #: run deletes what it produced
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str | None] = mapped_column(Text)
    #: JSON, validated against the kind's schema when the kind registered one
    body: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    confidence: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    revision: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    stale: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    stale_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("findings.id", ondelete="SET NULL")
    )
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None]


class FindingLink(IdMixin, CreatedMixin, Base):
    """Evidence for a finding. ``target_id`` names the target whatever its type (the unique
    key); the typed column of the target's type lets evidence be joined and followed, and
    keeps the link when the target row is deleted (SET NULL: the evidence reads as gone)."""

    __tablename__ = "finding_links"
    __table_args__ = (
        UniqueConstraint("finding_id", "target_type", "target_id"),
        one_of("target_type", EntityType),
        one_of("state", LinkState),
        unit_interval("strength"),
        CheckConstraint("relation <> ''", name="relation_named"),
        Index("ix_finding_links_target_type_target_id", "target_type", "target_id"),
        _partial("ix_finding_links_segment_id", "segment_id"),
        _partial("ix_finding_links_version_id", "version_id"),
        _partial("ix_finding_links_document_id", "document_id"),
        _partial("ix_finding_links_target_finding_id", "target_finding_id"),
    )

    finding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[str] = mapped_column(String(64))
    segment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL")
    )
    version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_versions.id", ondelete="SET NULL")
    )
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    target_finding_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("findings.id", ondelete="SET NULL")
    )
    #: from the finding kind's closed set (checked by the repository: kinds are registered)
    relation: Mapped[str] = mapped_column(String(50), default="supports")
    strength: Mapped[float | None] = mapped_column(Float)
    reasoning: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(
        String(16), default="current", server_default=text("'current'")
    )
    stale_reason: Mapped[str | None] = mapped_column(Text)


class FindingEvent(IdMixin, Base):
    """The review audit: append-only, one row per change with the values before and after."""

    __tablename__ = "finding_events"
    __table_args__ = (
        one_of("action", FindingAction),
        Index("ix_finding_events_finding_id_at", "finding_id", "at"),
        _partial("ix_finding_events_actor_id", "actor_id"),
    )

    finding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(String(320))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    at: Mapped[datetime]


class FindingKind(IdMixin, CreatedMixin, Base):
    """A user-defined kind in one workspace: the JSON schema of its bodies and the relations
    its evidence may have (the built-in kinds live in code)."""

    __tablename__ = "finding_kinds"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    body_schema: Mapped[dict[str, Any] | None]
    relations: Mapped[list[Any]] = mapped_column(default=json_default_list)
    description: Mapped[str | None] = mapped_column(Text)


class FindingOutput(IdMixin, CreatedMixin, Base):
    """A versioned output of a finding (an epic, a story, an API contract): version n+1 is a
    new row, never an overwrite."""

    __tablename__ = "finding_outputs"
    __table_args__ = (
        UniqueConstraint("finding_id", "output_type", "version"),
        at_least("version", 1),
        _partial("ix_finding_outputs_actor_id", "actor_id"),
    )

    finding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"))
    output_type: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    body: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class FindingBlob(CreatedMixin, Base):
    """A file attached to a finding under a name (a comparison's ``overlay`` image)."""

    __tablename__ = "finding_blobs"

    finding_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"), index=True)
