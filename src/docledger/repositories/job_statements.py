"""The queue's non-trivial statements, named, each with why it is safe.

Both dialects run the same statements: SQLAlchemy drops ``FOR UPDATE SKIP LOCKED`` on SQLite,
where docledger opens every write transaction with ``BEGIN IMMEDIATE`` instead, so only one
writer (one claimer) runs at a time across all processes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Table,
    Uuid,
    bindparam,
    case,
    column,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql

from docledger.ids import uuid7_hex_many
from docledger.models import Job

JOBS: Table = Job.__table__  # type: ignore[assignment]
c = JOBS.c

#: What claim and recovery return: everything a worker needs to run the job.
#: (RETURNING has no order: the caller sorts by priority, then id, as the claim picked them.)
RETURNED = (
    c.id,
    c.queue,
    c.task,
    c.payload,
    c.priority,
    c.attempts,
    c.max_attempts,
    c.workspace_id,
    c.document_id,
    c.started_at,
)


@cache
def _claim_statement() -> Any:
    picked = (
        select(c.id)
        .where(
            c.status == "queued",
            c.queue == bindparam("p_queue"),
            c.run_after <= bindparam("p_now", type_=c.run_after.type),
        )
        .order_by(c.priority.desc(), c.id)
        .limit(bindparam("p_limit", type_=Integer()))
        .with_for_update(skip_locked=True)
        .cte("picked")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    return (
        update(JOBS)
        .where(c.id == picked.c.id, c.status == "queued")
        .values(
            status="running",
            attempts=c.attempts + 1,
            lease_owner=bindparam("p_worker"),
            lease_expires_at=bindparam("p_expires", type_=c.lease_expires_at.type),
            started_at=bindparam("p_started", type_=c.started_at.type),
            updated_at=bindparam("p_updated", type_=c.updated_at.type),
            progress=0,
        )
        .returning(*RETURNED)
    )


def claim(
    queue: str, worker: str, now: datetime, expires: datetime, limit: int
) -> tuple[Any, dict[str, Any]]:
    """CLAIM: take up to ``limit`` due jobs, highest priority first, then oldest.

    The candidates are picked in a MATERIALIZED CTE, not an ``IN (SELECT ... LIMIT)``
    subquery: PostgreSQL may run such a subquery more than once per statement and so claim
    more than ``limit`` rows (seen here: two rows for LIMIT 1).

    Safe because: on PostgreSQL the inner SELECT locks the rows it picks and SKIPs rows another
    claimer has locked, so concurrent claimers never pick the same job, and the outer UPDATE
    re-checks ``status = 'queued'`` on the locked rows. On SQLite the whole transaction holds
    the database's single write lock (BEGIN IMMEDIATE). ``attempts`` counts claims, so a job
    whose worker dies still uses up an attempt when its lease is recovered.

    The statement is built once with bind parameters (it runs for every batch); this returns
    it with the parameters to execute it with.
    """
    return _claim_statement(), {
        "p_queue": queue,
        "p_now": now,
        "p_limit": limit,
        "p_worker": worker,
        "p_expires": expires,
        "p_started": now,
        "p_updated": now,
    }


def recover_expired(queue: str, now: datetime, limit: int = 500) -> Any:
    """RECOVER: running jobs whose lease ran out go back to 'queued' (or 'dead' once they have
    used all their attempts).

    Safe because: the lease is the only proof of ownership. A worker that is merely slow and
    comes back later finds ``lease_owner`` changed and its completion refused (see complete),
    so its transaction, and the task's writes in it, roll back. SKIP LOCKED keeps two
    recoverers (or a recoverer and a completing owner) from blocking each other; the outer
    WHERE re-checks the expiry on the locked row.
    """
    expired = (
        select(c.id)
        .where(c.status == "running", c.queue == queue, c.lease_expires_at < now)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    exhausted = c.attempts >= c.max_attempts
    return (
        update(JOBS)
        .where(c.id.in_(expired.scalar_subquery()), c.status == "running", c.lease_expires_at < now)
        .values(
            status=case((exhausted, "dead"), else_="queued"),
            lease_owner=None,
            lease_expires_at=None,
            run_after=now,
            updated_at=now,
            last_error="lease expired: the worker stopped heart-beating",
            finished_at=case((exhausted, now), else_=None),
        )
        .returning(c.id, c.status, c.attempts)
    )


def finish(job_ids: list[Any], worker: str, now: datetime, values: dict[str, Any]) -> Any:
    """FINISH: leave 'running' (succeeded, failed, retry, release) only if this worker still
    holds the lease.

    Safe because: the WHERE clause is a compare-and-set on (status, lease_owner). If the lease
    was recovered and the job claimed by someone else, zero rows change, the caller raises
    LeaseLost, and its transaction (with the task's own writes) rolls back. On PostgreSQL a
    concurrent claimer's row lock makes this wait and then re-evaluate against the committed
    row.
    """
    return (
        update(JOBS)
        .where(c.id.in_(job_ids), c.status == "running", c.lease_owner == worker)
        .values(updated_at=now, lease_owner=None, lease_expires_at=None, **values)
        .returning(c.id, c.attempts, c.started_at)
    )


def heartbeat(job_ids: list[Any], worker: str, expires: datetime, now: datetime) -> Any:
    """HEARTBEAT: extend the lease of jobs this worker still owns (others are left alone)."""
    return (
        update(JOBS)
        .where(c.id.in_(job_ids), c.status == "running", c.lease_owner == worker)
        .values(lease_expires_at=expires, updated_at=now)
        .returning(c.id)
    )


# -- PostgreSQL: a transition and its events in one statement -------------------------------
# SQLite has no data-modifying CTEs, so there the repository runs the statements above and
# inserts the events itself; on PostgreSQL these halve the round trips of a batch, and the
# events are built by the server instead of as Python dicts. Event ids are UUIDv7s made from the
# caller's UUIDv7 prefix plus a row number (PostgreSQL 15 has no uuidv7(); see event_id_prefix).
# Completion finds its jobs by joining the id array (a primary-key probe each) and checks the
# lease owner only: ``lease_owner`` is set exactly while a job is running (the claim sets it,
# every way out of 'running' clears it; a test checks the invariant after every transition),
# so it is the same compare-and-set as ``finish``'s. Spelling out ``status = 'running'`` let the
# planner pick the partial lease index, whose entries for long-finished jobs it then walked
# (15,000 of them for 10 rows, measured: 1.3 ms instead of 0.2) until the next vacuum.

# The two halves, composed below into the three statements a worker needs.
_FINISHED = """given AS (
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:results AS text[])) AS g(id, result)
), done AS (
    UPDATE jobs SET status = 'succeeded', progress = 100, finished_at = :now, updated_at = :now,
        lease_owner = NULL, lease_expires_at = NULL, result = given.result::jsonb
    FROM given
    WHERE jobs.id = given.id AND jobs.lease_owner = :worker
    RETURNING jobs.id, jobs.attempts, jobs.started_at
), done_logged AS (
    INSERT INTO job_events (id, job_id, event, from_status, to_status, attempt, worker,
        details, at, duration_ms)
    SELECT CAST(:done_events || lpad(to_hex(row_number() OVER ()), 8, '0') AS uuid), d.id,
        'succeeded', 'running', 'succeeded', d.attempts, :worker, '{}'::jsonb,
        :now, (extract(epoch FROM (:now - d.started_at)) * 1000)::int
    FROM done d
)"""

_CLAIMED = """picked AS MATERIALIZED (
    SELECT id FROM jobs
    WHERE status = 'queued' AND queue = :queue AND run_after <= :now
    ORDER BY priority DESC, id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE jobs SET status = 'running', attempts = jobs.attempts + 1, lease_owner = :worker,
        lease_expires_at = :expires, started_at = :now, updated_at = :now, progress = 0
    FROM picked WHERE jobs.id = picked.id
    RETURNING jobs.id, jobs.queue, jobs.task, jobs.payload, jobs.priority, jobs.attempts,
        jobs.max_attempts, jobs.workspace_id, jobs.document_id, jobs.started_at
), claim_logged AS (
    INSERT INTO job_events (id, job_id, event, from_status, to_status, attempt, worker,
        details, at)
    SELECT CAST(:claim_events || lpad(to_hex(row_number() OVER ()), 8, '0') AS uuid), c.id,
        'claimed', 'queued', 'running', c.attempts, :worker, '{}'::jsonb, :now
    FROM claimed c
)"""

_CLAIM_LOGGED = f"WITH {_CLAIMED}\nSELECT * FROM claimed ORDER BY priority DESC, id"
_SUCCEEDED_LOGGED = f"WITH {_FINISHED}\nSELECT id FROM done"
_COMPLETE_AND_CLAIM = f"""WITH {_FINISHED},
{_CLAIMED}
SELECT CASE WHEN row_number() OVER (ORDER BY claimed.priority DESC, claimed.id) = 1
        THEN finished.done END AS done,
    claimed.*
