"""Logical documents and their immutable, content-addressed versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin, TimestampMixin
from docledger.db.checks import at_least, one_of, partial_index
from docledger.db.types import json_default_dict, json_default_list
from docledger.vocab import DocumentStatus


class Document(IdMixin, TimestampMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_key"),
        one_of("status", DocumentStatus),
        at_least("current_version", 1, nullable=True),
        Index(
            "ix_documents_workspace_id_status_created_at", "workspace_id", "status", "created_at"
        ),
        Index("ix_documents_created_at", "created_at"),
        partial_index("ix_documents_deleted", "workspace_id", where="deleted_at IS NOT NULL"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    external_key: Mapped[str] = mapped_column(String(1024))
    title: Mapped[str | None] = mapped_column(String(1024))
    media_type: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="uploaded")
    #: The version whose content the document has now. Usually the newest, but re-ingesting the
    #: bytes of an older version makes that one current again (versions are unique by content,
    #: so a revert cannot add a row).
    current_version: Mapped[int | None]
    tags: Mapped[list[Any]] = mapped_column(default=json_default_list)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=json_default_dict)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    #: Set when a folder sync found the source file gone: the document leaves search and
    #: listings but keeps its history, and comes back when the file does.
    deleted_at: Mapped[datetime | None]


class DocumentVersion(IdMixin, CreatedMixin, Base):
    """One immutable content version; the same bytes are never stored twice for one document."""

    __tablename__ = "document_versions"
    __table_args__ = (
        UniqueConstraint("document_id", "version_number"),
        UniqueConstraint("document_id", "sha256"),
        at_least("version_number", 1),
        at_least("page_count", 0, nullable=True),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(index=True)  # denormalised tenant key
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    version_number: Mapped[int]
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str | None] = mapped_column(String(255))
    original_filename: Mapped[str | None] = mapped_column(String(1024))
    page_count: Mapped[int | None]
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=json_default_dict)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


class PageImage(IdMixin, CreatedMixin, Base):
    """A page of a version rendered to PNG at one resolution (for OCR and for drawing boxes
    over the page); the image is a blob, so gc keeps it while this row names it."""

    __tablename__ = "page_images"
    __table_args__ = (
        UniqueConstraint("version_id", "page_number", "dpi"),
        at_least("page_number", 1),
        at_least("dpi", 1),
    )

    workspace_id: Mapped[uuid.UUID]  # denormalised tenant key
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE")
    )
    page_number: Mapped[int]
    dpi: Mapped[int]
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"), index=True)
    width: Mapped[int]
    height: Mapped[int]
