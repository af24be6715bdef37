"""Findings with their evidence (citations you can draw), audit history and review verdicts;
conversations with the citations each answer was pinned to."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from docledger.schemas.common import Page
from docledger.schemas.conversation import Conversation, Feedback, Message
from docledger.schemas.finding import Evidence, Finding, FindingEvent
from docledger.server.auth import Editor, Ledger, Viewer
from docledger.vocab import LinkTarget

router = APIRouter(tags=["findings"])


@router.get("/findings", response_model=Page[Finding])
async def list_findings(
    ledger: Ledger,
    who: Viewer,
    kind: str | None = None,
    status: Literal["candidate", "confirmed", "rejected"] | None = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    run: uuid.UUID | None = None,
    document: str | None = None,
    stale: bool | None = None,
    order: Literal["created", "-created", "confidence", "-confidence"] = "created",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page[Finding]:
    return await ledger.findings.list(
        kind=kind,
        status=status,
        min_confidence=min_confidence,
        run=run,
        document=document,
        stale=stale,
        order=order,
        limit=limit,
        cursor=cursor,
        workspace=who.workspace,
    )


@router.get("/findings/review-queue", response_model=Page[Finding])
async def findings_review_queue(
    ledger: Ledger,
    who: Viewer,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page[Finding]:
    """Candidates, least sure first."""
    return await ledger.findings.review_queue(
        kind=kind, limit=limit, cursor=cursor, workspace=who.workspace
    )


@router.get("/findings/{finding_id}", response_model=Finding)
async def get_finding(ledger: Ledger, who: Viewer, finding_id: uuid.UUID) -> Finding:
    return await ledger.findings.get(finding_id, workspace=who.workspace)


@router.get("/findings/{finding_id}/evidence", response_model=list[Evidence])
async def finding_evidence(ledger: Ledger, who: Viewer, finding_id: uuid.UUID) -> list[Evidence]:
    """Each link with its segment's text, page and box, version and document."""
    return await ledger.findings.evidence(finding_id, workspace=who.workspace)


@router.get("/findings/{finding_id}/history", response_model=list[FindingEvent])
async def finding_history(ledger: Ledger, who: Viewer, finding_id: uuid.UUID) -> list[FindingEvent]:
    return await ledger.findings.history(finding_id, workspace=who.workspace)


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected_revision: int | None = Field(
        default=None, ge=1, le=2_000_000_000, description="409 when the finding moved on"
    )
    note: str | None = Field(default=None, max_length=10_000)


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_type: LinkTarget
    target_id: uuid.UUID
    relation: str | None = Field(default=None, max_length=100, description="the kind's first")
    strength: float | None = Field(default=None, ge=0, le=1)
    reasoning: str | None = Field(default=None, max_length=10_000)


class FindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=500)
    summary: str | None = Field(default=None, max_length=10_000)
    body: dict[str, Any] = Field(default_factory=dict)
    confidence: float | None = Field(default=None, ge=0, le=1)
    run: uuid.UUID | None = None
    document: uuid.UUID | None = None
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=1000)


@router.post("/findings", response_model=Finding, status_code=201)
async def create_finding(ledger: Ledger, who: Editor, body: FindingIn) -> Finding:
    """A candidate finding with its evidence, in one transaction (a body failing its kind's
    schema, an unknown relation or another workspace's target: nothing is written)."""
    evidence = []
    for item in body.evidence:
        link: dict[str, Any] = {"target": (item.target_type, item.target_id)}
        link |= {k: v for k in ("relation", "strength", "reasoning")
                 if (v := getattr(item, k)) is not None}  # fmt: skip
        evidence.append(link)
    return await ledger.findings.create(
        body.kind, body.title, body=body.body, summary=body.summary, confidence=body.confidence,
        run=body.run, document=body.document, evidence=evidence, actor=who.actor,
        workspace=who.workspace,
    )  # fmt: skip


@router.post("/findings/{finding_id}/{verdict}", response_model=Finding)
async def review_finding(
    ledger: Ledger,
    who: Editor,
    finding_id: uuid.UUID,
    verdict: Literal["confirm", "reject", "reopen"],
    body: Verdict,
) -> Finding:
    """confirm / reject a candidate, or reopen a reviewed one; audited with the actor."""
    act = {
        "confirm": ledger.findings.confirm,
        "reject": ledger.findings.reject,
        "reopen": ledger.findings.reopen,
    }[verdict]
    return await act(
        finding_id,
        expected_revision=body.expected_revision,
        actor=who.actor,
        note=body.note,
        workspace=who.workspace,
    )


@router.get("/conversations", response_model=Page[Conversation], tags=["conversations"])
async def list_conversations(
    ledger: Ledger,
    who: Viewer,
    run: uuid.UUID | None = None,
    finding: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page[Conversation]:
    return await ledger.conversations.list(
        run=run, finding=finding, limit=limit, cursor=cursor, workspace=who.workspace
    )


class ConversationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=500)


@router.post("/conversations", response_model=Conversation, status_code=201, tags=["conversations"])
async def create_conversation(ledger: Ledger, who: Editor, body: ConversationIn) -> Conversation:
    """A conversation to log searches into (``POST /search`` with ``conversation``)."""
    return await ledger.conversations.create(title=body.title, workspace=who.workspace)


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=list[Message],
    tags=["conversations"],
)
async def conversation_messages(
    ledger: Ledger, who: Viewer, conversation_id: uuid.UUID
) -> list[Message]:
    """The messages in order, each with the citations it was answered from, exactly as they
    were then (page and box pinned to that version)."""
    return await ledger.conversations.messages(conversation_id, workspace=who.workspace)


class RetrievalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment: uuid.UUID
    score: float | None = Field(default=None, allow_inf_nan=False)


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(max_length=1_000_000)
    metadata: dict[str, Any] = Field(default_factory=dict)
    retrievals: list[RetrievalIn] = Field(default_factory=list, max_length=1000)
    mode: Literal["vector", "text", "hybrid"] | None = None
    query: str | None = Field(default=None, max_length=10_000)


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=Message,
    status_code=201,
    tags=["conversations"],
)
async def add_message(
    ledger: Ledger, who: Editor, conversation_id: uuid.UUID, body: MessageIn
) -> Message:
    """Append a message (metadata: model, token counts, latency ...) with the passages it was
    answered from, ranked in the order given; each citation is pinned to its segment's
    version, page and box as they are now."""
    return await ledger.conversations.create_message(
        conversation_id, body.role, body.content, metadata=body.metadata,
        retrievals=[r.model_dump() for r in body.retrievals], mode=body.mode, query=body.query,
        workspace=who.workspace,
    )  # fmt: skip


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Literal[1, -1]
    comment: str | None = Field(default=None, max_length=10_000)


@router.post(
    "/messages/{message_id}/feedback",
    response_model=Feedback,
    status_code=201,
    tags=["conversations"],
)
async def add_feedback(
    ledger: Ledger, who: Editor, message_id: uuid.UUID, body: FeedbackIn
) -> Feedback:
    """A thumbs up (1) or down (-1); a down-vote opens a candidate ``answer_feedback``
    finding whose evidence is the passages the answer cited."""
    return await ledger.conversations.create_feedback(
        message_id, body.rating, comment=body.comment, actor=who.actor, workspace=who.workspace
    )
