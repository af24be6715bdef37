"""What pipelines and re-extractions do to evidence in bulk: links written by the thousand,
and links that follow re-extracted segments to a new version (or go stale)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, update

from docledger.db.dialect import bulk_insert, driver_value, in_values
from docledger.db.types import utcnow
from docledger.errors import InvalidInput, NotFound
from docledger.ids import new_id, uuid7_hex_many
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Extraction as ExtractionRow
from docledger.models import Finding as FindingRow
from docledger.models import FindingEvent as EventRow
from docledger.models import FindingLink as LinkRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.base import require_uuid
from docledger.repositories.finding_base import (
    IN_LIST,
    LINK_COLUMNS,
    TARGET_ROWS,
    target_key,
)
from docledger.repositories.finding_evidence import FindingEvidence
from docledger.repositories.finding_kinds import FindingKindRepository, check_unit
from docledger.repositories.workspace import WorkspaceRef
from docledger.schemas.finding import (
    CarryResult,
    Finding,
    FindingKind,
)


class FindingBulk(FindingEvidence):
    def link_many(
        self,
        links: Iterable[Mapping[str, Any]],
        *,
        workspace: WorkspaceRef | None = None,
    ) -> int:
        """Evidence in bulk (a pipeline's output): each a mapping with ``finding`` (id or
        DTO), ``target``, ``relation`` and optional ``strength`` / ``reasoning``. Checked as
        ``link`` checks one, looked up with one query per chunk and target type, written in
        one bulk statement; all or nothing. The history records one ``link`` event per
        finding with the number of links added."""
        items = list(links)
        if not items:
            return 0
        findings: dict[uuid.UUID, Any] = {}
        wanted_findings = set()
        parsed = []
        for item in items:
            if not isinstance(item, Mapping) or "finding" not in item or "target" not in item:
                raise InvalidInput("each link is a mapping with a finding and a target")
            unknown = set(item) - {"finding", "target", "relation", "strength", "reasoning"}
            if unknown:
                raise InvalidInput(f"unknown link fields: {sorted(unknown)}")
            f = item["finding"]
            fid = f.id if isinstance(f, Finding) else require_uuid(f, "finding id")
            wanted_findings.add(fid)
            parsed.append((fid, target_key(item["target"]), item))
        ws_filter = None
        if workspace is not None:
            from docledger.repositories.workspace import WorkspaceRepository  # noqa: PLC0415

            ws_filter = WorkspaceRepository(self.session).get(workspace).id
        keys = sorted(wanted_findings, key=str)
        conn = self.session.connection()  # Core rows: no ORM objects for a bulk look-up
        for start in range(0, len(keys), IN_LIST):
            for row in conn.execute(
                select(
                    FindingRow.id, FindingRow.workspace_id, FindingRow.kind, FindingRow.revision
                ).where(in_values(self.session, FindingRow.id, keys[start : start + IN_LIST]))
            ):
                findings[row.id] = row
        missing = [
            k
            for k in keys
            if k not in findings or ws_filter not in (None, findings[k].workspace_id)
        ]
        if missing:
            raise NotFound(f"no finding {missing[0]}")
        owners = self._owners([t for _, t, _ in parsed])
        kinds: dict[tuple[uuid.UUID, str], tuple[FindingKind, frozenset[str]]] = {}
        repo = FindingKindRepository(self.session)
        # rows in the drivers' own form (hex ids, one converted timestamp): bulk_insert then
        # converts nothing row by row, as extractions.record does for segments
        now = utcnow()
        created = driver_value(self.session, LinkRow.__table__, "created_at", now)  # type: ignore[arg-type]
        ids = uuid7_hex_many(len(parsed))
        rows: list[tuple[Any, ...]] = []
        keys_seen: list[tuple[uuid.UUID, str, str]] = []
        counts: dict[uuid.UUID, int] = {}
        for index, (fid, (ttype, tkey), item) in enumerate(parsed):
            finding = findings[fid]
            if owners.get((ttype, tkey)) != finding.workspace_id:
                raise NotFound(f"no {ttype} {tkey}")
            known = kinds.get((finding.workspace_id, finding.kind))
            if known is None:
                kind = repo.kind(finding.workspace_id, finding.kind)
                known = kinds[(finding.workspace_id, finding.kind)] = (
                    kind,
                    frozenset(kind.relations),
                )
            rows.append(_bulk_row(ids[index], fid, ttype, tkey, item, known, created))
            keys_seen.append((fid, ttype, str(tkey)))
            counts[fid] = counts.get(fid, 0) + 1
        self._refuse_duplicates(keys_seen)
        bulk_insert(
            self.session,
            LinkRow.__table__,  # type: ignore[arg-type]
            rows,
            LINK_COLUMNS,
            encoded=LINK_COLUMNS,
        )
        bulk_insert(
            self.session,
            EventRow.__table__,  # type: ignore[arg-type]
            [
                {
                    "id": new_id(),
                    "finding_id": fid,
                    "action": "link",
                    "revision": findings[fid].revision,
                    "actor_id": None,
                    "actor": None,
                    "before": None,
                    "after": {"links_added": n},
                    "at": now,
                }
                for fid, n in counts.items()
            ],
        )
        return len(rows)

    def _owners(self, targets: Sequence[tuple[str, uuid.UUID]]) -> dict[tuple[str, uuid.UUID], Any]:
        """The workspace of each target, one query per type and chunk."""
        by_type: dict[str, set[uuid.UUID]] = {}
        for ttype, key in targets:
            by_type.setdefault(ttype, set()).add(key)
        owners: dict[tuple[str, uuid.UUID], Any] = {}
        conn = self.session.connection()
        for ttype, keys in by_type.items():
            model = TARGET_ROWS[ttype]
            ordered = sorted(keys, key=str)
            for start in range(0, len(ordered), IN_LIST):
                for key, ws in conn.execute(
                    select(model.id, model.workspace_id).where(
                        in_values(self.session, model.id, ordered[start : start + IN_LIST])
                    )
                ):
                    owners[(ttype, key)] = ws
        return owners

    # -- following a new version ---------------------------------------------------------------

    def carry_forward(
        self, old_extraction: uuid.UUID | str, new_extraction: uuid.UUID | str
    ) -> CarryResult:
        """Follow the evidence on the old extraction's segments to the new extraction's
        segments that succeed them (``predecessor_id``): a successor with the same text keeps
        the link ``current``, one whose text changed makes it ``changed``; a segment without a
        successor leaves its link where it was, ``stale``, and flags the finding stale with the
        reason. Every move is in the finding's history. ``extractions.record`` calls this
        itself when it links new segments to their predecessors."""
        old_id = require_uuid(old_extraction, "old extraction id")
        new_id_ = require_uuid(new_extraction, "new extraction id")
        linked = self.session.execute(
            select(LinkRow, SegmentRow.content_hash, SegmentRow.page_number)
            .join(SegmentRow, SegmentRow.id == LinkRow.segment_id)
            .where(SegmentRow.extraction_id == old_id, LinkRow.state != "stale")
            .order_by(LinkRow.finding_id, LinkRow.id)
        ).all()
        if not linked:
            return CarryResult()
        successors = {
            before: (after, digest)
            for before, after, digest in self.session.execute(
                select(SegmentRow.predecessor_id, SegmentRow.id, SegmentRow.content_hash).where(
                    SegmentRow.extraction_id == new_id_, SegmentRow.predecessor_id.is_not(None)
                )
            )
        }
        version = self.session.scalar(
            select(VersionRow.version_number)
            .join(ExtractionRow, ExtractionRow.version_id == VersionRow.id)
            .where(ExtractionRow.id == new_id_)
        )
        # which findings already cite a new segment: one query, not one per link
        linked_new = {
            (finding_id, segment_id)
            for finding_id, segment_id in self.session.execute(
                select(LinkRow.finding_id, LinkRow.segment_id)
                .join(SegmentRow, SegmentRow.id == LinkRow.segment_id)
                .where(SegmentRow.extraction_id == new_id_)
            )
        }
        now = utcnow()
        result = {"kept": 0, "changed": 0, "stale": 0}
        stale_findings: dict[uuid.UUID, list[str]] = {}
        events = []
        for link, digest, page in linked:
            found = successors.get(link.segment_id)
            old_target = link.target_id
            if found is None:
                reason = (
                    f"segment {old_target}"
                    + (f" on page {page}" if page is not None else "")
                    + f" has no successor in version {version or '?'}"
                )
                link.state, link.stale_reason = "stale", reason
                stale_findings.setdefault(link.finding_id, []).append(reason)
                result["stale"] += 1
                detail = {"target_id": old_target, "state": "stale", "reason": reason}
                action = "stale"
            else:
                successor, new_digest = found
                if (link.finding_id, successor) in linked_new:
                    continue  # already linked to the successor: nothing to move
                linked_new.add((link.finding_id, successor))
                state = "current" if digest == new_digest else "changed"
                link.target_id, link.segment_id, link.state = str(successor), successor, state
                result["kept" if state == "current" else "changed"] += 1
                detail = {"from": old_target, "to": str(successor), "state": state}
                action = "carry"
            events.append((link.finding_id, action, detail))
        self.session.flush()
        revisions = (
            dict(
                self.session.execute(
                    select(FindingRow.id, FindingRow.revision).where(
                        FindingRow.id.in_({f for f, _, _ in events})
                    )
                ).all()
            )
            if events
            else {}
        )
        for fid, action, detail in events:
            self.session.execute(
                insert(EventRow),
                [
                    {
                        "id": new_id(),
                        "finding_id": fid,
                        "action": action,
                        "revision": revisions[fid],
                        "actor_id": None,
                        "actor": "docledger carry_forward",
                        "before": None,
                        "after": detail,
                        "at": now,
                    }
                ],
            )
        for fid, reasons in stale_findings.items():
            self.session.execute(
                update(FindingRow)
                .where(FindingRow.id == fid)
                .values(stale=True, stale_reason="; ".join(reasons)[:4000], updated_at=now)
                .execution_options(synchronize_session=False)
            )
        return CarryResult(**result, findings_stale=len(stale_findings))


def _bulk_row(
    link_id: str,
    fid: uuid.UUID,
    ttype: str,
    tkey: uuid.UUID,
    item: Mapping[str, Any],
    known: tuple[FindingKind, frozenset[str]],
    created: Any,
) -> tuple[Any, ...]:
    """One link checked as ``link`` checks it, as a row of LINK_COLUMNS in the drivers' form."""
    kind, relations = known
    relation = item.get("relation", kind.relations[0])
    if relation not in relations:
        raise InvalidInput(
            f"relation {relation!r} is not one of kind {kind.name!r}'s: {kind.relations}"
        )
    strength = item.get("strength")
    if strength is not None:
        strength = check_unit(strength, "strength")
    reasoning = item.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, str):
        raise InvalidInput("reasoning is text")
    if ttype == "finding" and tkey == fid:
        raise InvalidInput("a finding cannot be its own evidence")
    typed = tkey.hex
    return (
        link_id,
        fid.hex,
        ttype,
        str(tkey),
        typed if ttype == "segment" else None,
        typed if ttype == "version" else None,
        typed if ttype == "document" else None,
        typed if ttype == "finding" else None,
        relation,
        strength,
        reasoning,
        "current",
        None,
        created,
    )
