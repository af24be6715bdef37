"""Documents: listing, upload (streamed to the blob store), versions, download with Range and
the content hash as ETag, page images, and a version's segments with their boxes."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, BinaryIO

from anyio import to_thread
from fastapi import APIRouter, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from docledger.errors import InvalidInput
from docledger.schemas.common import Page
from docledger.schemas.document import Document, DocumentDetail, DocumentVersion, IngestResult
from docledger.schemas.extraction import Segment
from docledger.server.auth import Editor, Ledger, Viewer

router = APIRouter(tags=["documents"])

CHUNK = 1 << 20
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@router.get("/documents", response_model=Page[Document])
async def list_documents(
    ledger: Ledger,
    who: Viewer,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: str | None = None,
    status: str | None = None,
    tag: str | None = None,
) -> Page[Document]:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    return await ledger.documents.list(
        workspace=who.workspace, status=status, tag=tag, limit=limit, cursor=cursor
    )


def _filename(upload: UploadFile) -> str:
    name = (upload.filename or "").strip()
    if not name or "/" in name or "\\" in name or name in {".", ".."}:
        raise InvalidInput("an upload needs a plain file name (no folders)")
    return name


@router.post("/documents", response_model=IngestResult, status_code=201)
async def upload_document(
    ledger: Ledger,
    who: Editor,
    file: Annotated[UploadFile, File(description="the file's bytes")],
    external_key: Annotated[str | None, Form()] = None,
    title: Annotated[str | None, Form()] = None,
    extract: Annotated[bool, Form(description="extract segments at once")] = False,
) -> IngestResult:
    """Store a file: the same key with new bytes adds a version, the same bytes change
    nothing (outcome ``unchanged``). The body is spooled to disk as it arrives and hashed
    into the blob store in chunks, so memory stays flat whatever the size."""
    name = _filename(file)
    result = await ledger.documents.create(
        file.file,
        workspace=who.workspace,
        external_key=external_key or name,
        title=title,
        filename=name,
    )
    if extract and result.document_id is not None and result.outcome != "unchanged":
        await ledger.extractions.run([result.document_id], workspace=who.workspace)
    return result


@router.post("/documents/{document}/unpack", response_model=list[IngestResult])
async def unpack_document(ledger: Ledger, who: Editor, document: str) -> list[IngestResult]:
    """A mail's (.eml, Outlook .msg) attached files as documents of their own, keyed under
    it, with lineage from it; again: nothing new (``documents.unpack``)."""
    return await ledger.documents.unpack(document, workspace=who.workspace)


@router.get("/documents/{document}", response_model=DocumentDetail)
async def get_document(ledger: Ledger, who: Viewer, document: str) -> DocumentDetail:
    """A document by id or external key, with its versions."""
    return await ledger.documents.detail(document, workspace=who.workspace)


@router.get("/documents/{document}/versions", response_model=list[DocumentVersion])
async def list_versions(ledger: Ledger, who: Viewer, document: str) -> list[DocumentVersion]:
    return await ledger.documents.versions(document, workspace=who.workspace)


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` names this entity tag (one of a list, or ``*``)."""
    if if_none_match is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) of a single ``bytes=`` range, None for the whole body; several ranges
    are answered whole (allowed by RFC 9110). Unsatisfiable: InvalidRange."""
    if header is None:
        return None
    found = _RANGE.fullmatch(header.strip())
    if found is None:
        return None
    first, last = found.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        n = int(last)
        if n == 0:
            raise InvalidRange(size)
        return max(size - n, 0), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or start > end:
        raise InvalidRange(size)
    return start, end


class InvalidRange(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


async def _stream(source: BinaryIO, start: int, length: int) -> AsyncIterator[bytes]:
    try:
        if start:
            if source.seekable():
                await to_thread.run_sync(source.seek, start)
            else:  # an object-store body: skip forward
                left = start
                while left:
                    skipped = await to_thread.run_sync(source.read, min(CHUNK, left))
                    if not skipped:
                        return
                    left -= len(skipped)
        left = length
        while left:
            data = await to_thread.run_sync(source.read, min(CHUNK, left))
            if not data:
                return
            left -= len(data)
            yield data
    finally:
        await to_thread.run_sync(source.close)


async def chunks(source: BinaryIO) -> AsyncIterator[bytes]:
    """A whole file object's bytes off the event loop, closed at the end (or on disconnect)."""
    try:
        while data := await to_thread.run_sync(source.read, CHUNK):
            yield data
    finally:
        await to_thread.run_sync(source.close)


