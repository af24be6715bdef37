"""Conversations and query logs: messages, the segments each answer was drawn from (pinned to
the exact segment and version, with a copy of the citation), and feedback that turns a
down-voted answer into a review item."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update

from docledger.db.dialect import bulk_insert
from docledger.db.types import utcnow
from docledger.errors import InvalidInput, NotFound
from docledger.ids import new_id
from docledger.models import Conversation as ConversationRow
from docledger.models import Finding as FindingRow
from docledger.models import Message as MessageRow
from docledger.models import MessageFeedback as FeedbackRow
from docledger.models import Retrieval as RetrievalRow
from docledger.repositories.base import Repository, readonly, require_uuid
from docledger.repositories.citations import HitRef, citation, snapshot_citations
from docledger.repositories.finding import FindingRepository
from docledger.repositories.paging import page
from docledger.repositories.user import UserRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository, confine, run_in
from docledger.schemas.common import Page
from docledger.schemas.conversation import Citation, Conversation, Feedback, Message
from docledger.vocab import MessageRole, SearchMode, values

ConversationRef = uuid.UUID | str | Conversation


def _conversation_id(ref: object) -> uuid.UUID:
    if isinstance(ref, Conversation):
        return ref.id
    return require_uuid(ref, "conversation id")  # type: ignore[arg-type]


def _metadata(value: object, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} is a JSON object")
    return dict(value)


class ConversationRepository(Repository):
    """``ledger.conversations``."""

    def create(
        self,
        *,
        title: str | None = None,
        user: str | uuid.UUID | None = None,
        run: uuid.UUID | str | None = None,
        finding: uuid.UUID | str | None = None,
        metadata: Mapping[str, Any] | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Conversation:
        """A conversation in a workspace, optionally about a run (a comparison session: it
        goes when the run is deleted) or a finding."""
        ws = WorkspaceRepository(self.session).get(workspace).id
        if title is not None and not isinstance(title, str):
            raise InvalidInput("a title is text")
        finding_id = None
        if finding is not None:
            key = require_uuid(finding, "finding id")
            confine(self.session, self.session.get(FindingRow, key), ws, f"no finding {key}")
            finding_id = key
        now = utcnow()
        row = {
            "id": new_id(),
            "workspace_id": ws,
            "user_id": None if user is None else UserRepository(self.session).get(user).id,
            "run_id": None if run is None else run_in(self.session, run, ws),
            "finding_id": finding_id,
            "title": title,
            "meta": _metadata(metadata, "metadata"),
            "created_at": now,
            "updated_at": now,
        }
        self.session.execute(insert(ConversationRow), [row])
        return Conversation.model_validate(row)

    def _row(self, ref: object, workspace: WorkspaceRef | None = None) -> ConversationRow:
        key = _conversation_id(ref)
        return confine(  # type: ignore[no-any-return]
            self.session,
            self.session.get(ConversationRow, key),
            workspace,
            f"no conversation {key}",
        )

    @readonly
    def get(
        self, conversation: ConversationRef, *, workspace: WorkspaceRef | None = None
    ) -> Conversation:
        return Conversation.model_validate(self._row(conversation, workspace))

    @readonly
    def list(
        self,
        *,
        run: uuid.UUID | str | None = None,
        finding: uuid.UUID | str | None = None,
        user: str | uuid.UUID | None = None,
        limit: int = 100,
        cursor: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Page[Conversation]:
        """A workspace's conversations, newest first, optionally of one run, finding or user."""
        ws = WorkspaceRepository(self.session).get(workspace).id
        stmt = select(ConversationRow).where(ConversationRow.workspace_id == ws)
        if run is not None:
            stmt = stmt.where(ConversationRow.run_id == run_in(self.session, run, ws))
        if finding is not None:
            stmt = stmt.where(ConversationRow.finding_id == require_uuid(finding, "finding id"))
        if user is not None:
            stmt = stmt.where(ConversationRow.user_id == UserRepository(self.session).get(user).id)
        keys = [(ConversationRow.created_at, True), (ConversationRow.id, True)]
        return page(
            self.session, stmt, keys, Conversation.model_validate, limit=limit, cursor=cursor
        )

    def delete(
        self, conversation: ConversationRef, *, workspace: WorkspaceRef | None = None
    ) -> Conversation:
        """Delete a conversation with its messages, citations and feedback (review items it
        opened stay)."""
        row = self._row(conversation, workspace)
        gone = Conversation.model_validate(row)
        self.session.execute(delete(ConversationRow).where(ConversationRow.id == row.id))
        return gone

    # -- messages ---------------------------------------------------------------------------

    def create_message(
        self,
        conversation: ConversationRef,
        role: str,
        content: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        retrievals: Iterable[HitRef] = (),
        mode: str | None = None,
        query: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Message:
        """Append a message (metadata: model, token counts, latency ...), with the passages
        it was answered from, ranked in the order given. Each is pinned to its segment and a
        copy of its citation (version, page, box, text) is kept with it."""
        key = _conversation_id(conversation)
        if role not in values(MessageRole):
            raise InvalidInput(f"unknown role {role!r}; one of {values(MessageRole)}")
        if not isinstance(content, str):
            raise InvalidInput("a message's content is text")
        if mode is not None and mode not in values(SearchMode):
            raise InvalidInput(f"unknown search mode {mode!r}; one of {values(SearchMode)}")
        if query is not None and not isinstance(query, str):
            raise InvalidInput("a query is text")
        meta = _metadata(metadata, "metadata")
        conn = self.session.connection()  # Core: a chat turn is on the hot path of an answer
        now = utcnow()
        # touching the conversation finds its workspace in the same round trip
        touch = update(ConversationRow).where(ConversationRow.id == key)
        if workspace is not None:
            ws = WorkspaceRepository(self.session).get(workspace).id
            touch = touch.where(ConversationRow.workspace_id == ws)
        owner = conn.execute(
            touch.values(updated_at=now).returning(ConversationRow.workspace_id)
        ).scalar()
        if owner is None:
            raise NotFound(f"no conversation {key}")
        cited = snapshot_citations(self.session, owner, retrievals, mode, query)
        message = {
            "id": new_id(),
            "conversation_id": key,
            "role": role,
            "content": content,
            "meta": meta,
            "created_at": now,
        }
        # Core keys are column names: the ``meta`` attribute is the ``metadata`` column
        conn.execute(
            insert(MessageRow.__table__),  # type: ignore[arg-type]
            [{**{k: v for k, v in message.items() if k != "meta"}, "metadata": meta}],
        )
        if cited:
            bulk_insert(
                self.session,
                RetrievalRow.__table__,  # type: ignore[arg-type]
                [{**c, "message_id": message["id"]} for c in cited],
            )
        return Message.model_validate(
            {**message, "citations": [citation(c) for c in cited], "feedback": []}
        )

    def log_query(
        self,
        conversation: ConversationRef,
        query: str,
        hits: Iterable[HitRef],
        *,
        mode: str = "hybrid",
        answer: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        answer_metadata: Mapping[str, Any] | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Message:
        """One call for a query and what it found: the user's message with the query, and,
        when ``answer`` is given, the assistant's answer; the hits are pinned to the answer
        (to the query without one). Returns the message holding the citations."""
        if not isinstance(query, str) or not query.strip():
            raise InvalidInput("a query is non-empty text")
        hits = list(hits)
        asked = self.create_message(
            conversation,
            "user",
            query,
            metadata=metadata,
            retrievals=() if answer is not None else hits,
            mode=mode,
            query=query,
            workspace=workspace,
        )
        if answer is None:
            return asked
        return self.create_message(
            conversation,
            "assistant",
            answer,
            metadata=answer_metadata,
            retrievals=hits,
            mode=mode,
            query=query,
            workspace=workspace,
        )

    @readonly
    def messages(
        self, conversation: ConversationRef, *, workspace: WorkspaceRef | None = None
    ) -> builtins.list[Message]:
        """The conversation's messages in order, each with its citations (exactly as they
        were when it was answered) and feedback; three queries whatever the length."""
        row = self._row(conversation, workspace)
        msgs = self.session.scalars(
            select(MessageRow)
            .where(MessageRow.conversation_id == row.id)
            .order_by(MessageRow.created_at, MessageRow.id)
        ).all()
        ids = [m.id for m in msgs]
        cites: dict[uuid.UUID, builtins.list[Citation]] = {}
        votes: dict[uuid.UUID, builtins.list[Feedback]] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            for r in self.session.scalars(
                select(RetrievalRow)
                .where(RetrievalRow.message_id.in_(part))
                .order_by(RetrievalRow.message_id, RetrievalRow.rank)
            ):
                cites.setdefault(r.message_id, []).append(citation(r))
            for f in self.session.scalars(
                select(FeedbackRow)
                .where(FeedbackRow.message_id.in_(part))
                .order_by(FeedbackRow.created_at, FeedbackRow.id)
            ):
                votes.setdefault(f.message_id, []).append(Feedback.model_validate(f))
        return [
            Message.model_validate(
                {
                    "id": m.id,
                    "conversation_id": m.conversation_id,
                    "role": m.role,
                    "content": m.content,
                    "meta": m.meta,
                    "created_at": m.created_at,
                    "citations": cites.get(m.id, []),
                    "feedback": votes.get(m.id, []),
                }
            )
            for m in msgs
        ]

    def create_feedback(
        self,
        message: uuid.UUID | str | Message,
        rating: int,
        *,
        comment: str | None = None,
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Feedback:
        """A thumbs up (+1) or down (-1) on a message. A down-vote opens a review item: a
        candidate ``answer_feedback`` finding whose evidence is the passages the answer cited
        (those that still exist), with the comment."""
        key = message.id if isinstance(message, Message) else require_uuid(message, "message id")
        msg = self.session.get(MessageRow, key)
        if msg is None:
            raise NotFound(f"no message {key}")
        conv = self._row(msg.conversation_id, workspace)
        if isinstance(rating, bool) or rating not in (-1, 1):
            raise InvalidInput("a rating is 1 (thumbs up) or -1 (thumbs down)")
        if comment is not None and not isinstance(comment, str):
            raise InvalidInput("a comment is text")
        who = None if actor is None else UserRepository(self.session).get(actor).id
        finding_id = None
        if rating == -1:
            cited = self.session.scalars(
                select(RetrievalRow.segment_id)
                .where(RetrievalRow.message_id == msg.id, RetrievalRow.segment_id.is_not(None))
                .order_by(RetrievalRow.rank)
            ).all()
            review = FindingRepository(self.session).create(
                "answer_feedback",
                f"Answer voted down: {msg.content[:120]}",
                summary=comment,
                body={"message_id": str(msg.id), "conversation_id": str(conv.id)},
                evidence=[{"target": ("segment", sid), "relation": "cited"} for sid in cited],
                actor=actor,
                workspace=conv.workspace_id,
            )
            finding_id = review.id
        row = {
            "id": new_id(),
            "message_id": msg.id,
            "rating": rating,
            "comment": comment,
            "actor_id": who,
            "finding_id": finding_id,
            "created_at": utcnow(),
        }
        self.session.execute(insert(FeedbackRow), [row])
        return Feedback.model_validate(row)
