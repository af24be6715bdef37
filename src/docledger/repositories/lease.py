"""The worker's side of the queue: leases.

A worker claims due jobs (leasing them for a while), renews the lease with heartbeats, and
ends it by completing, failing or releasing the job. Every step checks the lease is still the
worker's, so a job whose lease expired and was claimed elsewhere is never finished twice.
Producers use ``repositories/job.py``; the statements both use are in ``job_statements.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update

from docledger.db.dialect import (
    skip_commit_flush,
    writable_ctes,
)
from docledger.db.types import utcnow
from docledger.errors import InvalidInput, InvalidTransition, LeaseLost, NotFound
from docledger.models import Job as JobRow
from docledger.repositories import job_statements as sql
from docledger.repositories.base import (
    Repository,
    check_limit,
    is_number,
    readonly,
)
from docledger.repositories.job import (
    BACKOFF_BASE_S,
    backoff_seconds,
    json_results,
    record_events,
)
from docledger.schemas.job import ClaimedJob
from docledger.vocab import JobStatus


def _claimed(row: Any) -> ClaimedJob:
    return ClaimedJob(
        id=row.id,
        task=row.task,
        queue=row.queue,
        payload=row.payload,
        priority=row.priority,
        attempt=row.attempts,
        max_attempts=row.max_attempts,
        document_id=row.document_id,
        workspace_id=row.workspace_id,
    )


class LeaseRepository(Repository):
    def _events(self, rows: Iterable[Mapping[str, Any]]) -> None:
        record_events(self.session, rows)

    def claim(
        self,
        queue: str,
        worker_id: str,
        *,
        lease_s: float = 30.0,
        limit: int = 1,
        recover: bool = True,
        standalone: bool = True,
    ) -> list[ClaimedJob]:
        """Take up to ``limit`` due jobs and lease them to ``worker_id`` for ``lease_s`` seconds.
        Unless ``recover`` is False, expired leases in the queue are recovered first (their jobs
        become claimable again); workers do that every few seconds, not on every claim.
        ``standalone`` says the transaction does nothing but claim, so its commit need not wait
        for the WAL flush; a claim riding in a transaction that completes jobs passes False."""
        check_limit(limit)
        if not is_number(lease_s) or lease_s <= 0:
            raise InvalidInput("claim needs lease_s > 0")
        if standalone:
            skip_commit_flush(self.session)  # a claim lost in a crash leaves its jobs queued
        now = utcnow()
        recovered = self.session.execute(sql.recover_expired(queue, now)).all() if recover else []
        self._events(
            {
                "job_id": jid,
                "event": "lease_expired",
                "from_status": "running",
                "to_status": status,
                "attempt": attempts,
                "at": now,
            }
            for jid, status, attempts in recovered
        )
        expires = now + timedelta(seconds=lease_s)
        if writable_ctes(self.session):  # the claim and its events in one statement
            stmt, params = sql.claim_logged(queue, worker_id, now, expires, limit)
            return [_claimed(row) for row in self.session.execute(stmt, params)]
        claimed = sorted(
            (
                _claimed(row)
                for row in self.session.execute(*sql.claim(queue, worker_id, now, expires, limit))
            ),
            key=lambda job: (-job.priority, job.id),
        )
        self._events(
            {
                "job_id": j.id,
                "event": "claimed",
                "from_status": "queued",
                "to_status": "running",
                "attempt": j.attempt,
                "worker": worker_id,
                "at": now,
            }
            for j in claimed
        )
        return claimed

    def heartbeat(
        self,
        job_ids: Sequence[uuid.UUID],
        worker_id: str,
        *,
        lease_s: float = 30.0,
        progress: int | None = None,
    ) -> set[uuid.UUID]:
        """Extend the leases; returns the ids still owned (a missing one was lost)."""
        if progress is not None and not 0 <= progress <= 100:
            raise InvalidInput("progress must be between 0 and 100")
        if not job_ids:
            return set()
        now = utcnow()
        owned = set(
            self.session.scalars(
                sql.heartbeat(list(job_ids), worker_id, now + timedelta(seconds=lease_s), now)
            )
        )
        if progress is not None and owned:
            self.session.execute(
                update(JobRow).where(JobRow.id.in_(owned)).values(progress=progress)
            )
        return owned

    def _finish(
        self,
        job_ids: list[uuid.UUID],
        worker_id: str,
        values_: dict[str, Any],
        event: str,
        to_status: str,
        error: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> list[tuple[uuid.UUID, int]]:
        now = utcnow()
        done = self.session.execute(sql.finish(job_ids, worker_id, now, values_)).all()
        if len(done) != len(job_ids):
            self._explain_refusal(set(job_ids) - {row[0] for row in done}, worker_id, to_status)
        self._events(
            {
                "job_id": jid,
                "event": event,
                "from_status": "running",
                "to_status": to_status,
                "attempt": attempts,
                "worker": worker_id,
                "error": error,
                "at": now,
                "details": details or {},
                "duration_ms": int((now - started).total_seconds() * 1000) if started else None,
            }
            for jid, attempts, started in done
        )
        return [(jid, attempts) for jid, attempts, _ in done]

    def _explain_refusal(self, missing: set[uuid.UUID], worker_id: str, to_status: str) -> None:
        row = self.session.scalars(select(JobRow).where(JobRow.id.in_(missing))).first()
        if row is None:
            raise NotFound(f"no job {next(iter(missing))}")
        if row.status != "running":
            raise InvalidTransition(f"job {row.id} is {row.status}, cannot become {to_status}")
        raise LeaseLost(f"job {row.id} is leased to {row.lease_owner!r}, not {worker_id!r}")

    def complete(
        self, job_id: uuid.UUID, worker_id: str, result: dict[str, Any] | None = None
    ) -> None:
        """Mark a running job succeeded. Call it in the transaction that holds the task's own
        writes: if the lease was lost, LeaseLost rolls both back (exactly-once effects)."""
        self.complete_many({job_id: result}, worker_id)

    def complete_many(
        self, results: Mapping[uuid.UUID, dict[str, Any] | None], worker_id: str
    ) -> None:
        """Mark several running jobs succeeded in a few set-based statements. All or nothing:
        if any lease was lost, LeaseLost is raised and the caller must roll back."""
        if not results:
            return
        if writable_ctes(self.session):  # results, transition and events in one statement
            stmt, params = sql.succeeded_logged(json_results(results), worker_id, utcnow())
            done = set(self.session.execute(stmt, params).scalars())
            if len(done) != len(results):
                self._explain_refusal(set(results) - done, worker_id, "succeeded")
            return
        values_ = {"status": "succeeded", "progress": 100, "finished_at": utcnow()}
        self._finish(list(results), worker_id, values_, "succeeded", "succeeded")
        with_result = [{"jid": k, "res": v} for k, v in results.items() if v is not None]
        if with_result:
            self.session.execute(
                update(sql.JOBS)
                .where(sql.c.id == bindparam("jid"))
                .values(result=bindparam("res", type_=sql.c.result.type)),
                with_result,
            )

    def complete_and_claim(
        self,
        results: Mapping[uuid.UUID, dict[str, Any] | None],
        worker_id: str,
        queue: str,
        *,
        lease_s: float,
        limit: int,
    ) -> list[ClaimedJob] | None:
        """A busy worker's steady state: mark a batch succeeded and claim the next one, in
        one statement where the database can (PostgreSQL; see ``statements``). Returns the
        claimed jobs, or None where it cannot (SQLite: use ``complete_many`` then ``claim``).
        All or nothing: if any lease was lost, LeaseLost is raised and the caller must roll
        back (the claim goes with it)."""
        if not writable_ctes(self.session):
            return None
        now = utcnow()
        expires = now + timedelta(seconds=lease_s)
        encoded = json_results(results)
        stmt, params = sql.complete_and_claim(encoded, worker_id, queue, now, expires, limit)
        rows = self.session.execute(stmt, params).all()
        done = set(rows[0].done or ())
        if len(done) != len(results):
            self._explain_refusal(set(results) - done, worker_id, "succeeded")
        return [_claimed(row) for row in rows if row.id is not None]

    def fail(
        self,
        job_id: uuid.UUID,
        worker_id: str,
        error: str,
        *,
        retry: bool = True,
        backoff_base_s: float = BACKOFF_BASE_S,
    ) -> JobStatus:
        """Record a failure: back to 'queued' after a backoff while attempts remain (and
        ``retry``), else 'dead' (attempts used up) or 'failed' (retry=False)."""
        row = self.session.get(JobRow, job_id)
        if row is None:
            raise NotFound(f"no job {job_id}")
        now = utcnow()
        if retry and row.attempts < row.max_attempts:
            delay = backoff_seconds(row.attempts, backoff_base_s)
            status: JobStatus = "queued"
            values_: dict[str, Any] = {
                "status": status,
                "last_error": error,
                "run_after": now + timedelta(seconds=delay),
            }
            details = {"retry_in_s": round(delay, 3)}
        else:
            status = "dead" if retry else "failed"
            values_ = {"status": status, "last_error": error, "finished_at": now}
            details = {}
        self._finish(
            [job_id],
            worker_id,
            values_,
            "failed" if status == "queued" else status,
            status,
            error=error,
            details=details,
        )
        return status

    def release(self, job_ids: Sequence[uuid.UUID], worker_id: str) -> int:
        """Give back the listed jobs this worker still owns, without counting the attempt
        (graceful shutdown, or a batch that could not commit). Returns how many."""
        if not job_ids:
            return 0
        now = utcnow()
        done = self.session.execute(
            sql.finish(
                list(job_ids),
                worker_id,
                now,
                {
                    "status": "queued",
                    "attempts": sql.c.attempts - 1,
                    "run_after": now,
                },
            )
        ).all()
        self._events(
            {
                "job_id": jid,
                "event": "released",
                "from_status": "running",
                "to_status": "queued",
                "attempt": attempts - 1,
                "worker": worker_id,
                "at": now,
            }
            for jid, attempts, _started in done
        )
        return len(done)

    @readonly
    def has_due(self, queues: Sequence[str]) -> bool:
        """Whether any of these queues holds a job that could be claimed now: a read, so an
        idle worker can look without taking SQLite's write lock (a claim takes it)."""
        stmt = (
            select(JobRow.id)
            .where(
                JobRow.status == "queued",
                JobRow.queue.in_(list(queues)),
                JobRow.run_after <= utcnow(),
            )
            .limit(1)
        )
        return self.session.scalar(stmt) is not None
