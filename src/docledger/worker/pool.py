"""Several worker processes from one start: import once, then fork.

Starting a worker process costs about half a second of CPU before it claims anything:
importing SQLAlchemy, pydantic, psycopg and docledger's models, then opening an engine
(measured here). N separately started workers pay that N times, and on a small machine they
pay it while the others are already working. A pool imports and checks the schema once,
closes every connection, and forks N children; each child opens its own engine (no connection
crosses a fork) and runs one :class:`~docledger.worker.loop.Worker`. Every guarantee of a
worker holds per child unchanged: the pool adds no shared state, only supervision.

The parent supervises. SIGTERM / SIGINT are passed on to every child (each stops claiming,
finishes its running task and releases the rest). A child that dies while the pool is not
stopping (a crash, an OOM kill) is started again after a pause, which doubles while children
keep dying right after their start (up to 30 s), so a crash loop cannot spin; its jobs come
back when their leases expire, as for any dead worker. A parent killed outright leaves no
orphans working unsupervised: each child stops once it sees its parent gone. With ``burst``
the pool exits once every child has found its queues empty. POSIX only (``os.fork``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any

from docledger.config import Settings
from docledger.errors import ConfigurationError, InvalidInput
from docledger.ledger import Ledger
from docledger.worker.loop import Worker  # imported once, before the fork
from docledger.worker.outcomes import WorkerStats

log = logging.getLogger(__name__)

#: Seconds before a crashed child is started again; doubled for each child in a row that died
#: within STABLE_S of its start, up to RESTART_MAX_PAUSE_S.
RESTART_PAUSE_S = 1.0
RESTART_MAX_PAUSE_S = 30.0
STABLE_S = 10.0
#: How often a child checks that its parent is still there.
ORPHAN_CHECK_S = 0.5


@dataclass
class PoolStats(WorkerStats):
    """The children's summed counts (a killed child reports nothing), and how many died."""

    #: children that died (killed or crashed) rather than stopping
    crashed: int = 0


def run_pool(
    settings: Settings,
    processes: int,
    *,
    burst: bool = False,
    **worker_options: Any,
) -> PoolStats:
    """Run ``processes`` workers (``worker_options`` as for ``Worker``) until SIGTERM/SIGINT,
    or with ``burst`` until the queues are empty; returns the children's summed counts."""
    if processes < 1:
        raise InvalidInput("a pool needs at least one process")
    if not hasattr(os, "fork"):
        raise ConfigurationError("worker pools need os.fork (POSIX); run one worker per process")
    # Fail here, once, on a bad URL, an old schema or a bad worker option (children failing
    # at start would only be restarted); then leave no connection to inherit.
    with Ledger.open(settings=settings) as ledger:
        Worker(ledger, **worker_options)
    stats = PoolStats()
    children: dict[int, tuple[int, float]] = {}  # pid -> (its stats pipe, when it started)
    stopping = threading.Event()
    quick_deaths = 0  # children in a row that died soon after starting

    def spawn() -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never returns
            os.close(read)
            _child(settings, burst, worker_options, write)
        os.close(write)
        children[pid] = (read, time.monotonic())

    def forward(signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for _ in range(processes):
            spawn()
        while children:
            pid, status = os.wait()
            child = children.pop(pid, None)
            if child is None:
                continue
            read, since = child
            reported = _read_stats(read)
            for name, n in reported.items():
                setattr(stats, name, getattr(stats, name) + n)
            lived = time.monotonic() - since
            clean = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
            if not clean:
                stats.crashed += 1
                log.warning("worker process %d died (status %d)", pid, status)
                quick_deaths, pause = restart_pause(quick_deaths, lived)
                if not burst and not stopping.wait(pause):
                    spawn()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return stats


def restart_pause(quick_deaths: int, lived_s: float) -> tuple[int, float]:
    """After a child died having lived ``lived_s`` seconds: the new count of children in a row
    that died soon after starting, and the pause before the next start. A child that dies at
    once again and again (the database is down) is restarted ever more slowly, not in a tight
    fork loop; one that had been running a while restarts after the base pause."""
    quick_deaths = quick_deaths + 1 if lived_s < STABLE_S else 1
    return quick_deaths, min(RESTART_MAX_PAUSE_S, RESTART_PAUSE_S * 2 ** (quick_deaths - 1))


def _child(settings: Settings, burst: bool, options: dict[str, Any], report: int) -> None:
    """A forked child: its own engine and worker; reports its counts and exits without
    running the parent's exit handlers."""
    code = 1
    parent = os.getppid()
    try:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        with Ledger.open(settings=settings) as ledger:
            worker = Worker(ledger, **options)
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: worker.stop())
            threading.Thread(target=_stop_when_orphaned, args=(worker, parent), daemon=True).start()
            stats = worker.run(burst=burst)
        counts = {
            "succeeded": stats.succeeded,
            "failed": stats.failed,
            "lost": stats.lost,
            "released": stats.released,
        }
        os.write(report, json.dumps(counts).encode())
        code = 0
    except BaseException:
        log.exception("worker process failed")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _stop_when_orphaned(worker: Worker, parent: int) -> None:
    """A parent killed outright (SIGKILL, OOM) passes no signal on; its children notice they
    were re-parented and stop as if told to (finish the running task, release the rest)
    instead of running on unsupervised."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    log.warning("worker pool parent %d is gone: stopping", parent)
    worker.stop()


def _read_stats(read: int) -> dict[str, int]:
    chunks = []
    while chunk := os.read(read, 4096):
        chunks.append(chunk)
    os.close(read)
    if not chunks:
        return {}
    data: dict[str, int] = json.loads(b"".join(chunks))
    return data
