"""Ingest: bytes become durable blobs, then documents and versions, in set-based transactions.

Per chunk of sources: (1) hash and store every source's bytes (durable before any row names
them; content already stored is not rewritten), (2) in ONE transaction, insert the blob rows,
look up every document and version of the chunk with set-based queries, and insert the new
documents and versions with executemany. The same content under the same key again is
"unchanged" and writes nothing. A chunk that loses a race with a concurrent ingest (unique
key) is simply recorded again.
"""

from __future__ import annotations

import fnmatch
import io
import os
import re
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from docledger.db.dialect import (
    ANALYZE_AFTER_ROWS,
    in_values,
    refresh_statistics,
)
from docledger.db.types import utcnow
from docledger.deprecation import deprecated_alias
from docledger.errors import BlobStoreError, Conflict, DocledgerError, InvalidInput
from docledger.ids import new_id
from docledger.models import Document as DocumentRow
from docledger.models import DocumentVersion as VersionRow
from docledger.repositories.blob import BlobRepository
from docledger.repositories.document import DocumentRepository
from docledger.repositories.page_image import PageImageRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository
from docledger.schemas import IngestResult
from docledger.schemas.document import IngestOutcome, PageImage
from docledger.services.media import SNIFF_BYTES, pdf_page_count, sniff
from docledger.services.scope import Scope, Service, service
from docledger.storage.base import BlobStore, StoredBlob

#: Files up to this size are read into memory once (hash, then write only if new); larger ones
#: stream through the store in one constant-memory pass.
SMALL_FILE = 8 * 1024 * 1024
DEFAULT_CHUNK = 500
MAX_KEY = 1024
_IN_LIST = 500  # ids per IN (...) list
_RETRIES = 3
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


@dataclass
class _Staged:
    source: Source
    key: str
    blob: StoredBlob
    media_type: str
    page_count: int | None
    warnings: list[str]


class _HeadThenRest(io.RawIOBase):
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


def _store(store: BlobStore, src: Source, data: bytes | None) -> tuple[StoredBlob, bytes, bool]:
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
        return store.put_stream(io.BufferedReader(_HeadThenRest(head, handle))), head, False
    finally:
        if src.path is not None:
            handle.close()


def _pdf_pages(store: BlobStore, blob: StoredBlob, data: bytes | None) -> int | None:
    if data is not None:
        return pdf_page_count(data)
    with store.open(blob.sha256) as stored:
        return pdf_page_count(stored)


def _stage(store: BlobStore, src: Source) -> _Staged:
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
    blob, head, complete = _store(store, src, data)
    if st is not None and src.path is not None:
        after = os.stat(src.path)
        changed = (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns)
        if changed or blob.size_bytes != st.st_size:
            # what was stored may mix old and new bytes: fail this file rather than keep a
            # torn copy (the stored bytes are unreferenced; gc frees them)
            raise InvalidInput(f"{src.display} changed while it was being read: add it again")
    media_type = sniff(head, src.filename, complete=complete)
    warnings: list[str] = []
    if blob.size_bytes == 0:
        warnings.append("empty file: stored as it is, nothing to extract")
    pages = None
    if media_type == "application/pdf":
        pages = _pdf_pages(store, blob, data)
        if pages is None:
            warnings.append("PDF could not be parsed: stored, page count unknown")
    return _Staged(src, key or f"sha256/{blob.sha256}", blob, media_type, pages, warnings)


def _failed(src: Source, exc: BaseException) -> IngestResult:
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


