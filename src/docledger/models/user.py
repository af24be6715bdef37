"""People and service accounts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, IdMixin, TimestampMixin
from docledger.db.checks import one_of
from docledger.db.types import json_default_dict
from docledger.vocab import UserRole


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (one_of("role", UserRole),)

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="member")
    preferences: Mapped[dict[str, Any]] = mapped_column(default=json_default_dict)
