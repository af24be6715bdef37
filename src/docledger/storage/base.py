"""The blob store contract: content-addressed, write-once, durable before it is referenced."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

from docledger.errors import BlobCorrupt, InvalidInput

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

#: Read size for streaming: large enough for throughput, small enough for constant memory.
CHUNK = 1024 * 1024


class _Verifying(io.RawIOBase):
    """Hashes what is read; at the end of a front-to-back read, a digest that is not the
    blob's name fails the read (BlobCorrupt) instead of ending it quietly. A reader that
    seeks elsewhere gives up the check (it does not read every byte once, in order)."""

    def __init__(self, inner: BinaryIO, sha256: str) -> None:
        super().__init__()
        self._inner = inner
        self._sha256 = sha256
        self._digest = hashlib.sha256()
        self._hashed = 0
        self._checking = True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = self._inner.read(len(view))
        n = len(data)
        view[:n] = data
        if not self._checking:
            return n
        if n:
            self._digest.update(data)
            self._hashed += n
        else:
            self._checking = False  # checked once, at the end
            if self._digest.hexdigest() != self._sha256:
                raise BlobCorrupt(
                    f"blob {self._sha256} is corrupt: its {self._hashed} bytes hash to "
                    f"{self._digest.hexdigest()} (re-add the original file to heal it)"
                )
        return n

    def seekable(self) -> bool:
        return bool(self._inner.seekable())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._inner.seek(offset, whence)
        if position != self._hashed:
            self._checking = False
        return position

    def tell(self) -> int:
        return self._inner.tell()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


def verified(inner: BinaryIO, sha256: str) -> BinaryIO:
    """``inner`` read through a hash check (see ``_Verifying``)."""
    return io.BufferedReader(_Verifying(inner, sha256), buffer_size=CHUNK)


def check_sha256(value: str) -> str:
    if not SHA256_RE.match(value):
        raise InvalidInput(f"not a sha256 hex digest: {value!r}")
    return value


def blob_key(sha256: str) -> str:
    """Deterministic relative location: ``sha256/ab/cd/<hex>`` (two fan-out levels keep any one
    directory small even with millions of blobs)."""
    check_sha256(sha256)
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size_bytes: int
    storage_uri: str
    created: bool  # False when the content was already stored


@runtime_checkable
class BlobStore(Protocol):
    """Where bytes live. Implementations must make ``put`` durable before returning."""

    def put_stream(self, stream: BinaryIO) -> StoredBlob:
        """Store a stream of unknown content in one pass (constant memory)."""
        ...

    def put_bytes(self, data: bytes) -> StoredBlob:
        """Store bytes already in memory (small files: hash first, write only when new)."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """Read a blob; raises NotFound when it is missing."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int | None:
        """The stored size in bytes, or None when the blob is missing."""
        ...

    def delete(self, sha256: str, *, older_than_s: float = 0.0) -> bool:
        """Delete a blob unless it was written or re-put within ``older_than_s`` seconds."""
        ...

    def iter_shas(self) -> Iterator[str]:
        """Every stored blob's digest (temp files excluded)."""
        ...

    def uri(self, sha256: str) -> str: ...

    def clean_temp(self, *, older_than_s: float) -> int:
        """Remove leftovers of interrupted puts; returns how many."""
        ...
