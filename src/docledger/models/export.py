"""Export records with their files and audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin
from docledger.db.checks import one_of
from docledger.db.types import json_default_dict
from docledger.vocab import ExportStatus


class Export(IdMixin, CreatedMixin, Base):
    __tablename__ = "exports"
    __table_args__ = (
        one_of("status", ExportStatus),
        Index("ix_exports_workspace_id_status_created_at", "workspace_id", "status", "created_at"),
        Index(
            "ix_exports_document_id",
            "document_id",
            sqlite_where=text("document_id IS NOT NULL"),
            postgresql_where=text("document_id IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE")
    )
    scope: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    format: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    validation: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class ExportFile(IdMixin, CreatedMixin, Base):
    """One file of an export. A table, not a JSON list, so ``gc`` can see the blob is in use."""

    __tablename__ = "export_files"
    __table_args__ = (UniqueConstraint("export_id", "name"),)

    export_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"), index=True)
