"""The worker: claims jobs, runs their tasks, and records the outcome.

Exactly-once effects: a batch of claimed jobs runs inside ONE database transaction, each job in
its own SAVEPOINT. A task's writes (through ``ctx.session`` / ``ctx.tx``) and the job's
completion are released together; a task that raises rolls back to its savepoint (its writes
vanish) and the job is failed with a backoff. If the worker dies, the transaction never
commits: nothing the batch did is visible, and the jobs come back when their leases expire.
If a lease was lost (the job was recovered and claimed elsewhere), the completion is refused
and that job's writes roll back. So each job's effects commit exactly once.

Wake-up: on PostgreSQL a LISTEN connection wakes idle threads as soon as a job is enqueued
(NOTIFY is sent at commit); on SQLite idle threads watch ``PRAGMA data_version`` (it moves
when another connection commits), look for a due job with a read when it does and claim if
there is one, or after a backoff from ``poll_min_s`` to ``poll_max_s`` at the latest (delayed
jobs falling due write nothing).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from docledger.db.dialect import JOBS_CHANNEL
from docledger.db.dialects import dialect_of
from docledger.db.session import session_scope
from docledger.errors import DocledgerError, LeaseLost
from docledger.ledger import Ledger
from docledger.repositories.job import BACKOFF_BASE_S
from docledger.repositories.lease import LeaseRepository
from docledger.worker.outcomes import (
    DATABASE_TROUBLE,
    WorkerCrashed,
    WorkerStats,
    as_result,
    awaited,
    connection_lost,
    default_worker_id,
    describe,
)
from docledger.worker.registry import JobInfo, TaskContext, get_task

log = logging.getLogger(__name__)

#: How often an idle SQLite claim loop looks for another connection's commit.
COMMIT_CHECK_S = 0.005
#: Reconnect back-off after the database went away: doubles from the first to the last.
RECONNECT_FIRST_S = 0.1
RECONNECT_MAX_S = 5.0
#: A claim loop that could not reach the database for this long gives up: the worker exits
#: non-zero, and a pool starts a fresh process in its place.
GIVE_UP_S = 600.0


class Worker:
    def __init__(
        self,
        ledger: Ledger,
        *,
        queues: Sequence[str] = ("default",),
        concurrency: int = 1,
        lease_s: float = 30.0,
        batch_size: int = 10,
        poll_min_s: float = 0.05,
        poll_max_s: float = 1.0,
        backoff_base_s: float = BACKOFF_BASE_S,
        worker_id: str | None = None,
        give_up_s: float = GIVE_UP_S,
    ) -> None:
        if concurrency < 1 or batch_size < 1 or lease_s <= 0:
            raise DocledgerError("concurrency, batch_size and lease_s must be positive")
        self.ledger = ledger
        self.queues = list(queues)
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.batch_size = batch_size
        self.poll_min_s = poll_min_s
        self.poll_max_s = poll_max_s
        self.backoff_base_s = backoff_base_s
        self.give_up_s = give_up_s
        self.worker_id = worker_id or default_worker_id()
        self._fatal: BaseException | None = None
        self.stats = WorkerStats()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._in_flight: set[uuid.UUID] = set()
        self._progress: dict[uuid.UUID, int] = {}
        self._lock = threading.Lock()
        self._dialect = dialect_of(ledger.engine)
        self._listens = self._dialect.wakes_workers
        self._held = threading.local()
        self._last_recovery: dict[str, float] = {}
        # Expired leases are recovered by the next claim at most this often per queue.
        self._recover_every_s = max(0.2, min(5.0, lease_s / 2))

    # -- control ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop claiming; in-flight tasks finish, claimed-but-unstarted jobs are released."""
        self._stopping.set()
        self._wake.set()

    def run(self, *, burst: bool = False) -> WorkerStats:
        """Run until stop() (or, with ``burst``, until every queue is empty)."""
        threads = [
            threading.Thread(
                target=self._loop, args=(burst,), name=f"docledger-worker-{i}", daemon=True
            )
            for i in range(self.concurrency)
        ]
        helpers = [threading.Thread(target=self._heartbeat_loop, daemon=True)]
        if self._listens and not burst:  # a burst worker never waits for new jobs
            helpers.append(threading.Thread(target=self._listen_loop, daemon=True))
        for thread in (*helpers, *threads):
            thread.start()
        for thread in threads:
            thread.join()
        self._stopping.set()
        if self._fatal is not None:
            raise WorkerCrashed(
                f"worker {self.worker_id} stopped: {describe(self._fatal)}"
            ) from self._fatal
        return self.stats

    # -- the claim / run loop ---------------------------------------------------------------
    def _connection(self) -> Connection:
        """The connection this claim loop holds: a pooled checkout per batch cost a ping
        round trip (pre-ping) and the checkout itself, a sixth of a no-op batch."""
        conn: Connection | None = getattr(self._held, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self.ledger.engine.connect()
            self._held.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn: Connection | None = getattr(self._held, "conn", None)
        self._held.conn = None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("closing a broken connection failed", exc_info=True)

    def _loop(self, burst: bool) -> None:
        """One claim loop. It survives the database going away (see ``_loop_held``); any
        other error stops the whole worker, which then exits non-zero (``run`` raises)."""
        try:
            self._loop_held(burst)
        except BaseException as exc:
            log.error("worker %s: claim loop stopped: %s", self.worker_id, describe(exc))
            self._fatal = self._fatal or exc
            self.stop()
        finally:
            self._drop_connection()

    def _loop_held(self, burst: bool) -> None:
        delay = self.poll_min_s
        reconnect = RECONNECT_FIRST_S
        down_since: float | None = None
        while not self._stopping.is_set():
            try:
                worked = self._each_queue()
                if not worked and not burst:
                    self._idle(delay)
            except DATABASE_TROUBLE as exc:
                # The database went away (a restart, a failover, a dropped connection): the
                # batch in hand never committed, its jobs come back when their leases run
                # out. Reconnect with back-off; give up only after a long outage.
                self._drop_connection()
                now = time.monotonic()
                down_since = down_since if down_since is not None else now
                if now - down_since > self.give_up_s:
                    raise
                log.warning("worker %s: database trouble, retrying: %s", self.worker_id, exc)
                self._stopping.wait(reconnect)
                reconnect = min(RECONNECT_MAX_S, reconnect * 2)
                continue
            down_since, reconnect = None, RECONNECT_FIRST_S
            if worked:
                delay = self.poll_min_s
                continue
            if burst:
                return
            delay = min(self.poll_max_s, delay * 2)

    def _each_queue(self) -> bool:
        worked = False
        for queue in self.queues:
            if self._stopping.is_set():
                break
            worked |= self._one_batch(queue)
        return worked

    def _idle(self, delay: float) -> None:
        if self._listens:
            self._wake.wait(max(delay, self.poll_max_s))
        else:
            self._wait_for_a_commit(delay)
        self._wake.clear()

    def _wait_for_a_commit(self, delay: float) -> None:
        """A polling dialect (SQLite): wait up to ``delay`` seconds, but only until a job may
        be waiting.

        The dialect's commit counter changes when any other connection commits, and reading
        it costs microseconds, so an idle claim loop reads it every few milliseconds. When it
        moves (an enqueue, a retry, but also any other write), the loop looks for a due job
        with a read and returns to claim only if there is one, instead of sleeping out its
        backoff. The backoff still bounds the wait: a delayed job falling due or a lease
        running out changes nothing in the file."""
        counter = self._dialect.commit_counter(self._connection())
        seen = counter()
        deadline = time.monotonic() + delay
        while not self._wake.wait(min(COMMIT_CHECK_S, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                return
            version = counter()
            if version == seen:
                continue
            seen = version
            # Any write moves it (an ingest, another worker's commit): look before claiming,
            # with a read, so idle workers never queue up for the write lock behind them.
            with session_scope(self.ledger.engine, readonly=True) as session:
                if LeaseRepository(session).has_due(self.queues):
                    return

    def _recovery_due(self, queue: str) -> bool:
        return time.monotonic() - self._last_recovery.get(queue, 0.0) >= self._recover_every_s

    def _claim(self, session: Any, queue: str, *, standalone: bool) -> list[JobInfo]:
        recover = self._recovery_due(queue)
        claimed = LeaseRepository(session).claim(
            queue,
            self.worker_id,
            lease_s=self.lease_s,
            limit=self.batch_size,
            recover=recover,
            standalone=standalone,
        )
        if recover:
            self._last_recovery[queue] = time.monotonic()
        return claimed

    def _finish_and_claim(
        self,
        session: Any,
        queue: str,
        succeeded: dict[uuid.UUID, dict[str, Any] | None],
        chain: bool,
    ) -> list[JobInfo]:
        """Record the batch's successes and, when ``chain``, claim the next batch: in one
        statement where the database can, else in steps. LeaseLost rolls all of it back."""
        repo = LeaseRepository(session)
        if chain and not self._recovery_due(queue):
            claimed = repo.complete_and_claim(
                succeeded, self.worker_id, queue, lease_s=self.lease_s, limit=self.batch_size
            )
            if claimed is not None:
                return claimed
        repo.complete_many(succeeded, self.worker_id)
        return self._claim(session, queue, standalone=False) if chain else []

    def _one_batch(self, queue: str) -> bool:
        """Claim a batch and run it; while work keeps coming, the next batch is claimed in the
        same transaction that commits the current one (one commit per batch, not two)."""
        with session_scope(self._connection()) as session:
            jobs = self._claim(session, queue, standalone=True)
        if not jobs:
            return False
        while jobs:
            current = jobs
            with self._lock:
                self._in_flight.update(j.id for j in current)
            try:
                jobs = self._run_batch(current, queue)
            finally:
                with self._lock:
                    self._in_flight.difference_update(j.id for j in current)
        return True

    def _run_batch(self, jobs: list[JobInfo], queue: str) -> list[JobInfo]:
        """Run a claimed batch in one transaction (see the module docstring); returns the next
        batch, claimed in that same transaction, or [] when stopping or after a failure."""
        succeeded: dict[uuid.UUID, dict[str, Any] | None] = {}
        failures: list[tuple[JobInfo, str]] = []
        unstarted: list[JobInfo] = []
        following: list[JobInfo] = []
        lost = released = 0
        try:
            with session_scope(self._connection()) as session:
                for index, job in enumerate(jobs):
                    if self._stopping.is_set():
                        unstarted = jobs[index:]
                        break
                    ctx = TaskContext(job, session, self.worker_id, self._progress, self.ledger)
                    try:
                        result = self._call(job, ctx)
                        ctx._finish(ok=True)
                        succeeded[job.id] = as_result(result)
                    except Exception as exc:
                        ctx._finish(ok=False)
                        if connection_lost(exc, session):
                            raise  # not the task's fault: nothing of the batch commits
                        failures.append((job, describe(exc)))
                    finally:
                        # A finished job leaves the heartbeat: its row is locked by this
                        # transaction from its completion on, and needs no more lease.
                        with self._lock:
                            self._in_flight.discard(job.id)
                chain = not self._stopping.is_set() and not failures and not unstarted
                # LeaseLost from here on: all of it rolls back
                following = self._finish_and_claim(session, queue, succeeded, chain)
                repo = LeaseRepository(session)
                for job, error in failures:
                    try:
                        repo.fail(job.id, self.worker_id, error, backoff_base_s=self.backoff_base_s)
                    except LeaseLost:
                        lost += 1
                released = repo.release([j.id for j in unstarted], self.worker_id)
        except LeaseLost:
            # Some lease ran out mid-batch: nothing of the batch committed. Hand back the jobs
            # still ours (uncounted); they run again, the lost ones run elsewhere.
            with session_scope(self.ledger.engine) as session:
                released = LeaseRepository(session).release([j.id for j in jobs], self.worker_id)
            self.stats.add(lost=len(jobs) - released, released=released)
            return []
        except DATABASE_TROUBLE as exc:
            if connection_lost(exc, None):
                # The database is gone: nothing of the batch committed and nothing can be
                # recorded now. The claim loop reconnects; the jobs return by lease expiry.
                raise
            # The batch could not commit: none of its effects exist. Fail the jobs that ran
            # (their attempt is spent, so a poison batch cannot loop forever).
            log.warning("batch commit failed: %s", exc)
            self._fail_all([j for j in jobs if j not in unstarted], f"batch failed: {exc}")
            with session_scope(self.ledger.engine) as session:
                LeaseRepository(session).release([j.id for j in unstarted], self.worker_id)
            return []
        self.stats.add(
            succeeded=len(succeeded), failed=len(failures) - lost, lost=lost, released=released
        )
        return following

    def _fail_all(self, jobs: list[JobInfo], error: str) -> None:
        for job in jobs:
            try:
                with session_scope(self.ledger.engine) as session:
                    LeaseRepository(session).fail(
                        job.id, self.worker_id, error, backoff_base_s=self.backoff_base_s
                    )
                self.stats.add(failed=1)
            except LeaseLost:
                self.stats.add(lost=1)

    def _call(self, job: JobInfo, ctx: TaskContext) -> Any:
        fn = get_task(job.task)
        if fn is None:
            raise LookupError(f"no task named {job.task!r} is registered in this worker")
        result = fn(ctx)
        if inspect.isawaitable(result):
            result = asyncio.run(awaited(result))
        return result

    # -- helpers ----------------------------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        interval = max(0.05, self.lease_s / 3)
        while not self._stopping.wait(interval):
            with self._lock:
                ids = list(self._in_flight)
                progress = {k: v for k, v in self._progress.items() if k in self._in_flight}
                self._progress.clear()
            if not ids:
                continue
            try:
                with session_scope(self.ledger.engine) as session:
                    repo = LeaseRepository(session)
                    owned = repo.heartbeat(ids, self.worker_id, lease_s=self.lease_s)
                    for job_id, pct in progress.items():
                        repo.heartbeat([job_id], self.worker_id, lease_s=self.lease_s, progress=pct)
                with self._lock:  # jobs that finished meanwhile were not lost
                    lost = [i for i in ids if i not in owned and i in self._in_flight]
                if lost:
                    log.warning("worker %s lost %d leases", self.worker_id, len(lost))
            except DATABASE_TROUBLE as exc:  # leases run on; the next beat tries again
                log.warning("heartbeat failed: %s", exc)

    def _listen_loop(self) -> None:
        """A dialect that notifies (PostgreSQL): wake the claim loops on every notification."""
        self._dialect.listen(self.ledger.engine.url, JOBS_CHANNEL, self._wake, self._stopping)
