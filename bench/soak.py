"""Soak: ingest + extract + embed + workers + gc + search running together, with random
``kill -9`` of every process kind, then the checks: nothing lost, nothing duplicated,
``verify`` clean (issue 13).

    .venv/bin/python bench/soak.py --dialect sqlite --minutes 10
    .venv/bin/python bench/soak.py --dialect postgresql --minutes 10

Each process kind runs as the CLI a user would start (a fresh process per round, killed at
random moments and started again): ``add --extract`` over a folder that keeps growing and
whose files are rewritten, ``embed``, ``worker --processes 2`` running a task that writes
through ``ctx.session``, ``gc --grace 0`` and ``search``. A driver enqueues jobs throughout.
At the end, with everything stopped: one last ``add --extract`` and ``worker --burst``, then
every file on disk is a document whose current bytes equal the file, every job succeeded
exactly once (its side-effect row exists once), and ``verify`` exits 0. Writes JSON like the
other benchmarks.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import fresh_pg_database, write  # noqa: E402

from docledger import Ledger, load_settings  # noqa: E402
from docledger.services import invariants, maintenance  # noqa: E402

KINDS = ["ingest", "embed", "worker", "gc", "search"]


def cli(url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "docledger.cli.app", "--db", url, *args]


def command(kind: str, url: str, folder: Path) -> list[str]:
    if kind == "ingest":
        return cli(url, "add", str(folder), "--recursive", "--extract")
    if kind == "embed":
        return cli(url, "embed")
    if kind == "worker":
        return cli(
            url,
            "worker",
            "--import",
            "tests.queue_tasks",
            "--processes",
            "2",
            "--lease",
            "3",
            "--concurrency",
            "2",
        )
    if kind == "gc":
        return cli(url, "gc", "--grace", "0")
    return cli(url, "search", random.choice(["bridge", "tunnel", "pier", "deck"]), "--mode", "text")


def write_files(folder: Path, rng: random.Random, n: int) -> None:
    """New files and rewrites of old ones (new versions), some with the same content."""
    for _ in range(n):
        name = f"f{rng.randrange(400):03d}.txt"
        words = rng.choices(["bridge", "tunnel", "pier", "deck", "cable", "span"], k=40)
        (folder / name).write_text(" ".join(words) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialect", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="docledger-soak-"))
    folder = work / "in"
    folder.mkdir(parents=True)
    url = (
        fresh_pg_database("bench_soak")
        if args.dialect == "postgresql"
        else f"sqlite:///{work}/soak.db"
    )
    env = {**os.environ, "DOCLEDGER_DATA_DIR": str(work / "data"), "PYTHONPATH": str(ROOT)}
    settings = load_settings(db_url=url, blob_root=str(work / "data" / "blobs"))
    with Ledger.open(settings=settings) as ledger, ledger.transaction() as tx:
        tx.session.execute(text("CREATE TABLE effects (job_id VARCHAR(64) PRIMARY KEY)"))
    write_files(folder, rng, 50)
    running: dict[str, subprocess.Popen[bytes]] = {}
    kills = dict.fromkeys(KINDS, 0)
    starts = dict.fromkeys(KINDS, 0)
    enqueued = 0
    log = (work / "processes.log").open("ab")
    deadline = time.monotonic() + args.minutes * 60
    with Ledger.open(settings=settings) as ledger:
        while time.monotonic() < deadline:
            for kind in KINDS:  # (re)start whatever is not running
                process = running.get(kind)
                if process is None or process.poll() is not None:
                    running[kind] = subprocess.Popen(
                        command(kind, url, folder), cwd=ROOT, env=env, stdout=log, stderr=log
                    )
                    starts[kind] += 1
            write_files(folder, rng, rng.randrange(1, 10))
            ledger.jobs.enqueue_many(
                {"task": "tests.effect", "payload": {"sleep": 0.002}, "max_attempts": 20}
                for _ in range(50)
            )
            enqueued += 50
            time.sleep(rng.uniform(0.2, 1.5))
            victim = rng.choice(KINDS)
            process = running.get(victim)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills[victim] += 1
    for process in running.values():  # stop everything, the hard way
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait()
    subprocess.run(["pkill", "-9", "-f", "--", f"--db {url} worker"], check=False)
    time.sleep(4)  # leases of killed workers run out (lease 3 s)
    final = [
        command("ingest", url, folder),
        cli(url, "worker", "--import", "tests.queue_tasks", "--burst", "--lease", "3"),
        cli(url, "runs", "reap", "--idle", "0"),
    ]
    for argv in final:
        subprocess.run(argv, cwd=ROOT, env=env, stdout=log, stderr=log, check=False)
    verify = subprocess.run(cli(url, "verify"), cwd=ROOT, env=env, capture_output=True, check=False)
    result = check(settings, folder, enqueued)
    result.update(
        dialect=args.dialect,
        minutes=args.minutes,
        kills=kills,
        starts=starts,
        verify_exit=verify.returncode,
        verify_output=(verify.stdout + verify.stderr).decode()[-2000:],
    )
    write(f"soak-{args.dialect}", result)


def check(settings: Any, folder: Path, enqueued: int) -> dict[str, Any]:
    with Ledger.open(settings=settings) as ledger:
        lost: list[str] = []
        for path in sorted(folder.iterdir()):
            want = hashlib.sha256(path.read_bytes()).hexdigest()
            try:
                version = ledger.documents.version(path.name)
            except Exception:
                lost.append(path.name)
                continue
            if version.sha256 != want:
                lost.append(path.name)
        with ledger.transaction(readonly=True) as tx:
            effects = list(tx.session.scalars(text("SELECT job_id FROM effects")))
            statuses = dict(
                tx.session.execute(text("SELECT status, count(*) FROM jobs GROUP BY status")).all()
            )
        blobs = maintenance.verify(ledger.engine, ledger.blobs)
        findings = {
            f.check: f.count for f in invariants.check(ledger.engine, ledger.blobs) if f.count
        }
    return {
        "files": len(list(folder.iterdir())),
        "files_lost_or_stale": lost,
        "jobs_enqueued": enqueued,
        "jobs_by_status": {k: int(v) for k, v in statuses.items()},
        "side_effects": len(effects),
        "side_effects_duplicated": len(effects) - len(set(effects)),
        "blobs_ok": blobs.ok,
        "blob_problems": {"missing": blobs.missing[:5], "corrupt": blobs.corrupt[:5]},
        "invariant_findings": findings,
        "ok": not lost
        and len(effects) == len(set(effects)) == statuses.get("succeeded", 0) == enqueued
        and blobs.ok,
    }


if __name__ == "__main__":
    main()
