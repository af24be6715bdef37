"""Load benchmark (issue 17): many concurrent clients, latency of a typical transaction.

The typical transaction is the zone-OCR reviewer's: label a zone (``annotations.create`` on a
segment, with its audit event) and read the zone back (``segments.get``), each call its own
transaction. Latency is measured per call from the client's side, so it includes waiting for
a pooled connection (PostgreSQL) or for the write lock (SQLite).

postgresql  --clients concurrent clients (default 100) spread over --processes processes
            (default 4), each process with one pool of --pool connections (default 10, no
            overflow): 40 server connections in all, well inside the server's 100 that other
            databases share. Clients beyond the pool queue for a connection (what PgBouncer's
            transaction pooling does in front of the server); the figure to watch is that they
            queue rather than fail. Reported: calls/s, p50/p99 per call, errors.
sqlite      --writers processes (default 8) writing to one SQLite file at once. Reported:
            calls/s, p50/p99, and every error surfaced to the caller ("database is locked"
            would be LockTimeout); the target is zero.

Each is run saturated (every client calls again as soon as its call returns: the latency is then
mostly queueing, clients / calls per second) and paced (each client labels and reads one zone
every --pace-ms, default 250 and 500: 800 and 400 calls/s offered by 100 clients, below what
the machine serves). Target: p99 < 100 ms (the zone-OCR product's).

    python bench/load.py [--seconds 20] [--clients 100] [--processes 4] [--pool 10]
                         [--writers 8] [--pace-ms 250 500]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import fresh_pg_database, percentile, write

from docledger import DocledgerError, Ledger, load_settings


def prepare(url: str, blobs: Path, documents: int = 50) -> list[str]:
    """A store with zones to label; returns their ids."""
    with Ledger.open(settings=load_settings(db_url=url, blob_root=str(blobs))) as ledger:
        texts = {
            f"form-{i:03d}.txt": "\n\n".join(
                f"Field {j} of form {i}: value {j * i}" for j in range(40)
            ).encode()
            for i in range(documents)
        }
        added = ledger.documents.create_many(texts)
        ledger.extractions.run([r.document_id for r in added if r.document_id])
        ids = []
        for result in added:
            if result.version_id is not None:
                ids += [str(s.id) for s in ledger.segments.of_version(result.version_id)]
        return ids


def client_loop(
    ledger: Ledger, zones: list[str], until: float, out: dict[str, Any], pace_s: float
) -> None:
    rng = random.Random()
    due = time.perf_counter() + rng.uniform(0, pace_s)  # clients do not start in step
    while time.perf_counter() < until:
        if pace_s:  # one label-and-read per pace_s, like a reviewer or a pipeline stage
            time.sleep(max(0.0, due - time.perf_counter()))
            due += pace_s
        zone = rng.choice(zones)
        for call in (
            lambda: ledger.annotations.create("segment", zone, "label", {"label": "field"}),
            lambda: ledger.segments.get(zone),
        ):
            started = time.perf_counter()
            try:
                call()
            except DocledgerError as exc:
                out["errors"].append(type(exc).__name__ + ": " + str(exc)[:120])
                continue
            out["latencies"].append((time.perf_counter() - started) * 1000)


def process_main(
    url: str,
    blobs: str,
    zones: list[str],
    seconds: float,
    threads: int,
    pool: int,
    pace_s: float,
    queue: Any,
) -> None:
    settings = load_settings(
        db_url=url, blob_root=blobs, pool_size=pool, pool_max_overflow=0, pool_timeout_s=120
    )
    ledger = Ledger.open(settings=settings)
    out: dict[str, Any] = {"latencies": [], "errors": []}
    until = time.perf_counter() + seconds
    workers = [
        threading.Thread(target=client_loop, args=(ledger, zones, until, out, pace_s))
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ledger.close()
    queue.put(out)


def drive(
    url: str,
    blobs: Path,
    zones: list[str],
    seconds: float,
    processes: int,
    threads: int,
    pool: int,
    pace_s: float = 0.0,
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(
            target=process_main,
            args=(url, str(blobs), zones, seconds, threads, pool, pace_s, queue),
        )
        for _ in range(processes)
    ]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - started
    latencies = [ms for r in results for ms in r["latencies"]]
    errors = [e for r in results for e in r["errors"]]
    return {
        "pace_ms": round(pace_s * 1000),
        "processes": processes,
        "clients": processes * threads,
        "server_connections": processes * pool if url.startswith("postgresql") else processes,
        "calls": len(latencies),
        "calls_per_s": round(len(latencies) / elapsed),
        "p50_ms": round(percentile(latencies, 50), 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 99), 2) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
        "target_p99_ms": 100,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--pace-ms", type=float, nargs="+", default=[250.0, 500.0])
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="docledger-load-") as temp:
        work = Path(temp)
        pg = fresh_pg_database("bench_load")
        zones = prepare(pg, work / "pg-blobs")
        threads = max(1, args.clients // args.processes)
        results["postgresql"] = drive(
            pg, work / "pg-blobs", zones, args.seconds, args.processes, threads, args.pool
        )
        # the same clients through half the connections: they queue, none fails
        results["postgresql_half_the_connections"] = drive(
            pg, work / "pg-blobs", zones, args.seconds, args.processes, threads, args.pool // 2
        )
        # paced: each client labels and reads a zone every --pace-ms (an offered load below
        # saturation); saturated runs above measure queueing, latency = clients / calls/s
        for pace in args.pace_ms:
            results[f"postgresql_paced_{pace:g}ms"] = drive(
                pg, work / "pg-blobs", zones, args.seconds, args.processes, threads, args.pool,
                pace / 1000,
            )  # fmt: skip
        lite = f"sqlite:///{work / 'load.db'}"
        zones = prepare(lite, work / "lite-blobs")
        results["sqlite"] = drive(
            lite, work / "lite-blobs", zones, args.seconds, args.writers, 1, 1
        )
        for pace in args.pace_ms:
            results[f"sqlite_paced_{pace:g}ms"] = drive(
                lite, work / "lite-blobs", zones, args.seconds, args.writers, 1, 1, pace / 1000
            )
    write("load", results)


if __name__ == "__main__":
    main()
