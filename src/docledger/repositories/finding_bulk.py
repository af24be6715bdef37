"""What pipelines and re-extractions do to evidence in bulk: links written by the thousand,
and links that follow re-extracted segments to a new version (or go stale)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, update

from docledger.db.dialect import bulk_insert
from docledger.db.types import utcnow
from docledger.errors import InvalidInput, NotFound
from docledger.ids import new_id
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
    TYPED_COLUMNS,
    target_key,
)
from docledger.repositories.finding_evidence import FindingEvidence
from docledger.repositories.finding_kinds import FindingKindRepository
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
        findings: dict[uuid.UUID, FindingRow] = {}
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
        for start in range(0, len(keys), IN_LIST):
            for row in self.session.scalars(
                select(FindingRow).where(FindingRow.id.in_(keys[start : start + IN_LIST]))
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
        kinds: dict[tuple[uuid.UUID, str], FindingKind] = {}
        repo = FindingKindRepository(self.session)
        rows = []
        for fid, (ttype, tkey), item in parsed:
            row = findings[fid]
            if owners.get((ttype, tkey)) != row.workspace_id:
                raise NotFound(f"no {ttype} {tkey}")
            kind = kinds.get((row.workspace_id, row.kind))
            if kind is None:
                kind = kinds[(row.workspace_id, row.kind)] = repo.kind(row.workspace_id, row.kind)
            rows.append(
                self._link_row(
                    fid,
                    kind,
                    (ttype, str(tkey), {TYPED_COLUMNS[ttype]: tkey}),
                    item.get("relation", kind.relations[0]),
                    item.get("strength"),
                    item.get("reasoning"),
                )
            )
        self._refuse_duplicates([(r["finding_id"], r["target_type"], r["target_id"]) for r in rows])
        now = utcnow()
        bulk_insert(
            self.session,
            LinkRow.__table__,  # type: ignore[arg-type]
            [tuple({**r, "created_at": now}[c] for c in LINK_COLUMNS) for r in rows],
            LINK_COLUMNS,
        )
        counts: dict[uuid.UUID, int] = {}
        for r in rows:
            counts[r["finding_id"]] = counts.get(r["finding_id"], 0) + 1
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
        for ttype, keys in by_type.items():
            model = TARGET_ROWS[ttype]
            ordered = sorted(keys, key=str)
            for start in range(0, len(ordered), IN_LIST):
                for key, ws in self.session.execute(
                    select(model.id, model.workspace_id).where(
                        model.id.in_(ordered[start : start + IN_LIST])
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
                clash = self.session.scalar(
                    select(LinkRow.id).where(
                        LinkRow.finding_id == link.finding_id,
                        LinkRow.target_type == "segment",
                        LinkRow.target_id == str(successor),
                    )
                )
                if clash is not None:  # already linked to the successor: nothing to move
                    continue
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
