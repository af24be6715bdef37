"""Ingest benchmark (issue 3), docledger against a raw baseline in the same run, alternating.

Baseline: plain Python that does what a hand-written layer must do for durability: read, SHA-256,
write a temp file, fsync, rename into ``sha256/ab/cd/<hex>``, fsync the directory (and skip files
whose digest is already stored). docledger does that and also writes the blob, document and
version rows in its database.

    python bench/ingest.py [--dialect sqlite|postgresql] [--files 10000] [--big-mib 1024]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import fresh_pg_database, median, timed, write


def baseline_put(root: Path, data: bytes) -> bool:
    sha = hashlib.sha256(data).hexdigest()
    final = root / "sha256" / sha[:2] / sha[2:4] / sha
    if final.exists():
        return False
    tmp = root / "tmp" / uuid.uuid4().hex
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)
    dfd = os.open(final.parent, os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)
    return True


def baseline_ingest(src: Path, root: Path) -> None:
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    for folder, _dirs, files in os.walk(src):
        for name in files:
            baseline_put(root, (Path(folder) / name).read_bytes())


def baseline_big(path: Path, root: Path) -> None:
    """One pass: hash while copying, fsync, rename."""
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    tmp = root / "tmp" / uuid.uuid4().hex
    digest = hashlib.sha256()
    with path.open("rb") as src, tmp.open("wb") as dst:
        while chunk := src.read(1024 * 1024):
            digest.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    sha = digest.hexdigest()
    final = root / "sha256" / sha[:2] / sha[2:4] / sha
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)


def docledger_ingest(url: str, root: Path, paths: list[Path]) -> list[str]:
    from docledger import Ledger, load_settings  # noqa: PLC0415

    with Ledger.open(settings=load_settings(db_url=url, blob_root=str(root))) as ledger:
        results = ledger.documents.create_from_paths(paths, recursive=True)
    return [r.outcome for r in results]


def peak_rss_mib() -> int:
    """This process's own peak RSS (VmHWM). ru_maxrss would include the parent's peak, which
    Linux carries across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def child(mode: str, path: str, root: str, url: str) -> None:
    """Run one big-file ingest in this (fresh) process; print seconds and peak RSS.

    The time covers the ingest call only (not interpreter start-up or imports), for both."""
    if mode == "baseline":
        seconds = timed(lambda: baseline_big(Path(path), Path(root)))
    else:
        from docledger import Ledger, load_settings  # noqa: PLC0415

        settings = load_settings(db_url=url, blob_root=root)
        with Ledger.open(settings=settings) as ledger:
            results: list[str] = []
            seconds = timed(lambda: results.append(ledger.documents.create(Path(path)).outcome))
        assert results == ["added"], results
    print(seconds, peak_rss_mib())


def make_files(folder: Path, count: int, size: int) -> None:
    for i in range(count):
        sub = folder / f"d{i % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:06d}.bin").write_bytes(os.urandom(size - 8) + i.to_bytes(8, "big"))


def db_url(dialect: str, work: Path, tag: str) -> str:
    if dialect == "sqlite":
        return f"sqlite:///{work / f'{tag}.db'}"
    return fresh_pg_database(f"bench_ingest_{tag}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialect", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    work = Path(tempfile.mkdtemp(prefix="dl-bench-", dir=os.environ.get("BENCH_TMP")))
    try:
        src = work / "src"
        make_files(src, args.files, args.size)
        fresh: dict[str, list[float]] = {"baseline": [], "docledger": []}
        dup: dict[str, list[float]] = {"baseline": [], "docledger": []}
        for r in range(args.rounds):  # alternate so that disk noise hits both alike
            broot = work / f"b{r}"
            fresh["baseline"].append(timed(lambda: baseline_ingest(src, broot)))
            dup["baseline"].append(timed(lambda: baseline_ingest(src, broot)))
            droot, url = work / f"d{r}", db_url(args.dialect, work, f"r{r}")
            fresh["docledger"].append(timed(lambda: docledger_ingest(url, droot, [src])))
            outcomes: list[str] = []
            dup["docledger"].append(
                timed(lambda: outcomes.extend(docledger_ingest(url, droot, [src])))
            )
            assert set(outcomes) == {"unchanged"}, set(outcomes)
            shutil.rmtree(broot)
            shutil.rmtree(droot)

        def rate(times: list[float]) -> float:
            return args.files / median(times)

        big = work / "big.bin"
        with big.open("wb") as out:
            for _ in range(args.big_mib):
                out.write(os.urandom(1024 * 1024))
        big_results: dict[str, dict[str, float]] = {}
        for turn, mode in enumerate(("baseline", "docledger") * 3):
            root = work / f"big-{turn}"
            url = db_url(args.dialect, work, f"big{turn}")
            cmd = [sys.executable, __file__, "--child", mode, str(big), str(root), url]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            elapsed_text, rss_text = out.strip().splitlines()[-1].split()
            elapsed = float(elapsed_text)
            mbps = args.big_mib * 1.048576 / elapsed
            best = big_results.get(mode)
            if best is None or mbps > best["mb_per_s"]:
                big_results[mode] = {
                    "mb_per_s": round(mbps, 1),
                    "peak_rss_mib": int(rss_text),
                    "seconds": round(elapsed, 2),
                }
            shutil.rmtree(root, ignore_errors=True)

        payload = {
            "dialect": args.dialect,
            "files": args.files,
            "file_size": args.size,
            "rounds": args.rounds,
            "fresh_files_per_s": {k: round(rate(v), 1) for k, v in fresh.items()},
            "duplicate_files_per_s": {k: round(rate(v), 1) for k, v in dup.items()},
            "fresh_ratio": round(rate(fresh["docledger"]) / rate(fresh["baseline"]), 3),
            "duplicate_ratio": round(rate(dup["docledger"]) / rate(dup["baseline"]), 3),
            "big_file_mib": args.big_mib,
            "big_file": big_results,
            "big_ratio": round(
                big_results["docledger"]["mb_per_s"] / big_results["baseline"]["mb_per_s"], 3
            ),
            "targets": {
                "fresh_ratio": 0.5,
                "duplicate_ratio": 0.3,
                "big_ratio": 0.8,
                "big_peak_rss_mib": 100,
            },
        }
        write(f"ingest-{args.dialect}", payload)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