@router.get(
    "/documents/{document}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 206: {}, 304: {}, 416: {}},
)
async def download(
    request: Request,
    ledger: Ledger,
    who: Viewer,
    document: str,
    version: Annotated[int | None, Query(ge=1)] = None,
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The bytes of a version (default: current), streamed. ``ETag`` is the SHA-256 of the
    content; ``If-None-Match`` with it answers 304; a single ``Range`` answers 206."""
    found = await ledger.documents.version(document, version, workspace=who.workspace)
    etag = f'"{found.sha256}"'
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": "private, max-age=0"}
    if not_modified(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    size = found.size_bytes
    try:
        wanted = _byte_range(range_, size)
    except InvalidRange:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    # the version row is read once: its blob is opened by hash (verified as it is read)
    source = await to_thread.run_sync(ledger.blobs.open, found.sha256)
    name = found.original_filename or "content"
    headers["Content-Disposition"] = content_disposition(name)
    media = found.media_type or "application/octet-stream"
    if wanted is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(_stream(source, 0, size), media_type=media, headers=headers)
    start, end = wanted
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return StreamingResponse(
        _stream(source, start, end - start + 1), status_code=206, media_type=media, headers=headers
    )


def content_disposition(name: str) -> str:
    from urllib.parse import quote  # noqa: PLC0415 - only downloads need it

    plain = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"


@router.get(
    "/documents/{document}/pages/{page}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def page_image(
    ledger: Ledger,
    who: Viewer,
    document: str,
    page: int,
    dpi: Annotated[int, Query(ge=36, le=300)] = 96,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A page of the current version as PNG, rendered on first request and kept."""
    if page < 1:
        raise InvalidInput("pages are numbered from 1")
    (image,) = await ledger.documents.render(
        document, pages=[page], dpi=dpi, workspace=who.workspace
    )
    etag = f'"{image.sha256}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=0"}
    if not_modified(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    data = await to_thread.run_sync(read_blob, ledger.blobs, image.sha256)
    return Response(data, media_type="image/png", headers=headers)


def read_blob(blobs: Any, sha256: str) -> bytes:
    """A blob's bytes (small ones: page images, drawings), for a worker thread."""
    with blobs.open(sha256) as source:
        return bytes(source.read())


@router.get("/versions/{version_id}/segments", response_model=list[Segment])
async def version_segments(
    ledger: Ledger,
    who: Viewer,
    version_id: uuid.UUID,
    page: Annotated[int | None, Query(ge=1)] = None,
    kind: str | None = None,
    label: str | None = None,
) -> list[Segment]:
    """The newest extraction's segments of a version in reading order, each with its page
    and box (``bbox``: x0, y0, x1, y1 from the page's top-left corner, in its ``unit``)."""
    return await ledger.segments.of_version(
        version_id, page=page, kind=kind, label=label, workspace=who.workspace
    )


@router.get("/segments/{segment_id}", response_model=Segment)
async def get_segment(ledger: Ledger, who: Viewer, segment_id: uuid.UUID) -> Segment:
    return await ledger.segments.get(segment_id, workspace=who.workspace)


@router.get("/review-queue", response_model=list[Segment])
async def review_queue(
    ledger: Ledger,
    who: Viewer,
    threshold: Annotated[float, Query(ge=0, le=1)] = 0.8,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    unreviewed: bool = False,
) -> list[Segment]:
    """Segments below the confidence threshold, worst first (the OCR review queue); with
    ``unreviewed``, only those no annotation targets yet."""
    return await ledger.segments.low_confidence(
        threshold, limit=limit, workspace=who.workspace, unreviewed=unreviewed
    )
