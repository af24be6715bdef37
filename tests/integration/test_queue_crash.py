"""No loss, no double completion: 2,000 jobs, 4 worker processes, workers SIGKILLed at random
moments and restarted. Each task writes its job id into a side-effect table in the job's own
transaction; at the end every job succeeded exactly once (or is dead, for the jobs made to
fail), nothing is stuck running, and the side-effect table holds each succeeded id exactly
once."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from docledger import Ledger, load_settings
from tests.queue_tasks import worker_argv

ROOT = Path(__file__).resolve().parents[2]
JOBS = 2000
WORKERS = 4
KILLS = 10
FAIL_EVERY = 50


def spawn(url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:  # the child keeps its own descriptor
        return subprocess.Popen(
            worker_argv(
                url, "--concurrency", "2", "--lease", "2", "--batch", "10", "--backoff-base", "0.05"
            ),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


@pytest.mark.slow
def test_sigkill_workers_lose_nothing_and_complete_once(db_url: str, tmp_path: Path) -> None:
    rng = random.Random(7)
    settings = load_settings(db_url=db_url, blob_root=str(tmp_path / "blobs"))
    with Ledger.open(settings=settings) as ledger:
        with ledger.transaction() as tx:
            tx.session.execute(text("CREATE TABLE effects (job_id VARCHAR(64) PRIMARY KEY)"))
        jobs = ledger.jobs.enqueue_many(
            # A few milliseconds of "work" per job keeps the queue busy long enough for the kills.
            {
                "task": "tests.effect",
                "payload": {"fail": i % FAIL_EVERY == 0, "sleep": 0.003},
                "max_attempts": 3,
            }
            for i in range(JOBS)
        )
        failing = {j.id for i, j in enumerate(jobs) if i % FAIL_EVERY == 0}
        log = tmp_path / "workers.log"
        workers = [spawn(db_url, log) for _ in range(WORKERS)]
        kills = 0
        deadline = time.monotonic() + 240
        try:
            while time.monotonic() < deadline:
                time.sleep(rng.uniform(0.2, 0.6))
                counts = {q.queue: q.counts for q in ledger.jobs.stats()}.get("default", {})
                pending = counts.get("queued", 0) + counts.get("running", 0)
                if kills < KILLS and pending > 0:
                    victim = rng.randrange(WORKERS)
                    workers[victim].send_signal(signal.SIGKILL)
                    workers[victim].wait()
                    kills += 1
                    workers[victim] = spawn(db_url, log)
                elif pending == 0:
                    break
        finally:
            for proc in workers:
                proc.send_signal(signal.SIGTERM)
            for proc in workers:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        assert kills >= KILLS, f"only {kills} kills happened before the queue drained"
        with ledger.transaction(readonly=True) as tx:
            statuses = dict(
                tx.session.execute(text("SELECT status, count(*) FROM jobs GROUP BY status")).all()
            )
            succeeded = {
                str(r)
                for r in tx.session.scalars(text("SELECT id FROM jobs WHERE status = 'succeeded'"))
            }
            dead = {
                str(r)
                for r in tx.session.scalars(text("SELECT id FROM jobs WHERE status = 'dead'"))
            }
            effects = list(tx.session.scalars(text("SELECT job_id FROM effects")))
        assert statuses == {"succeeded": JOBS - len(failing), "dead": len(failing)}, statuses
        assert len(effects) == len(set(effects))  # the primary key also guarantees it
        # Stored ids compare as text; normalise both sides (SQLite keeps 32-hex, PG uuid).
        norm = {e.replace("-", "") for e in effects}
        assert norm == {s.replace("-", "") for s in succeeded}
        assert {d.replace("-", "") for d in dead} == {str(f).replace("-", "") for f in failing}