FROM (SELECT array_agg(id) AS done FROM done) AS finished LEFT JOIN claimed ON true
ORDER BY claimed.priority DESC, claimed.id"""


#: complete_and_claim's first column: the ids it finished (one module-level object, so the
#: statement cache below keys on it).
_DONE_IDS = column("done", postgresql.ARRAY(Uuid()))


def uuid_array(values: Iterable[Any]) -> str:
    """UUIDs (objects, or hex text) as one PostgreSQL array literal, cast to uuid[] in the
    statement: the driver's list adaptation checked every element, a few microseconds a job
    on the worker's hot path (measured), where this is a string join."""
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


@cache
def _logged(sql: str, *columns: Any) -> Any:
    return (
        text(sql)
        .bindparams(
            bindparam("now", type_=c.updated_at.type),
            *([bindparam("expires", type_=c.lease_expires_at.type)] if ":expires" in sql else []),
        )
        .columns(*columns)
    )


def event_id_prefix() -> str:
    """The first 24 hex digits of a fresh UUIDv7; the statement appends each event's row
    number as the last 8, so one batch's event ids are UUIDv7s of one millisecond, unique,
    and made by the server. Passing one id per event, paired with the rows by a sort and a
    join, cost the worker and the server a few microseconds a job (measured). What stays
    random: rand_b's upper 30 bits, plus rand_a's randomly seeded counter."""
    return uuid7_hex_many(1)[0][:24]


