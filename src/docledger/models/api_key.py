"""API keys: how the HTTP server knows which workspace a request acts in, and with what role."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin
from docledger.db.checks import one_of
from docledger.vocab import MembershipRole


class ApiKey(IdMixin, CreatedMixin, Base):
    """A key reads ``dlk_<prefix>.<secret>``: the prefix finds the row, and only the secret's
    SHA-256 is stored (a stolen database reveals no usable key)."""

    __tablename__ = "api_keys"
    __table_args__ = (one_of("role", MembershipRole),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(320))
    revoked_at: Mapped[datetime | None]