def _chunks(ids: Sequence[Any], size: int = _IN_LIST) -> Iterator[Sequence[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@dataclass
class _Existing:
    """What the database already holds for one chunk's keys."""

    docs: dict[str, uuid.UUID] = field(default_factory=dict)
    current: dict[uuid.UUID, int] = field(default_factory=dict)
    known: dict[tuple[uuid.UUID, str], tuple[uuid.UUID, int]] = field(default_factory=dict)
    latest: dict[uuid.UUID, int] = field(default_factory=dict)


def _lookup(session: Session, ws_id: uuid.UUID, keys: list[str]) -> _Existing:
    """Every document and version for the keys, in a few set-based queries (never one a key)."""
    found = _Existing()
    for part in _chunks(keys):
        rows = session.execute(
            select(DocumentRow.external_key, DocumentRow.id, DocumentRow.current_version).where(
                DocumentRow.workspace_id == ws_id,
                in_values(session, DocumentRow.external_key, part),
            )
        )
        for key, doc_id, cur in rows:
            found.docs[key] = doc_id
            found.current[doc_id] = cur or 0
    for part in _chunks(list(found.docs.values())):
        versions = session.execute(
            select(
                VersionRow.document_id, VersionRow.sha256, VersionRow.id, VersionRow.version_number
            ).where(in_values(session, VersionRow.document_id, part))
        )
        for doc_id, sha, vid, num in versions:
            found.known[(doc_id, sha)] = (vid, num)
            found.latest[doc_id] = max(found.latest.get(doc_id, 0), num)
    return found


def _record(
    scope: Scope, workspace: WorkspaceRef | None, staged: list[_Staged]
) -> list[IngestResult]:
    """Write the rows for one chunk in one transaction; returns one result per staged source."""
    with scope.session() as session:
        ws_id = WorkspaceRepository(session).get(workspace).id
        now = utcnow()
        BlobRepository(session).create_many([(s.blob, s.media_type) for s in staged])
        have = _lookup(session, ws_id, sorted({s.key for s in staged}))
        new_docs: dict[uuid.UUID, dict[str, Any]] = {}
        new_versions: list[dict[str, Any]] = []
        moved: dict[uuid.UUID, dict[str, Any]] = {}  # existing documents whose current moved
        results: list[IngestResult] = []
        for s in staged:
            doc_id = have.docs.get(s.key)
            if doc_id is None:
                doc_id = have.docs[s.key] = new_id()
                new_docs[doc_id] = {
                    "id": doc_id,
                    "workspace_id": ws_id,
                    "external_key": s.key,
                    "title": s.source.title or s.source.filename,
                    "media_type": s.media_type,
                    "status": "uploaded",
                    "current_version": None,
                    "tags": [],
                    "meta": s.source.metadata,
                    "created_at": now,
                    "updated_at": now,
                }
            seen = have.known.get((doc_id, s.blob.sha256))
            if seen is not None and have.current.get(doc_id) == seen[1]:
                results.append(_result("unchanged", s, doc_id, *seen))
                continue
            outcome: IngestOutcome
            if seen is not None:
                outcome, (vid, num) = "reverted", seen
            else:
                fresh = doc_id in new_docs and not have.latest.get(doc_id)
                outcome = "added" if fresh else "new_version"
                vid, num = new_id(), have.latest.get(doc_id, 0) + 1
                have.latest[doc_id] = num
                have.known[(doc_id, s.blob.sha256)] = (vid, num)
                new_versions.append(
                    {
                        "id": vid,
                        "workspace_id": ws_id,
                        "document_id": doc_id,
                        "version_number": num,
                        "sha256": s.blob.sha256,
                        "size_bytes": s.blob.size_bytes,
                        "media_type": s.media_type,
                        "original_filename": s.source.filename,
                        "page_count": s.page_count,
                        "meta": {},
                        "created_at": now,
                    }
                )
            have.current[doc_id] = num
            if doc_id in new_docs:
                new_docs[doc_id].update(current_version=num, media_type=s.media_type)
            else:
                moved[doc_id] = {"doc_id": doc_id, "cur": num, "mt": s.media_type}
            results.append(_result(outcome, s, doc_id, vid, num))
        _write(session, list(new_docs.values()), new_versions, list(moved.values()), now)
        known = [have.docs[s.key] for s in staged if have.docs[s.key] not in new_docs]
        if known:  # a file seen again brings back a document a folder sync marked deleted
            session.execute(
                update(DocumentRow)
                .where(
                    in_values(session, DocumentRow.id, known), DocumentRow.deleted_at.is_not(None)
                )
                .values(deleted_at=None, updated_at=now)
            )
    return results


def _write(
    session: Session,
    new_docs: list[dict[str, Any]],
    new_versions: list[dict[str, Any]],
    moved: list[dict[str, Any]],
    now: datetime,
) -> None:
    """Three set-based statements (executemany), whatever the chunk size."""
    if new_docs:
        session.execute(insert(DocumentRow), new_docs)
    if new_versions:
        session.execute(insert(VersionRow), new_versions)
    if moved:
        table = DocumentRow.__table__
        assert isinstance(table, Table)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("doc_id"))
            .values(updated_at=now, current_version=bindparam("cur"), media_type=bindparam("mt")),
            moved,
        )


def _result(
    outcome: IngestOutcome, s: _Staged, doc_id: uuid.UUID, vid: uuid.UUID, num: int
) -> IngestResult:
    # Built from trusted, already-validated values: skip pydantic validation on the hot path.
    return IngestResult.model_construct(
        outcome=outcome,
        external_key=s.key,
        source=s.source.display,
        document_id=doc_id,
        version_id=vid,
        version_number=num,
        sha256=s.blob.sha256,
        size_bytes=s.blob.size_bytes,
        media_type=s.media_type,
        page_count=s.page_count,
        warnings=s.warnings,
        error=None,
    )


