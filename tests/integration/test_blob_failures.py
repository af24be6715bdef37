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

from docledger import BlobStoreError, Ledger, load_settings
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
        ledger.documents.add(tmp_path / "small.txt")
        with pytest.raises(BlobStoreError, match="full"):
            ledger.documents.add(tmp_path / "large.bin")
        assert _rows(ledger) == 1
        assert list((mount_point / "blobs" / "tmp").iterdir()) == []


def test_read_only_blob_root(db_url: str, mount_point: Path, tmp_path: Path) -> None:
    (mount_point / "blobs").mkdir()
    _mount("--bind", "-o", "ro", str(mount_point), str(mount_point))
    settings = load_settings(db_url=db_url, blob_root=str(mount_point / "blobs"))
    with Ledger.open(settings=settings) as ledger:
        with pytest.raises(BlobStoreError, match="blob root"):
            ledger.documents.add(b"cannot land")
        assert _rows(ledger) == 0


def test_blob_root_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(BlobStoreError):
        LocalBlobStore(tmp_path / "file" / "blobs").put_bytes(b"x")
