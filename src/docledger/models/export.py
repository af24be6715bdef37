"""Exports: what was selected, in which formats, how each format went, the files it made and
the audit trail of every step."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin
from docledger.db.checks import at_least, one_of
from docledger.db.types import json_default_dict, json_default_list, utcnow
from docledger.vocab import ExportAction, ExportStatus


def _partial(name: str, column: str) -> Index:
    where = text(f"{column} IS NOT NULL")
    return Index(name, column, sqlite_where=where, postgresql_where=where)


class Export(IdMixin, CreatedMixin, Base):
    """``results`` holds each format's outcome (status, records, failed documents, error);
    ``validation`` what each format's own check found in the files it wrote."""

    __tablename__ = "exports"
    __table_args__ = (
        one_of("status", ExportStatus),
        Index("ix_exports_workspace_id_status_created_at", "workspace_id", "status", "created_at"),
        _partial("ix_exports_document_id", "document_id"),
        _partial("ix_exports_run_id", "run_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE")
    )
    selection: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    formats: Mapped[list[Any]] = mapped_column(default=json_default_list)
    options: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    results: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    validation: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    error: Mapped[str | None] = mapped_column(Text)
    exporter_version: Mapped[str] = mapped_column(String(50), default="")
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str | None] = mapped_column(String(320))
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class ExportFile(IdMixin, CreatedMixin, Base):
    """One file of an export. A table, not a JSON list, so ``gc`` can see the blob is in use."""

    __tablename__ = "export_files"
    __table_args__ = (
        UniqueConstraint("export_id", "name"),
        at_least("size_bytes", 0),
        at_least("records", 0),
    )

    export_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(1024))
    format: Mapped[str] = mapped_column(String(50), default="")
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    records: Mapped[int] = mapped_column(default=0)
    media_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")


class ExportEvent(IdMixin, Base):
    """The audit trail: one row per step, never updated."""

    __tablename__ = "export_events"
    __table_args__ = (
        one_of("action", ExportAction),
        Index("ix_export_events_export_id_at", "export_id", "at"),
        _partial("ix_export_events_actor_id", "actor_id"),
    )

    export_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    format: Mapped[str | None] = mapped_column(String(50))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(String(320))
    detail: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)