def ingest(
    scope: Scope,
    sources: Iterable[Source],
    *,
    workspace: WorkspaceRef | None = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> Iterator[IngestResult]:
    """Ingest sources chunk by chunk, yielding one result per source as each chunk commits.

    A source that cannot be read fails alone (outcome ``failed``); a blob store that cannot be
    written (read-only, full) raises BlobStoreError and stops the ingest: earlier chunks are
    committed, the current one writes no rows.
    """
    if chunk_size < 1:
        raise InvalidInput("chunk_size must be at least 1")
    with scope.session(readonly=True) as session:
        WorkspaceRepository(session).get(workspace)  # unknown workspace: fail before any write
    batch: list[Source] = []
    written = 0
    for src in sources:
        batch.append(src)
        if len(batch) >= chunk_size:
            for result in _ingest_chunk(scope, batch, workspace):
                written += result.outcome in {"added", "new_version"}
                yield result
            batch = []
    if batch:
        for result in _ingest_chunk(scope, batch, workspace):
            written += result.outcome in {"added", "new_version"}
            yield result
    if written >= ANALYZE_AFTER_ROWS and not scope.in_transaction:
        refresh_statistics(scope.engine, ["blobs", "documents", "document_versions"])


def _ingest_chunk(
    scope: Scope,
    batch: list[Source],
    workspace: WorkspaceRef | None,
) -> list[IngestResult]:
    staged: list[_Staged] = []
    failed: dict[int, IngestResult] = {}
    # from the first put until the rows naming the bytes commit, gc keeps its hands off
    with scope.writing_blobs():
        for index, src in enumerate(batch):
            if src.error is not None:
                failed[index] = _failed(src, InvalidInput(src.error))
                continue
            try:
                staged.append(_stage(scope.blobs, src))
            except BlobStoreError:
                raise
            except (OSError, DocledgerError) as exc:
                failed[index] = _failed(src, exc)
        for attempt in range(_RETRIES):
            try:
                recorded = iter(_record(scope, workspace, staged))
                break
            except Conflict:
                # a lost race with a concurrent ingest; inside the caller's transaction the
                # failed statement has spoilt it, so there is nothing to retry
                if attempt == _RETRIES - 1 or scope.in_transaction:
                    raise
    return [failed[index] if index in failed else next(recorded) for index in range(len(batch))]


def _collect(
    results: Iterator[IngestResult], on_result: Callable[[IngestResult], None] | None
) -> list[IngestResult]:
    out = []
    for result in results:
        out.append(result)
        if on_result is not None:
            on_result(result)
    return out


#: Page images' default resolution: 2 pixels per point, sharp enough to read and to OCR.
DEFAULT_DPI = 144


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


@dataclass(frozen=True)
class SyncResult:
    """What a folder sync did: one result per file found, and the keys it marked deleted."""

    results: list[IngestResult]
    removed: list[str]


class DocumentService(Service, DocumentRepository):
    """``ledger.documents``: every DocumentRepository method, plus the services that move
    bytes: ingest (``create``, ``create_many``, ``create_from_paths``, ``sync``), ``render`` and
    ``open``."""

    @service
    def create(
        self,
        source: str | os.PathLike[str] | bytes | BinaryIO,
        *,
        workspace: WorkspaceRef | None = None,
        external_key: str | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        filename: str | None = None,
    ) -> IngestResult:
        """Ingest one path, bytes or stream. Same key + same content returns the existing
        version (outcome ``unchanged``); same key + new content adds a version. A source that
        cannot be read raises instead of returning a failed result."""
        src = make_source(
            source, external_key=external_key, title=title, metadata=metadata, filename=filename
        )
        (result,) = list(ingest(self._scope, [src], workspace=workspace))
        if result.outcome == "failed":
            raise InvalidInput(f"cannot ingest {result.source}: {result.error}")
        return result

    @service
    def create_many(
        self,
        sources: Iterable[Source | str | os.PathLike[str] | bytes | BinaryIO],
        *,
        workspace: WorkspaceRef | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        on_result: Callable[[IngestResult], None] | None = None,
    ) -> list[IngestResult]:
        """Ingest many sources; each chunk of ``chunk_size`` commits as one transaction (inside
        a caller's transaction, all of them commit with it). A source that cannot be read is a
        ``failed`` result and the rest goes on. ``on_result`` is called as each source's result
        is committed (progress bars)."""
        prepared = (s if isinstance(s, Source) else _source_or_failure(s) for s in sources)
        return _collect(
            ingest(self._scope, prepared, workspace=workspace, chunk_size=chunk_size), on_result
        )

    @service
    def create_from_paths(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        workspace: WorkspaceRef | None = None,
        recursive: bool = False,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        chunk_size: int = DEFAULT_CHUNK,
        on_result: Callable[[IngestResult], None] | None = None,
    ) -> list[IngestResult]:
        """Files and folders as the CLI takes them; keys are paths relative to each folder."""
        sources = expand_paths(paths, recursive=recursive, include=include, exclude=exclude)
        return _collect(
            ingest(self._scope, sources, workspace=workspace, chunk_size=chunk_size), on_result
        )

    @service
    def sync(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        workspace: WorkspaceRef | None = None,
        recursive: bool = True,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        chunk_size: int = DEFAULT_CHUNK,
        on_result: Callable[[IngestResult], None] | None = None,
    ) -> SyncResult:
        """Make the workspace mirror the folders: ingest what is there (as
        ``create_from_paths``), then mark every document whose key was not found as deleted
        (soft: it leaves search and listings, keeps its history, and returns when its file
        does). A file that could not be read still counts as present, so a read error never
        deletes a document."""
        sources = expand_paths(paths, recursive=recursive, include=include, exclude=exclude)
        results = _collect(
            ingest(self._scope, sources, workspace=workspace, chunk_size=chunk_size), on_result
        )
        with self._scope.session() as session:
            removed = DocumentRepository(session).mark_deleted(
                present_keys(sources),
                workspace=workspace,
                keep_prefixes=unreadable_prefixes(sources),
            )
        return SyncResult(results=results, removed=removed)

    @service
    def render(
        self,
        ref: uuid.UUID | str,
        *,
        pages: Sequence[int] | None = None,
        dpi: int = DEFAULT_DPI,
        password: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> list[PageImage]:
        """Render the current version's pages (all, or those named) to PNG blobs, each noted
        in ``page_images``; a page rendered before at this dpi is not rendered again."""
        from docledger.extractors.render import render_pages  # noqa: PLC0415

        if not isinstance(dpi, int) or isinstance(dpi, bool) or not 18 <= dpi <= 1200:
            raise InvalidInput("dpi is a whole number from 18 to 1200")
        with self._scope.session(readonly=True) as session:
            version = DocumentRepository(session).version(ref, workspace=workspace)
            done = {
                p.page_number: p
                for p in PageImageRepository(session).of_version(version.id, dpi=dpi)
            }
        if version.media_type != "application/pdf":
            raise InvalidInput(f"only PDF pages are rendered, not {version.media_type}")
        wanted = None if pages is None else set(pages)
        if wanted is not None and any(not isinstance(p, int) or p < 1 for p in wanted):
            raise InvalidInput("pages are numbered from 1")
        store = self._scope.blobs
        with store.open(version.sha256) as handle:
            data = handle.read()
        out: list[PageImage] = []
        for number, png, width, height in render_pages(data, dpi, wanted, set(done), password):
            if png is None:
                out.append(done[number])
                continue
            with self._scope.writing_blobs():
                blob = store.put_bytes(png)
                with self._scope.session() as session:
                    out.append(
                        PageImageRepository(session).record(
                            version.id, number, dpi, blob, width, height
                        )
                    )
        if wanted is not None and {p.page_number for p in out} != wanted:
            missing = sorted(wanted - {p.page_number for p in out})
            raise InvalidInput(f"{ref!s} has no page {missing[0]} (it has {version.page_count})")
        return sorted(out, key=lambda p: p.page_number)

    @service
    def open(
        self,
        ref: uuid.UUID | str,
        version: int | None = None,
        *,
        workspace: WorkspaceRef | None = None,
    ) -> BinaryIO:
        """The bytes of a document version (default: newest), as a binary file object."""
        with self._scope.session(readonly=True) as session:
            found = DocumentRepository(session).version(ref, version, workspace=workspace)
        return self._scope.blobs.open(found.sha256)

    add = deprecated_alias(create, "add")
    add_many = deprecated_alias(create_many, "add_many")
    add_paths = deprecated_alias(create_from_paths, "add_paths")


def _source_or_failure(source: str | os.PathLike[str] | bytes | BinaryIO) -> Source:
    """A source, or one that fails alone when it cannot even be named (a missing path)."""
    try:
        return make_source(source)
    except InvalidInput as exc:
        shown = os.fspath(source) if isinstance(source, str | os.PathLike) else "<source>"
        return Source(str(shown), None, error=str(exc))
