"""Ingest: bytes become durable blobs, then documents and versions, in set-based transactions.

Per chunk of sources: (1) hash and store every source's bytes (durable before any row names
them; content already stored is not rewritten), (2) in ONE transaction, insert the blob rows,
look up every document and version of the chunk with set-based queries, and insert the new
documents and versions with executemany. The same content under the same key again is
"unchanged" and writes nothing. A chunk that loses a race with a concurrent ingest (unique
key) is simply recorded again.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from docledger.db.dialect import (
    ANALYZE_AFTER_ROWS,
    refresh_statistics,
)
from docledger.deprecation import deprecated_alias
from docledger.errors import BlobStoreError, Conflict, DocledgerError, InvalidInput
from docledger.repositories.blob import BlobRepository
from docledger.repositories.document import DocumentRepository
from docledger.repositories.page_image import PageImageRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository
from docledger.schemas import IngestResult
from docledger.schemas.document import PageImage, StagedVersion
from docledger.services.scope import Scope, Service, service
from docledger.services.sources import (
    Source,
    expand_paths,
    make_source,
    present_keys,
    source_or_failure,
    unreadable_prefixes,
)
from docledger.services.staging import (
    Staged,
    failed_result,
    stage,
)
from docledger.services.unpack import attachment_sources, record_lineage
from docledger.vocab import DuplicatePolicy, values

DEFAULT_CHUNK = 500
_RETRIES = 3


def _record(
    scope: Scope, workspace: WorkspaceRef | None, staged: list[Staged], on_duplicate: str
) -> list[IngestResult]:
    """Write the rows for one chunk in one transaction; returns one result per staged source."""
    with scope.session() as session:
        BlobRepository(session).create_many([(s.blob, s.media_type) for s in staged])
        return DocumentRepository(session).record_versions(
            [
                StagedVersion(
                    key=s.key,
                    display=s.source.display,
                    filename=s.source.filename,
                    title=s.source.title,
                    metadata=s.source.metadata,
                    sha256=s.blob.sha256,
                    size_bytes=s.blob.size_bytes,
                    media_type=s.media_type,
                    page_count=s.page_count,
                    warnings=s.warnings,
                )
                for s in staged
            ],
            workspace=workspace,
            on_duplicate_content=on_duplicate,
        )


def ingest(
    scope: Scope,
    sources: Iterable[Source],
    *,
    workspace: WorkspaceRef | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    on_duplicate_content: str = "new_document",
) -> Iterator[IngestResult]:
    """Ingest sources chunk by chunk, yielding one result per source as each chunk commits.

    A source that cannot be read fails alone (outcome ``failed``); a blob store that cannot be
    written (read-only, full) raises BlobStoreError and stops the ingest: earlier chunks are
    committed, the current one writes no rows.
    """
    if chunk_size < 1:
        raise InvalidInput("chunk_size must be at least 1")
    if on_duplicate_content not in values(DuplicatePolicy):
        raise InvalidInput(f"on_duplicate_content is one of {values(DuplicatePolicy)}")
    with scope.session(readonly=True) as session:
        WorkspaceRepository(session).get(workspace)  # unknown workspace: fail before any write
    batch: list[Source] = []
    written = 0
    for src in sources:
        batch.append(src)
        if len(batch) >= chunk_size:
            for result in _ingest_chunk(scope, batch, workspace, on_duplicate_content):
                written += result.outcome in {"added", "new_version"}
                yield result
            batch = []
    if batch:
        for result in _ingest_chunk(scope, batch, workspace, on_duplicate_content):
            written += result.outcome in {"added", "new_version"}
            yield result
    if written >= ANALYZE_AFTER_ROWS and not scope.in_transaction:
        refresh_statistics(scope.engine, ["blobs", "documents", "document_versions"])


def _ingest_chunk(
    scope: Scope,
    batch: list[Source],
    workspace: WorkspaceRef | None,
    on_duplicate: str,
) -> list[IngestResult]:
    staged: list[Staged] = []
    failed: dict[int, IngestResult] = {}
    # from the first put until the rows naming the bytes commit, gc keeps its hands off
    with scope.writing_blobs():
        for index, src in enumerate(batch):
            if src.error is not None:
                failed[index] = failed_result(src, InvalidInput(src.error))
                continue
            try:
                staged.append(stage(scope.blobs, src))
            except BlobStoreError:
                raise
            except (OSError, DocledgerError) as exc:
                failed[index] = failed_result(src, exc)
        for attempt in range(_RETRIES):
            try:
                recorded = iter(_record(scope, workspace, staged, on_duplicate))
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
        on_duplicate_content: str = "new_document",
    ) -> IngestResult:
        """Ingest one path, bytes or stream. Same key + same content returns the existing
        version (outcome ``unchanged``); same key + new content adds a version. A source that
        cannot be read raises instead of returning a failed result. A new key whose bytes
        another document already holds becomes a second document sharing them
        (``on_duplicate_content="new_document"``), is skipped (``"skip"``: outcome
        ``duplicate``, naming that document) or raises Conflict (``"error"``)."""
        src = make_source(
            source, external_key=external_key, title=title, metadata=metadata, filename=filename
        )
        (result,) = list(
            ingest(
                self._scope, [src], workspace=workspace, on_duplicate_content=on_duplicate_content
            )
        )
        if result.outcome == "failed" and result.document_id is not None:
            raise Conflict(f"cannot ingest {result.source}: {result.error}")
        if result.outcome == "failed":
            raise InvalidInput(f"cannot ingest {result.source}: {result.error}")
        return result

    @service
    def create_many(
        self,
        sources: Iterable[Source | str | os.PathLike[str] | bytes | BinaryIO]
        | Mapping[str, str | os.PathLike[str] | bytes | BinaryIO],
        *,
        workspace: WorkspaceRef | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        on_result: Callable[[IngestResult], None] | None = None,
        on_duplicate_content: str = "new_document",
    ) -> list[IngestResult]:
        """Ingest many sources (paths, bytes, streams), or a mapping of external key to
        source; each chunk of ``chunk_size`` commits as one transaction (inside a caller's
        transaction, all of them commit with it). A source that cannot be read is a ``failed``
        result and the rest goes on. ``on_result`` is called as each source's result is
        committed (progress bars). ``on_duplicate_content`` as in ``create``, except that
        ``"error"`` makes the duplicate a ``failed`` result and the rest goes on."""
        prepared: Iterable[Source]
        if isinstance(sources, Mapping):
            prepared = (source_or_failure(s, key) for key, s in sources.items())
        else:
            prepared = (s if isinstance(s, Source) else source_or_failure(s) for s in sources)
        return _collect(
            ingest(
                self._scope,
                prepared,
                workspace=workspace,
                chunk_size=chunk_size,
                on_duplicate_content=on_duplicate_content,
            ),
            on_result,
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
        on_duplicate_content: str = "new_document",
    ) -> list[IngestResult]:
        """Files and folders as the CLI takes them; keys are paths relative to each folder
        (``on_duplicate_content`` as in ``create_many``)."""
        sources = expand_paths(paths, recursive=recursive, include=include, exclude=exclude)
        return _collect(
            ingest(
                self._scope,
                sources,
                workspace=workspace,
                chunk_size=chunk_size,
                on_duplicate_content=on_duplicate_content,
            ),
            on_result,
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
        in ``page_images``; a page rendered before at this dpi is not rendered again. An
        image's pages are its frames at their own size, upright (EXIF orientation applied)
        and flattened, as the image extractor reads them (the dpi only names the rendering)."""
        from docledger.extractors.builtin import ImageExtractor  # noqa: PLC0415
        from docledger.extractors.render import render_image_pages, render_pages  # noqa: PLC0415

        if not isinstance(dpi, int) or isinstance(dpi, bool) or not 18 <= dpi <= 1200:
            raise InvalidInput("dpi is a whole number from 18 to 1200")
        with self._scope.session(readonly=True) as session:
            version = DocumentRepository(session).version(ref, workspace=workspace)
            done = {
                p.page_number: p
                for p in PageImageRepository(session).of_version(version.id, dpi=dpi)
            }
        is_image = version.media_type in ImageExtractor.media_types
        if version.media_type != "application/pdf" and not is_image:
            raise InvalidInput(f"only PDF pages and images are rendered, not {version.media_type}")
        wanted = None if pages is None else set(pages)
        if wanted is not None and any(not isinstance(p, int) or p < 1 for p in wanted):
            raise InvalidInput("pages are numbered from 1")
        store = self._scope.blobs
        with store.open(version.sha256) as handle:
            data = handle.read()
        out: list[PageImage] = []
        rendered = (
            render_image_pages(data, wanted, set(done))
            if is_image
            else render_pages(data, dpi, wanted, set(done), password)
        )
        for number, png, width, height in rendered:
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

    @service
    def unpack(
        self, document: uuid.UUID | str, *, workspace: WorkspaceRef | None = None
    ) -> list[IngestResult]:
        """A mail's (``.eml``, ``.mbox``, Outlook ``.msg``) attached files as documents of
        their own, keyed ``<mail key>/attachments/<n>-<file name>``, with ``attached_to``
        in their metadata, or an archive's files (zip, tar, gzip, bzip2, xz), keyed
        ``<archive key>/<path>``, with ``unpacked_from``, or an office document's pictures
        and embedded files (``<key>/word/media/image1.png``); lineage from the unpacked
        version (``docledger.services.unpack``, ``docledger.services.archive_members``).
        A member that cannot be read is a failed result saying why. Idempotent; any other
        document is InvalidInput."""
        version, sources = attachment_sources(self._scope, document, workspace)
        results = list(ingest(self._scope, sources, workspace=workspace))
        record_lineage(self._scope, version.id, results, workspace)
        return results

    add = deprecated_alias(create, "add")
    add_many = deprecated_alias(create_many, "add_many")
    add_paths = deprecated_alias(create_from_paths, "add_paths")
