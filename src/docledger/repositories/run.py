"""Runs and their events; a run's metrics come from MetricRepository (repositories/metric.py).

Lineage edges between runs and entities live in repositories/lineage.py."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, insert, not_, select, update

from docledger.db.types import utcnow
from docledger.errors import InvalidInput, InvalidTransition, NotFound
from docledger.ids import new_id
from docledger.models import Conversation as ConversationRow
from docledger.models import Finding as FindingRow
from docledger.models import LineageEdge as EdgeRow
from docledger.models import Message as MessageRow
from docledger.models import MetricChunk as ChunkRow
from docledger.models import Run as RunRow
from docledger.models import RunEvent as RunEventRow
from docledger.repositories.base import (
    is_number,
    readonly,
    require_uuid,
    where_given,
)
from docledger.repositories.finding import FindingRepository
from docledger.repositories.metric import MetricRepository
from docledger.repositories.paging import page
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository, confine, run_in
from docledger.schemas.common import Page
from docledger.schemas.run import Run, RunEvent
from docledger.vocab import LogLevel, RunKind, values

FINAL = ("succeeded", "failed", "cancelled")


class RunRepository(MetricRepository):
    """A run: created, logged to, finished; its metrics through MetricRepository."""

    def create(
        self,
        name: str,
        kind: str = "pipeline",
        *,
        params: dict[str, Any] | None = None,
        tags: Sequence[str] = (),
        parent: uuid.UUID | str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Run:
        if kind not in values(RunKind):
            raise InvalidInput(f"unknown run kind {kind!r}; one of {values(RunKind)}")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("a run needs a name")
        if params is not None and not isinstance(params, Mapping):
            raise InvalidInput("run params are a JSON object")
        if isinstance(tags, str) or not all(isinstance(t, str) and t for t in tags):
            raise InvalidInput("tags are a list of non-empty strings")
        parent_id = require_uuid(parent, "parent run id") if parent is not None else None
        if parent_id is not None and self.session.get(RunRow, parent_id) is None:
            raise NotFound(f"no run {parent_id}")
        ws = WorkspaceRepository(self.session).get(workspace)
        now = utcnow()
        row = {
            "id": new_id(),
            "workspace_id": ws.id,
            "kind": kind,
            "name": name,
            "status": "running",
            "params": dict(params or {}),
            "tags": list(tags),
            "parent_run_id": parent_id,
            "error": None,
            "started_at": now,
            "finished_at": None,
            "created_at": now,
        }
        self.session.execute(insert(RunRow), [row])
        return Run.model_validate(row)

    def finish(
        self,
        run_id: uuid.UUID | str,
        status: str = "succeeded",
        error: str | None = None,
        *,
        workspace: WorkspaceRef | None = None,
    ) -> Run:
        """Close a running run (succeeded, failed or cancelled) and record its end time."""
        if status not in FINAL:
            raise InvalidInput(f"a run finishes as one of {FINAL}")
        key = run_in(self.session, run_id, workspace)
        result = self.session.execute(
            update(RunRow)
            .where(RunRow.id == key, RunRow.status == "running")
            .values(status=status, error=error, finished_at=utcnow())
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            current = self.get(key)
            raise InvalidTransition(f"run {key} is {current.status}, cannot become {status}")
        return self.get(key)

    def reap(self, *, idle_s: float = 3600.0) -> builtins.list[Run]:
        """Close the runs a killed process left ``running``: those with no sign of life (start,
        event or metric) for ``idle_s`` seconds become ``failed`` with the reason. A live
        run that logs now and then is never taken."""
        if not is_number(idle_s) or not 0 <= idle_s <= 10**9:
            raise InvalidInput("idle_s is a number of seconds, 0 or more")
        cutoff = utcnow() - timedelta(seconds=idle_s)
        recent_event = exists().where(RunEventRow.run_id == RunRow.id, RunEventRow.at > cutoff)
        recent_metric = exists().where(ChunkRow.run_id == RunRow.id, ChunkRow.at > cutoff)
        idle = select(RunRow.id).where(
            RunRow.status == "running",
            RunRow.started_at <= cutoff,
            not_(recent_event),
            not_(recent_metric),
        )
        ids = list(self.session.scalars(idle))
        reason = f"reaped: no activity for {idle_s:g} s (its process was probably killed)"
        for part in range(0, len(ids), 500):
            self.session.execute(
                update(RunRow)
                .where(RunRow.id.in_(ids[part : part + 500]), RunRow.status == "running")
                .values(status="failed", error=reason, finished_at=utcnow())
            )
        if not ids:
            return []
        reaped = self.session.scalars(
            select(RunRow).where(RunRow.id.in_(ids)).order_by(RunRow.created_at, RunRow.id)
        )
        return [Run.model_validate(r) for r in reaped]

    def delete(self, run_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None) -> Run:
        """Delete a run (a comparison session) and what it produced: its child runs, its
        findings (with their evidence, history, outputs and attachment rows), its
        conversations, events, metrics and lineage edges. Nothing else: the documents and
        versions it used stay, model versions it made stay without a run, and evidence other
        findings had on its findings stays, reading as gone."""
        gone = self.get(run_id, workspace=workspace)
        key = gone.id
        runs, frontier = [key], [key]
        while frontier:
            frontier = list(
                self.session.scalars(select(RunRow.id).where(RunRow.parent_run_id.in_(frontier)))
            )
            runs += frontier
        findings = list(
            self.session.scalars(select(FindingRow.id).where(FindingRow.run_id.in_(runs)))
        )
        talks = list(
            self.session.scalars(select(ConversationRow.id).where(ConversationRow.run_id.in_(runs)))
        )
        said = list(
            self.session.scalars(select(MessageRow.id).where(MessageRow.conversation_id.in_(talks)))
        )
        FindingRepository(self.session)._forget_lineage(findings)
        for kind, ids in (("run", runs), ("conversation", talks), ("message", said)):
            names = [str(i) for i in ids]
            for start in range(0, len(names), 500):
                self.session.execute(
                    delete(EdgeRow).where(
                        EdgeRow.entity_type == kind,
                        EdgeRow.entity_id.in_(names[start : start + 500]),
                    )
                )
        self.session.execute(delete(RunRow).where(RunRow.id == key))
        return gone

    @readonly
    def get(self, run_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None) -> Run:
        row = self.session.get(RunRow, require_uuid(run_id, "run id"))
        return Run.model_validate(confine(self.session, row, workspace, f"no run {run_id}"))

    @readonly
    def list(
        self,
        *,
        kind: str | None = None,
        status: str | None = None,
        parent: uuid.UUID | str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Page[Run]:
        """Newest first; every workspace's runs unless one is given."""
        stmt = where_given(select(RunRow), (RunRow.kind, kind), (RunRow.status, status))
        if workspace is not None:
            stmt = stmt.where(
                RunRow.workspace_id == WorkspaceRepository(self.session).get(workspace).id
            )
        if parent is not None:
            stmt = stmt.where(RunRow.parent_run_id == require_uuid(parent, "parent run id"))
        keys = [(RunRow.created_at, True), (RunRow.id, True)]
        return page(self.session, stmt, keys, Run.model_validate, limit=limit, cursor=cursor)

    # -- events and metrics --------------------------------------------------------------
    def log(
        self,
        run_id: uuid.UUID | str,
        event: str,
        *,
        level: str = "info",
        message: str | None = None,
        data: dict[str, Any] | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> None:
        if level not in values(LogLevel):
            raise InvalidInput(f"unknown level {level!r}")
        if not isinstance(event, str) or not event:
            raise InvalidInput("an event is a non-empty name")
        if data is not None and not isinstance(data, Mapping):
            raise InvalidInput("run event data is a JSON object")
        key = run_in(self.session, run_id, workspace)
        self.session.execute(
            insert(RunEventRow),
            [
                {
                    "id": new_id(),
                    "run_id": key,
                    "level": level,
                    "event": event,
                    "message": message,
                    "data": dict(data or {}),
                    "at": utcnow(),
                }
            ],
        )

    @readonly
    def events(
        self, run_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None
    ) -> builtins.list[RunEvent]:
        stmt = select(RunEventRow).where(
            RunEventRow.run_id == run_in(self.session, run_id, workspace)
        )
        return [
            RunEvent.model_validate(e)
            for e in self.session.scalars(stmt.order_by(RunEventRow.at, RunEventRow.id))
        ]
