"""What comes out of findings: versioned outputs (epics, stories, API contracts), attached
files, and the summaries of a run's or a workspace's findings."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, case, func, insert, select

from docledger.db.types import utcnow
from docledger.errors import InvalidInput
from docledger.ids import new_id
from docledger.models import Finding as FindingRow
from docledger.models import FindingBlob as AttachmentRow
from docledger.models import FindingOutput as OutputRow
from docledger.repositories.base import readonly
from docledger.repositories.finding_base import FindingBase
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository, run_in
from docledger.schemas.finding import (
    FindingAttachment,
    FindingOutput,
    RunSummary,
    WorkspaceSummary,
)


class FindingOutputs(FindingBase):
    def create_output(
        self,
        finding: Any,
        output_type: str,
        body: Mapping[str, Any],
        *,
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> FindingOutput:
        """The next version of one output of a finding (an epic, a story, an API contract):
        version 1, 2, ... never overwritten. Its lineage reaches the finding and, through it,
        the evidence."""
        row = self._finding_row(finding, workspace)
        if not isinstance(output_type, str) or not output_type.strip():
            raise InvalidInput("an output has a type (non-empty text)")
        if not isinstance(body, Mapping):
            raise InvalidInput("an output's body is a JSON object")
        who = self._actor(actor)
        latest = self.session.scalar(
            select(func.max(OutputRow.version)).where(
                OutputRow.finding_id == row.id, OutputRow.output_type == output_type
            )
        )
        out = {
            "id": new_id(),
            "finding_id": row.id,
            "output_type": output_type,
            "version": int(latest or 0) + 1,
            "body": dict(body),
            "actor_id": who[0],
            "created_at": utcnow(),
        }
        self.session.execute(insert(OutputRow), [out])
        return FindingOutput.model_validate(out)

    @readonly
    def outputs(
        self,
        finding: Any,
        *,
        output_type: str | None = None,
        latest: bool = False,
        workspace: WorkspaceRef | None = None,
    ) -> builtins.list[FindingOutput]:
        """A finding's outputs by type and version (only each type's newest when
        ``latest``)."""
        row = self._finding_row(finding, workspace)
        stmt = select(OutputRow).where(OutputRow.finding_id == row.id)
        if output_type is not None:
            stmt = stmt.where(OutputRow.output_type == output_type)
        if latest:
            newest = (
                select(OutputRow.output_type, func.max(OutputRow.version).label("v"))
                .where(OutputRow.finding_id == row.id)
                .group_by(OutputRow.output_type)
                .subquery()
            )
            stmt = stmt.join(
                newest,
                and_(
                    newest.c.output_type == OutputRow.output_type,
                    newest.c.v == OutputRow.version,
                ),
            )
        stmt = stmt.order_by(OutputRow.output_type, OutputRow.version)
        return [FindingOutput.model_validate(o) for o in self.session.scalars(stmt)]

    def _attach_row(
        self, finding: Any, name: str, sha256: str, workspace: WorkspaceRef | None
    ) -> FindingAttachment:
        row = self._finding_row(finding, workspace)
        if not isinstance(name, str) or not name.strip() or len(name) > 50:
            raise InvalidInput("an attachment has a name of 1 to 50 characters")
        existing = self.session.get(AttachmentRow, (row.id, name))
        now = utcnow()
        if existing is not None:
            existing.sha256 = sha256
            self.session.flush()
            return FindingAttachment.model_validate(existing)
        values_ = {"finding_id": row.id, "name": name, "sha256": sha256, "created_at": now}
        self.session.execute(insert(AttachmentRow), [values_])
        return FindingAttachment.model_validate(values_)

    @readonly
    def attachments(
        self, finding: Any, *, workspace: WorkspaceRef | None = None
    ) -> builtins.list[FindingAttachment]:
        row = self._finding_row(finding, workspace)
        stmt = select(AttachmentRow).where(AttachmentRow.finding_id == row.id)
        return [
            FindingAttachment.model_validate(a)
            for a in self.session.scalars(stmt.order_by(AttachmentRow.name))
        ]

    @readonly
    def summarize_run(
        self, run: uuid.UUID | str, *, workspace: WorkspaceRef | None = None
    ) -> RunSummary:
        """A run's findings in one query: comparisons, successful and failed change analyses,
        the average alignment score of its comparisons, counts by kind and by status."""
        run_id = run_in(self.session, run, workspace)
        is_comparison = FindingRow.kind == "comparison"
        is_analysis = FindingRow.kind == "change_analysis"
        succeeded = FindingRow.body["success"].as_boolean()
        stmt = (
            select(
                FindingRow.kind,
                FindingRow.status,
                func.count(),
                func.sum(case((is_analysis & succeeded.is_(True), 1), else_=0)),
                func.sum(case((is_analysis & succeeded.is_(False), 1), else_=0)),
                func.sum(
                    case((is_comparison, FindingRow.body["alignment_score"].as_float()), else_=None)
                ),
                func.count(
                    case((is_comparison, FindingRow.body["alignment_score"].as_float()), else_=None)
                ),
            )
            .where(FindingRow.run_id == run_id)
            .group_by(FindingRow.kind, FindingRow.status)
        )
        by_kind: dict[str, int] = {}
        by_status: dict[str, int] = {}
        ok = failed = scored = 0
        total_score = 0.0
        for kind, status, count, good, bad, score_sum, score_count in self.session.execute(stmt):
            by_kind[kind] = by_kind.get(kind, 0) + count
            by_status[status] = by_status.get(status, 0) + count
            ok, failed = ok + int(good or 0), failed + int(bad or 0)
            total_score += float(score_sum or 0.0)
            scored += int(score_count or 0)
        return RunSummary(
            run_id=run_id,
            comparisons=by_kind.get("comparison", 0),
            successful_analyses=ok,
            failed_analyses=failed,
            average_alignment=total_score / scored if scored else None,
            by_kind=by_kind,
            by_status=by_status,
        )

    @readonly
    def summarize(self, *, workspace: WorkspaceRef | None = None) -> WorkspaceSummary:
        """A workspace's findings by kind and status (and how many are stale), one query."""
        ws = WorkspaceRepository(self.session).get(workspace).id
        stmt = (
            select(
                FindingRow.kind,
                FindingRow.status,
                func.count(),
                func.sum(case((FindingRow.stale.is_(True), 1), else_=0)),
            )
            .where(FindingRow.workspace_id == ws)
            .group_by(FindingRow.kind, FindingRow.status)
        )
        table: dict[str, dict[str, int]] = {}
        total = stale = 0
        for kind, status, count, stale_count in self.session.execute(stmt):
            table.setdefault(kind, {})[status] = count
            total += count
            stale += int(stale_count or 0)
        return WorkspaceSummary(workspace_id=ws, total=total, stale=stale, by_kind_and_status=table)
