"""The job queue's API and guarantees, on both dialects."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from docledger import (
    InvalidInput,
    InvalidTransition,
    Ledger,
    NotFound,
)
from docledger import models as m
from docledger.db.session import session_scope
from docledger.db.types import utcnow
from docledger.errors import LeaseLost
from docledger.schemas.job import ClaimedJob
from docledger.worker import Worker
from tests.queue_tasks import create_effects, effect_ids  # also registers the test tasks


def job_count(ledger: Ledger) -> int:
    with session_scope(ledger.engine, readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(m.Job)) or 0)


def claim(ledger: Ledger, worker: str = "w1", **kw: Any) -> list[ClaimedJob]:
    with ledger.transaction() as tx:
        return tx.leases.claim(kw.pop("queue", "default"), worker, **kw)


@pytest.fixture
def effects(ledger: Ledger) -> Ledger:
    return create_effects(ledger)


def test_enqueue_is_idempotent_per_queue_and_key(ledger: Ledger) -> None:
    a = ledger.jobs.enqueue("t", {"n": 1}, idempotency_key="k")
    b = ledger.jobs.enqueue("t", {"n": 2}, idempotency_key="k")
    c = ledger.jobs.enqueue("t", {"n": 3}, idempotency_key="k", queue="other")
    assert a.id == b.id
    assert b.payload == {"n": 1}
    assert c.id != a.id
    many = ledger.jobs.enqueue_many(
        [
            {"task": "t", "idempotency_key": "k"},
            {"task": "t"},
            {"task": "t", "idempotency_key": "z"},
        ]
    )
    assert many[0].id == a.id
    assert len({j.id for j in many}) == 3
    assert job_count(ledger) == 4
    assert [e.event for e in ledger.jobs.get(a.id).events] == ["enqueued"]
    # re-enqueueing 40,000 keyed jobs: the duplicate look-up runs in chunks of 10,000 keys
    keyed = [{"task": "t", "idempotency_key": f"bulk-{n}"} for n in range(40_000)]
    first = ledger.jobs.enqueue_many(keyed)
    again = ledger.jobs.enqueue_many(keyed)
    assert [j.id for j in again] == [j.id for j in first]
    assert job_count(ledger) == 4 + 40_000


def test_enqueue_many_dedupes_within_a_batch_and_wakes_workers(
    ledger: Ledger, dialect: str
) -> None:
    """One statement on PostgreSQL (jobs, events, NOTIFY): a key repeated inside the batch is
    one job, logged once, and LISTENers hear each queue that got jobs, only after commit."""
    listener = None
    if dialect == "postgresql":
        import psycopg  # noqa: PLC0415

        url = ledger.engine.url.set(drivername="postgresql")
        listener = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        listener.execute("LISTEN docledger_jobs")
    try:
        jobs = ledger.jobs.enqueue_many(
            [
                {"task": "t", "idempotency_key": "same", "payload": {"n": 1}},
                {"task": "t", "idempotency_key": "same", "payload": {"n": 2}},
                {"task": "t", "queue": "other"},
            ]
        )
        assert jobs[0].id == jobs[1].id
        assert jobs[1].payload == {"n": 1}
        assert job_count(ledger) == 2
        assert [e.event for e in ledger.jobs.get(jobs[0].id).events] == ["enqueued"]
        assert ledger.jobs.enqueue_many([{"task": "t", "idempotency_key": "same"}])[0].id == (
            jobs[0].id
        )
        if listener is not None:
            heard = {n.payload for n in listener.notifies(timeout=2.0, stop_after=2)}
            assert heard == {"default", "other"}
            # the repeat inserted nothing, so it woke nobody
            assert list(listener.notifies(timeout=0.3, stop_after=1)) == []
    finally:
        if listener is not None:
            listener.close()


@pytest.mark.parametrize(
    "bad",
    [
        {"task": "t", "priority": 1001},
        {"task": "t", "priority": -5000},
        {"task": "t", "payload": {"x": {1, 2}}},
        {"task": "t", "payload": {"x": float("nan")}},
        {"task": "t", "payload": [1, 2]},
        {"task": "t", "max_attempts": 0},
        {"task": ""},
        {"task": "t", "run_after": utcnow().replace(tzinfo=None)},
        {"task": "t", "unknown_field": 1},
    ],
)
def test_bad_jobs_are_refused_and_nothing_is_written(ledger: Ledger, bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        ledger.jobs.enqueue_many([{"task": "fine"}, bad])
    assert job_count(ledger) == 0


def test_claim_order_delay_and_no_double_claim(ledger: Ledger) -> None:
    low = ledger.jobs.enqueue("t", priority=-1)
    first = ledger.jobs.enqueue("t")
    second = ledger.jobs.enqueue("t")
    urgent = ledger.jobs.enqueue("t", priority=10)
    later = ledger.jobs.enqueue("t", priority=100, run_after=utcnow() + timedelta(hours=1))
    got = [j.id for j in claim(ledger, limit=10)]
    assert got == [urgent.id, first.id, second.id, low.id]
    assert claim(ledger, "w2", limit=10) == []
    assert ledger.jobs.get(later.id).status == "queued"
    assert ledger.jobs.get(first.id).attempts == 1


def test_transitions(ledger: Ledger) -> None:
    job = ledger.jobs.enqueue("t", max_attempts=2)
    claim(ledger)
    with pytest.raises(LeaseLost), ledger.transaction() as tx:
        tx.leases.complete(job.id, "someone-else")
    with ledger.transaction() as tx:
        assert tx.leases.fail(job.id, "w1", "flaky", backoff_base_s=0) == "queued"
    assert ledger.jobs.get(job.id).last_error == "flaky"
    claim(ledger)
    with ledger.transaction() as tx:
        assert tx.leases.fail(job.id, "w1", "still flaky") == "dead"
    with pytest.raises(InvalidTransition), ledger.transaction() as tx:
        tx.leases.complete(job.id, "w1")
    with pytest.raises(InvalidTransition):
        ledger.jobs.cancel(job.id)
    assert ledger.jobs.retry(job.id).status == "queued"
    assert ledger.jobs.get(job.id).attempts == 0
    claim(ledger)
    with ledger.transaction() as tx:
        tx.leases.complete(job.id, "w1", {"answer": 42})
    done = ledger.jobs.get(job.id)
    assert (done.status, done.result, done.progress) == ("succeeded", {"answer": 42}, 100)
    with pytest.raises(InvalidTransition):
        ledger.jobs.retry(job.id)
    events = [(e.event, e.from_status, e.to_status) for e in done.events]
    assert events == [
        ("enqueued", None, "queued"),
        ("claimed", "queued", "running"),
        ("failed", "running", "queued"),
        ("claimed", "queued", "running"),
        ("dead", "running", "dead"),
        ("retried", "dead", "queued"),
        ("claimed", "queued", "running"),
        ("succeeded", "running", "succeeded"),
    ]
    assert done.events[-1].duration_ms is not None
    never = ledger.jobs.enqueue("t")
    with ledger.transaction() as tx:
        claim_rows = tx.leases.claim("default", "w1")
        assert tx.leases.fail(claim_rows[0].id, "w1", "fatal", retry=False) == "failed"
    assert ledger.jobs.get(never.id).status == "failed"
    with pytest.raises(NotFound):
        ledger.jobs.get(uuid.uuid4())
    with pytest.raises(InvalidInput):
        ledger.jobs.get("not-a-uuid")


def test_backoff_delays_the_retry(ledger: Ledger) -> None:
    job = ledger.jobs.enqueue("t")
    claim(ledger)
    with ledger.transaction() as tx:
        tx.leases.fail(job.id, "w1", "later", backoff_base_s=60)
    assert ledger.jobs.get(job.id).run_after > utcnow() + timedelta(seconds=25)
    assert claim(ledger) == []


def test_expired_lease_is_recovered_and_the_slow_worker_loses(ledger: Ledger) -> None:
    job = ledger.jobs.enqueue("t", max_attempts=2)
    claim(ledger, "slow", lease_s=0.2)
    time.sleep(0.3)
    again = claim(ledger, "fast", lease_s=30)
    assert [j.id for j in again] == [job.id]
    assert again[0].attempt == 2
    with pytest.raises(LeaseLost), ledger.transaction() as tx:
        tx.leases.complete(job.id, "slow")
    with ledger.transaction() as tx:
        assert tx.leases.heartbeat([job.id], "fast", lease_s=0.2, progress=40) == {job.id}
        assert tx.leases.heartbeat([job.id], "slow") == set()
    assert ledger.jobs.get(job.id).progress == 40
    time.sleep(0.3)
    assert claim(ledger, "third") == []  # attempts used up: the recovery makes it dead
    final = ledger.jobs.get(job.id)
    assert final.status == "dead"
    assert "lease expired" in (final.last_error or "")
    assert [e.event for e in final.events].count("lease_expired") == 2


def test_cancel_and_purge(ledger: Ledger) -> None:
    queued = ledger.jobs.enqueue("t")
    assert ledger.jobs.cancel(queued.id).status == "cancelled"
    done = ledger.jobs.enqueue("t")
    claim(ledger)
    with ledger.transaction() as tx:
        tx.leases.complete(done.id, "w1")
    keep = ledger.jobs.enqueue("t")
    assert ledger.jobs.purge(older_than_days=1) == 0
    assert ledger.jobs.purge(older_than_days=0) == 2
    assert [j.id for j in ledger.jobs.list().items] == [keep.id]
    with pytest.raises(InvalidInput):
        ledger.jobs.purge(older_than_days=0, statuses=["queued"])
    with session_scope(ledger.engine, readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(m.JobEvent)) == 1


def test_stats(ledger: Ledger) -> None:
    ledger.jobs.enqueue_many([{"task": "t"}, {"task": "t"}, {"task": "t", "queue": "b"}])
    ids = [j.id for j in claim(ledger)]
    with ledger.transaction() as tx:
        tx.leases.complete(ids[0], "w1")
    stats = {q.queue: q for q in ledger.jobs.stats()}
    assert stats["default"].counts == {"queued": 1, "succeeded": 1}
    assert stats["default"].succeeded_last_minute == 1
    assert stats["b"].oldest_queued_age_s is not None
    assert stats["b"].oldest_queued_age_s >= 0


def test_concurrent_claims_never_share_a_job(ledger: Ledger) -> None:
    total = 400
    ledger.jobs.enqueue_many([{"task": "t"} for _ in range(total)])
    seen: list[uuid.UUID] = []
    lock = threading.Lock()

    def grab(name: str) -> None:
        while True:
            got = claim(ledger, name, limit=7)
            assert len(got) <= 7
            if not got:
                return
            with lock:
                seen.extend(j.id for j in got)

    threads = [threading.Thread(target=grab, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == total
    assert len(set(seen)) == total


def test_concurrent_idempotent_enqueue(ledger: Ledger) -> None:
    ids: list[uuid.UUID] = []
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            ids.append(ledger.jobs.enqueue("t", idempotency_key="same").id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=produce) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids)) == 1
    assert job_count(ledger) == 1


def test_worker_commits_task_writes_exactly_with_completion(effects: Ledger) -> None:
    ledger = effects
    good = ledger.jobs.enqueue_many([{"task": "tests.effect"} for _ in range(30)])
    bad = ledger.jobs.enqueue("tests.effect", {"fail": True}, max_attempts=2)
    asy = ledger.jobs.enqueue("tests.async_effect")
    unknown = ledger.jobs.enqueue("tests.nope", max_attempts=1)
    stats = Worker(ledger, concurrency=2, batch_size=4, backoff_base_s=0.0).run(burst=True)
    time.sleep(0.05)
    Worker(ledger, backoff_base_s=0.0).run(burst=True)
    assert stats.succeeded == 31
    assert sorted(effect_ids(ledger)) == sorted(str(j.id) for j in [*good, asy])
    assert ledger.jobs.get(bad.id).status == "dead"
    assert "always fails" in (ledger.jobs.get(bad.id).last_error or "")
    assert ledger.jobs.get(unknown.id).status == "dead"
    assert ledger.jobs.get(good[0].id).result == {"ok": "yes"}


def test_has_due_sees_only_claimable_jobs(ledger: Ledger) -> None:
    """What an idle SQLite worker reads before it claims: a due, queued job in its queues."""
    assert not ledger.leases.has_due(["default"])
    ledger.jobs.enqueue("t", run_after=utcnow() + timedelta(hours=1))
    ledger.jobs.enqueue("t", queue="other")
    assert not ledger.leases.has_due(["default"])
    assert ledger.leases.has_due(["default", "other"])
    job = ledger.jobs.enqueue("t")
    assert ledger.leases.has_due(["default"])
    claim(ledger, limit=5)
    assert ledger.jobs.get(job.id).status == "running"
    assert not ledger.leases.has_due(["default"])


def test_an_idle_worker_wakes_for_a_new_job_before_its_backoff(effects: Ledger) -> None:
    """PostgreSQL: LISTEN/NOTIFY. SQLite: the idle loop watches PRAGMA data_version, which
    moves when another connection commits. Either way a job enqueued to a worker that is
    backing off for 10 s starts long before that."""
    ledger = effects
    worker = Worker(ledger, poll_min_s=10.0, poll_max_s=30.0)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        time.sleep(0.5)  # first claim found nothing: the worker is waiting out its backoff
        job = ledger.jobs.enqueue("tests.effect")
        deadline = time.monotonic() + 5.0
        while ledger.jobs.get(job.id).status != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ledger.jobs.get(job.id).status == "succeeded"
        assert effect_ids(ledger) == [str(job.id)]
    finally:
        worker.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_graceful_stop_releases_unstarted_jobs(effects: Ledger) -> None:
    ledger = effects
    jobs = ledger.jobs.enqueue_many(
        [{"task": "tests.effect", "payload": {"sleep": 0.2}} for _ in range(5)]
    )
    worker = Worker(ledger, batch_size=5)
    thread = threading.Thread(target=worker.run)
    thread.start()
    time.sleep(0.3)
    worker.stop()
    thread.join(10)
    statuses = {ledger.jobs.get(j.id).status for j in jobs}
    assert "running" not in statuses
    assert worker.stats.released >= 1
    done = [j for j in jobs if ledger.jobs.get(j.id).status == "succeeded"]
    assert sorted(effect_ids(ledger)) == sorted(str(j.id) for j in done)
    released = [j for j in jobs if ledger.jobs.get(j.id).status == "queued"]
    assert all(ledger.jobs.get(j.id).attempts == 0 for j in released)


def test_builtin_extract_and_embed_tasks(ledger: Ledger) -> None:
    doc = ledger.documents.create(b"# Title\n\nSome words to find.", external_key="n.md")
    ledger.jobs.enqueue("docledger.extract", {"document": str(doc.document_id)})
    bad = ledger.jobs.enqueue("docledger.extract", {}, max_attempts=1)
    Worker(ledger, batch_size=1).run(burst=True)
    ledger.jobs.enqueue("docledger.embed", {})
    Worker(ledger, batch_size=1).run(burst=True)
    done = ledger.jobs.list(status="succeeded").items
    results = {j.task: j.result for j in done}
    assert results["docledger.extract"]["created"] is True  # type: ignore[index]
    assert results["docledger.embed"]["embedded"] > 0  # type: ignore[index]
    assert ledger.jobs.get(bad.id).status == "dead"
    assert ledger.search.vector("words to find", k=1)[0].external_key == "n.md"


def test_builtin_index_text_task(ledger: Ledger) -> None:
    version = ledger.documents.create(b"bulk", external_key="bulk").version_id
    rows = [{"kind": "chunk", "text": f"line {i} zeta"} for i in range(40)]
    ledger.extractions.record(version, "x", "1", {}, rows)
    job = ledger.jobs.enqueue("docledger.index_text", {})
    Worker(ledger, batch_size=1).run(burst=True)
    assert ledger.jobs.get(job.id).result == {"indexed": 40}
    assert ledger.search.catch_up() == 0  # the task committed with its job
    assert len(ledger.search.text("zeta", k=100)) == 40


def _lease_invariant_breaches(ledger: Ledger) -> int:
    """Jobs whose lease owner disagrees with their status: PostgreSQL's completion checks the
    owner alone (repositories/job_statements.py), which is sound only while this is 0."""
    with session_scope(ledger.engine, readonly=True) as s:
        running = m.Job.status == "running"
        owned = m.Job.lease_owner.is_not(None)
        return int(
            s.scalar(
                select(func.count())
                .select_from(m.Job)
                .where((running & ~owned) | (~running & owned))
            )
            or 0
        )


def test_lease_owner_is_set_exactly_while_running(ledger: Ledger) -> None:
    jobs = [ledger.jobs.enqueue("t", max_attempts=2) for _ in range(6)]
    steps = []
    claim(ledger, limit=6)
    steps.append(_lease_invariant_breaches(ledger))
    with ledger.transaction() as tx:
        tx.leases.complete(jobs[0].id, "w1")
        tx.leases.fail(jobs[1].id, "w1", "again", backoff_base_s=0)  # back to queued
        tx.leases.fail(jobs[2].id, "w1", "fatal", retry=False)  # failed
        tx.leases.release([jobs[3].id], "w1")  # queued, attempt given back
    steps.append(_lease_invariant_breaches(ledger))
    ledger.jobs.cancel(jobs[4].id)  # a running job cancelled
    steps.append(_lease_invariant_breaches(ledger))
    with pytest.raises(InvalidTransition), ledger.transaction() as tx:
        tx.leases.complete(jobs[4].id, "w1")  # ... and its completion refused
    claim(ledger, "short", lease_s=0.2, limit=6)
    time.sleep(0.3)
    claim(ledger, "next", limit=6)  # recovers the expired leases first, then claims again
    steps.append(_lease_invariant_breaches(ledger))
    ledger.jobs.retry(jobs[2].id)
    steps.append(_lease_invariant_breaches(ledger))
    assert steps == [0, 0, 0, 0, 0]
    statuses = {ledger.jobs.get(j.id).status for j in jobs}
    assert statuses >= {"succeeded", "cancelled", "running"}


def test_complete_and_claim_in_one_step(ledger: Ledger, dialect: str) -> None:
    """A busy worker's steady state: finish a batch and claim the next (one statement on
    PostgreSQL; SQLite says it cannot and the worker takes the steps). A lost lease refuses
    the whole step, the claim included."""
    first = [ledger.jobs.enqueue("t") for _ in range(2)]
    claim(ledger, limit=2)
    rest = [ledger.jobs.enqueue("t") for _ in range(3)]
    results = {first[0].id: {"pages": 3}, first[1].id: None}
    with ledger.transaction() as tx:
        claimed = tx.leases.complete_and_claim(results, "w1", "default", lease_s=30, limit=2)
    if dialect == "sqlite":
        assert claimed is None
        return
    assert claimed is not None
    assert [j.id for j in claimed] == [rest[0].id, rest[1].id]
    done = ledger.jobs.get(first[0].id)
    assert (done.status, done.result) == ("succeeded", {"pages": 3})
    assert [e.event for e in done.events] == ["enqueued", "claimed", "succeeded"]
    assert done.events[-1].duration_ms is not None
    assert ledger.jobs.get(first[1].id).result is None
    assert [e.event for e in ledger.jobs.get(rest[0].id).events] == ["enqueued", "claimed"]
    # rest[0] is cancelled while "w1" runs it: the step is refused and nothing of it stays
    ledger.jobs.cancel(rest[0].id)
    with pytest.raises(InvalidTransition), ledger.transaction() as tx:
        tx.leases.complete_and_claim(
            {rest[0].id: None, rest[1].id: None}, "w1", "default", lease_s=30, limit=5
        )
    assert ledger.jobs.get(rest[1].id).status == "running"
    assert ledger.jobs.get(rest[2].id).status == "queued"
    claim(ledger, "w2", limit=5)  # rest[2]
    with pytest.raises(LeaseLost), ledger.transaction() as tx:
        tx.leases.complete_and_claim({rest[2].id: None}, "w1", "default", lease_s=30, limit=5)
    assert ledger.jobs.get(rest[2].id).lease_owner == "w2"
    with pytest.raises(InvalidInput), ledger.transaction() as tx:
        tx.leases.complete_and_claim(
            {rest[1].id: {"x": {1, 2}}}, "w1", "default", lease_s=30, limit=1
        )


def test_a_workspace_sees_its_own_jobs_only(ledger: Ledger) -> None:
    ledger.workspaces.create("a")
    ledger.workspaces.create("b")
    mine = ledger.jobs.enqueue("t.mine", workspace="a")
    ledger.jobs.enqueue("t.theirs", workspace="b")
    shared = ledger.jobs.enqueue("t.store")  # store-wide work belongs to no workspace
    assert [j.id for j in ledger.jobs.list(workspace="a").items] == [mine.id]
    assert len(ledger.jobs.list().items) == 3
    (stats,) = ledger.jobs.stats(workspace="a")
    assert stats.counts == {"queued": 1}
    assert ledger.jobs.get(mine.id, workspace="a").task == "t.mine"
    with pytest.raises(NotFound):
        ledger.jobs.get(shared.id, workspace="a")
    with pytest.raises(NotFound):
        ledger.jobs.cancel(shared.id, workspace="a")
    assert ledger.jobs.get(shared.id).status == "queued"
    assert ledger.jobs.cancel(mine.id, workspace="a").status == "cancelled"
    assert ledger.jobs.retry(mine.id, workspace="a").status == "queued"


def test_get_many_reads_jobs_with_their_events_in_order(ledger: Ledger) -> None:
    ledger.workspaces.create("other")
    a = ledger.jobs.enqueue("docledger.noop", {"n": 1})
    b = ledger.jobs.enqueue("docledger.noop", {"n": 2})
    ledger.jobs.cancel(b.id)
    theirs = ledger.jobs.enqueue("docledger.noop", {"n": 3}, workspace="other")
    got = ledger.jobs.get_many([b.id, str(a.id), uuid.uuid4(), b.id])
    assert [j.id for j in got] == [b.id, a.id]  # the order given, once each, unknown left out
    assert [j.model_dump() for j in got] == [ledger.jobs.get(b.id).model_dump(),
                                             ledger.jobs.get(a.id).model_dump()]  # fmt: skip
    assert [e.event for e in got[0].events] == [e.event for e in ledger.jobs.get(b.id).events]
    mine = ledger.jobs.get_many([a.id, theirs.id], workspace="other")
    assert [j.id for j in mine] == [theirs.id]
    assert ledger.jobs.get_many([]) == []
    with pytest.raises(InvalidInput):
        ledger.jobs.get_many(["not-an-id"])
