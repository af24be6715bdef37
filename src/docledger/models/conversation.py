"""Chat conversations and query logs, with the segments each answer retrieved."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin, TimestampMixin
from docledger.db.checks import at_least, one_of
from docledger.db.types import json_default_dict
from docledger.vocab import MessageRole


class Conversation(IdMixin, TimestampMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_workspace_id_created_at", "workspace_id", "created_at"),
        Index(
            "ix_conversations_user_id",
            "user_id",
            sqlite_where=text("user_id IS NOT NULL"),
            postgresql_where=text("user_id IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str | None] = mapped_column(String(500))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=json_default_dict)


class Message(IdMixin, CreatedMixin, Base):
    """A message; a one-message conversation is a query log entry. ``metadata`` holds tokens and
    model."""

    __tablename__ = "messages"
    __table_args__ = (
        one_of("role", MessageRole),
        Index("ix_messages_conversation_id_created_at", "conversation_id", "created_at"),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=json_default_dict)


class Retrieval(IdMixin, Base):
    __tablename__ = "retrievals"
    __table_args__ = (
        UniqueConstraint("message_id", "rank"),
        at_least("rank", 1),
    )

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    segment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL"), index=True
    )
    rank: Mapped[int]
    score: Mapped[float | None] = mapped_column(Float)
