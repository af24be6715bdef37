"""Frozen, content-hashed training-set snapshots."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin
from docledger.db.checks import at_least, one_of
from docledger.db.types import json_default_dict
from docledger.vocab import AnnotationKind, AnnotationTarget


class Dataset(IdMixin, CreatedMixin, Base):
    """Snapshotting labels unchanged since the latest version returns that version instead of
    minting a new one; any other content is version n+1 (even one an older version held)."""

    __tablename__ = "datasets"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name", "version"),
        at_least("version", 1),
        at_least("item_count", 0),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    filter: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    item_count: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )


class DatasetItem(Base):
    """A frozen copy of one annotation at one revision.

    The value is copied, and the link to the live annotation is SET NULL on delete, so a snapshot
    stays readable and unchanged whatever happens to its sources later.
    """

    __tablename__ = "dataset_items"
    __table_args__ = (
        at_least("annotation_revision", 1),
        one_of("kind", AnnotationKind),
        one_of("target_type", AnnotationTarget),
    )

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    ordinal: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    annotation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("annotations.id", ondelete="SET NULL"), index=True
    )
    annotation_revision: Mapped[int]
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[dict[str, Any]]
