"""Findings: inferred items (features, comparisons, change analyses, user-defined kinds) with a
review workflow whose every action is audited.

Each change writes its ``finding_events`` row (the values before and after, and the actor) in
the same transaction. A review names the revision it read (``expected_revision``), or the one
this call reads; the UPDATE is a compare-and-set on it, so of two concurrent reviews exactly one
wins and the other gets Conflict. Evidence, carry-forward and outputs are in
``finding_evidence.py``; kinds in ``finding_kinds.py``.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, delete, insert, select

from docledger.db.types import utcnow
from docledger.errors import Conflict, InvalidInput, InvalidTransition
from docledger.ids import new_id
from docledger.models import Finding as FindingRow
from docledger.models import FindingEvent as EventRow
from docledger.models import FindingLink as LinkRow
from docledger.models import FindingOutput as OutputRow
from docledger.models import LineageEdge as EdgeRow
from docledger.repositories.base import check_limit, readonly, require_uuid, where_given
from docledger.repositories.document import DocumentRepository
from docledger.repositories.finding_base import Target, jsonable
from docledger.repositories.finding_bulk import FindingBulk
from docledger.repositories.finding_kinds import (
    FindingKindRepository,
    FindingKinds,
    check_unit,
    validate_body,
)
from docledger.repositories.finding_outputs import FindingOutputs
from docledger.repositories.paging import page
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository, run_in
from docledger.schemas.common import Page
from docledger.schemas.finding import (
    Finding,
    FindingEvent,
)
from docledger.vocab import FindingStatus, values

#: Review workflow: a decision is taken on a candidate; reopening makes it a candidate again.
TRANSITIONS: dict[str, frozenset[str]] = {
    "candidate": frozenset({"confirmed", "rejected"}),
    "confirmed": frozenset({"candidate"}),
    "rejected": frozenset({"candidate"}),
}
_EDITABLE = ("title", "summary", "body", "confidence")
_ORDERS = ("created", "-created", "confidence", "-confidence")

FindingRef = uuid.UUID | str | Finding


def finding_id_of(ref: object) -> uuid.UUID:
    if isinstance(ref, Finding):
        return ref.id
    return require_uuid(ref, "finding id")  # type: ignore[arg-type]


def _title(title: object) -> str:
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("a finding has a title (non-empty text)")
    return title.strip()


class FindingRepository(FindingBulk, FindingOutputs, FindingKinds):
    """``ledger.findings``: create, review (confirm / reject / reopen / update / merge), query,
    evidence, outputs and kinds."""

    # -- writing ------------------------------------------------------------------------------

    def create(
        self,
        kind: str,
        title: str,
        *,
        body: Mapping[str, Any] | None = None,
        summary: str | None = None,
        confidence: float | None = None,
        status: str = "candidate",
        run: uuid.UUID | str | None = None,
        document: uuid.UUID | str | None = None,
        evidence: Iterable[Mapping[str, Any]] = (),
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Finding:
        """Record a finding, with its evidence when given (each a mapping with ``target`` —
        a Segment, DocumentVersion, Document or Finding DTO, a SearchHit, or a
        ``(type, id)`` pair — ``relation``, and optional ``strength`` and ``reasoning``).
        ``run`` is the run that produced it: deleting that run deletes the finding."""
        ws = WorkspaceRepository(self.session).get(workspace).id
        kind_ = FindingKindRepository(self.session).kind(ws, kind)
        clean_body = validate_body(kind_, {} if body is None else body)
        if status not in values(FindingStatus):
            raise InvalidInput(f"unknown finding status {status!r}; one of {values(FindingStatus)}")
        if summary is not None and not isinstance(summary, str):
            raise InvalidInput("a summary is text")
        row: dict[str, Any] = {
            "id": new_id(),
            "workspace_id": ws,
            "document_id": None
            if document is None
            else DocumentRepository(self.session).get(document, workspace=ws).id,
            "run_id": None if run is None else run_in(self.session, run, ws),
            "kind": kind_.name,
            "title": _title(title),
            "summary": summary,
            "body": clean_body,
            "confidence": check_unit(confidence, "confidence"),
            "status": status,
            "revision": 1,
            "stale": False,
            "stale_reason": None,
            "merged_into_id": None,
            "reviewed_by": None,
            "reviewed_at": None,
        }
        links = self._link_rows(row["id"], ws, kind_, evidence)
        who = self._actor(actor)
        now = utcnow()
        row["created_at"] = row["updated_at"] = now
        self.session.execute(insert(FindingRow), [row])
        self._insert_links(links, now)
        self._event(row["id"], "create", 1, who, None, _snapshot(row), now)
        return Finding.model_validate(row)

    def _review(
        self,
        finding: FindingRef,
        status: str,
        action: str,
        expected_revision: int | None,
        actor: str | uuid.UUID | None,
        note: str | None,
        workspace: WorkspaceRef | None,
    ) -> Finding:
        row = self._finding_row(finding, workspace)
        if expected_revision is not None and row.revision != expected_revision:
            raise Conflict(
                f"finding {row.id} is at revision {row.revision}, not {expected_revision}: "
                "reload and review again"
            )
        if status not in TRANSITIONS[row.status]:
            raise InvalidTransition(f"finding {row.id}: {row.status} -> {status}")
        if note is not None and not isinstance(note, str):
            raise InvalidInput("a review note is text")
        return self._change(row, action, expected_revision, {"status": status}, actor, note)

    def confirm(
        self,
        finding: FindingRef,
        *,
        expected_revision: int | None = None,
        actor: str | uuid.UUID | None = None,
        note: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Finding:
        """candidate -> confirmed, audited with the actor (and the note, when given)."""
        return self._review(
            finding, "confirmed", "confirm", expected_revision, actor, note, workspace
        )

    def reject(
        self,
        finding: FindingRef,
        *,
        expected_revision: int | None = None,
        actor: str | uuid.UUID | None = None,
        note: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Finding:
        """candidate -> rejected."""
        return self._review(
            finding, "rejected", "reject", expected_revision, actor, note, workspace
        )

    def reopen(
        self,
        finding: FindingRef,
        *,
        expected_revision: int | None = None,
        actor: str | uuid.UUID | None = None,
        note: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Finding:
        """confirmed / rejected -> candidate: the decision is taken back for another look."""
        return self._review(
            finding, "candidate", "reopen", expected_revision, actor, note, workspace
        )

    def update(
        self,
        finding: FindingRef,
        *,
        title: str | None = None,
        summary: str | None = None,
        body: Mapping[str, Any] | None = None,
        confidence: float | None = None,
        expected_revision: int | None = None,
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Finding:
        """A reviewer's edit of the title, summary, body (checked against the kind's schema)
        or confidence; the audit keeps the old and new value of each field changed."""
        row = self._finding_row(finding, workspace)
        given = {"title": title, "summary": summary, "body": body, "confidence": confidence}
        changes: dict[str, Any] = {}
        for field, given_value in given.items():
            if given_value is None:
                continue
            value: Any = given_value
            if field == "title":
                value = _title(given_value)
            elif field == "summary" and not isinstance(given_value, str):
                raise InvalidInput("a summary is text")
            elif field == "body":
                kind = FindingKindRepository(self.session).kind(row.workspace_id, row.kind)
                value = validate_body(kind, given_value)
            elif field == "confidence":
                value = check_unit(given_value, "confidence")
            if getattr(row, field) != value:
                changes[field] = value
        if not any(v is not None for v in given.values()):
            raise InvalidInput("nothing to change: give a title, summary, body or confidence")
        if expected_revision is not None and row.revision != expected_revision:
            raise Conflict(
                f"finding {row.id} is at revision {row.revision}, not {expected_revision}: "
                "reload and edit again"
            )
        if not changes:
            return Finding.model_validate(row)
        return self._change(row, "edit", expected_revision, changes, actor)

    def edit(self, finding: FindingRef, **changes: Any) -> Finding:
        """The reviewers' word for ``update`` (the same keyword arguments)."""
        return self.update(finding, **changes)

    def merge(
        self,
        finding: FindingRef,
        *,
        into: FindingRef,
        expected_revision: int | None = None,
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Finding:
        """Fold a duplicate into another finding of the same workspace: its evidence moves
        over (links the target already has stay behind), it is rejected with
        ``merged_into_id`` set, and both histories record the merge. Returns the target."""
        source = self._finding_row(finding, workspace)
        target = self._finding_row(into, workspace)
        if source.id == target.id:
            raise InvalidInput("a finding cannot be merged into itself")
        if source.workspace_id != target.workspace_id:
            raise InvalidInput("findings merge within one workspace")
        if source.merged_into_id is not None:
            raise InvalidTransition(f"finding {source.id} was merged already")
        if target.merged_into_id is not None:
            raise InvalidInput(f"finding {target.id} was merged into another: merge into that one")
        if expected_revision is not None and source.revision != expected_revision:
            raise Conflict(
                f"finding {source.id} is at revision {source.revision}, not {expected_revision}"
            )
        moved = self._move_links(source.id, target.id)
        self._change(
            source,
            "merge",
            expected_revision,
            {"status": "rejected", "merged_into_id": target.id},
            actor,
        )
        return self._change(
            target, "merge", None, {}, actor, note=f"merged {source.id} ({moved} links moved)"
        )

    def delete(self, finding: FindingRef, *, workspace: WorkspaceRef | None = None) -> Finding:
        """Delete a finding with its evidence links, history and outputs (and the lineage
        edges naming them); conversations about it stay, unbound."""
        row = self._finding_row(finding, workspace)
        gone = Finding.model_validate(row)
        self._forget_lineage([row.id])
        self.session.execute(delete(FindingRow).where(FindingRow.id == row.id))
        return gone

    def _forget_lineage(self, finding_ids: Sequence[uuid.UUID]) -> None:
        """Lineage edges name entities by text (no foreign key): drop those of the findings
        and their outputs going away."""
        if not finding_ids:
            return
        outputs = select(OutputRow.id).where(OutputRow.finding_id.in_(finding_ids))
        names = [str(f) for f in finding_ids] + [str(o) for o in self.session.scalars(outputs)]
        for start in range(0, len(names), 500):
            self.session.execute(
                delete(EdgeRow).where(
                    EdgeRow.entity_type.in_(("finding", "finding_output")),
                    EdgeRow.entity_id.in_(names[start : start + 500]),
                )
            )

    # -- reading ------------------------------------------------------------------------------

    @readonly
    def get(self, finding: FindingRef, *, workspace: WorkspaceRef | None = None) -> Finding:
        return Finding.model_validate(self._finding_row(finding, workspace))

    @readonly
    def history(
        self, finding: FindingRef, *, workspace: WorkspaceRef | None = None
    ) -> builtins.list[FindingEvent]:
        """Every change, oldest first (append-only)."""
        row = self._finding_row(finding, workspace)
        stmt = select(EventRow).where(EventRow.finding_id == row.id)
        stmt = stmt.order_by(EventRow.at, EventRow.id)
        return [FindingEvent.model_validate(e) for e in self.session.scalars(stmt)]

    @readonly
    def list(
        self,
        *,
        kind: str | None = None,
        status: str | None = None,
        min_confidence: float | None = None,
        run: uuid.UUID | str | None = None,
        document: uuid.UUID | str | None = None,
        linked_to: Target | None = None,
        stale: bool | None = None,
        order: str = "created",
        limit: int = 100,
        cursor: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Page[Finding]:
        """Findings of one workspace (``default`` unless named), filtered by kind, status,
        confidence threshold, producing run, document, a piece of evidence (``linked_to``: a
        segment, version, document or finding) or staleness. ``order``: ``created`` (oldest
        first), ``-created``, ``confidence`` (least sure first) or ``-confidence``; the
        confidence orders leave out findings without a confidence."""
        if order not in _ORDERS:
            raise InvalidInput(f"order is one of {_ORDERS}")
        if status is not None and status not in values(FindingStatus):
            raise InvalidInput(f"unknown finding status {status!r}; one of {values(FindingStatus)}")
        if stale is not None and not isinstance(stale, bool):
            raise InvalidInput("stale is True or False")
        check_limit(limit)
        ws = WorkspaceRepository(self.session).get(workspace).id
        stmt: Select[Any] = select(FindingRow).where(FindingRow.workspace_id == ws)
        stmt = where_given(
            stmt, (FindingRow.kind, kind), (FindingRow.status, status), (FindingRow.stale, stale)
        )
        threshold = check_unit(min_confidence, "min_confidence")
        if threshold is not None:
            stmt = stmt.where(FindingRow.confidence >= threshold)
        if run is not None:
            stmt = stmt.where(FindingRow.run_id == run_in(self.session, run, ws))
        if document is not None:
            doc = DocumentRepository(self.session).get(document, workspace=ws).id
            stmt = stmt.where(FindingRow.document_id == doc)
        if linked_to is not None:
            target_type, target_id = self._resolve(ws, linked_to)[:2]
            stmt = stmt.where(
                FindingRow.id.in_(
                    select(LinkRow.finding_id).where(
                        LinkRow.target_type == target_type, LinkRow.target_id == target_id
                    )
                )
            )
        keys: builtins.list[tuple[Any, bool]]
        if order.endswith("confidence"):
            stmt = stmt.where(FindingRow.confidence.is_not(None))
            keys = [(FindingRow.confidence, order.startswith("-")), (FindingRow.id, False)]
        else:
            keys = [(FindingRow.created_at, order.startswith("-")), (FindingRow.id, False)]
        return page(self.session, stmt, keys, Finding.model_validate, limit=limit, cursor=cursor)

    @readonly
    def review_queue(
        self,
        *,
        kind: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Page[Finding]:
        """The candidates waiting for a decision, least sure first (the ones without a
        confidence are in ``list(status="candidate")``)."""
        return self.list(
            kind=kind,
            status="candidate",
            order="confidence",
            limit=limit,
            cursor=cursor,
            workspace=workspace,
        )


def _snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    return jsonable({k: row[k] for k in (*_EDITABLE, "status", "revision")})
