"""Tasks the queue tests run in worker subprocesses (``--import tests.queue_tasks``), and the
helpers those tests share: the side-effect table and the worker command line."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

import docledger

if TYPE_CHECKING:
    from docledger import Ledger


@docledger.task("tests.effect")
def effect(ctx: docledger.TaskContext) -> dict[str, str]:
    """Record the job id in a side-effect table, in the job's own transaction."""
    if ctx.job.payload.get("sleep"):
        time.sleep(float(ctx.job.payload["sleep"]))
    ctx.session.execute(text("INSERT INTO effects (job_id) VALUES (:j)"), {"j": str(ctx.job.id)})
    if ctx.job.payload.get("fail"):
        raise RuntimeError("this job always fails")
    return {"ok": "yes"}


@docledger.task("tests.async_effect")
async def async_effect(ctx: docledger.TaskContext) -> None:
    ctx.session.execute(text("INSERT INTO effects (job_id) VALUES (:j)"), {"j": str(ctx.job.id)})


def create_effects(ledger: Ledger) -> Ledger:
    """The side-effect table the tasks above write to, in the job's own transaction."""
    with ledger.transaction() as tx:
        tx.session.execute(text("CREATE TABLE effects (job_id VARCHAR(64) PRIMARY KEY)"))
    return ledger


def effect_ids(ledger: Ledger) -> list[str]:
    with ledger.transaction(readonly=True) as tx:
        return list(tx.session.scalars(text("SELECT job_id FROM effects")))


def worker_argv(url: str, *options: str) -> list[str]:
    """``docledger worker`` with these tasks registered, run by this interpreter."""
    return [
        sys.executable,
        "-m",
        "docledger.cli.app",
        "--db",
        url,
        "worker",
        "--import",
        "tests.queue_tasks",
        *options,
    ]


class StallingFormat:
    """An export format that stalls while the file named by ``DOCLEDGER_TEST_STALL`` exists
    (so a test can kill the worker in the middle of an export), else writes one line per
    record. Workers register it with ``--import tests.stall_format``."""

    name = "tests-stall"
    version = "1"
    source = "segments"
    description = "stalls while a file exists"

    def write(self, records: Any, sink: Any, options: Any) -> None:
        gate = os.environ.get("DOCLEDGER_TEST_STALL", "")
        out = sink.open("stall.txt", "text/plain")
        for record in records():
            while gate and os.path.exists(gate):
                Path(gate + ".started").touch()
                time.sleep(0.05)
            out.write(record["segment_id"] + "\n")
            sink.count("stall.txt")
