"""``docledger worker --processes N``: one start-up, N forked workers, supervised.

Run through the CLI in a subprocess (never forked from the test process): every job runs
exactly once across the children, SIGTERM stops the pool cleanly, and a child killed with
SIGKILL is replaced while the others keep working."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from docledger import DocledgerError, InvalidInput, Ledger, load_settings
from docledger.worker.pool import run_pool
from tests.queue_tasks import create_effects, effect_ids, worker_argv

ROOT = Path(__file__).resolve().parents[2]


def pool(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        worker_argv(url, "--lease", "2", *args),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def children(pid: int) -> list[int]:
    """The pool's worker processes (Linux: /proc/PID/task/PID/children)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.fixture
def effects(ledger: Ledger) -> Ledger:
    return create_effects(ledger)


def wait_for(condition: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_pool_runs_every_job_once_across_processes(db_url: str, effects: Ledger) -> None:
    ledger = effects
    jobs = ledger.jobs.enqueue_many(
        {"task": "tests.effect", "payload": {"sleep": 0.005}} for _ in range(300)
    )
    proc = pool(db_url, "--processes", "3", "--batch", "5", "--burst")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "succeeded 300, failed 0, lost 0, released 0, processes crashed 0" in out
    assert sorted(effect_ids(ledger)) == sorted(str(j.id) for j in jobs)
    workers = {ledger.jobs.get(j.id).lease_owner for j in jobs}
    assert workers == {None}
    with ledger.transaction(readonly=True) as tx:
        claimers = tx.session.scalars(
            text("SELECT DISTINCT worker FROM job_events WHERE event = 'claimed'")
        ).all()
    # the work was shared (how many of the three got some depends on timing: on SQLite one
    # writer at a time holds the lock, so a late starter may find the queue empty)
    assert 2 <= len(claimers) <= 3


def test_pool_stops_on_sigterm_and_replaces_a_killed_child(db_url: str, effects: Ledger) -> None:
    ledger = effects
    proc = pool(db_url, "--processes", "2", "--batch", "1")
    try:
        wait_for(lambda: len(children(proc.pid)) == 2)
        first = children(proc.pid)
        ledger.jobs.enqueue_many({"task": "tests.effect"} for _ in range(20))
        wait_for(lambda: len(effect_ids(ledger)) == 20)
        victim = first[0]
        subprocess.run(["kill", "-9", str(victim)], check=True)
        wait_for(lambda: len(children(proc.pid)) == 2 and victim not in children(proc.pid))
        # the replacement works: new jobs are still done, by both children
        more = ledger.jobs.enqueue_many(
            {"task": "tests.effect", "payload": {"sleep": 0.05}} for _ in range(20)
        )
        wait_for(lambda: len(effect_ids(ledger)) == 40)
        assert all(ledger.jobs.get(j.id).status == "succeeded" for j in more)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    # a killed child reports nothing, so the printed count is only the survivors' share
    assert "processes crashed 1" in out
    assert children(proc.pid) == []
    with ledger.transaction(readonly=True) as tx:
        running = tx.session.scalar(text("SELECT count(*) FROM jobs WHERE status = 'running'"))
    assert running == 0


def test_pool_refuses_bad_sizes(db_url: str) -> None:
    """Refused in the parent, before any fork: children failing at start would only be
    restarted, again and again."""
    with pytest.raises(InvalidInput):
        run_pool(load_settings(db_url=db_url), 0)
    with pytest.raises(DocledgerError, match="must be positive"):
        run_pool(load_settings(db_url=db_url), 2, batch_size=0)
    with pytest.raises(TypeError):
        run_pool(load_settings(db_url=db_url), 2, no_such_option=1)


def test_children_of_a_killed_pool_stop_and_release(effects: Ledger) -> None:
    """SIGKILL on the parent passes nothing on: the children see they were orphaned, finish
    their running task and release the jobs they had claimed, so nothing stays 'running'."""
    ledger = effects
    url = ledger.engine.url.render_as_string(hide_password=False)
    proc = pool(url, "--processes", "2", "--batch", "5")
    try:
        wait_for(lambda: len(children(proc.pid)) == 2)
        orphans = children(proc.pid)
        jobs = ledger.jobs.enqueue_many(
            {"task": "tests.effect", "payload": {"sleep": 0.2}} for _ in range(30)
        )
        wait_for(lambda: len(effect_ids(ledger)) >= 2)
        proc.kill()
        wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in orphans), 30)
    finally:
        for pid in orphans:  # only if the test failed: never leave workers behind
            subprocess.run(["kill", "-9", str(pid)], check=False, capture_output=True)
        proc.communicate(timeout=30)  # the children held the pipes open until they exited
    statuses = [ledger.jobs.get(j.id).status for j in jobs]
    assert "running" not in statuses
    done = [j for j, status in zip(jobs, statuses, strict=True) if status == "succeeded"]
    assert sorted(effect_ids(ledger)) == sorted(str(j.id) for j in done)
    assert 2 <= len(done) < len(jobs)  # they stopped early, having finished what they ran
