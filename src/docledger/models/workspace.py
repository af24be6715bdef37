"""Workspaces: tenants, projects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, IdMixin, TimestampMixin
from docledger.db.types import json_default_dict


class Workspace(IdMixin, TimestampMixin, Base):
    """The tenant scope; large tables carry its id so PostgreSQL RLS or Citus can split by it."""

    __tablename__ = "workspaces"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