def _finished_params(results: dict[Any, str | None]) -> dict[str, Any]:
    return {
        "ids": uuid_array(results),
        "results": list(results.values()),
        "done_events": event_id_prefix(),
    }


def _claimed_params(queue: str, expires: datetime, limit: int) -> dict[str, Any]:
    return {
        "queue": queue,
        "expires": expires,
        "limit": limit,
        "claim_events": event_id_prefix(),
    }


def claim_logged(
    queue: str, worker: str, now: datetime, expires: datetime, limit: int
) -> tuple[Any, dict[str, Any]]:
    """CLAIM (see ``claim``) with its 'claimed' events, in one statement (PostgreSQL); rows
    come back in claim order.

    The UPDATE joins the picked ids only, without re-checking ``status = 'queued'``: the rows
    are already locked by the CTE's FOR UPDATE, which re-evaluated its WHERE on their newest
    version, so nobody can have changed them. The re-check let the planner, misled by the
    statistics of a queue filled since the last ANALYZE, walk every queued row for each
    picked one (1,580 x 10 in a measured 4 ms claim; 0.4 ms without it)."""
    return _logged(_CLAIM_LOGGED, *RETURNED), {
        "worker": worker,
        "now": now,
        **_claimed_params(queue, expires, limit),
    }


def succeeded_logged(
    results: dict[Any, str | None], worker: str, now: datetime
) -> tuple[Any, dict[str, Any]]:
    """FINISH as 'succeeded' (see ``finish``: the same compare-and-set, on the lease owner,
    see above) with results (JSON text or None) and events, in one statement (PostgreSQL);
    returns the ids that changed."""
    return _logged(_SUCCEEDED_LOGGED, c.id), {
        "worker": worker,
        "now": now,
        **_finished_params(results),
    }


