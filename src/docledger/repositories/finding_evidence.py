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
                    LinkRow.finding_id.in_(findings[start : start + IN_LIST])
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
        out = []
        for r in self.session.connection().execute(_evidence_statement(), {"finding": row.id}):
            link = FindingLink.model_validate({c: getattr(r, c) for c in _LINK_FIELDS})
            typed = getattr(r, TYPED_COLUMNS.get(link.target_type, "segment_id"))
            out.append(
                Evidence(
                    link=link,
                    exists=typed is not None,
                    document_id=r.sdoc_id or r.vdoc_id or r.ldoc_id,
                    document_key=r.sdoc_key or r.vdoc_key or r.ldoc_key,
                    version_id=r.sver_id or r.lver_id,
                    version_number=r.sver_number or r.lver_number,
                    segment_kind=r.seg_kind,
                    page_number=r.seg_page,
                    bbox=r.seg_bbox,
                    text=r.seg_text,
                    finding_title=r.other_title,
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
def _evidence_statement() -> Any:
    """evidence()'s one query, built once: each link with its segment (text, page, box), the
    version and document it lies in — reached through the segment, or named by the link — and
    a linked finding's title. Plain equality joins only, so each is an index look-up."""
    links = LinkRow.__table__
    seg = SegmentRow.__table__.alias("seg")
    sver = VersionRow.__table__.alias("sver")
    lver = VersionRow.__table__.alias("lver")
    sdoc = DocumentRow.__table__.alias("sdoc")
    vdoc = DocumentRow.__table__.alias("vdoc")
    ldoc = DocumentRow.__table__.alias("ldoc")
    other = FindingRow.__table__.alias("other")
    return (
        select(
            *(links.c[c] for c in (*_LINK_FIELDS, "segment_id", "version_id", "document_id")),
            links.c.target_finding_id,
            seg.c.kind.label("seg_kind"),
            seg.c.page_number.label("seg_page"),
            seg.c.bbox.label("seg_bbox"),
            seg.c.text.label("seg_text"),
            sver.c.id.label("sver_id"),
            sver.c.version_number.label("sver_number"),
            lver.c.id.label("lver_id"),
            lver.c.version_number.label("lver_number"),
            sdoc.c.id.label("sdoc_id"),
            sdoc.c.external_key.label("sdoc_key"),
            vdoc.c.id.label("vdoc_id"),
            vdoc.c.external_key.label("vdoc_key"),
            ldoc.c.id.label("ldoc_id"),
            ldoc.c.external_key.label("ldoc_key"),
            other.c.title.label("other_title"),
        )
        .select_from(links)
        .outerjoin(seg, seg.c.id == links.c.segment_id)
        .outerjoin(sver, sver.c.id == seg.c.version_id)
        .outerjoin(sdoc, sdoc.c.id == sver.c.document_id)
        .outerjoin(lver, lver.c.id == links.c.version_id)
        .outerjoin(vdoc, vdoc.c.id == lver.c.document_id)
        .outerjoin(ldoc, ldoc.c.id == links.c.document_id)
        .outerjoin(other, other.c.id == links.c.target_finding_id)
        .where(links.c.finding_id == bindparam("finding"))
        .order_by(links.c.strength.desc().nulls_last(), links.c.created_at, links.c.id)
    )
