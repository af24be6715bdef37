"""The web UI under ``/ui``: server-rendered pages (Jinja, autoescaped) with a little script,
every asset inside the package, no CDN. Documents with search and upload, a viewer that draws
each page's segments on the page image, a segment's annotations and history, and the review
queue of low-confidence zones driven by the keyboard."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from docledger.errors import DocledgerError, NotFound
from docledger.extractors import ImageExtractor, SvgExtractor
from docledger.server import documents as api_documents
from docledger.server import ui_findings, ui_work
from docledger.server.auth import StoreLedger
from docledger.server.pages import (
    DPI,
    HERE,
    page_layout,
    render,
    sheet_width,
    templates,
)
from docledger.server.problems import from_error, status_of
from docledger.server.session import (
    BadToken,
    LoginRequired,
    check_login_token,
    check_token,
    end_session,
    new_login_token,
    set_login_token,
    start_session,
    visit,
)
from docledger.vocab import SegmentKind, values

#: What a document without boxes shows in the viewer, and how many of them.
PASSAGE_KINDS = {"section", "record", "zone", "block"}
MOST_PASSAGES = 500

router = APIRouter(prefix="/ui", include_in_schema=False)
#: what the viewer shows page images of (rendered on first view, see ``documents.render``)
RENDERABLE = frozenset({"application/pdf", *ImageExtractor.media_types})
#: what a reviewer corrects: every kind but whole pages and single words
REVIEWED_KINDS = [k for k in values(SegmentKind) if k not in {"page", "word"}]


def _login_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    token = new_login_token()
    html = templates.get_template("login.html").render(request=request, token=token, error=error)
    page = HTMLResponse(html, status_code=status)
    set_login_token(page, token)
    return page


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(
    request: Request,
    ledger: StoreLedger,
    key: Annotated[str, Form(max_length=200)],
    token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_login_token(request, token)
    try:
        await ledger.api_keys.authenticate(key)
    except DocledgerError:
        return _login_page(request, 401, "That key is not valid.")
    response = RedirectResponse("/ui/", status_code=303)
    start_session(response, key.strip(), secure=request.url.scheme == "https")
    return response


@router.post("/logout")
async def logout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_token(request, csrf)
    response = RedirectResponse("/ui/login", status_code=303)
    end_session(response)
    return response


@router.get("/")
async def documents_page(
    request: Request,
    q: Annotated[str | None, Query(max_length=500)] = None,
    cursor: str | None = None,
) -> Response:
    who, ledger = await visit(request)
    workspace = await ledger.workspaces.get(who.workspace)
    if q and q.strip():
        hits = await ledger.search.text(q, k=50, workspace=who.workspace)
        return render(request, "documents.html", who=who, workspace=workspace, q=q, hits=hits)
    page = await ledger.documents.list(workspace=who.workspace, limit=50, cursor=cursor)
    return render(request, "documents.html", who=who, workspace=workspace, q="", page=page)


@router.post("/upload")
async def upload(
    request: Request,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    who, ledger = await visit(request, csrf=csrf, role="editor")
    result = await api_documents.upload_document(ledger, who, file, None, None, True)
    return RedirectResponse(f"/ui/documents/{result.document_id}", status_code=303)


@router.get("/documents/{document_id}")
async def viewer(request: Request, document_id: uuid.UUID) -> Response:
    who, ledger = await visit(request)
    detail = await ledger.documents.detail(document_id, workspace=who.workspace)
    version = await ledger.documents.version(document_id, workspace=who.workspace)
    segments = await ledger.segments.of_version(version.id, workspace=who.workspace)
    pages = page_layout(segments)
    # a document read as text (Word, mail, a spreadsheet's records) has no boxes to draw:
    # its sections, records and zones are listed instead
    passages = (
        [s for s in segments if s.kind in PASSAGE_KINDS and not s.bbox][:MOST_PASSAGES]
        if not pages
        else []
    )
    cards = {
        str(s.id): {"kind": s.kind, "text": s.text or "", "confidence": s.confidence}
        for page in pages
        for s in page["boxes"]
    }
    return render(
        request,
        "viewer.html",
        who=who,
        document=detail,
        version=version,
        pages=pages,
        passages=passages,
        extracted=bool(segments),
        cards=cards,
        renderable=version.media_type in RENDERABLE,
        drawing=version.media_type == SvgExtractor.media_types[0],
        sheet_width=sheet_width,
    )


@router.get("/documents/{document_id}/pages/{page}.png")
async def page_png(request: Request, document_id: uuid.UUID, page: int) -> Response:
    """A PDF page rendered at the UI's dpi; an image's page is its frame as the extractor
    read it (upright and flattened: the stored file may be a TIFF no browser shows, or a
    photo whose EXIF orientation the boxes were measured after)."""
    who, ledger = await visit(request)
    etag = request.headers.get("if-none-match")
    return await api_documents.page_image(ledger, who, str(document_id), page, DPI, etag)


#: An SVG shown as a page is the user's own markup: served so that nothing in it can run or
#: load (an <img> never runs scripts; this also holds for the URL opened on its own).
DRAWING_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, max-age=0",
}


@router.get("/documents/{document_id}/drawing.svg")
async def drawing_svg(request: Request, document_id: uuid.UUID) -> Response:
    """An SVG document's current version, as the page its boxes are drawn on (browsers draw
    SVG themselves; no renderer is needed)."""
    who, ledger = await visit(request)
    version = await ledger.documents.version(document_id, workspace=who.workspace)
    if version.media_type != SvgExtractor.media_types[0]:
        raise NotFound(f"document {document_id} is not an SVG drawing")
    data = await to_thread.run_sync(api_documents.read_blob, ledger.blobs, version.sha256)
    etag = f'"{version.sha256}"'
    return Response(data, media_type="image/svg+xml", headers={"ETag": etag, **DRAWING_HEADERS})


@router.get("/segments/{segment_id}")
async def segment_page(request: Request, segment_id: uuid.UUID) -> Response:
    who, ledger = await visit(request)
    segment = await ledger.segments.get(segment_id, workspace=who.workspace)
    notes = (
        await ledger.annotations.list(segment=segment_id, limit=100, workspace=who.workspace)
    ).items
    histories = {
        n.id: await ledger.annotations.history(n.id, workspace=who.workspace) for n in notes
    }
    version = await ledger.documents.get_version(segment.version_id, workspace=who.workspace)
    return render(
        request,
        "segment.html",
        who=who,
        segment=segment,
        notes=notes,
        histories=histories,
        version=version,
    )


@router.post("/segments/{segment_id}/annotate")
async def annotate(
    request: Request,
    segment_id: uuid.UUID,
    kind: Annotated[str, Form(max_length=20)],
    text: Annotated[str, Form(max_length=100_000)] = "",
    then: Annotated[str, Form(max_length=20)] = "segment",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """label: ``text`` is the label; correction: the corrected text; accept: the zone was
    read right (a review annotation, approved)."""
    who, ledger = await visit(request, csrf=csrf, role="editor")
    if kind == "accept":
        args: tuple[str, dict[str, Any], str] = ("review", {"verdict": "accepted"}, "approved")
    elif kind == "correction":
        args = ("correction", {"corrected": text}, "submitted")
    else:
        args = ("label", {"label": text.strip()}, "submitted")
    await ledger.annotations.create(
        "segment",
        segment_id,
        args[0],
        args[1],
        status=args[2],
        actor=who.actor,
        workspace=who.workspace,
    )
    where = "/ui/review" if then == "review" else f"/ui/segments/{segment_id}"
    return RedirectResponse(where, status_code=303)


@router.get("/review")
async def review_page(
    request: Request,
    threshold: Annotated[float, Query(ge=0, le=1)] = 0.8,
) -> Response:
    """Zones below the threshold that nobody has reviewed yet, worst first."""
    who, ledger = await visit(request)
    queue = await ledger.segments.low_confidence(
        threshold,
        limit=50,
        workspace=who.workspace,
        kinds=REVIEWED_KINDS,
        unreviewed=True,
    )
    return render(request, "review.html", who=who, queue=queue, threshold=threshold)


def install(app: FastAPI) -> None:
    """The UI's routes, its static files, and its answers to a missing login (a redirect)
    and a bad form token (403 page)."""

    async def to_login(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/ui/login", status_code=303)

    async def refused(request: Request, exc: Exception) -> Response:
        return HTMLResponse("<h1>403</h1><p>The form's token is not valid.</p>", 403)

    async def ui_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DocledgerError)
        if not request.url.path.startswith("/ui"):
            return from_error(request, exc)
        status = status_of(exc)
        message = str(exc) if status != 500 else "Something went wrong."
        title = "Not found" if isinstance(exc, NotFound) else type(exc).__name__
        html = templates.get_template("error.html").render(
            request=request, title=title, message=message, status=status
        )
        return HTMLResponse(html, status_code=status)

    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(BadToken, refused)
    app.add_exception_handler(DocledgerError, ui_error)
    app.include_router(router)
    app.include_router(ui_work.router)
    app.include_router(ui_findings.router)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse("/ui/", status_code=307)
