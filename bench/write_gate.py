"""Threads of one process writing to one SQLite file, with and without the write gate.

Each round runs the same workload twice, alternating the order: T threads, each adding
``--per-thread`` documents of 4 KiB (blob write with its fsyncs, then the rows) and enqueuing as
many jobs (rows only), once with ``DOCLEDGER_SQLITE_WRITE_GATE`` on (the default) and once off
(SQLite's own busy handler, which sleeps 1, 2, 5 ... 100 ms between tries). Reported: writes/s
and the p99 of one write as its thread saw it, per thread count; the baseline is the same
store with the gate off.

``--mix``: what the HTTP server does, T threads adding documents while T asyncio tasks of an
``AsyncLedger`` in the same process enqueue jobs (a row write: with the gate on it runs on the
gated engine in a thread, with it off on aiosqlite, meeting the threads only in SQLite's busy
handler). Reported per side.

    python bench/write_gate.py [--threads 1 8 50] [--per-thread 40] [--rounds 2] [--mix]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import summary, write

from docledger import AsyncLedger, Ledger, load_settings


def _side(times: list[float], errors: list[str], wall: float) -> dict[str, Any]:
    return {
        "writes_per_s": round(len(times) / wall, 1),
        **{f"write_{k}": v for k, v in summary(times).items()},
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def _settings(folder: Path, threads: int, gate: bool) -> Any:
    return load_settings(
        db_url=f"sqlite:///{folder / 'db.sqlite'}",
        blob_root=str(folder / "blobs"),
        sqlite_write_gate=gate,
        pool_size=threads,
    )


def _together(pool: list[threading.Thread]) -> float:
    """Start them all, wait for them all: the wall time."""
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - start


def _mixed(folder: Path, threads: int, per_thread: int, gate: bool, tag: str) -> dict[str, Any]:
    settings = _settings(folder, threads, gate)
    docs: list[float] = []
    jobs: list[float] = []
    errors: list[str] = []
    with Ledger.open(settings=settings) as ledger:
        ledger.jobs.enqueue("docledger.noop")

        def add(n: int) -> None:
            for i in range(per_thread):
                try:
                    t = time.perf_counter()
                    ledger.documents.create(os.urandom(4096), external_key=f"{tag}-{n}-{i}")
                    docs.append((time.perf_counter() - t) * 1000)
                except Exception as exc:  # counted and shown, the run goes on
                    errors.append(f"{type(exc).__name__}: {exc}")

        async def enqueue_all() -> None:
            async with AsyncLedger.open(settings=settings) as aledger:
                await aledger.jobs.enqueue("docledger.noop")  # both engines open

                async def one(n: int) -> None:
                    for i in range(per_thread):
                        try:
                            t = time.perf_counter()
                            await aledger.jobs.enqueue("docledger.noop", {"n": n, "i": i})
                            jobs.append((time.perf_counter() - t) * 1000)
                        except Exception as exc:
                            errors.append(f"{type(exc).__name__}: {exc}")

                await asyncio.gather(*(one(n) for n in range(threads)))

        pool = [threading.Thread(target=add, args=(n,)) for n in range(threads)]
        pool.append(threading.Thread(target=asyncio.run, args=(enqueue_all(),)))
        wall = _together(pool)
    return {
        "writes_per_s": round((len(docs) + len(jobs)) / wall, 1),
        "threads_documents": _side(docs, [], wall),
        "async_jobs": _side(jobs, [], wall),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def _run(folder: Path, threads: int, per_thread: int, gate: bool, tag: str) -> dict[str, Any]:
    settings = _settings(folder, threads, gate)
    times: list[float] = []
    errors: list[str] = []
    with Ledger.open(settings=settings) as ledger:
        ledger.jobs.enqueue("docledger.noop")  # warm: the pool and the statement caches

        def work(n: int) -> None:
            for i in range(per_thread):
                data = os.urandom(4096)
                try:
                    t = time.perf_counter()
                    ledger.documents.create(data, external_key=f"{tag}-{n}-{i}")
                    times.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    ledger.jobs.enqueue("docledger.noop", {"n": n, "i": i})
                    times.append((time.perf_counter() - t) * 1000)
                except Exception as exc:  # counted and shown, the run goes on
                    errors.append(f"{type(exc).__name__}: {exc}")

        pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        wall = _together(pool)
    return _side(times, errors, wall)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8, 50])
    parser.add_argument("--per-thread", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mix", action="store_true", help="threads and async tasks together")
    args = parser.parse_args()
    run = _mixed if args.mix else _run
    results: dict[str, Any] = {}
    for threads in args.threads:
        best: dict[str, dict[str, Any]] = {}
        for r in range(args.rounds):
            order = (True, False) if r % 2 == 0 else (False, True)
            for gate in order:
                name = "gate" if gate else "no_gate"
                with tempfile.TemporaryDirectory() as tmp:
                    got = run(Path(tmp), threads, args.per_thread, gate, f"r{r}")
                if name not in best or got["writes_per_s"] > best[name]["writes_per_s"]:
                    best[name] = got
        results[f"threads_{threads}"] = {
            "docledger_gate": best["gate"],
            "baseline_no_gate": best["no_gate"],
            "ratio": round(best["gate"]["writes_per_s"] / best["no_gate"]["writes_per_s"], 2),
        }
    name = "write_gate_mix" if args.mix else "write_gate"
    write(name, {"per_thread": args.per_thread, "rounds": args.rounds, **results})


if __name__ == "__main__":
    main()
