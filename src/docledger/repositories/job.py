"""The producer's side of the durable job queue: enqueue, look, cancel, retry, purge.

Every status change appends a ``job_events`` row in the same transaction, so the history (the
seeds' processing_history) can never disagree with the job.
"""

from __future__ import annotations

import builtins
import json
import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from docledger.db.dialect import (
    JOBS_CHANNEL,
    dialect_insert,
    in_values,
    notify_jobs,
    writable_ctes,
)
from docledger.db.types import utcnow
from docledger.deprecation import renamed_argument
from docledger.errors import InvalidInput, InvalidTransition, NotFound
from docledger.ids import new_id
from docledger.models import Job as JobRow
from docledger.models import JobEvent as JobEventRow
from docledger.repositories import job_statements as sql
from docledger.repositories.base import (
    Repository,
    is_number,
    readonly,
    require_uuid,
    where_given,
)
from docledger.repositories.paging import page
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository, confine
from docledger.schemas.common import Page, validate
from docledger.schemas.job import Job, JobCreate, JobDetail, JobEvent, QueueStats
from docledger.vocab import JobStatus, values

FINISHED = ("succeeded", "failed", "dead", "cancelled")
EVENTS: Table = JobEventRow.__table__  # type: ignore[assignment]
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 600.0


def backoff_seconds(
    attempt: int, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S
) -> float:
    """Exponential backoff with full jitter on [0.5, 1.5): retries of many jobs that failed
    together (a dead dependency) spread out instead of stampeding back at once."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return float(delay * (0.5 + random.random()))  # noqa: S311 - jitter, not a secret


def json_results(results: Mapping[uuid.UUID, dict[str, Any] | None]) -> dict[Any, str | None]:
    """Job results as JSON text for the one-statement paths (None stays NULL)."""
    try:
        return {k: None if v is None else json.dumps(v) for k, v in results.items()}
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"a job result must be JSON: {exc}") from exc


#: Idempotency keys looked up per statement.
KEY_LOOKUP_CHUNK = 10_000


def record_events(session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
    """Append job events (Core executemany: no ORM bookkeeping on the queue's hot path)."""
    batch = [{"id": new_id(), "details": {}, **row} for row in rows]
    if batch:
        session.execute(insert(EVENTS), batch)


class JobRepository(Repository):
    """The producer's side of the queue: enqueue, look, cancel, retry, purge. The worker's
    side (claims and leases) is ``repositories/lease.py``."""

    def _events(self, rows: Iterable[Mapping[str, Any]]) -> None:
        record_events(self.session, rows)

    def enqueue_many(self, items: Iterable[JobCreate | Mapping[str, Any]]) -> list[Job]:
        """Enqueue in one statement. A job whose (queue, idempotency_key) already exists is not
        added again: the existing job is returned in its place."""
        now = utcnow()
        rows: list[dict[str, Any]] = []
        for item in items:
            data = validate(JobCreate, item)
            rows.append(
                {
                    "id": new_id(),
                    "workspace_id": data.workspace_id,
                    "queue": data.queue,
                    "task": data.task,
                    "payload": data.payload,
                    "status": "queued",
                    "priority": data.priority,
                    "attempts": 0,
                    "max_attempts": data.max_attempts,
                    "run_after": data.run_after or now,
                    "idempotency_key": data.idempotency_key,
                    "document_id": data.document_id,
                    "progress": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        if not rows:
            return []
        if writable_ctes(self.session):  # jobs, events and NOTIFY in one statement
            encoded = [{**r, "payload": json.dumps(r["payload"])} for r in rows]
            stmt, params = sql.enqueue_logged(encoded, now, JOBS_CHANNEL)
            inserted = set(self.session.scalars(stmt, params))
        else:
            stmt = (
                dialect_insert(self.session, JobRow)
                .on_conflict_do_nothing(
                    index_elements=["queue", "idempotency_key"],
                    index_where=sql.c.idempotency_key.is_not(None),
                )
                .returning(sql.c.id)
            )
            inserted = set(
                self.session.scalars(
                    stmt, rows, execution_options={"sort_by_parameter_order": True}
                )
            )
            self._events(
                {
                    "job_id": r["id"],
                    "event": "enqueued",
                    "to_status": "queued",
                    "attempt": 0,
                    "at": now,
                }
                for r in rows
                if r["id"] in inserted
            )
        keyed = [(r["queue"], r["idempotency_key"]) for r in rows if r["id"] not in inserted]
        existing: dict[tuple[str, str], JobRow] = {}
        if keyed:  # one look-up for every duplicate, not one each
            wanted = set(keyed)
            keys = sorted({k for _, k in keyed})
            queues = sorted({q for q, _ in keyed})
            for start in range(0, len(keys), KEY_LOOKUP_CHUNK):  # drivers cap bind parameters
                candidates = self.session.scalars(
                    select(JobRow).where(
                        in_values(
                            self.session,
                            JobRow.idempotency_key,
                            keys[start : start + KEY_LOOKUP_CHUNK],
                        ),
                        JobRow.queue.in_(queues),
                    )
                )
                for job in candidates:
                    if (job.queue, job.idempotency_key) in wanted:
                        existing[(job.queue, str(job.idempotency_key))] = job
        out = []
        for r in rows:
            if r["id"] in inserted:
                out.append(
                    Job.model_validate(
                        {
                            **r,
                            "lease_owner": None,
                            "lease_expires_at": None,
                            "result": None,
                            "last_error": None,
                            "started_at": None,
                            "finished_at": None,
                        }
                    )
                )
            else:
                out.append(Job.model_validate(existing[(r["queue"], r["idempotency_key"])]))
        return out

    def enqueue(
        self,
        task: str,
        payload: dict[str, Any] | None = None,
        *,
        queue: str = "default",
        priority: int = 0,
        run_after: datetime | None = None,
        max_attempts: int = 3,
        idempotency_key: str | None = None,
        document_id: uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
        workspace_id: uuid.UUID | None = None,
    ) -> Job:
        """Enqueue one job (see ``enqueue_many``). ``workspace`` (a slug or id) tags it with a
        workspace; ``workspace_id`` is its old name."""
        workspace = renamed_argument("workspace_id", workspace_id, "workspace", workspace)
        if workspace is not None:
            workspace_id = WorkspaceRepository(self.session).get(workspace).id
        item = {
            "task": task,
            "payload": {} if payload is None else payload,
            "queue": queue,
            "priority": priority,
            "run_after": run_after,
            "max_attempts": max_attempts,
            "idempotency_key": idempotency_key,
            "document_id": document_id,
            "workspace_id": workspace_id,
        }
        return self.enqueue_many([item])[0]

    def cancel(self, job_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None) -> Job:
        """Cancel a queued or running job (a running job's completion is then refused, so
        whatever it wrote rolls back). With ``workspace``, only a job of that workspace."""
        return self._move(
            job_id,
            workspace,
            ("queued", "running"),
            "cancelled",
            "cancelled",
            {"finished_at": utcnow(), "lease_owner": None, "lease_expires_at": None},
        )

    def retry(self, job_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None) -> Job:
        """Re-queue a dead, failed or cancelled job with a fresh set of attempts. With
        ``workspace``, only a job of that workspace."""
        return self._move(
            job_id,
            workspace,
            ("dead", "failed", "cancelled"),
            "queued",
            "retried",
            {"attempts": 0, "run_after": utcnow(), "finished_at": None, "progress": 0},
        )

    def _row(self, job_id: uuid.UUID | str, workspace: WorkspaceRef | None) -> JobRow:
        """The job, confined to ``workspace`` when given: a job of another workspace, or of
        none (store-wide work), is answered like one that does not exist."""
        key = require_uuid(job_id, "job id")
        return confine(self.session, self.session.get(JobRow, key), workspace, f"no job {job_id}")  # type: ignore[no-any-return]

    def _move(
        self,
        job_id: uuid.UUID | str,
        workspace: WorkspaceRef | None,
        allowed: Sequence[str],
        to_status: str,
        event: str,
        extra: dict[str, Any],
    ) -> Job:
        row = self._row(job_id, workspace)
        key = row.id
        current = row.status
        if current not in allowed:
            raise InvalidTransition(f"job {key} is {current}, cannot become {to_status}")
        now = utcnow()
        result = self.session.execute(
            update(JobRow)
            .where(JobRow.id == key, JobRow.status == current)
            .values(status=to_status, updated_at=now, **extra)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidTransition(f"job {key} changed status concurrently")
        self._events(
            [
                {
                    "job_id": key,
                    "event": event,
                    "from_status": current,
                    "to_status": to_status,
                    "attempt": row.attempts,
                    "at": now,
                }
            ]
        )
        if to_status == "queued":
            notify_jobs(self.session, {row.queue})
        self.session.expire(row)
        return Job.model_validate(self.session.get(JobRow, key))

    def purge(self, *, older_than_days: float, statuses: Sequence[str] = FINISHED) -> int:
        """Delete finished jobs (and their events) that finished more than N days ago. The
        only way history is ever removed; the caller logs the count."""
        bad = set(statuses) - set(FINISHED)
        if bad:
            raise InvalidInput(f"only finished jobs can be purged, not {sorted(bad)}")
        if not is_number(older_than_days) or not 0 <= older_than_days <= 36_500:
            raise InvalidInput("older_than_days is a number of days from 0 to 36500")
        cutoff = utcnow() - timedelta(days=older_than_days)
        result = self.session.execute(
            delete(JobRow).where(JobRow.status.in_(list(statuses)), JobRow.finished_at < cutoff)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # -- reading -------------------------------------------------------------------------
    def _mine(self, workspace: WorkspaceRef | None) -> builtins.list[Any]:
        if workspace is None:
            return []
        return [JobRow.workspace_id == WorkspaceRepository(self.session).get(workspace).id]

    @readonly
    def get(self, job_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None) -> JobDetail:
        """A job with its events; with ``workspace``, only a job of that workspace."""
        found = self.get_many([require_uuid(job_id, "job id")], workspace=workspace)
        if not found:  # another workspace's job is answered like one that does not exist
            raise NotFound(f"no job {job_id}")
        return found[0]

    @readonly
    def get_many(
        self, job_ids: Iterable[uuid.UUID | str], *, workspace: WorkspaceRef | None = None
    ) -> builtins.list[JobDetail]:
        """Several jobs with their events in two queries (a dashboard's failed jobs), in the
        order given; ids that name no job (of ``workspace``, when given) are left out."""
        keys = [require_uuid(j, "job id") for j in job_ids]
        if not keys:
            return []
        rows: dict[uuid.UUID, Any] = {}
        events: dict[uuid.UUID, builtins.list[JobEvent]] = {}
        mine = self._mine(workspace)
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            for row in self.session.scalars(select(JobRow).where(JobRow.id.in_(part), *mine)):
                rows[row.id] = row
            for e in self.session.scalars(
                select(JobEventRow)
                .where(JobEventRow.job_id.in_([k for k in part if k in rows]))
                .order_by(JobEventRow.job_id, JobEventRow.at, JobEventRow.id)
            ):
                events.setdefault(e.job_id, []).append(JobEvent.model_validate(e))
        return [
            JobDetail(**Job.model_validate(rows[k]).model_dump(), events=events.get(k, []))
            for k in dict.fromkeys(keys)
            if k in rows
        ]

    @readonly
    def stats(self, *, workspace: WorkspaceRef | None = None) -> list[QueueStats]:
        """Counts by queue and status, the oldest queued job's age, and last-minute throughput
        (of one workspace's jobs when given)."""
        now = utcnow()
        mine = self._mine(workspace)
        counts: dict[str, dict[str, int]] = {}
        for queue, status, n in self.session.execute(
            select(JobRow.queue, JobRow.status, func.count())
            .where(*mine)
            .group_by(JobRow.queue, JobRow.status)
        ):
            counts.setdefault(queue, {})[status] = int(n)
        oldest = dict(
            self.session.execute(
                select(JobRow.queue, func.min(JobRow.created_at))
                .where(JobRow.status == "queued", *mine)
                .group_by(JobRow.queue)
            ).all()
        )
        recent = dict(
            self.session.execute(
                select(JobRow.queue, func.count())
                .where(
                    JobRow.status == "succeeded",
                    JobRow.finished_at >= now - timedelta(minutes=1),
                    *mine,
                )
                .group_by(JobRow.queue)
            ).all()
        )
        out = []
        for queue in sorted(counts):
            first = oldest.get(queue)
            age = (now - _aware(first)).total_seconds() if first is not None else None
            out.append(
                QueueStats(
                    queue=queue,
                    counts=counts[queue],
                    oldest_queued_age_s=age,
                    succeeded_last_minute=int(recent.get(queue, 0)),
                )
            )
        return out

    @readonly
    def list(
        self,
        *,
        status: str | None = None,
        queue: str | None = None,
        task: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Page[Job]:
        """Newest first; of one workspace's jobs when given."""
        if status is not None and status not in values(JobStatus):
            raise InvalidInput(f"unknown job status {status!r}")
        stmt = where_given(
            select(JobRow).where(*self._mine(workspace)),
            (JobRow.status, status),
            (JobRow.queue, queue),
            (JobRow.task, task),
        )
        keys = [(JobRow.created_at, True), (JobRow.id, True)]
        return page(self.session, stmt, keys, Job.model_validate, limit=limit, cursor=cursor)


def _aware(value: Any) -> datetime:
    """Aggregates (min) bypass the column type on SQLite and come back as naive text/datetime."""
    from datetime import UTC  # noqa: PLC0415

    parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
