"""gc against writers in flight (issue 13, defect 2): gc never removes bytes that a committed
row names or that an ingest in flight is about to name, whatever its grace period, and never
removes a temp file a put is still writing. Each race is forced deterministically: the writer
stops between storing bytes and committing its rows while gc runs."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from docledger import Ledger, load_settings
from docledger.services import maintenance
from docledger.storage.base import BlobStore, StoredBlob


class PausingStore:
    """A real store that stops after each put until released (or a short timeout)."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.paused = threading.Event()
        self.resume = threading.Event()

    def put_bytes(self, data: bytes) -> StoredBlob:
        stored = self.inner.put_bytes(data)
        self.paused.set()
        self.resume.wait(5)
        return stored

    def put_stream(self, stream: BinaryIO) -> StoredBlob:
        return self.inner.put_stream(stream)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def opened(db_url: str, tmp_path: Path) -> Any:
    settings = load_settings(db_url=db_url, blob_root=str(tmp_path / "blobs"))
    with Ledger.open(settings=settings) as ledger:
        yield ledger


def _gc_in_thread(ledger: Ledger, store: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(
        target=lambda: out.append(maintenance.gc(ledger.engine, store, grace_s=0))
    )
    thread.start()
    return thread, out


def test_gc_waits_for_an_ingest_that_reuses_unreferenced_bytes(opened: Ledger) -> None:
    content = b"the same bytes, added, removed and added again"
    opened.documents.create(content, external_key="first.txt")
    opened.documents.delete("first.txt")  # the blob is now unreferenced garbage
    store = PausingStore(opened.blobs)
    ledger = Ledger(opened.settings, opened.engine, store)
    results: list[Any] = []
    writer = threading.Thread(
        target=lambda: results.append(ledger.documents.create(content, external_key="second.txt"))
    )
    writer.start()
    assert store.paused.wait(5)  # bytes stored (deduplicated), rows not yet written
    collector, reports = _gc_in_thread(opened, opened.blobs)
    collector.join(0.5)
    assert collector.is_alive()  # gc waits for the writer instead of deleting under it
    store.resume.set()
    writer.join(10)
    collector.join(10)
    assert results[0].outcome == "added"
    with opened.documents.open("second.txt") as handle:
        assert handle.read() == content
    assert reports[0].deleted_blobs == 0
    assert maintenance.verify(opened.engine, opened.blobs).ok


class SlowStream:
    """A stream that delivers its first chunk, then waits to be released."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sent = False
        self.started = threading.Event()
        self.release = threading.Event()

    def read(self, size: int = -1) -> bytes:
        if not self.sent:
            self.sent = True
            self.started.set()
            return self.data[: len(self.data) // 2]
        if self.release.wait(5) and self.data:
            rest, self.data = self.data[len(self.data) // 2 :], b""
            return rest
        return b""

    def seekable(self) -> bool:
        return False


def test_gc_leaves_a_temp_file_that_is_still_being_written(opened: Ledger, tmp_path: Path) -> None:
    stream = SlowStream(b"%PDF-1.4 streamed " * 1000)
    results: list[Any] = []
    writer = threading.Thread(
        target=lambda: results.append(
            opened.documents.create(stream, external_key="streamed.pdf")  # type: ignore[arg-type]
        )
    )
    writer.start()
    assert stream.started.wait(5)
    deadline = time.monotonic() + 5
    while not list((tmp_path / "blobs" / "tmp").glob(".put-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    collector, reports = _gc_in_thread(opened, opened.blobs)
    collector.join(0.5)
    stream.release.set()
    writer.join(10)
    collector.join(10)
    assert [r.outcome for r in results] == ["added"]
    assert reports[0].temp_files == 0
    with opened.documents.open("streamed.pdf") as handle:
        assert handle.read().startswith(b"%PDF-1.4 streamed")


def test_gc_in_a_loop_during_add_and_remove_loses_nothing(opened: Ledger) -> None:
    """The reported scenario, unforced: 40 documents whose content is added, removed and
    added again while gc --grace 0 runs over and over."""
    done = threading.Event()
    errors: list[BaseException] = []

    def collect() -> None:
        while not done.is_set():
            try:
                maintenance.gc(opened.engine, opened.blobs, grace_s=0)
            except BaseException as exc:
                errors.append(exc)
                return

    collector = threading.Thread(target=collect)
    collector.start()
    try:
        for n in range(40):
            content = f"document {n % 5}".encode()  # few contents: lots of reuse
            opened.documents.create(content, external_key=f"a{n}.txt")
            opened.documents.delete(f"a{n}.txt")
            opened.documents.create(content, external_key=f"b{n}.txt")
    finally:
        done.set()
        collector.join(30)
    assert errors == []
    for n in range(40):
        with opened.documents.open(f"b{n}.txt") as handle:
            assert handle.read() == f"document {n % 5}".encode()
    assert maintenance.verify(opened.engine, opened.blobs).ok
