"""Operations benchmark (issue 17): backup, restore and move, each against the raw tools in
the same run.

A store of --segments segments (default 1,000,000: 250 per extraction), --embeddings vectors
of 384 dimensions (default 100,000) and --blobs documents (default 10,000, 4 KiB each) is
built on SQLite and on PostgreSQL. Then, per dialect:

backup   ``ledger.maintenance.backup`` into an empty folder, against the raw tools doing the
         same job: ``sqlite3 SRC ".backup DEST"`` / ``pg_dump -Fc`` plus ``cp -r`` of the blob
         folder. MB/s over (database bytes + blob bytes); target >= 0.5x the raw tools.
restore  ``ledger.maintenance.restore`` into an empty store, against ``cp`` of the database
         file / ``pg_restore`` into an empty database, plus ``cp -r`` of the blobs.
move     SQLite -> PostgreSQL with ``ledger.maintenance.move`` (every table streamed into an
         empty migrated database in one transaction, full-text index built for the target),
         against a raw COPY of the same rows: sqlite3 reads every table and psycopg COPYs it
         into an empty migrated database (no conversion beyond what COPY's text input does,
         no index build). Rows/s; target >= 0.5x.

    python bench/operations.py [--segments N] [--embeddings N] [--blobs N]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import fresh_pg_database, segment_batch, vocabulary, write

from docledger import Ledger, load_settings
from docledger.db.base import Base

PER_EXTRACTION = 250


def build(ledger: Ledger, segments: int, embeddings: int, blobs: int) -> None:
    rng = np.random.default_rng(17)
    words = vocabulary(rng)
    payloads = {
        f"doc-{i:06d}.txt": (f"document {i} " + "x" * 4086).encode()[:4096] for i in range(blobs)
    }
    added = ledger.documents.create_many(payloads)
    versions = [r.version_id for r in added if r.version_id is not None]
    extractions = max(1, segments // PER_EXTRACTION)
    for i in range(extractions):
        ledger.extractions.record(
            versions[i % len(versions)], f"ocr-{i // len(versions)}", "1", {},
            segment_batch(rng, words, PER_EXTRACTION),
        )  # fmt: skip
    if embeddings:
        ledger.embeddings.create_space("bench-384", "bench", 384, "cosine")
        done = 0
        for version in versions:
            if done >= embeddings:
                break
            ids = [s.id for s in ledger.segments.of_version(version)][: embeddings - done]
            if not ids:
                continue
            vectors = rng.standard_normal((len(ids), 384)).astype(np.float32)
            ledger.embeddings.upsert("bench-384", dict(zip(ids, vectors, strict=True)))
            done += len(ids)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def run(args: list[str]) -> None:
    args = [libpq(arg) for arg in args]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr[-500:]}")


def rate(mb: float, seconds: float) -> float:
    return round(mb / seconds, 1) if seconds else 0.0


def open_store(url: str, blobs: Path) -> Ledger:
    return Ledger.open(settings=load_settings(db_url=url, blob_root=str(blobs)))


def backup_restore(dialect: str, work: Path, size: dict[str, int]) -> dict[str, Any]:
    blobs = work / f"{dialect}-blobs"
    url = (
        f"sqlite:///{work / 'source.db'}"
        if dialect == "sqlite"
        else fresh_pg_database("bench_ops_source")
    )
    with open_store(url, blobs) as ledger:
        t = time.perf_counter()
        build(ledger, size["segments"], size["embeddings"], size["blobs"])
        built = time.perf_counter() - t
        rows = ledger.maintenance.row_counts()
        # alternate: raw tools, docledger, raw tools, docledger (disk noise hits both)
        ours: list[float] = []
        raw: list[float] = []
        db_bytes = 0
        for round_ in range(2):
            raw_dest = work / f"raw-backup-{dialect}-{round_}"
            raw_dest.mkdir()
            t = time.perf_counter()
            if dialect == "sqlite":
                run(["sqlite3", str(work / "source.db"), f".backup {raw_dest / 'db'}"])
            else:
                run(["pg_dump", "-Fc", "--no-owner", f"--file={raw_dest / 'db'}",
                     f"--dbname={url}"])  # fmt: skip
            run(["cp", "-r", str(blobs), str(raw_dest / "blobs")])
            raw.append(time.perf_counter() - t)
            db_bytes = (raw_dest / "db").stat().st_size
            t = time.perf_counter()
            report = ledger.maintenance.backup(work / f"backup-{dialect}-{round_}")
            ours.append(time.perf_counter() - t)
            assert report.blobs_copied == size["blobs"]
        total_mb = (db_bytes + folder_bytes(blobs)) / 1e6
        backup = {
            "mb": round(total_mb, 1),
            "docledger_s": round(min(ours), 2),
            "raw_s": round(min(raw), 2),
            "docledger_mb_s": rate(total_mb, min(ours)),
            "raw_mb_s": rate(total_mb, min(raw)),
            "ratio_vs_raw": round(min(raw) / min(ours), 2),
        }
    # restore: into an empty store, against the raw tools' restore of their own backup
    ours, raw = [], []
    for round_ in range(2):
        raw_src = work / f"raw-backup-{dialect}-{round_}"
        t = time.perf_counter()
        if dialect == "sqlite":
            shutil.copyfile(raw_src / "db", work / f"raw-restored-{round_}.db")
        else:
            target = fresh_pg_database("bench_ops_raw_restore")
            run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={target}",
                 str(raw_src / "db")])  # fmt: skip
        run(["cp", "-r", str(raw_src / "blobs"), str(work / f"raw-restored-blobs-{round_}")])
        raw.append(time.perf_counter() - t)
        target_url = (
            f"sqlite:///{work / f'restored-{round_}.db'}"
            if dialect == "sqlite"
            else fresh_pg_database("bench_ops_restore")
        )
        with open_store(target_url, work / f"restored-blobs-{dialect}-{round_}") as target:
            t = time.perf_counter()
            done = target.maintenance.restore(work / f"backup-{dialect}-{round_}")
            ours.append(time.perf_counter() - t)
            assert done.problems == [], done.problems
    restore = {
        "docledger_s": round(min(ours), 2),
        "raw_s": round(min(raw), 2),
        "docledger_mb_s": rate(total_mb, min(ours)),
        "raw_mb_s": rate(total_mb, min(raw)),
        "ratio_vs_raw": round(min(raw) / min(ours), 2),
    }
    return {"build_s": round(built, 1), "rows": rows, "backup": backup, "restore": restore}


def raw_copy(source: Path, target_url: str) -> int:
    """Every table's rows read with sqlite3 and COPYed into PostgreSQL in one transaction."""
    import psycopg  # noqa: PLC0415

    src = sqlite3.connect(source)
    moved = 0
    with psycopg.connect(target_url.replace("postgresql+psycopg", "postgresql")) as conn:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM workspaces")  # the target's own default workspace
            for table in Base.metadata.sorted_tables:
                names = [c.name for c in table.c]
                columns = ", ".join(f'"{n}"' for n in names)
                rows = src.execute(f"SELECT {columns} FROM {table.name}")
                with cur.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        moved += 1
        conn.commit()
    src.close()
    return moved


