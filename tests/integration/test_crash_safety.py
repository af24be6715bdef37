"""SIGKILL an ingest at random moments: no row ever names a missing or corrupt blob, gc cleans
what was left half-done, and a re-run stores every file exactly once.

Each round adds new files and rewrites some old ones before starting the ingest, so every
killed run is cut off in the middle of real work (new documents and new versions alike).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from docledger import Ledger, load_settings
from docledger import models as m
from docledger.db.session import session_scope
from docledger.services import maintenance

KILLS = 20
START_FILES = 150
NEW_PER_ROUND = 40
CHANGED_PER_ROUND = 15

CHILD = """
import sys
from docledger import Ledger, load_settings
settings = load_settings(db_url=sys.argv[1], blob_root=sys.argv[2])
with Ledger.open(settings=settings) as ledger:
    print("ready", flush=True)
    ledger.documents.create_from_paths([sys.argv[3]], recursive=True, chunk_size=10)
print("done", flush=True)
"""


def write_file(path: Path, rng: random.Random) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    size = rng.choice([0, 100, 3000, 40_000, 300_000])
    path.write_bytes(rng.randbytes(size) + path.name.encode())


@pytest.mark.slow
def test_sigkill_during_ingest(db_url: str, tmp_path: Path) -> None:
    rng = random.Random(20261122)
    source = tmp_path / "in"
    files: list[Path] = []
    for i in range(START_FILES):
        files.append(source / f"d{i % 10}" / f"f{i:05d}.bin")
        write_file(files[-1], rng)
    blob_root = tmp_path / "blobs"
    settings = load_settings(db_url=db_url, blob_root=str(blob_root))
    Ledger.open(settings=settings).close()  # create the schema before the first child
    args = [sys.executable, "-c", CHILD, db_url, str(blob_root), str(source)]
    kills = 0
    for _ in range(KILLS * 2):
        for _ in range(NEW_PER_ROUND):
            files.append(source / f"d{len(files) % 10}" / f"f{len(files):05d}.bin")
            write_file(files[-1], rng)
        for path in rng.sample(files, CHANGED_PER_ROUND):
            write_file(path, rng)
        child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.3))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.communicate(timeout=60)
        with Ledger.open(settings=settings) as ledger:
            report = maintenance.verify(ledger.engine, ledger.blobs)
            assert (report.missing, report.corrupt) == ([], [])
            maintenance.gc(ledger.engine, ledger.blobs, grace_s=0)
            assert not list((blob_root / "tmp").glob(".put-*"))
        if kills >= KILLS:
            break
    assert kills >= KILLS, f"only {kills} runs were still going when killed"

    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    with Ledger.open(settings=settings) as ledger:
        with session_scope(ledger.engine, readonly=True) as s:
            docs = s.scalar(select(func.count()).select_from(m.Document))
            keys = list(s.scalars(select(m.Document.external_key)))
        assert docs == len(files)
        assert sorted(keys) == sorted(p.relative_to(source).as_posix() for p in files)
        for path in files:
            latest = ledger.documents.version(path.relative_to(source).as_posix())
            assert latest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert maintenance.verify(ledger.engine, ledger.blobs).ok
        report = maintenance.gc(ledger.engine, ledger.blobs, grace_s=0)
        assert (report.deleted_blobs, report.orphan_files) == (0, 0)
    again = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    with Ledger.open(settings=settings) as ledger, session_scope(ledger.engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Document)) == len(files)
    assert os.path.exists(blob_root)
