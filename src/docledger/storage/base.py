"""The blob store contract: content-addressed, write-once, durable before it is referenced."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

from docledger.errors import InvalidInput

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

#: Read size for streaming: large enough for throughput, small enough for constant memory.
CHUNK = 1024 * 1024


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
