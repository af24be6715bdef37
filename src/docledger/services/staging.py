"""Staging a file before its rows are written: hash it, store the blob (in memory when small,
streamed when large), count a PDF's pages, and describe a failure in one line."""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from typing import Any, BinaryIO

from docledger.errors import InvalidInput
from docledger.extractors.image import MEDIA_TYPES as IMAGE_TYPES
from docledger.extractors.image import page_count as image_page_count
from docledger.schemas import IngestResult
from docledger.services.media import SNIFF_BYTES, ole_kind, pdf_page_count, sniff
from docledger.services.sources import (
    Source,
    normalize_key,
)
from docledger.storage.base import BlobStore, StoredBlob

#: Files up to this size are read into memory once (hash, then write only if new); larger ones
#: stream through the store in one constant-memory pass.
SMALL_FILE = 8 * 1024 * 1024


@dataclass
class Staged:
    source: Source
    key: str
    blob: StoredBlob
    media_type: str
    page_count: int | None
    warnings: list[str]


class HeadThenRest(io.RawIOBase):
    """A stream that replays already-read leading bytes, then continues the original."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def store_blob(store: BlobStore, src: Source, data: bytes | None) -> tuple[StoredBlob, bytes, bool]:
    """Put the source's bytes; returns the blob, its leading bytes, and whether they are all."""
    if data is not None:
        return store.put_bytes(data), data[:SNIFF_BYTES], len(data) <= SNIFF_BYTES
    handle = open(src.path, "rb") if src.path is not None else src.stream  # noqa: SIM115
    assert handle is not None
    try:
        head = handle.read(SNIFF_BYTES)
        if not isinstance(head, bytes):
            raise InvalidInput(f"{src.display} is not a binary stream")
        if handle.seekable():
            handle.seek(-len(head), io.SEEK_CUR)
            return store.put_stream(handle), head, False
        return store.put_stream(io.BufferedReader(HeadThenRest(head, handle))), head, False
    finally:
        if src.path is not None:
            handle.close()


def pdf_pages(store: BlobStore, blob: StoredBlob, data: bytes | None) -> int | str:
    if data is not None:
        return pdf_page_count(data)
    with store.open(blob.sha256) as stored:
        return pdf_page_count(stored)


def image_pages(
    store: BlobStore, blob: StoredBlob, data: bytes | None, media_type: str
) -> int | str | None:
    """Pages of an image the image extractor reads, or why it cannot; None for other types.
    A big image is counted from the stored file (headers only), not read into memory."""
    if media_type not in IMAGE_TYPES:
        return None
    if data is not None:
        return image_page_count(data)
    with store.open(blob.sha256) as stored:
        return image_page_count(stored if stored.seekable() else stored.read())


def counted_pages(
    store: BlobStore, blob: StoredBlob, data: bytes | None, media_type: str
) -> tuple[int | None, list[str]]:
    """A PDF's or an image's page count, or the warning that says why it is unknown."""
    if media_type == "application/pdf":
        counted = pdf_pages(store, blob, data)
        if counted == "encrypted":
            return None, ["encrypted PDF: stored, page count unknown; extract it with its password"]
        if isinstance(counted, str):
            return None, [f"PDF could not be parsed ({counted}): stored, page count unknown"]
        return counted, []
    if blob.size_bytes:
        found = image_pages(store, blob, data, media_type)
        if isinstance(found, str):
            return None, [f"{found}: stored, page count unknown"]
        return found, []
    return None, []


def stage(store: BlobStore, src: Source) -> Staged:
    """Make the source's bytes durable in the store and describe them. Raises per-source errors
    as InvalidInput/OSError (the source fails) and BlobStoreError (the whole ingest stops)."""
    data = src.data
    st = None
    if src.path is not None:
        st = os.stat(src.path)  # follows symlinks; a loop raises ELOOP
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput(f"{src.display} is not a regular file")
        if st.st_size <= SMALL_FILE:
            with open(src.path, "rb") as handle:
                data = handle.read()
    key = normalize_key(src.key) if src.key is not None else None  # before any byte is stored
    blob, head, complete = store_blob(store, src, data)
    if st is not None and src.path is not None:
        after = os.stat(src.path)
        changed = (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns)
        if changed or blob.size_bytes != st.st_size:
            # what was stored may mix old and new bytes: fail this file rather than keep a
            # torn copy (the stored bytes are unreferenced; gc frees them)
            raise InvalidInput(f"{src.display} changed while it was being read: add it again")
    # bytes and streams given only a key ("reports/zones.csv") are named by it: the key is
    # where the caller keeps the file, and its suffix tells a CSV from prose
    named = src.filename or (key.rsplit("/", 1)[-1] if key else None)
    media_type = sniff(head, named, complete=complete)
    if media_type == "application/x-ole-storage" and data is not None:
        media_type = ole_kind(data) or media_type  # its directory lies past the bytes sniffed
    warnings: list[str] = []
    if blob.size_bytes == 0:
        warnings.append("empty file: stored as it is, nothing to extract")
    pages, noted = counted_pages(store, blob, data, media_type)
    warnings.extend(noted)
    return Staged(src, key or f"sha256/{blob.sha256}", blob, media_type, pages, warnings)


def failed_result(src: Source, exc: BaseException) -> IngestResult:
    if isinstance(exc, OSError):
        reason = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    else:
        reason = str(exc)
    key = src.key
    if key is not None:
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            key = key.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    display = src.display.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return IngestResult(outcome="failed", external_key=key, source=display, error=reason)


def put_file(store: BlobStore, data: str | os.PathLike[str] | bytes | BinaryIO, what: str) -> Any:
    """Store a path's, bytes' or binary stream's content (a model artifact, an attachment)."""
    if isinstance(data, bytes | bytearray):
        return store.put_bytes(bytes(data))
    if isinstance(data, str | os.PathLike):
        if not os.path.isfile(data):
            raise InvalidInput(f"{what} {os.fspath(data)} is not a file")
        with open(data, "rb") as handle:
            return store.put_stream(handle)
    if isinstance(data, io.IOBase) or hasattr(data, "read"):
        return store.put_stream(data)
    raise InvalidInput(f"{what} is a path, bytes or a binary stream")
