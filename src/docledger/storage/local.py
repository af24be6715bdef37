"""Content-addressed blobs in a local folder.

A put writes to ``<root>/tmp/`` (same filesystem as the final place), fsyncs the file, renames it
to ``<root>/sha256/ab/cd/<hex>`` (atomic), then fsyncs the directories it touched. A crash at any
moment leaves either no final file or a complete one; a temp file left behind is removed by
``gc``. Re-putting stored content rewrites nothing but refreshes the file's mtime, which ``gc``
uses as a grace period so that it never deletes a blob an ingest is about to reference.

A process-shared lock file (``flock``) makes "check / rename / touch" in ``put`` and
"re-check age / unlink" in ``delete`` mutually exclusive across processes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from docledger.errors import BlobStoreError, NotFound
from docledger.storage.base import (
    CHUNK,
    SHA256_RE,
    StoredBlob,
    blob_key,
    check_sha256,
    verified,
)

_TEMP_PREFIX = ".put-"

#: A re-put refreshes a blob's mtime (gc's grace clock) only when it is older than this, so a
#: re-run right after an ingest does not rewrite thousands of inodes. gc graces shorter than
#: this can therefore see a just re-put blob as up to this much older.
TOUCH_AFTER_S = 60.0


class LocalBlobStore:
    def __init__(self, root: str | os.PathLike[str], *, sync_each: bool = True) -> None:
        """``sync_each=False`` skips the fsyncs of every put, for a bulk copy that makes it
        all durable at once with ``sync()`` before it records anything (a backup, a dump:
        10,000 small blobs cost 10,000 fsync round trips otherwise)."""
        self.root = Path(root).expanduser().resolve()
        self._sync_each = sync_each
        self._tmp = self.root / "tmp"
        self._lock_path = self.root / ".lock"
        self._ready = False

    # -- helpers ---------------------------------------------------------------------------
    def _prepare(self) -> None:
        if self._ready:
            return
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
            (self.root / "sha256").mkdir(exist_ok=True)
            self._lock_path.touch(exist_ok=True)
        except OSError as exc:
            raise BlobStoreError(f"cannot use blob root {self.root}: {exc.strerror}") from exc
        self._ready = True

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def path(self, sha256: str) -> Path:
        return self.root / blob_key(sha256)

    def uri(self, sha256: str) -> str:
        return f"local:{blob_key(sha256)}"

    @staticmethod
    def _refresh(final: Path) -> bool:
        """True when the blob exists; then make sure its mtime is recent (see TOUCH_AFTER_S).
        Called under the shared lock, so gc cannot unlink it in between."""
        try:
            mtime = final.stat().st_mtime
        except FileNotFoundError:
            return False
        if time.time() - mtime > TOUCH_AFTER_S:
            os.utime(final)
        return True

    def bulk(self) -> LocalBlobStore:
        """The same root without an fsync per put: for copying many blobs, then ``sync()``
        once before anything names them."""
        return LocalBlobStore(self.root, sync_each=False)

    def sync(self) -> None:
        """Make every put so far durable (after puts with ``sync_each=False``)."""
        os.sync()

    def _fsync(self, fd: int) -> None:
        if self._sync_each:
            os.fsync(fd)

    def _fsync_dir(self, path: Path) -> None:
        if not self._sync_each:
            return
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _temp_file(self) -> tuple[Path, int]:
        path = self._tmp / f"{_TEMP_PREFIX}{uuid.uuid4().hex}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            raise BlobStoreError(f"cannot write to blob root {self.root}: {exc.strerror}") from exc
        return path, fd

    def _commit_temp(self, temp: Path, sha256: str, size: int, *, heal: bool = False) -> StoredBlob:
        """Move a complete, fsynced temp file into place (or drop it when already stored).
        With ``heal``, a stored copy is replaced by the temp file anyway (atomically): the
        bytes are known good, the stored ones may have been changed on disk."""
        final = self.path(sha256)
        with self._locked(exclusive=False):
            existed = final.exists()
            if existed and not heal and self._refresh(final):
                temp.unlink(missing_ok=True)
                return StoredBlob(sha256, size, self.uri(sha256), created=False)
            created_dirs = []
            parent = final.parent
            while not parent.exists():
                created_dirs.append(parent)
                parent = parent.parent
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, final)
            except OSError as exc:
                temp.unlink(missing_ok=True)
                raise BlobStoreError(f"cannot store blob {sha256}: {exc.strerror}") from exc
            self._fsync_dir(final.parent)
            for created in created_dirs:  # make the new directory entries durable too
                self._fsync_dir(created.parent)
        return StoredBlob(sha256, size, self.uri(sha256), created=not existed)

    @staticmethod
    def _intact(final: Path, data: bytes) -> float | None:
        """The stored file's mtime when it holds exactly ``data``, else None (a re-put heals
        a file that does not: the bytes in hand are known good)."""
        try:
            with final.open("rb") as handle:
                st = os.fstat(handle.fileno())
                if st.st_size != len(data) or handle.read() != data:
                    return None
                return st.st_mtime
        except FileNotFoundError:
            return None

    def _write_fd(self, fd: int, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    # -- BlobStore -------------------------------------------------------------------------
    def put_bytes(self, data: bytes) -> StoredBlob:
        self._prepare()
        sha256 = hashlib.sha256(data).hexdigest()
        final = self.path(sha256)
        intact = self._intact(final, data)
        if intact is not None and time.time() - intact <= TOUCH_AFTER_S:
            # stored, whole and recently put: nothing to write or touch (gc cannot take it
            # meanwhile: writers hold the blob guard, see docledger.db.blob_guard)
            return StoredBlob(sha256, len(data), self.uri(sha256), created=False)
        if intact is not None:
            with self._locked(exclusive=False):
                if self._refresh(final):
                    return StoredBlob(sha256, len(data), self.uri(sha256), created=False)
        # new, or stored bytes that were changed or truncated on disk: (re)written below
        temp, fd = self._temp_file()
        try:
            self._write_fd(fd, data)
            self._fsync(fd)
        except OSError as exc:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise _write_error(self.root, exc) from exc
        os.close(fd)
        return self._commit_temp(temp, sha256, len(data), heal=True)

    def put_stream(self, stream: BinaryIO) -> StoredBlob:
        self._prepare()
        temp, fd = self._temp_file()
        digest = hashlib.sha256()
        size = 0
        try:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                self._write_fd(fd, chunk)
                size += len(chunk)
            self._fsync(fd)
        except OSError as exc:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise _write_error(self.root, exc) from exc
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        os.close(fd)
        return self._commit_temp(temp, digest.hexdigest(), size, heal=True)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return verified(self.path(check_sha256(sha256)).open("rb"), sha256)
        except FileNotFoundError as exc:
            raise NotFound(f"blob {sha256} is missing from {self.root}") from exc

    def exists(self, sha256: str) -> bool:
        return self.path(check_sha256(sha256)).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(check_sha256(sha256)).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, sha256: str, *, older_than_s: float = 0.0) -> bool:
        final = self.path(check_sha256(sha256))
        self._prepare()
        with self._locked(exclusive=True):
            try:
                age = time.time() - final.stat().st_mtime
            except FileNotFoundError:
                return False
            if age < older_than_s:
                return False
            final.unlink(missing_ok=True)
        return True

    def iter_shas(self) -> Iterator[str]:
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for first in sorted(base.iterdir()):
            if not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                if not second.is_dir():
                    continue
                for entry in sorted(second.iterdir()):
                    if SHA256_RE.match(entry.name):
                        yield entry.name

    def clean_temp(self, *, older_than_s: float) -> int:
        if not self._tmp.is_dir():
            return 0
        removed = 0
        now = time.time()
        for entry in self._tmp.iterdir():
            if not entry.name.startswith(_TEMP_PREFIX):
                continue
            try:
                if now - entry.stat().st_mtime >= older_than_s:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def _write_error(root: Path, exc: OSError) -> BlobStoreError:
    if exc.errno == errno.ENOSPC:
        return BlobStoreError(f"blob root {root} is full (no space left on device)")
    if exc.errno in {errno.EROFS, errno.EACCES, errno.EPERM}:
        return BlobStoreError(f"blob root {root} is not writable: {exc.strerror}")
    return BlobStoreError(f"writing to blob root {root} failed: {exc.strerror}")
