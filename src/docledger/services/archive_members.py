"""A zip archive's files as sources to ingest (``documents.unpack`` of a ``.zip``).

Drawing sets, data-room exports and scanned batches arrive zipped. Each file of the archive
becomes a source keyed ``<archive key>/<its path in the archive>``, read as a stream from the
archive (one member inflated at a time), so a large archive costs no more memory than its own
bytes. What no user means to ingest is left out: folders, links, and the clutter macOS and
Windows add (``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``). A path is made a key the way an
extraction tool makes it a file name, but never outside the archive's key: ``..``, ``.``,
empty parts and a leading ``/`` are dropped, backslashes are separators, control characters
go. An archive within the archive is a document of its own (typed zip), to unpack in turn.

A member that cannot be read fails alone, as a recorded failed source with a clear message:
encrypted (zip passwords are not supported), compressed in a way Python cannot inflate,
cut short or failing its checksum, or declared to inflate beyond ``MOST_MEMBER_BYTES`` or a
thousand times its compressed size past ``BOMB_FLOOR`` (a zip bomb).
"""

from __future__ import annotations

import io
import posixpath
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any

from docledger.errors import InvalidInput
from docledger.services.sources import Source, make_source

MEDIA_TYPE = "application/zip"
#: Files taken from one archive.
MOST_MEMBERS = 100_000
#: The largest file inflated from an archive.
MOST_MEMBER_BYTES = 8 * 1024**3
#: Above this many bytes, a member inflating over ``BOMB_RATIO`` times its size is refused.
BOMB_FLOOR = 64 * 1024**2
BOMB_RATIO = 1_000
_JUNK_PARTS = frozenset({"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
                ValueError, OSError)  # fmt: skip


class _Member(io.RawIOBase):
    """One member's bytes as a stream whose failures say which member and why (as an
    ``InvalidInput``, which ingest records as that source's failure)."""

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        super().__init__()
        self.archive, self.info = archive, info
        self.inner: IO[bytes] | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            if self.inner is None:
                self.inner = self.archive.open(self.info)
            data = self.inner.read(len(buffer))
        except _READ_ERRORS as exc:
            raise InvalidInput(f"cannot read {self.info.filename} from the archive: {exc}") from exc
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()
        super().close()


def member_key(name: str) -> str | None:
    """The key part a member's path gives, or None for clutter and paths of nothing."""
    parts = [_CONTROL.sub("", p).strip() for p in name.replace("\\", "/").split("/")]
    kept = [p for p in parts if p not in {"", ".", ".."}]
    if not kept or any(p in _JUNK_PARTS for p in kept) or kept[-1].startswith("._"):
        return None
    return posixpath.join(*kept)


def _is_link(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _refusal(info: zipfile.ZipInfo) -> str | None:
    if info.flag_bits & 0x1:
        return f"{info.filename} is encrypted in the archive (zip passwords are not supported)"
    if info.file_size > MOST_MEMBER_BYTES:
        return f"{info.filename} inflates to {info.file_size} bytes, past {MOST_MEMBER_BYTES}"
    if info.file_size > BOMB_FLOOR and info.file_size > BOMB_RATIO * max(info.compress_size, 1):
        return (
            f"{info.filename} inflates {info.file_size // max(info.compress_size, 1)} times "
            "its size: a zip bomb"
        )
    return None


def member_sources(data: bytes, key: str, metadata: dict[str, Any]) -> Iterator[Source]:
    """A source per file of the archive, in the archive's order (see the module)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        listed = archive.infolist()
    except _READ_ERRORS as exc:
        raise InvalidInput(f"cannot read the archive {key}: {exc}") from exc
    seen: set[str] = set()
    taken = 0
    for info in listed:
        path = None if info.is_dir() or _is_link(info) else member_key(info.filename)
        if path is None or path in seen:
            continue
        seen.add(path)
        taken += 1
        if taken > MOST_MEMBERS:
            break
        meta = {**metadata, "member": info.filename}
        name = posixpath.basename(path)
        refused = _refusal(info)
        if refused is not None:
            yield Source(f"{key}/{path}", f"{key}/{path}", name, metadata=meta, error=refused)
            continue
        stream: Any = _Member(archive, info)
        yield make_source(stream, external_key=f"{key}/{path}", filename=name, metadata=meta)
