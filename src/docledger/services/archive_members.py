"""An archive's files as sources to ingest (``documents.unpack`` of a ``.zip``, a ``.tar``
(plain or compressed: ``.tar.gz``, ``.tar.bz2``, ``.tar.xz``), or one compressed file).

Drawing sets, data-room exports and scanned batches arrive zipped. Each file of the archive
becomes a source keyed ``<archive key>/<its path in the archive>``, read as a stream from the
archive (one member inflated at a time), so a large archive costs no more memory than its own
bytes. What no user means to ingest is left out: folders, links, and the clutter macOS and
Windows add (``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``). A path is made a key the way an
extraction tool makes it a file name, but never outside the archive's key: ``..``, ``.``,
empty parts and a leading ``/`` are dropped, backslashes are separators, control characters
go. An archive within the archive is a document of its own (typed zip), to unpack in turn.
Of a tar, only regular files are taken (not links, devices or pipes). A compressed file that
is no tar (``report.pdf.gz``) gives one file, named without its compression suffix.

A member that cannot be read fails alone, as a recorded failed source with a clear message:
encrypted (zip passwords are not supported), compressed in a way Python cannot inflate,
cut short or failing its checksum, or declared to inflate beyond ``MOST_MEMBER_BYTES`` or a
thousand times its compressed size past ``BOMB_FLOOR`` (a zip bomb; of a tar or a compressed
file, whose members' compressed sizes are not known, a thousand times the archive's size).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any

from docledger.errors import InvalidInput
from docledger.services.sources import Source, make_source

MEDIA_TYPE = "application/zip"
#: The single-file compressions, by media type: their reader and the suffixes they add.
COMPRESSED: dict[str, tuple[Any, tuple[str, ...]]] = {
    "application/gzip": (lambda raw: gzip.GzipFile(fileobj=raw), (".gz", ".gzip")),
    "application/x-bzip2": (bz2.BZ2File, (".bz2",)),
    "application/x-xz": (lzma.LZMAFile, (".xz",)),
}
TAR = "application/x-tar"
#: What ``documents.unpack`` takes apart.
MEDIA_TYPES = frozenset({MEDIA_TYPE, TAR, *COMPRESSED})
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
                ValueError, OSError, tarfile.TarError, lzma.LZMAError)  # fmt: skip


class _Member(io.RawIOBase):
    """One member's bytes as a stream whose failures say which member and why (as an
    ``InvalidInput``, which ingest records as that source's failure); it stops a member that
    inflates past ``most`` bytes."""

    def __init__(self, name: str, opener: Any, most: int) -> None:
        super().__init__()
        self.name, self.opener, self.most, self.given = name, opener, most, 0
        self.inner: IO[bytes] | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            if self.inner is None:
                self.inner = self.opener()
            data = self.inner.read(len(buffer)) if self.inner is not None else b""
        except _READ_ERRORS as exc:
            raise InvalidInput(f"cannot read {self.name} from the archive: {exc}") from exc
        self.given += len(data)
        if self.given > self.most:
            raise InvalidInput(f"{self.name} inflates past {self.most} bytes: a zip bomb")
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


def _most(packed: int) -> int:
    """The most bytes a member of an archive of ``packed`` bytes may inflate to."""
    return min(MOST_MEMBER_BYTES, max(BOMB_FLOOR, BOMB_RATIO * packed))


def member_sources(
    data: bytes,
    key: str,
    metadata: dict[str, Any],
    media_type: str = MEDIA_TYPE,
    within: tuple[str, ...] = (),
) -> Iterator[Source]:
    """A source per file of the archive, in the archive's order (see the module); of a zip
    whose paths start with one of ``within`` only, when given (an office document's
    pictures and embedded files)."""
    if media_type == MEDIA_TYPE or within:
        return _zip_sources(data, key, metadata, within)
    try:
        # open while its members stream out, one by one, during the ingest
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115
    except tarfile.ReadError:
        if media_type in COMPRESSED:
            return iter([_single(data, key, metadata, media_type)])
        raise InvalidInput(f"cannot read the archive {key}: not a readable tar") from None
    except _READ_ERRORS as exc:
        raise InvalidInput(f"cannot read the archive {key}: {exc}") from exc
    try:
        members = tar.getmembers()
    except _READ_ERRORS as exc:
        raise InvalidInput(f"cannot read the archive {key}: {exc}") from exc
    if not members and media_type in COMPRESSED:  # zeros read as a tar's end: a plain file
        return iter([_single(data, key, metadata, media_type)])
    return _tar_sources(tar, members, len(data), key, metadata)


def _single(data: bytes, key: str, metadata: dict[str, Any], media_type: str) -> Source:
    """A compressed file that is no tar: one file, named without its suffix."""
    reader, suffixes = COMPRESSED[media_type]
    base = posixpath.basename(key)
    name = next((base[: -len(s)] for s in suffixes if base.lower().endswith(s)), base) or "file"
    stream: Any = _Member(base, lambda: reader(io.BytesIO(data)), _most(len(data)))
    return make_source(stream, external_key=f"{key}/{name}", filename=name,
                       metadata={**metadata, "member": name})  # fmt: skip


def _taken(names: Iterator[tuple[Any, str]]) -> Iterator[tuple[Any, str]]:
    """(entry, key part) of the members kept, clutter and repeats left out; past
    ``MOST_MEMBERS``, one (None, key part) for the first left out, then nothing."""
    seen: set[str] = set()
    for entry, raw in names:
        path = member_key(raw)
        if path is None or path in seen:
            continue
        seen.add(path)
        if len(seen) > MOST_MEMBERS:
            yield None, path
            return
        yield entry, path


def _too_many(key: str, path: str, metadata: dict[str, Any]) -> Source:
    """The failed row that says an archive was unpacked only up to ``MOST_MEMBERS``."""
    said = f"{key} holds more than {MOST_MEMBERS} files: {path} and those after it were left"
    return Source(f"{key}/{path}", f"{key}/{path}", posixpath.basename(path),
                  metadata=dict(metadata), error=said)  # fmt: skip


def _tar_sources(
    tar: tarfile.TarFile,
    members: list[tarfile.TarInfo],
    packed: int,
    key: str,
    metadata: dict[str, Any],
) -> Iterator[Source]:
    listed = [(info, info.name) for info in members if info.isreg()]
    most = _most(packed)
    for info, path in _taken(iter(listed)):
        if info is None:
            yield _too_many(key, path, metadata)
            return
        meta = {**metadata, "member": info.name}
        name = posixpath.basename(path)
        if info.size > most:
            refused = f"{info.name} inflates to {info.size} bytes, past {most}: a zip bomb"
            yield Source(f"{key}/{path}", f"{key}/{path}", name, metadata=meta, error=refused)
            continue
        stream: Any = _Member(info.name, lambda info=info: tar.extractfile(info), most)
        yield make_source(stream, external_key=f"{key}/{path}", filename=name, metadata=meta)


def _zip_sources(
    data: bytes, key: str, metadata: dict[str, Any], within: tuple[str, ...]
) -> Iterator[Source]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        listed = archive.infolist()
    except _READ_ERRORS as exc:
        raise InvalidInput(f"cannot read the archive {key}: {exc}") from exc
    files = (
        (i, i.filename)
        for i in listed
        if not (i.is_dir() or _is_link(i)) and (not within or i.filename.startswith(within))
    )
    for info, path in _taken(files):
        if info is None:
            yield _too_many(key, path, metadata)
            return
        meta = {**metadata, "member": info.filename}
        name = posixpath.basename(path)
        refused = _refusal(info)
        if refused is not None:
            yield Source(f"{key}/{path}", f"{key}/{path}", name, metadata=meta, error=refused)
            continue
        stream: Any = _Member(info.filename, lambda info=info: archive.open(info),
                              MOST_MEMBER_BYTES)  # fmt: skip
        yield make_source(stream, external_key=f"{key}/{path}", filename=name, metadata=meta)
