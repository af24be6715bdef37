"""Queue benchmark (issue 5): enqueue N no-op jobs, then drain them with W worker processes.

docledger runs on SQLite and PostgreSQL; on the same PostgreSQL server, in the same run, the
same workload runs on PgQueuer and Procrastinate (install them with ``pip install -e
'.[bench]'``). Also measured: enqueue rate (single and batched) and claim latency (enqueue to
start) with an idle worker.

docledger drains twice per batch size: as ``docledger worker --processes N`` runs (one start-up,
N forked worker processes) and as N separately started worker processes (a start-up each,
about 0.7 s of CPU, paid while the others work). Every peer runs at batch sizes 1, the chosen
one and 50; "best" compares each queue's fastest configuration.

    python bench/jobqueue.py [--jobs 20000] [--workers 4] [--batch 10] [--skip-peers]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import fresh_pg_database, median, percentile, write

HERE = Path(__file__).resolve()


# -- children (one worker process each) ----------------------------------------------------
def child_docledger(url: str, batch: int) -> None:
    from docledger import Ledger, load_settings  # noqa: PLC0415
    from docledger.worker import Worker  # noqa: PLC0415

    with Ledger.open(settings=load_settings(db_url=url)) as ledger:
        Worker(ledger, batch_size=batch, poll_min_s=0.01, poll_max_s=0.2).run(burst=True)


def child_docledger_pool(url: str, batch: int, processes: int) -> None:
    """``docledger worker --processes N``: one start-up, N forked workers."""
    from docledger import load_settings  # noqa: PLC0415
    from docledger.worker.pool import run_pool  # noqa: PLC0415

    run_pool(
        load_settings(db_url=url),
        processes,
        burst=True,
        batch_size=batch,
        poll_min_s=0.01,
        poll_max_s=0.2,
    )


def child_pgqueuer(url: str, batch: int) -> None:
    import psycopg  # noqa: PLC0415
    from pgqueuer import QueueManager  # noqa: PLC0415
    from pgqueuer.db import PsycopgDriver  # noqa: PLC0415
    from pgqueuer.queries import Queries  # noqa: PLC0415
    from pgqueuer.types import QueueExecutionMode  # noqa: PLC0415

    async def main() -> None:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        qm = QueueManager(Queries(PsycopgDriver(conn)))

        @qm.entrypoint("noop")
        async def noop(job: Any) -> None:
            return None

        await qm.run(batch_size=batch, mode=QueueExecutionMode.drain)
        await conn.close()

    asyncio.run(main())


def child_procrastinate(url: str, batch: int) -> None:
    import procrastinate  # noqa: PLC0415

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name="noop")
    def noop() -> None:
        return None

    with app.open():
        app.run_worker(wait=False, concurrency=batch, install_signal_handlers=False)


CHILDREN: dict[str, Any] = {
    "docledger": child_docledger,
    "docledger-pool": child_docledger_pool,
    "pgqueuer": child_pgqueuer,
    "procrastinate": child_procrastinate,
}


def drain(kind: str, url: str, workers: int, batch: int, left_sql: str) -> float:
    """Start the workers, wait until ``left_sql`` (an EXISTS query: is any job left?) says no;
    seconds from start to empty.

    The harness polls every 20 ms on the machine it measures, so its check must cost next to
    nothing and the same for every queue: one open connection (not a connection per poll, which
    forks a server process each time) and EXISTS, which stops at the first job left, instead
    of counting every remaining row.
    """
    poll: Any
    if url.startswith("sqlite:///"):
        import sqlite3  # noqa: PLC0415

        poll = sqlite3.connect(url.removeprefix("sqlite:///"))
    else:
        import psycopg  # noqa: PLC0415

        poll = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)

    def remaining() -> bool:
        row = poll.execute(left_sql).fetchone()
        return bool(row and row[0])

    cmd = [sys.executable, str(HERE), "--child", kind, url, str(batch)]
    started = time.perf_counter()
    if kind == "docledger-pool":  # one command starts all the worker processes
        procs = [subprocess.Popen([*cmd, str(workers)])]
    else:
        procs = [subprocess.Popen(cmd) for _ in range(workers)]
    try:
        while remaining():
            if all(proc.poll() is not None for proc in procs):
                raise RuntimeError(f"every {kind} worker exited with jobs left")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    finally:
        poll.close()
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    return elapsed


# -- docledger -------------------------------------------------------------------------------
def run_docledger(
    url: str, jobs: int, workers: int, batch: int, *, pool: bool = True, extras: bool = True
) -> dict[str, Any]:
    """Drain with ``docledger worker --processes N`` (``pool``; one start-up, N forked
    workers) or with N separately started worker processes; ``extras`` adds the single-job
    enqueue rate and the idle claim latency."""
    from docledger import Ledger, load_settings  # noqa: PLC0415

    out: dict[str, Any] = {"workers": "one pool of forked processes" if pool else "separate"}
    with Ledger.open(settings=load_settings(db_url=url)) as ledger:
        if extras:
            single = 500
            t0 = time.perf_counter()
            for _ in range(single):
                ledger.jobs.enqueue("docledger.noop", queue="single")
            out["enqueue_single_per_s"] = round(single / (time.perf_counter() - t0), 1)
        t0 = time.perf_counter()
        for start in range(0, jobs, 1000):
            ledger.jobs.enqueue_many(
                [{"task": "docledger.noop"} for _ in range(min(1000, jobs - start))]
            )
        out["enqueue_batched_per_s"] = round(jobs / (time.perf_counter() - t0), 1)

        left = (
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = 'default' "
            "AND status IN ('queued', 'running'))"
        )
        seconds = drain("docledger-pool" if pool else "docledger", url, workers, batch, left)
        out["drain_jobs_per_s"] = round(jobs / seconds, 1)
        if extras:
            out["latency_ms"] = claim_latency(ledger, url)
    return out


def claim_latency(ledger: Any, url: str, samples: int = 100) -> dict[str, float]:
    """Enqueue one job at a time to an idle worker; enqueue -> start, from the job rows."""
    cmd = [sys.executable, str(HERE), "--child-forever", url]
    proc = subprocess.Popen(cmd)
    try:
        time.sleep(2.0)  # let the worker start and go idle
        ids = []
        for _ in range(samples):
            ids.append(ledger.jobs.enqueue("docledger.noop", queue="latency").id)
            time.sleep(0.1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = [ledger.jobs.get(i) for i in ids]
            if all(r.status == "succeeded" for r in rows):
                break
            time.sleep(0.1)
        lat = [(r.started_at - r.created_at).total_seconds() * 1000 for r in rows if r.started_at]
    finally:
        proc.terminate()
        proc.wait(30)
    return {"p50": round(median(lat), 2), "p99": round(percentile(lat, 99), 2), "samples": len(lat)}


def child_forever(url: str) -> None:
    import signal  # noqa: PLC0415

    from docledger import Ledger, load_settings  # noqa: PLC0415
    from docledger.worker import Worker  # noqa: PLC0415

    with Ledger.open(settings=load_settings(db_url=url)) as ledger:
        worker = Worker(ledger, queues=["latency"], batch_size=1)
        signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        worker.run()


# -- peers -----------------------------------------------------------------------------------
def run_pgqueuer(url: str, jobs: int, workers: int, batch: int) -> dict[str, Any]:
    import psycopg  # noqa: PLC0415
    from pgqueuer.db import PsycopgDriver  # noqa: PLC0415
    from pgqueuer.queries import Queries  # noqa: PLC0415

    async def setup() -> float:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        queries = Queries(PsycopgDriver(conn))
        await queries.install()
        t0 = time.perf_counter()
        for start in range(0, jobs, 1000):
            n = min(1000, jobs - start)
            await queries.enqueue(["noop"] * n, [None] * n, [0] * n)
        elapsed = time.perf_counter() - t0
        await conn.close()
        return elapsed

    enqueue_s = asyncio.run(setup())
    seconds = drain("pgqueuer", url, workers, batch, "SELECT EXISTS (SELECT 1 FROM pgqueuer)")
    return {
        "enqueue_batched_per_s": round(jobs / enqueue_s, 1),
        "drain_jobs_per_s": round(jobs / seconds, 1),
    }


def run_procrastinate(url: str, jobs: int, workers: int, batch: int) -> dict[str, Any]:
    import procrastinate  # noqa: PLC0415

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name="noop")
    def noop() -> None:
        return None

    with app.open():
        app.schema_manager.apply_schema()
        t0 = time.perf_counter()
        for start in range(0, jobs, 1000):
            noop.batch_defer(*({} for _ in range(min(1000, jobs - start))))
        enqueue_s = time.perf_counter() - t0
    seconds = drain(
        "procrastinate",
        url,
        workers,
        batch,
        "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE status IN ('todo', 'doing'))",
    )
    return {
        "enqueue_batched_per_s": round(jobs / enqueue_s, 1),
        "drain_jobs_per_s": round(jobs / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--child-forever", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, url, *numbers = args.child
        CHILDREN[kind](url, *(int(n) for n in numbers))
        return
    if args.child_forever:
        child_forever(args.child_forever)
        return

    # Worker start-up is part of the drain time, so docledger starts as an installed package
    # would: with its modules compiled to bytecode, as pip does on install (the peers are
    # installed that way). An editable checkout under PYTHONDONTWRITEBYTECODE never gets them,
    # which cost 50-60 ms of start-up per process (measured).
    import compileall  # noqa: PLC0415

    import docledger  # noqa: PLC0415

    compileall.compile_dir(str(Path(docledger.__file__).parent), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="dl-qbench-"))
    results: dict[str, Any] = {"jobs": args.jobs, "workers": args.workers, "batch": args.batch}
    jobs, workers = args.jobs, args.workers

    def pg(tag: str) -> str:
        return fresh_pg_database(f"bench_queue_{tag}").replace("+psycopg", "")

    sqlite = f"sqlite:///{work / 'queue.db'}"
    results["docledger_sqlite"] = run_docledger(sqlite, jobs, workers, args.batch)
    results["docledger_sqlite_separate"] = run_docledger(
        f"sqlite:///{work / 'queue-separate.db'}",
        jobs,
        workers,
        args.batch,
        pool=False,
        extras=False,
    )
    # docledger as `docledger worker --processes N` runs it, and as N separate commands
    mine = {}
    for batch in sorted({args.batch, 50}):
        for pool in (True, False):
            name = f"docledger_postgresql_b{batch}" + ("" if pool else "_separate")
            extras = pool and batch == args.batch
            mine[name] = run_docledger(
                pg(name.removeprefix("docledger_")), jobs, workers, batch, pool=pool, extras=extras
            )
    results.update(mine)
    if not args.skip_peers:
        theirs = {
            f"pgqueuer_b{batch}": run_pgqueuer(pg(f"pgq{batch}"), jobs, workers, batch)
            for batch in sorted({1, args.batch, 50})
        }
        results.update(theirs)
        results["procrastinate"] = run_procrastinate(pg("procrastinate"), jobs, workers, args.batch)

        def rate(entry: dict[str, Any]) -> float:
            return float(entry["drain_jobs_per_s"])

        best_mine = max(mine, key=lambda k: rate(mine[k]))
        best_theirs = max(theirs, key=lambda k: rate(theirs[k]))
        results["best"] = {"docledger": best_mine, "pgqueuer": best_theirs}
        results["ratio_vs_pgqueuer_best"] = round(
            rate(mine[best_mine]) / rate(theirs[best_theirs]), 3
        )
        results["ratio_same_batch"] = {
            name: round(
                rate(entry) / rate(theirs[f"pgqueuer_b{name.split('_b')[1].split('_')[0]}"]), 3
            )
            for name, entry in mine.items()
        }
        results["ratio_vs_procrastinate"] = round(
            rate(mine[f"docledger_postgresql_b{args.batch}"]) / rate(results["procrastinate"]), 3
        )
    results["targets"] = {
        "ratio_vs_pgqueuer_best": 1.0,
        "ratio_vs_procrastinate": 5.0,
        "sqlite_drain_jobs_per_s": 1000,
    }
    write("queue", results)
    os.environ.pop("DOCLEDGER_DB_URL", None)


if __name__ == "__main__":
    main()
