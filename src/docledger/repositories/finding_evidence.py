"""A finding's evidence (links to segments, versions, documents and other findings), the
citations read back from it, the links that follow re-extracted segments to a new version, its
versioned outputs and its attachments. Mixed into ``FindingRepository`` (``finding.py``)."""

from __future__ import annotations

import builtins
import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.orm import aliased

from docledger.db.dialect import in_values
from docledger.db.types import utcnow
from docledger.errors import Conflict, InvalidInput, NotFound
from docledger.ids import new_id
from docledger.models import Document as DocumentRow
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Finding as FindingRow
from docledger.models import FindingEvent as EventRow
from docledger.models import FindingLink as LinkRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.base import readonly
from docledger.repositories.finding_base import (
    IN_LIST,
    TARGET_ROWS,
    TYPED_COLUMNS,
    FindingBase,
    Target,
    target_key,
)
from docledger.repositories.finding_kinds import FindingKindRepository, check_unit
from docledger.repositories.workspace import WorkspaceRef
from docledger.schemas.finding import (
    Evidence,
    FindingKind,
    FindingLink,
)


class FindingEvidence(FindingBase):
    def _resolve(self, ws: uuid.UUID, target: Target) -> tuple[str, str, dict[str, uuid.UUID]]:
        """(type, id text, typed column) of a target in workspace ``ws``; NotFound when it
        does not exist there (another workspace's row looks missing too)."""
        kind, key = target_key(target)
        model = TARGET_ROWS[kind]
        owner = self.session.scalar(select(model.workspace_id).where(model.id == key))
        if owner != ws:
            raise NotFound(f"no {kind} {key}")
        return kind, str(key), {TYPED_COLUMNS[kind]: key}

    def _link_row(
        self,
        finding_id: uuid.UUID,
        kind: FindingKind,
        resolved: tuple[str, str, dict[str, uuid.UUID]],
        relation: object,
        strength: object,
        reasoning: object,
    ) -> dict[str, Any]:
        if relation not in kind.relations:
            raise InvalidInput(
                f"relation {relation!r} is not one of kind {kind.name!r}'s: {kind.relations}"
            )
        if reasoning is not None and not isinstance(reasoning, str):
            raise InvalidInput("reasoning is text")
        target_type, target_id, typed = resolved
        if target_type == "finding" and target_id == str(finding_id):
            raise InvalidInput("a finding cannot be its own evidence")
        row: dict[str, Any] = dict.fromkeys(TYPED_COLUMNS.values())
        row.update(
            id=new_id(),
            finding_id=finding_id,
            target_type=target_type,
            target_id=target_id,
            relation=relation,
            strength=check_unit(strength, "strength"),
            reasoning=reasoning,
            state="current",
            stale_reason=None,
        )
        row.update(typed)
        return row

    def _link_rows(
        self,
        finding_id: uuid.UUID,
        ws: uuid.UUID,
        kind: FindingKind,
        evidence: Iterable[Mapping[str, Any]],
    ) -> list[dict[str, Any]]:
        if isinstance(evidence, Mapping | str | bytes):
            raise InvalidInput("evidence is a list of mappings (target, relation, ...)")
        rows, seen = [], set()
        for item in evidence:
            if not isinstance(item, Mapping) or "target" not in item:
                raise InvalidInput("each piece of evidence is a mapping with a target")
            unknown = set(item) - {"target", "relation", "strength", "reasoning"}
            if unknown:
                raise InvalidInput(f"unknown evidence fields: {sorted(unknown)}")
            resolved = self._resolve(ws, item["target"])
            if resolved[:2] in seen:
                raise Conflict(f"{resolved[0]} {resolved[1]} is given twice as evidence")
            seen.add(resolved[:2])
            relation = item.get("relation", kind.relations[0])
            rows.append(
                self._link_row(
                    finding_id,
                    kind,
                    resolved,
                    relation,
                    item.get("strength"),
                    item.get("reasoning"),
                )
            )
        return rows

    def _insert_links(self, rows: Sequence[dict[str, Any]], now: datetime) -> None:
        if rows:
            self.session.execute(insert(LinkRow), [{**r, "created_at": now} for r in rows])

    def link(
        self,
        finding: Any,
        target: Target,
        relation: str | None = None,
        *,
        strength: float | None = None,
        reasoning: str | None = None,
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> FindingLink:
        """Add one piece of evidence: ``relation`` from the kind's closed set (its first one
        when not given), ``strength`` 0..1, ``reasoning`` free text. A target already linked
        to the finding is Conflict."""
        row = self._finding_row(finding, workspace)
        kind = FindingKindRepository(self.session).kind(row.workspace_id, row.kind)
        resolved = self._resolve(row.workspace_id, target)
        link = self._link_row(
            row.id,
            kind,
            resolved,
            kind.relations[0] if relation is None else relation,
            strength,
            reasoning,
        )
        self._refuse_duplicates([(row.id, resolved[0], resolved[1])])
        now = utcnow()
        self._insert_links([link], now)
        self._audit_links(
            row,
            "link",
            {"target_type": resolved[0], "target_id": resolved[1], "relation": link["relation"]},
            actor,
            now,
        )
        return FindingLink.model_validate({**link, "created_at": now})

    def _audit_links(
        self, row: FindingRow, action: str, detail: dict[str, Any], actor: Any, now: datetime
    ) -> None:
        who = self._actor(actor)
        self.session.execute(
            insert(EventRow),
            [
                {
                    "id": new_id(),
                    "finding_id": row.id,
                    "action": action,
                    "revision": row.revision,
                    "actor_id": who[0],
                    "actor": who[1],
                    "before": None,
                    "after": detail,
                    "at": now,
                }
            ],
        )

    def _refuse_duplicates(self, keys: Sequence[tuple[uuid.UUID, str, str]]) -> None:
        """Conflict when a (finding, target) pair repeats or is linked already (the UNIQUE
        constraint would say so too, but only after the whole batch was sent)."""
        if len(set(keys)) != len(keys):
            raise Conflict("the same evidence is given twice for one finding")
        wanted = set(keys)
        findings = sorted({k[0] for k in keys}, key=str)
        conn = self.session.connection()
        for start in range(0, len(findings), IN_LIST):
            existing = conn.execute(
                select(LinkRow.finding_id, LinkRow.target_type, LinkRow.target_id).where(
                    in_values(self.session, LinkRow.finding_id, findings[start : start + IN_LIST])
                )
            )
            clash = next((k for k in existing if tuple(k) in wanted), None)
            if clash is not None:
                f, t, i = clash
                raise Conflict(f"finding {f} already has {t} {i} as evidence")

    def unlink(
        self,
        finding: Any,
        target: Target,
        *,
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> FindingLink:
        """Remove one piece of evidence (NotFound when the finding has no such link)."""
        row = self._finding_row(finding, workspace)
        ttype, key = target_key(target)
        link = self.session.scalar(
            select(LinkRow).where(
                LinkRow.finding_id == row.id,
                LinkRow.target_type == ttype,
                LinkRow.target_id == str(key),
            )
        )
        if link is None:
            raise NotFound(f"finding {row.id} has no {ttype} {key} as evidence")
        gone = FindingLink.model_validate(link)
        self.session.delete(link)
        self.session.flush()
        self._audit_links(
            row,
            "unlink",
            {"target_type": ttype, "target_id": str(key), "relation": gone.relation},
            actor,
            utcnow(),
        )
        return gone

    def _move_links(self, source: uuid.UUID, target: uuid.UUID) -> int:
        """Re-point ``source``'s links at ``target`` where ``target`` has no link to the same
        thing yet (and never at ``target`` itself)."""
        theirs = aliased(LinkRow)
        result = self.session.execute(
            update(LinkRow)
            .where(
                LinkRow.finding_id == source,
                LinkRow.target_id != str(target),
                ~exists().where(
                    theirs.finding_id == target,
                    theirs.target_type == LinkRow.target_type,
                    theirs.target_id == LinkRow.target_id,
                ),
            )
            .values(finding_id=target)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    @readonly
    def evidence(
        self, finding: Any, *, workspace: WorkspaceRef | None = None
    ) -> builtins.list[Evidence]:
        """The finding's evidence with what each link points at, in one query: a segment's
        text, page and box (page-relative, see BBox) with its version and document — a
        citation you can draw — or the version, document or finding linked. Strongest
        first, then oldest."""
        row = self._finding_row(finding, workspace)
        conn = self.session.connection()
        links = conn.execute(_links_statement(), {"finding": row.id}).all()
        # then each kind of target by primary key: a handful of index look-ups whatever the
        # table sizes and the planner's statistics (one query of outer joins was hash-joined
        # over whole tables by PostgreSQL before its first ANALYZE)
        segs = _by_id(conn, _segment_statement(), [r.segment_id for r in links])
        versions = _by_id(
            conn,
            _version_statement(),
            [r.version_id for r in links] + [s_.version_id for s_ in segs.values()],
        )
        docs = _by_id(conn, _document_statement(), [r.document_id for r in links])
        titles = _by_id(conn, _finding_statement(), [r.target_finding_id for r in links])
        out = []
        for r in links:
            link = FindingLink.model_validate({c: getattr(r, c) for c in _LINK_FIELDS})
            seg = segs.get(r.segment_id)
            ver = versions.get(r.version_id if seg is None else seg.version_id)
            doc = docs.get(r.document_id)
            out.append(
                Evidence(
                    link=link,
                    exists=getattr(r, TYPED_COLUMNS.get(link.target_type, "segment_id"))
                    is not None,
                    document_id=ver.document_id if ver is not None else (doc and doc.id),
                    document_key=ver.external_key
                    if ver is not None
                    else (doc and doc.external_key),
                    version_id=ver.id if ver is not None else None,
                    version_number=ver.version_number if ver is not None else None,
                    segment_kind=seg.kind if seg is not None else None,
                    page_number=seg.page_number if seg is not None else None,
                    bbox=seg.bbox if seg is not None else None,
                    text=seg.text if seg is not None else None,
                    finding_title=titles[r.target_finding_id].title
                    if r.target_finding_id in titles
                    else None,
                )
            )
        return out


_LINK_FIELDS = (
    "id",
    "finding_id",
    "target_type",
    "target_id",
    "relation",
    "strength",
    "reasoning",
    "state",
    "stale_reason",
    "created_at",
)


@functools.cache
def _links_statement() -> Any:
    links = LinkRow.__table__
    return (
        select(
            *(links.c[c] for c in (*_LINK_FIELDS, "segment_id", "version_id", "document_id")),
            links.c.target_finding_id,
        )
        .where(links.c.finding_id == bindparam("finding"))
        .order_by(links.c.strength.desc().nulls_last(), links.c.created_at, links.c.id)
    )


@functools.cache
def _segment_statement() -> Any:
    seg = SegmentRow.__table__
    return select(
        seg.c.id, seg.c.version_id, seg.c.kind, seg.c.page_number, seg.c.bbox, seg.c.text
    ).where(seg.c.id.in_(bindparam("ids", expanding=True)))


@functools.cache
def _version_statement() -> Any:
    ver, doc = VersionRow.__table__, DocumentRow.__table__
    return (
        select(ver.c.id, ver.c.version_number, ver.c.document_id, doc.c.external_key)
        .join(doc, doc.c.id == ver.c.document_id)
        .where(ver.c.id.in_(bindparam("ids", expanding=True)))
    )


@functools.cache
def _document_statement() -> Any:
    doc = DocumentRow.__table__
    return select(doc.c.id, doc.c.external_key).where(
        doc.c.id.in_(bindparam("ids", expanding=True))
    )


@functools.cache
def _finding_statement() -> Any:
    other = FindingRow.__table__
    return select(other.c.id, other.c.title).where(other.c.id.in_(bindparam("ids", expanding=True)))


def _by_id(conn: Any, statement: Any, ids: Sequence[Any]) -> dict[Any, Any]:
    wanted = sorted({i for i in ids if i is not None}, key=str)
    if not wanted:
        return {}
    return {r.id: r for r in conn.execute(statement, {"ids": wanted})}
