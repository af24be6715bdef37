"""An export whose maker stops half-way is never left ``running`` for good: an error no format
catches finishes it with the format failed, ``resume(force=True)`` takes over one whose
process was killed, and the export job does so itself when the queue hands it to a second
worker after the first was SIGKILLed (a real worker process, killed mid-format)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from docledger import Ledger, formats
from docledger.db.session import session_scope
from docledger.errors import InvalidInput
from docledger.formats.base import Sink, Source
from docledger.repositories.export import ExportRepository
from docledger.services.exports import RUNNABLE
from tests.queue_tasks import StallingFormat, worker_argv

ROOT = Path(__file__).resolve().parents[2]


class Interrupted(BaseException):
    """What a Ctrl-C or a dying interpreter looks like to the export: not an Exception."""


class Interrupting:
    name = "tests-interrupt"
    version = "1"
    source = "segments"
    description = "interrupted half-way until told otherwise"

    def __init__(self) -> None:
        self.interrupt = True

    def write(self, records: Source, sink: Sink, options: Mapping[str, Any]) -> None:
        out = sink.open("half.txt", "text/plain")
        for n, record in enumerate(records()):
            if self.interrupt and n == 2:
                raise Interrupted("stopped")
            out.write(record["segment_id"] + "\n")
            sink.count("half.txt")


@pytest.fixture
def interrupting() -> Iterator[Interrupting]:
    fmt = Interrupting()
    formats.register(fmt)
    yield fmt
    formats.unregister(fmt.name)


@pytest.fixture
def stalling() -> Iterator[None]:
    formats.register(StallingFormat())
    yield
    formats.unregister(StallingFormat.name)


def _seed(ledger: Ledger, n: int = 8) -> None:
    version = ledger.documents.create(b"notes", external_key="notes.txt").version_id
    ledger.extractions.record(
        version, "zones", "1", {}, [{"kind": "block", "text": f"zone {i}"} for i in range(n)]
    )


def test_an_error_no_format_catches_never_leaves_the_export_running(
    ledger: Ledger, interrupting: Interrupting
) -> None:
    _seed(ledger)
    with pytest.raises(Interrupted):
        ledger.exports.create({}, ["jsonl", "tests-interrupt"])
    (made,) = ledger.exports.list().items
    assert made.status == "partial"
    assert made.results["jsonl"]["status"] == "succeeded"
    assert made.results["tests-interrupt"]["status"] == "failed"
    assert made.results["tests-interrupt"]["error"] == "Interrupted: stopped"
    assert [f.name for f in ledger.exports.get(made.id).files] == ["segments.jsonl"]
    interrupting.interrupt = False
    done = ledger.exports.resume(made.id)
    assert done.status == "succeeded"
    assert {f.name for f in done.files} == {"segments.jsonl", "half.txt"}


def test_force_takes_over_an_export_whose_maker_died(ledger: Ledger) -> None:
    _seed(ledger)
    ledger.users.create("rita@example.org", name="Rita")
    pending = ledger.exports.create({}, ["jsonl"], background=True)
    with session_scope(ledger.engine) as s:  # a worker starts it, then dies
        ExportRepository(s)._start(pending.id, "start", None, RUNNABLE["start"])
    assert ledger.exports.get(pending.id).status == "running"
    with pytest.raises(InvalidInput, match=r"is running.*force=True"):
        ledger.exports.resume(pending.id)
    assert [e.action for e in ledger.exports.history(pending.id)] == ["create", "start"]
    done = ledger.exports.resume(pending.id, force=True, actor="rita@example.org")
    assert done.status == "succeeded"
    assert done.results["jsonl"]["records"] == 8
    taken = [e for e in ledger.exports.history(pending.id) if e.action == "resume"]
    assert [(e.actor, e.detail) for e in taken] == [("rita@example.org", {"forced": True})]
    with pytest.raises(InvalidInput, match="is succeeded"):
        ledger.exports.resume(pending.id, force=True)


def _wait_for(check: Any, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_killed_workers_export_is_made_by_the_next_worker(
    ledger: Ledger, db_url: str, blob_root: Path, tmp_path: Path, stalling: None
) -> None:
    _seed(ledger, 40)
    gate = tmp_path / "stall"
    gate.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCLEDGER_")}
    env |= {"DOCLEDGER_BLOB_ROOT": str(blob_root), "DOCLEDGER_TEST_STALL": str(gate)}
    argv = worker_argv(db_url, "--import", "tests.stall_format", "--lease", "2")
    pending = ledger.exports.create({}, ["jsonl", "tests-stall"], background=True)
    log = (tmp_path / "worker.log").open("wb")
    first = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    second = None
    try:
        _wait_for(Path(str(gate) + ".started").exists, "the first worker to reach the format")
        assert ledger.exports.get(pending.id).status == "running"
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        assert ledger.exports.get(pending.id).status == "running"  # what the kill left
        gate.unlink()
        second = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _wait_for(
            lambda: ledger.exports.get(pending.id).status not in {"pending", "running"},
            "the second worker to make the export",
        )
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        log.close()
    done = ledger.exports.get(pending.id)
    assert done.status == "succeeded", (done.results, (tmp_path / "worker.log").read_text())
    assert {f.name for f in done.files} == {"segments.jsonl", "stall.txt"}
    assert done.results["tests-stall"]["records"] == 40
    (job,) = ledger.jobs.list(task="docledger.export").items
    assert (job.status, job.attempts) == ("succeeded", 2)
    assert [e.detail for e in ledger.exports.history(pending.id) if e.action == "resume"] == [
        {"forced": True}
    ]
