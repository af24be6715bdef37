"""The UI's findings (with their evidence drawn on the pages it points into, and the review
verdicts) and conversations (each answer with the citations it was given)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from docledger.errors import InvalidInput
from docledger.schemas.finding import Evidence
from docledger.server.auth import Caller
from docledger.server.pages import render, sheet_width
from docledger.server.session import visit

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/findings")
async def findings_page(
    request: Request,
    status: Annotated[str | None, Query(max_length=20)] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    who, ledger = await visit(request)
    found = await ledger.findings.list(
        status=status or None, kind=kind or None, order="-created", limit=200,
        workspace=who.workspace,
    )  # fmt: skip
    return render(request, "findings.html", who=who, findings=found.items)


async def _sheets(ledger: Any, who: Caller, evidence: list[Evidence]) -> list[dict[str, Any]]:
    """One sheet per (version, page) that segment evidence points into: the page's size
    from its page segment, and the boxes. The page image is shown only when the version is
    still the document's current one (images are rendered from the current version)."""
    sheets: dict[tuple[uuid.UUID, int], dict[str, Any]] = {}
    for e in evidence:
        if e.version_id is None or e.page_number is None or not e.bbox or e.document_id is None:
            continue
        key = (e.version_id, e.page_number)
        if key not in sheets:
            frame = await ledger.segments.of_version(
                e.version_id, page=e.page_number, kind="page", workspace=who.workspace
            )
            document = await ledger.documents.get(e.document_id, workspace=who.workspace)
            size = None
            if frame and frame[0].bbox:
                box = frame[0].bbox
                size = (box["x1"] - box["x0"], box["y1"] - box["y0"])
            sheets[key] = {
                "document_id": e.document_id,
                "document_key": e.document_key,
                "version_number": e.version_number,
                "current": document.current_version == e.version_number,
                "page": e.page_number,
                "size": size,
                "boxes": [],
            }
        sheets[key]["boxes"].append(e)
    for sheet in sheets.values():
        if sheet["size"] is None:
            sheet["size"] = (
                max(b.bbox["x1"] for b in sheet["boxes"]),
                max(b.bbox["y1"] for b in sheet["boxes"]),
            )
    return list(sheets.values())


@router.get("/findings/{finding_id}")
async def finding_page(request: Request, finding_id: uuid.UUID) -> Response:
    who, ledger = await visit(request)
    finding = await ledger.findings.get(finding_id, workspace=who.workspace)
    evidence = await ledger.findings.evidence(finding_id, workspace=who.workspace)
    history = await ledger.findings.history(finding_id, workspace=who.workspace)
    return render(
        request, "finding.html", who=who, finding=finding, evidence=evidence, history=history,
        sheets=await _sheets(ledger, who, evidence), sheet_width=sheet_width,
    )  # fmt: skip


@router.post("/findings/{finding_id}/review")
async def review_finding(
    request: Request,
    finding_id: uuid.UUID,
    verdict: Annotated[str, Form(max_length=20)],
    revision: Annotated[int, Form(ge=1, le=2_000_000_000)],
    note: Annotated[str, Form(max_length=10_000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """confirm / reject / reopen the revision the reviewer saw (a stale one is refused)."""
    who, ledger = await visit(request, csrf=csrf, role="editor")
    acts = {
        "confirm": ledger.findings.confirm,
        "reject": ledger.findings.reject,
        "reopen": ledger.findings.reopen,
    }
    if verdict not in acts:
        raise InvalidInput(f"a verdict is confirm, reject or reopen, not {verdict!r}")
    await acts[verdict](
        finding_id, expected_revision=revision, actor=who.actor, note=note or None,
        workspace=who.workspace,
    )  # fmt: skip
    return RedirectResponse(f"/ui/findings/{finding_id}", status_code=303)


@router.get("/conversations")
async def conversations_page(request: Request) -> Response:
    who, ledger = await visit(request)
    talks = (await ledger.conversations.list(limit=200, workspace=who.workspace)).items
    return render(request, "conversations.html", who=who, talks=talks)


@router.get("/conversations/{conversation_id}")
async def conversation_page(request: Request, conversation_id: uuid.UUID) -> Response:
    who, ledger = await visit(request)
    talk = await ledger.conversations.get(conversation_id, workspace=who.workspace)
    messages = await ledger.conversations.messages(conversation_id, workspace=who.workspace)
    return render(request, "conversation.html", who=who, talk=talk, messages=messages)