def move(work: Path) -> dict[str, Any]:
    source = work / "source.db"
    ours, raw = [], []
    rows = 0
    phases: dict[str, float] = {}
    for _ in range(2):
        raw_target = fresh_pg_database("bench_ops_raw_move")
        open_store(raw_target, work / "raw-move-blobs").close()  # migrated, empty
        t = time.perf_counter()
        rows = raw_copy(source, raw_target)
        raw.append(time.perf_counter() - t)
        target_url = fresh_pg_database("bench_ops_move")
        with (
            open_store(f"sqlite:///{source}", work / "sqlite-blobs") as ledger,
            open_store(target_url, work / "sqlite-blobs") as target,
        ):
            t = time.perf_counter()
            report = ledger.maintenance.move(target)
            ours.append(time.perf_counter() - t)
            assert report.skipped == 0
            if not phases or sum(report.phases.values()) < sum(phases.values()):
                phases = report.phases
    return {
        "rows": rows,
        "docledger_s": round(min(ours), 2),
        "raw_copy_s": round(min(raw), 2),
        "docledger_rows_s": round(rows / min(ours)),
        "raw_copy_rows_s": round(rows / min(raw)),
        "ratio_vs_raw_copy": round(min(raw) / min(ours), 2),
        # the rows alone (what the raw COPY does) against the derived work a move must add
        "docledger_phases_s": phases,
        "ratio_rows_only_vs_raw_copy": round(min(raw) / phases["rows"], 2) if phases else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=1_000_000)
    parser.add_argument("--embeddings", type=int, default=100_000)
    parser.add_argument("--blobs", type=int, default=10_000)
    parser.add_argument(
        "--only", choices=["sqlite", "postgresql", "move"], action="append", default=None
    )
    args = parser.parse_args()
    parts = args.only or ["sqlite", "postgresql", "move"]
    size = {"segments": args.segments, "embeddings": args.embeddings, "blobs": args.blobs}
    results: dict[str, Any] = {"size": size}
    with tempfile.TemporaryDirectory(prefix="docledger-ops-") as temp:
        work = Path(temp)
        if "sqlite" in parts:
            results["sqlite"] = backup_restore("sqlite", work, size)
        if "postgresql" in parts:
            results["postgresql"] = backup_restore("postgresql", work, size)
        if "move" in parts:
            if "sqlite" not in parts:  # the SQLite store to move
                with open_store(f"sqlite:///{work / 'source.db'}", work / "sqlite-blobs") as lg:
                    build(lg, size["segments"], size["embeddings"], size["blobs"])
            results["move_sqlite_to_postgresql"] = move(work)
    write("operations" if len(parts) == 3 else "operations-" + "-".join(parts), results)


if __name__ == "__main__":
    main()
