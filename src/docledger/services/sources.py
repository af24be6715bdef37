"""What can be ingested: sources (a path, bytes or a stream, and the key to file it under),
folders expanded into sources, and the rules for a key. No database and no blob store here."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from docledger.errors import InvalidInput

MAX_KEY = 1024
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


def normalize_key(key: str) -> str:
    """A safe external key: relative, '/'-separated, no '..', no NUL, valid UTF-8."""
    if not isinstance(key, str):
        raise InvalidInput(f"external key must be text, got {type(key).__name__}")
    if "\x00" in key:
        raise InvalidInput("external key contains a NUL byte")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"name {key.encode('utf-8', 'surrogateescape')!r} is not valid UTF-8"
        ) from exc
    posix = key.replace("\\", "/")
    if posix.startswith("/") or _WINDOWS_DRIVE.match(posix):
        raise InvalidInput(f"external key {key!r} is an absolute path")
    parts = [p for p in posix.split("/") if p not in {"", "."}]
    if ".." in parts:
        raise InvalidInput(f"external key {key!r} escapes its root with '..'")
    clean = "/".join(parts)
    if not clean:
        raise InvalidInput("external key is empty")
    if len(clean) > MAX_KEY:
        raise InvalidInput(f"external key is longer than {MAX_KEY} characters")
    return clean


@dataclass
class Source:
    """One thing to ingest: a path, bytes or a binary stream, and the key to file it under."""

    display: str
    key: str | None
    filename: str | None = None
    path: str | None = None
    data: bytes | None = None
    stream: BinaryIO | None = None
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: set when the source could not even be listed (an unreadable folder): it fails as is
    error: str | None = None


def make_source(
    source: str | os.PathLike[str] | bytes | BinaryIO,
    *,
    external_key: str | None = None,
    title: str | None = None,
    metadata: dict[str, Any] | None = None,
    filename: str | None = None,
) -> Source:
    if external_key is not None and not isinstance(external_key, str):
        raise InvalidInput(f"an external key is text, not {type(external_key).__name__}")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidInput("document metadata is a JSON object")
    if title is not None and not isinstance(title, str):
        raise InvalidInput("a title is text")
    if filename is not None and (not isinstance(filename, str) or "\x00" in filename):
        # a NUL reached the documents' title column and failed the whole chunk it was in
        raise InvalidInput("a file name is text without NUL characters")
    meta = dict(metadata or {})
    if isinstance(source, bytes | bytearray | memoryview):
        return Source(
            "<bytes>", external_key, filename, data=bytes(source), title=title, metadata=meta
        )
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if not os.path.lexists(path):
            raise InvalidInput(f"no such file or directory: {path}")
        if os.path.isdir(path):
            raise InvalidInput(f"{path} is a directory: use add_paths (or `docledger add`)")
        return Source(
            path,
            external_key if external_key is not None else os.path.basename(path),
            filename or os.path.basename(path),
            path=path,
            title=title,
            metadata=meta,
        )
    if hasattr(source, "read"):
        name = filename or getattr(source, "name", None)
        name = os.path.basename(name) if isinstance(name, str) else None
        return Source("<stream>", external_key, name, stream=source, title=title, metadata=meta)
    raise InvalidInput(f"cannot ingest a {type(source).__name__}: pass a path, bytes or a stream")


def expand_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    recursive: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[Source]:
    """Turn command-line paths into sources. Keys are paths relative to the given folder.

    Every path is checked before anything is written, so a typo never leaves half an ingest.
    Symlinked folders are not followed (no loops); symlinked files are read through.
    """
    if not paths:
        raise InvalidInput("no paths given")
    for raw in paths:
        if not os.path.lexists(raw):
            raise InvalidInput(f"no such file or directory: {os.fsdecode(raw)}")
    sources: list[Source] = []
    for raw in paths:
        root = os.fspath(raw)
        if os.path.isdir(root):
            # Plain strings, not pathlib: this loop runs once per file of a large ingest.
            prefix = len(os.path.join(root, ""))
            unreadable: list[OSError] = []
            walker = (
                os.walk(root, onerror=unreadable.append)
                if recursive
                else [(root, [], _files_in(root, unreadable))]
            )
            for folder, dirs, files in walker:
                dirs.sort()
                sub = folder[prefix:].replace(os.sep, "/")
                for name in sorted(files):
                    full = os.path.join(folder, name)
                    rel = f"{sub}/{name}" if sub else name
                    sources.append(Source(full, rel, name, path=full))
            for err in unreadable:  # a folder os.walk could not list: a failure, not a skip
                where = os.fsdecode(err.filename or root)
                rel = where[prefix:].replace(os.sep, "/")
                reason = f"cannot read folder: {err.strerror or err}"
                sources.append(Source(where, f"{rel}/" if rel else "", None, error=reason))
        else:
            name = os.path.basename(root)
            sources.append(Source(root, name, name, path=root))
    selected = [
        s
        for s in sources
        if (not include or any(fnmatch.fnmatch(s.key or "", g) for g in include))
        and not any(fnmatch.fnmatch(s.key or "", g) for g in exclude)
    ]
    if not selected:
        where = ", ".join(os.fsdecode(p) for p in paths)
        raise InvalidInput(f"nothing to add in {where}")
    return selected


def _files_in(folder: str, unreadable: list[OSError]) -> list[str]:
    try:
        return [
            entry.name for entry in os.scandir(folder) if not entry.is_dir(follow_symlinks=False)
        ]
    except OSError as exc:
        unreadable.append(exc)
        return []


def present_keys(sources: Iterable[Source]) -> set[str]:
    """The keys a folder sync keeps: every source found, read or not (a read error never
    deletes a document); a name that cannot be a key never named a document."""
    keep = set()
    for src in sources:
        if src.error is not None:
            continue  # an unreadable folder: see unreadable_prefixes
        try:
            keep.add(normalize_key(src.key or ""))
        except InvalidInput:
            continue
    return keep


def unreadable_prefixes(sources: Iterable[Source]) -> list[str]:
    """Key prefixes of folders that could not be read: a sync keeps every document under
    them (what it cannot see, it must not delete)."""
    return [src.key or "" for src in sources if src.error is not None]


def source_or_failure(
    source: str | os.PathLike[str] | bytes | BinaryIO, key: str | None = None
) -> Source:
    """A source, or one that fails alone when it cannot even be named (a missing path, a key
    that is not text)."""
    try:
        return make_source(source, external_key=key)
    except InvalidInput as exc:
        shown = os.fspath(source) if isinstance(source, str | os.PathLike) else "<source>"
        return Source(str(shown), key if isinstance(key, str) else None, error=str(exc))
