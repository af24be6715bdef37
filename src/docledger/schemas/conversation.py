"""Conversation DTOs: conversations, messages with the citations they were answered from, and
the feedback on answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from docledger.schemas.common import OutputModel, from_json_text
from docledger.vocab import MessageRole, SearchMode


class Conversation(OutputModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    user_id: uuid.UUID | None
    run_id: uuid.UUID | None
    finding_id: uuid.UUID | None
    title: str | None
    meta: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class Citation(OutputModel):
    """A retrieval as it was when the answer was given: the exact segment (of the exact
    version), with a copy of its page, box and text so a reloaded conversation shows the same
    evidence even after the document got a new version or the segment was deleted
    (``segment_exists`` then says so)."""

    rank: int
    score: float | None
    mode: SearchMode | None
    query: str | None
    segment_id: uuid.UUID | None
    segment_exists: bool
    document_id: uuid.UUID | None
    version_id: uuid.UUID | None
    page_number: int | None
    bbox: Annotated[dict[str, Any] | None, BeforeValidator(from_json_text)] = None
    text: str | None


class Feedback(OutputModel):
    id: uuid.UUID
    message_id: uuid.UUID
    rating: int
    comment: str | None
    actor_id: uuid.UUID | None
    #: the review item a down-vote opened (a candidate ``answer_feedback`` finding)
    finding_id: uuid.UUID | None
    created_at: datetime


class Message(OutputModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    role: MessageRole
    content: str
    meta: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    citations: list[Citation] = Field(default_factory=list)
    feedback: list[Feedback] = Field(default_factory=list)
