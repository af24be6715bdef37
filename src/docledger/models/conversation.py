"""Chat conversations and query logs, the segments each answer was drawn from (pinned, with a
copy of the citation), and the feedback people give on answers."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from docledger.db.base import Base, CreatedMixin, IdMixin, TimestampMixin
from docledger.db.checks import at_least, one_of, partial_index
from docledger.db.types import json_default_dict
from docledger.vocab import MessageRole, SearchMode


def _partial(name: str, column: str) -> Index:
    return partial_index(name, column, where=f"{column} IS NOT NULL")


class Conversation(IdMixin, TimestampMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_workspace_id_created_at", "workspace_id", "created_at"),
        _partial("ix_conversations_user_id", "user_id"),
        _partial("ix_conversations_run_id", "run_id"),
        _partial("ix_conversations_finding_id", "finding_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: a chat about a run (a comparison session) goes when the run is deleted
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    finding_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("findings.id", ondelete="SET NULL")
    )
    title: Mapped[str | None] = mapped_column(String(500))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=json_default_dict)


class Message(IdMixin, CreatedMixin, Base):
    """A message; a one-message conversation is a query log entry. ``metadata`` holds the
    model, token counts and latency."""

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
    """A hit a message was answered from. The segment id pins the exact segment of the exact
    version; the citation (version, page, box, text) is copied too, so a reloaded conversation
    shows the same evidence even after the segment's extraction is deleted."""

    __tablename__ = "retrievals"
    __table_args__ = (
        UniqueConstraint("message_id", "rank"),
        at_least("rank", 1),
        one_of("mode", SearchMode, nullable=True),
    )

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    segment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL"), index=True
    )
    rank: Mapped[int]
    score: Mapped[float | None] = mapped_column(Float)
    mode: Mapped[str | None] = mapped_column(String(16))
    query: Mapped[str | None] = mapped_column(Text)
    document_id: Mapped[uuid.UUID | None]
    version_id: Mapped[uuid.UUID | None]
    page_number: Mapped[int | None]
    bbox: Mapped[dict[str, Any] | None]
    text: Mapped[str | None] = mapped_column(Text)


class MessageFeedback(IdMixin, CreatedMixin, Base):
    """A thumbs up (+1) or down (-1) on an answer; a down-vote opens a review item (a
    candidate finding on the cited evidence), named here."""

    __tablename__ = "message_feedback"
    __table_args__ = (
        CheckConstraint("rating IN (-1, 1)", name="rating_valid"),
        Index("ix_message_feedback_message_id", "message_id"),
        _partial("ix_message_feedback_actor_id", "actor_id"),
        _partial("ix_message_feedback_finding_id", "finding_id"),
    )

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    rating: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    finding_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("findings.id", ondelete="SET NULL")
    )
