"""Annotations with an append-only history and optimistic concurrency.

Every change writes its ``annotation_events`` row in the same transaction. An update names the
revision it read; the UPDATE is a compare-and-set on that revision, so of two concurrent edits
exactly one wins and the other gets Conflict (and leaves no event behind).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select, update

from docledger.db.types import utcnow
from docledger.deprecation import renamed_argument
from docledger.errors import Conflict, InvalidInput, InvalidTransition
from docledger.ids import new_id
from docledger.models import Annotation as AnnotationRow
from docledger.models import AnnotationEvent as EventRow
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Extraction as ExtractionRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.base import (
    Repository,
    check_limit,
    readonly,
    require_uuid,
    where_given,
)
from docledger.repositories.document import DocumentRepository
from docledger.repositories.paging import page
from docledger.repositories.user import UserRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository, confine
from docledger.schemas.annotation import VALUE_SCHEMAS, Annotation, AnnotationEvent
from docledger.schemas.common import Page
from docledger.vocab import AnnotationKind, AnnotationTarget, values

#: Review workflow. approved/rejected can be reopened by submitting again.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted"}),
    "submitted": frozenset({"approved", "rejected", "draft"}),
    "approved": frozenset({"submitted"}),
    "rejected": frozenset({"draft", "submitted"}),
}


def validate_value(kind: str, value: Any) -> dict[str, Any]:
    if kind not in VALUE_SCHEMAS:
        raise InvalidInput(f"unknown annotation kind {kind!r}; one of {values(AnnotationKind)}")
    if not isinstance(value, dict):
        raise InvalidInput("an annotation value is a JSON object")
    try:
        return VALUE_SCHEMAS[kind].model_validate(value).model_dump(exclude_none=True)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"invalid {kind} value: {problems}") from exc


def _snapshot(row: AnnotationRow) -> dict[str, Any]:
    return {"status": row.status, "value": row.value, "revision": row.revision}


class AnnotationRepository(Repository):
    def _actor(self, actor: str | uuid.UUID | None) -> tuple[uuid.UUID | None, str | None]:
        if actor is None:
            return None, None
        user = UserRepository(self.session).get(actor)
        return user.id, user.email

    def _target(
        self, target_type: str, target_id: uuid.UUID | str, workspace: WorkspaceRef | None
    ) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, uuid.UUID | None, SegmentRow | None]:
        """(workspace, document, version, segment, segment row) of a target."""
        if target_type not in values(AnnotationTarget):
            raise InvalidInput(f"unknown target type {target_type!r}")
        key = require_uuid(target_id, f"{target_type} id")
        if target_type == "segment":
            seg = confine(
                self.session, self.session.get(SegmentRow, key), workspace, f"no segment {key}"
            )
            ver = self.session.get(VersionRow, seg.version_id)
            assert ver is not None
            return ver.workspace_id, ver.document_id, ver.id, seg.id, seg
        if target_type == "version":
            version = confine(
                self.session,
                self.session.get(VersionRow, key),
                workspace,
                f"no document version {key}",
            )
            return version.workspace_id, version.document_id, version.id, None, None
        doc = DocumentRepository(self.session).get(key, workspace=workspace)
        return doc.workspace_id, doc.id, None, None, None

    def create(
        self,
        target_type: str,
        target_id: uuid.UUID | str,
        kind: str,
        value: dict[str, Any],
        *,
        status: str = "draft",
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
        author: str | uuid.UUID | None = None,
    ) -> Annotation:
        """Label a document, version or segment. A correction on a segment records the
        segment's text and confidence as ``original`` / ``confidence_before`` when not given.
        ``actor`` is who made it (a user's email or id), as on every change after it;
        ``author`` is its old name."""
        actor = renamed_argument("author", author, "actor", actor)
        ws, doc, ver, seg, seg_row = self._target(target_type, target_id, workspace)
        if kind == "correction" and seg_row is not None and isinstance(value, dict):
            value = {"original": seg_row.text, "confidence_before": seg_row.confidence, **value}
        clean = validate_value(kind, value)
        if status not in TRANSITIONS:
            raise InvalidInput(f"unknown annotation status {status!r}")
        author_id, author_email = self._actor(actor)
        now = utcnow()
        annotation_id = new_id()
        row = {
            "id": annotation_id,
            "workspace_id": ws,
            "target_type": target_type,
            "document_id": doc,
            "version_id": ver,
            "segment_id": seg,
            "kind": kind,
            "value": clean,
            "status": status,
            "author_id": author_id,
            "revision": 1,
            "created_at": now,
            "updated_at": now,
        }
        self.session.execute(insert(AnnotationRow), [row])
        self._event(
            annotation_id,
            "create",
            1,
            author_id,
            author_email,
            None,
            {"status": status, "value": clean, "revision": 1},
            now,
        )
        return Annotation.model_validate(row)

    def _event(
        self,
        annotation_id: uuid.UUID,
        action: str,
        revision: int,
        actor_id: uuid.UUID | None,
        actor: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        at: datetime,
    ) -> None:
        self.session.execute(
            insert(EventRow),
            [
                {
                    "id": new_id(),
                    "annotation_id": annotation_id,
                    "action": action,
                    "revision": revision,
                    "actor_id": actor_id,
                    "actor": actor,
                    "before": before,
                    "after": after,
                    "at": at,
                }
            ],
        )

    def _row(
        self, annotation_id: uuid.UUID | str, workspace: WorkspaceRef | None = None
    ) -> AnnotationRow:
        row = self.session.get(AnnotationRow, require_uuid(annotation_id, "annotation id"))
        return confine(  # type: ignore[no-any-return]
            self.session, row, workspace, f"no annotation {annotation_id}"
        )

    def update(
        self,
        annotation_id: uuid.UUID | str,
        *,
        expected_revision: int,
        value: dict[str, Any] | None = None,
        status: str | None = None,
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Annotation:
        """Change the value and/or status of the revision you read. A stale
        ``expected_revision`` raises Conflict and changes nothing."""
        row = self._row(annotation_id, workspace)
        if isinstance(expected_revision, bool) or not isinstance(expected_revision, int):
            raise InvalidInput("expected_revision is a whole number")
        if value is None and status is None:
            raise InvalidInput("nothing to change: give a value or a status")
        new_value = validate_value(row.kind, value) if value is not None else row.value
        new_status = row.status
        if status is not None and status != row.status:
            if status not in TRANSITIONS:
                raise InvalidInput(f"unknown annotation status {status!r}")
            if status not in TRANSITIONS[row.status]:
                raise InvalidTransition(f"annotation {row.id}: {row.status} -> {status}")
            new_status = status
        actor_id, actor_email = self._actor(actor)
        before = _snapshot(row)
        now = utcnow()
        result = self.session.execute(
            update(AnnotationRow)
            .where(AnnotationRow.id == row.id, AnnotationRow.revision == expected_revision)
            .values(
                value=new_value, status=new_status, revision=expected_revision + 1, updated_at=now
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                f"annotation {row.id} is at revision {row.revision}, not {expected_revision}: "
                "reload and apply your change again"
            )
        after = {"status": new_status, "value": new_value, "revision": expected_revision + 1}
        action = "update" if value is not None else "status"
        self._event(
            row.id, action, expected_revision + 1, actor_id, actor_email, before, after, now
        )
        self.session.expire(row)
        return Annotation.model_validate(self._row(row.id))

    def set_status(
        self,
        annotation_id: uuid.UUID | str,
        status: str,
        *,
        expected_revision: int,
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Annotation:
        return self.update(
            annotation_id,
            expected_revision=expected_revision,
            status=status,
            actor=actor,
            workspace=workspace,
        )

    @readonly
    def get(
        self, annotation_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None
    ) -> Annotation:
        return Annotation.model_validate(self._row(annotation_id, workspace))

    @readonly
    def history(
        self, annotation_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None
    ) -> list[AnnotationEvent]:
        """Every change, oldest first (the history is append-only)."""
        row = self._row(annotation_id, workspace)
        stmt = (
            select(EventRow)
            .where(EventRow.annotation_id == row.id)
            .order_by(EventRow.at, EventRow.id)
        )
        return [AnnotationEvent.model_validate(e) for e in self.session.scalars(stmt)]

    @readonly
    def changes_by(
        self, actor: str | uuid.UUID, *, since: datetime | None = None, limit: int = 1000
    ) -> list[AnnotationEvent]:
        """All changes made by one user (since a moment), oldest first."""
        check_limit(limit)
        actor_id, _ = self._actor(actor)
        stmt = select(EventRow).where(EventRow.actor_id == actor_id)
        if since is not None:
            stmt = stmt.where(EventRow.at >= since)
        stmt = stmt.order_by(EventRow.at, EventRow.id).limit(limit)
        return [AnnotationEvent.model_validate(e) for e in self.session.scalars(stmt)]

    @readonly
    def list(
        self,
        *,
        document: uuid.UUID | str | None = None,
        segment: uuid.UUID | str | None = None,
        kind: str | None = None,
        status: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Page[Annotation]:
        """Annotations oldest first; all workspaces unless one is given (a document named by
        key is looked up in ``workspace``, default ``default``)."""
        stmt = select(AnnotationRow)
        if workspace is not None:
            ws = WorkspaceRepository(self.session).get(workspace)
            stmt = stmt.where(AnnotationRow.workspace_id == ws.id)
        if document is not None:
            doc_id = DocumentRepository(self.session).get(document, workspace=workspace).id
            stmt = stmt.where(AnnotationRow.document_id == doc_id)
        if segment is not None:
            stmt = stmt.where(AnnotationRow.segment_id == require_uuid(segment, "segment id"))
        stmt = where_given(stmt, (AnnotationRow.kind, kind), (AnnotationRow.status, status))
        keys = [(AnnotationRow.created_at, False), (AnnotationRow.id, False)]
        return page(self.session, stmt, keys, Annotation.model_validate, limit=limit, cursor=cursor)

    def carry_forward(
        self, old_extraction: uuid.UUID | str, new_extraction: uuid.UUID | str
    ) -> int:
        """Copy the annotations on the old extraction's segments to the new segments that
        replace them (their predecessors). Each copy starts its own history with a ``create``
        event that names the annotation it came from. Returns how many were carried."""
        old_id = require_uuid(old_extraction, "old extraction id")
        new_id_ = require_uuid(new_extraction, "new extraction id")
        successors = dict(
            self.session.execute(
                select(SegmentRow.predecessor_id, SegmentRow.id).where(
                    SegmentRow.extraction_id == new_id_, SegmentRow.predecessor_id.is_not(None)
                )
            ).all()
        )
        if not successors:
            return 0
        notes = self.session.scalars(
            select(AnnotationRow)
            .join(SegmentRow, SegmentRow.id == AnnotationRow.segment_id)
            .where(SegmentRow.extraction_id == old_id)
            .order_by(AnnotationRow.id)
        ).all()
        new_version = self.session.get(ExtractionRow, new_id_)
        assert new_version is not None
        now = utcnow()
        copies, events = [], []
        for note in notes:
            target = successors.get(note.segment_id)
            if target is None:
                continue
            copy_id = new_id()
            copies.append(
                {
                    "id": copy_id,
                    "workspace_id": note.workspace_id,
                    "target_type": "segment",
                    "document_id": note.document_id,
                    "version_id": new_version.version_id,
                    "segment_id": target,
                    "kind": note.kind,
                    "value": note.value,
                    "status": note.status,
                    "author_id": note.author_id,
                    "revision": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            events.append(
                {
                    "id": new_id(),
                    "annotation_id": copy_id,
                    "action": "create",
                    "revision": 1,
                    "actor_id": None,
                    "actor": "docledger carry_forward",
                    "before": None,
                    "after": {
                        "status": note.status,
                        "value": note.value,
                        "revision": 1,
                        "carried_from": str(note.id),
                    },
                    "at": now,
                }
            )
        if copies:
            self.session.execute(insert(AnnotationRow), copies)
            self.session.execute(insert(EventRow), events)
        return len(copies)
