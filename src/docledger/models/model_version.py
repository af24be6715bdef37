"""The model registry."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin
from docledger.db.checks import at_least, one_of
from docledger.db.types import json_default_dict, utcnow
from docledger.vocab import ModelStage


def _per_workspace(name: str, columns: tuple[str, ...], where: str | None) -> tuple[Index, Index]:
    """One unique index for the workspaces' models and one for the store-wide ones (a unique
    index never treats two NULL workspaces as equal)."""
    made = []
    for suffix, scope, keys in (
        ("", "workspace_id IS NOT NULL", ("workspace_id", *columns)),
        ("_shared", "workspace_id IS NULL", columns),
    ):
        condition = text(f"{scope} AND {where}" if where else scope)
        made.append(
            Index(
                f"{name}{suffix}",
                *keys,
                unique=True,
                sqlite_where=condition,
                postgresql_where=condition,
            )
        )
    return made[0], made[1]


class ModelVersion(IdMixin, CreatedMixin, Base):
    """A model's name is numbered within its workspace: two workspaces may each have their
    own "ocr" v1, and models that belong to no workspace (store-wide) are numbered apart.
    The partial unique indexes make "one production version per name and workspace" a
    database rule, so two concurrent promotions cannot both win."""

    __tablename__ = "model_versions"
    __table_args__ = (
        one_of("stage", ModelStage),
        at_least("version", 1),
        *_per_workspace("ux_model_versions_version", ("name", "version"), None),
        *_per_workspace("ux_model_versions_production", ("name",), "stage = 'production'"),
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
