"""A blob root that cannot be written (read-only, full) stops the ingest with BlobStoreError
and leaves no row and no temp file behind. Uses real mounts (tmpfs, read-only bind), which
need root: without it the tests skip with that reason."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from docledger import BlobStoreError, Ledger, StorageFull, load_settings
from docledger import models as m
from docledger.db.session import session_scope
from docledger.storage import LocalBlobStore


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("requires root to mount a tmpfs / read-only bind mount")
    point = tmp_path / "mnt"
    point.mkdir()
    yield point
    subprocess.run(["umount", str(point)], check=False, capture_output=True)


def _rows(ledger: Ledger) -> int:
    with session_scope(ledger.engine, readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(m.DocumentVersion)) or 0)


def test_full_blob_root(db_url: str, mount_point: Path, tmp_path: Path) -> None:
    _mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point))
    settings = load_settings(db_url=db_url, blob_root=str(mount_point / "blobs"))
    (tmp_path / "small.txt").write_bytes(b"fits")
    (tmp_path / "large.bin").write_bytes(os.urandom(1024 * 1024))
    with Ledger.open(settings=settings) as ledger:
        ledger.documents.create(tmp_path / "small.txt")
        with pytest.raises(BlobStoreError, match="full"):
            ledger.documents.create(tmp_path / "large.bin")
        assert _rows(ledger) == 1
        assert list((mount_point / "blobs" / "tmp").iterdir()) == []


def test_read_only_blob_root(db_url: str, mount_point: Path, tmp_path: Path) -> None:
    (mount_point / "blobs").mkdir()
    _mount("--bind", "-o", "ro", str(mount_point), str(mount_point))
    settings = load_settings(db_url=db_url, blob_root=str(mount_point / "blobs"))
    with Ledger.open(settings=settings) as ledger:
        with pytest.raises(BlobStoreError, match="blob root"):
            ledger.documents.create(b"cannot land")
        assert _rows(ledger) == 0


def test_blob_root_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(BlobStoreError):
        LocalBlobStore(tmp_path / "file" / "blobs").put_bytes(b"x")


def test_full_sqlite_disk_is_storage_full_and_recovers(mount_point: Path, tmp_path: Path) -> None:
    """Issue 13, defect 8: a full disk under the SQLite file is StorageFull (not a raw
    OperationalError), text search keeps answering while it is full, and everything carries
    on once space is freed."""
    # room for the set-up whenever the WAL checkpoint runs: a fresh store's WAL holds ~800 KB
    # and the checkpoint copies it into the database file beside it (~1.7 MB together)
    _mount("-t", "tmpfs", "-o", "size=2400k", "tmpfs", str(mount_point))
    settings = load_settings(
        db_url=f"sqlite:///{mount_point / 'docledger.db'}", blob_root=str(tmp_path / "blobs")
    )
    with Ledger.open(settings=settings) as ledger:
        ledger.documents.create(b"bridge inspection findings", external_key="first.txt")
        ledger.extractions.run(["first.txt"])
        with pytest.raises(StorageFull):
            for n in range(2000):
                text = f"bridge report {n} " + os.urandom(3000).hex()
                ledger.documents.create(text.encode(), external_key=f"r{n}.txt")
                ledger.extractions.run([f"r{n}.txt"])
        hits = ledger.search.text("inspection")  # reads still work
        assert [h.external_key for h in hits] == ["first.txt"]
        _mount("-o", "remount,size=16m", str(mount_point))
        ledger.documents.create(b"after the cleanup, inspection again", external_key="later.txt")
        ledger.extractions.run(["later.txt"])
        keys = {h.external_key for h in ledger.search.text("inspection")}
        assert keys == {"first.txt", "later.txt"}