def complete_and_claim(
    results: dict[Any, str | None],
    worker: str,
    queue: str,
    now: datetime,
    expires: datetime,
    limit: int,
) -> tuple[Any, dict[str, Any]]:
    """The steady state of a busy worker in ONE statement (PostgreSQL): FINISH a batch as
    succeeded (``results`` maps job id to its result as JSON text, or None), CLAIM the next
    one, and log both. The same compare-and-set and locking as ``succeeded_logged`` and
    ``claim_logged`` (their docstrings say why they are safe); all CTEs share one snapshot,
    in which the jobs being finished are 'running' and so can never be picked again. The
    first row carries ``done``, the ids finished (fewer than given: a lease was lost), the
    others NULL (an array of 50 ids on each of 50 rows cost more to parse than the rest of
    the batch); with nothing to claim there is one row whose job columns are NULL."""
    return _logged(_COMPLETE_AND_CLAIM, _DONE_IDS, *RETURNED), {
        "worker": worker,
        "now": now,
        **_finished_params(results),
        **_claimed_params(queue, expires, limit),
    }


# -- PostgreSQL: enqueue, its events and the wake-up in one statement ----------------------
# The rows travel as one array per column (unnest), not as a multi-row VALUES list: a 1,000-row
# VALUES statement cost more to build, split and parse (about 30 us a job, measured) than the
# insert itself, and the events were a second statement per row.
_ENQUEUE_LOGGED = """WITH given AS (
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:workspace_ids AS uuid[]),
        CAST(:queues AS text[]), CAST(:tasks AS text[]), CAST(:payloads AS text[]),
        CAST(:priorities AS integer[]), CAST(:max_attempts AS integer[]), :run_afters,
        CAST(:keys AS text[]), CAST(:document_ids AS uuid[]))
        AS g(id, workspace_id, queue, task, payload, priority, max_attempts, run_after,
            idempotency_key, document_id)
), inserted AS (
    INSERT INTO jobs (id, workspace_id, queue, task, payload, status, priority, attempts,
        max_attempts, run_after, idempotency_key, document_id, progress, created_at,
        updated_at)
    SELECT id, workspace_id, queue, task, payload::jsonb, 'queued', priority, 0, max_attempts,
        run_after, idempotency_key, document_id, 0, :now, :now
    FROM given
    ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id, queue
), logged AS (
    INSERT INTO job_events (id, job_id, event, to_status, attempt, details, at)
    SELECT CAST(:events || lpad(to_hex(row_number() OVER ()), 8, '0') AS uuid), i.id,
        'enqueued', 'queued', 0, '{}'::jsonb, :now
    FROM inserted i
)
SELECT inserted.id,
    (SELECT count(pg_notify(:channel, q.queue)) FROM (SELECT DISTINCT queue FROM inserted) q)
        AS notified
FROM inserted"""


@cache
def _enqueue_statement() -> Any:
    stamp = DateTime(timezone=True)
    return (
        text(_ENQUEUE_LOGGED)
        .bindparams(
            bindparam("run_afters", type_=postgresql.ARRAY(stamp)),
            bindparam("now", type_=stamp),
        )
        .columns(c.id)
    )


def enqueue_logged(rows: list[dict[str, Any]], now: datetime, channel: str) -> tuple[Any, Any]:
    """ENQUEUE (PostgreSQL): insert the jobs, skip those whose (queue, idempotency_key) exists,
    log an 'enqueued' event for each one inserted and NOTIFY each queue that got jobs (sent at
    commit, so a worker never wakes before the jobs are visible) -- one statement. Returns
    the ids inserted. ``rows`` hold the job columns, ``payload`` as JSON text."""

    def col(name: str) -> list[Any]:
        return [r[name] for r in rows]

    return _enqueue_statement(), {
        "ids": uuid_array(col("id")),
        "workspace_ids": uuid_array(col("workspace_id")),
        "queues": col("queue"),
        "tasks": col("task"),
        "payloads": col("payload"),
        "priorities": col("priority"),
        "max_attempts": col("max_attempts"),
        "run_afters": col("run_after"),
        "keys": col("idempotency_key"),
        "document_ids": uuid_array(col("document_id")),
        "events": event_id_prefix(),
        "now": now,
        "channel": channel,
    }
