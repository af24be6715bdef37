"""Queue benchmark (issue 5): enqueue N no-op jobs, then drain them with W worker processes.

docledger runs on SQLite and PostgreSQL; on the same PostgreSQL server, in the same run, the
same workload runs on PgQueuer and Procrastinate (install them with ``pip install -e
'.[bench]'``). Also measured: enqueue rate (single and batched) and claim latency (enqueue to
start) with an idle worker.

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
    from docledger.queue.worker import Worker  # noqa: PLC0415

    with Ledger.open(settings=load_settings(db_url=url)) as ledger:
        Worker(ledger, batch_size=batch, poll_min_s=0.01, poll_max_s=0.2).run(burst=True)


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


CHILDREN = {
    "docledger": child_docledger,
    "pgqueuer": child_pgqueuer,
    "procrastinate": child_procrastinate,
}


def drain(kind: str, url: str, workers: int, batch: int, remaining: Any) -> float:
    """Start the workers, wait until ``remaining()`` reaches 0; seconds from start to empty."""
    cmd = [sys.executable, str(HERE), "--child", kind, url, str(batch)]
    started = time.perf_counter()
    procs = [subprocess.Popen(cmd) for _ in range(workers)]
    try:
        while remaining() > 0:
            if all(proc.poll() is not None for proc in procs):
                raise RuntimeError(f"every {kind} worker exited with {remaining()} jobs left")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    finally:
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    return elapsed


def pg_scalar(url: str, sql: str) -> int:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


# -- docledger -------------------------------------------------------------------------------
def run_docledger(url: str, jobs: int, workers: int, batch: int) -> dict[str, Any]:
    from sqlalchemy import func, select  # noqa: PLC0415

    from docledger import Ledger, load_settings  # noqa: PLC0415
    from docledger.db.session import session_scope  # noqa: PLC0415
    from docledger.models import Job  # noqa: PLC0415

    out: dict[str, Any] = {}
    with Ledger.open(settings=load_settings(db_url=url)) as ledger:
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

        def remaining() -> int:
            with session_scope(ledger.engine, readonly=True) as s:
                return int(
                    s.scalar(
                        select(func.count())
                        .select_from(Job)
                        .where(Job.queue == "default", Job.status.in_(["queued", "running"]))
                    )
                    or 0
                )

        seconds = drain("docledger", url, workers, batch, remaining)
        out["drain_jobs_per_s"] = round(jobs / seconds, 1)
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
    from docledger.queue.worker import Worker  # noqa: PLC0415

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
    seconds = drain(
        "pgqueuer", url, workers, batch, lambda: pg_scalar(url, "SELECT count(*) FROM pgqueuer")
    )
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
        lambda: pg_scalar(
            url, "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
        ),
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
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--child-forever", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, url, batch = args.child
        CHILDREN[kind](url, int(batch))
        return
    if args.child_forever:
        child_forever(args.child_forever)
        return

    work = Path(tempfile.mkdtemp(prefix="dl-qbench-"))
    results: dict[str, Any] = {"jobs": args.jobs, "workers": args.workers, "batch": args.batch}
    results["docledger_sqlite"] = run_docledger(
        f"sqlite:///{work / 'queue.db'}", args.jobs, args.workers, args.batch
    )
    pg = fresh_pg_database("bench_queue_docledger").replace("+psycopg", "")
    results["docledger_postgresql"] = run_docledger(pg, args.jobs, args.workers, args.batch)
    pg50 = fresh_pg_database("bench_queue_docledger50").replace("+psycopg", "")
    results["docledger_postgresql_batch50"] = run_docledger(pg50, args.jobs, args.workers, 50)
    if not args.skip_peers:
        url = fresh_pg_database("bench_queue_pgqueuer").replace("postgresql+psycopg", "postgresql")
        results["pgqueuer"] = run_pgqueuer(url, args.jobs, args.workers, args.batch)
        results["pgqueuer_batch1"] = run_pgqueuer(
            fresh_pg_database("bench_queue_pgq1").replace("+psycopg", ""),
            args.jobs,
            args.workers,
            1,
        )
        results["pgqueuer_batch50"] = run_pgqueuer(
            fresh_pg_database("bench_queue_pgq50").replace("+psycopg", ""),
            args.jobs,
            args.workers,
            50,
        )
        url = fresh_pg_database("bench_queue_procrastinate").replace("+psycopg", "")
        results["procrastinate"] = run_procrastinate(url, args.jobs, args.workers, args.batch)
        mine = results["docledger_postgresql"]["drain_jobs_per_s"]
        best_pgq = max(
            results["pgqueuer"]["drain_jobs_per_s"], results["pgqueuer_batch1"]["drain_jobs_per_s"]
        )
        results["ratio_vs_pgqueuer_best"] = round(mine / best_pgq, 3)
        results["ratio_batch50_vs_pgqueuer_batch50"] = round(
            results["docledger_postgresql_batch50"]["drain_jobs_per_s"]
            / results["pgqueuer_batch50"]["drain_jobs_per_s"],
            3,
        )
        results["ratio_vs_procrastinate"] = round(
            mine / results["procrastinate"]["drain_jobs_per_s"], 3
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
