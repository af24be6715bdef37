"""The model registry."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin
from docledger.db.checks import at_least, one_of
from docledger.db.types import json_default_dict, utcnow
from docledger.vocab import ModelStage


class ModelVersion(IdMixin, CreatedMixin, Base):
    """``ux_model_versions_production`` makes "one production version per name" a database rule,
    so two concurrent promotions cannot both win."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        one_of("stage", ModelStage),
        at_least("version", 1),
        Index(
            "ux_model_versions_production",
            "name",
            unique=True,
            sqlite_where=text("stage = 'production'"),
            postgresql_where=text("stage = 'production'"),
        ),
        Index(
            "ix_model_versions_workspace_id",
            "workspace_id",
            sqlite_where=text("workspace_id IS NOT NULL"),
            postgresql_where=text("workspace_id IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]
    run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    artifact_sha256: Mapped[str | None] = mapped_column(
        ForeignKey("blobs.sha256", ondelete="RESTRICT"), index=True
    )
    stage: Mapped[str] = mapped_column(String(16), default="none")
    metrics: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
    description: Mapped[str | None] = mapped_column(Text)
    stage_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
