"""A finding's evidence (links to segments, versions, documents and other findings), the
citations read back from it, the links that follow re-extracted segments to a new version, its
versioned outputs and its attachments. Mixed into ``FindingRepository`` (``finding.py``)."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.orm import aliased

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
        if len(set(keys)) != len(keys):
            raise Conflict("the same evidence is given twice for one finding")
        for start in range(0, len(keys), IN_LIST):
            part = keys[start : start + IN_LIST]
            findings = sorted({k[0] for k in part}, key=str)
            wanted = set(part)
            existing = self.session.execute(
                select(LinkRow.finding_id, LinkRow.target_type, LinkRow.target_id).where(
                    LinkRow.finding_id.in_(findings),
                    LinkRow.target_id.in_(sorted({k[2] for k in part})),
                )
            )
            clash = [k for k in existing if tuple(k) in wanted]
            if clash:
                f, t, i = clash[0]
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
        seg = aliased(SegmentRow)
        ver = aliased(VersionRow)
        doc = aliased(DocumentRow)
        other = aliased(FindingRow)
        version_id = func.coalesce(LinkRow.version_id, seg.version_id)
        stmt = (
            select(
                LinkRow,
                seg.kind,
                seg.page_number,
                seg.bbox,
                seg.text,
                ver.id,
                ver.version_number,
                doc.id,
                doc.external_key,
                other.title,
            )
            .outerjoin(seg, seg.id == LinkRow.segment_id)
            .outerjoin(ver, ver.id == version_id)
            .outerjoin(doc, doc.id == func.coalesce(LinkRow.document_id, ver.document_id))
            .outerjoin(other, other.id == LinkRow.target_finding_id)
            .where(LinkRow.finding_id == row.id)
            .order_by(LinkRow.strength.desc().nulls_last(), LinkRow.created_at, LinkRow.id)
        )
        out = []
        for link, kind, page, bbox, text_, vid, vnum, did, dkey, title in self.session.execute(
            stmt
        ):
            typed = getattr(link, TYPED_COLUMNS.get(link.target_type, "segment_id"), None)
            out.append(
                Evidence(
                    link=FindingLink.model_validate(link),
                    exists=typed is not None,
                    document_id=did,
                    document_key=dkey,
                    version_id=vid,
                    version_number=vnum,
                    segment_kind=kind,
                    page_number=page,
                    bbox=bbox,
                    text=text_,
                    finding_title=title,
                )
            )
        return out
