"""The lock that keeps ``gc`` from deleting bytes an ingest is about to name.

A writer stores bytes first and names them in a row afterwards; between the two, the bytes
look unreferenced (a blob row with no document, or a file with no row at all). So every writer
holds this lock *shared* from before its first put until the transaction naming the bytes has
committed, and ``gc`` holds it *exclusive* while it deletes rows and files. gc therefore never
sees a writer between put and commit, whatever its grace period, and a writer that starts
after a gc batch finds the bytes gone and writes them again. Nothing here depends on clocks.

The lock lives with the database, so it covers every blob store (a local folder or S3):

- PostgreSQL: a session-level advisory lock on a connection held for the section. A writer or
  gc that dies releases it with its connection.
- SQLite: ``flock`` on a file beside the database (``<db>.blobs-lock``); the kernel releases
  it when the process dies. An in-memory database uses a process-local lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

from docledger.db.dialects import dialect_of

#: an arbitrary 64-bit key for ``pg_advisory_lock``: "docledger blobs"
_PG_KEY = 0x646F63626C6F6273

_GUARDS: weakref.WeakKeyDictionary[Engine, BlobGuard] = weakref.WeakKeyDictionary()
_GUARDS_LOCK = threading.Lock()


class BlobGuard:
    """``writing()`` around put + commit; ``collecting()`` around gc's deletions."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._mutex = threading.Lock()  # in-memory SQLite only
        database = engine.url.database or ""
        self._path: Path | None = None
        in_memory = database in {"", ":memory:"} or database.startswith("file:")
        if not dialect_of(engine).advisory_locks and not in_memory:
            self._path = Path(database).expanduser().with_name(Path(database).name + ".blobs-lock")

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Shared: many writers at once; re-entrant within a thread."""
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        with self._hold(exclusive=False):
            self._local.depth = 1
            try:
                yield
            finally:
                self._local.depth = 0

    @contextlib.contextmanager
    def collecting(self) -> Iterator[None]:
        """Exclusive: waits for every writer inside ``writing()`` to commit or fail."""
        if getattr(self._local, "depth", 0):
            raise RuntimeError("gc cannot run inside a blob write section of its own thread")
        with self._hold(exclusive=True):
            yield

    @contextlib.contextmanager
    def _hold(self, *, exclusive: bool) -> Iterator[None]:
        if dialect_of(self._engine).advisory_locks:
            with self._pg(exclusive):
                yield
        elif self._path is not None:
            with self._flock(exclusive):
                yield
        else:
            with self._mutex:
                yield

    @contextlib.contextmanager
    def _pg(self, exclusive: bool) -> Iterator[None]:
        suffix = "" if exclusive else "_shared"
        with self._engine.connect() as raw:
            conn = raw.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text(f"SELECT pg_advisory_lock{suffix}(:k)"), {"k": _PG_KEY})
            try:
                yield
            finally:
                try:
                    conn.execute(text(f"SELECT pg_advisory_unlock{suffix}(:k)"), {"k": _PG_KEY})
                except Exception:
                    conn.invalidate()

    @contextlib.contextmanager
    def _flock(self, exclusive: bool) -> Iterator[None]:
        assert self._path is not None
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def blob_guard(engine: Engine) -> BlobGuard:
    """The guard of this engine's database (one per engine, shared by its users)."""
    with _GUARDS_LOCK:
        guard = _GUARDS.get(engine)
        if guard is None:
            guard = _GUARDS[engine] = BlobGuard(engine)
        return guard
