"""Annotations with their append-only history; changes carry the revision they were made
on (``If-Match: "<revision>"``), so two reviewers never overwrite each other silently."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from docledger.errors import Conflict, InvalidInput
from docledger.schemas.annotation import Annotation, AnnotationEvent
from docledger.schemas.common import Page
from docledger.server.auth import Editor, Ledger, Viewer
from docledger.server.problems import problem

router = APIRouter(tags=["annotations"])


class AnnotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_type: Literal["document", "version", "segment"]
    target_id: uuid.UUID
    kind: str = Field(min_length=1, max_length=64)
    value: dict[str, Any]
    status: Literal["draft", "submitted", "approved", "rejected"] = "draft"


class AnnotationChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: dict[str, Any] | None = None
    status: Literal["draft", "submitted", "approved", "rejected"] | None = None


def etag(note: Annotation) -> str:
    return f'"{note.revision}"'


@router.get("/annotations", response_model=Page[Annotation])
async def list_annotations(
    ledger: Ledger,
    who: Viewer,
    document: str | None = None,
    segment: uuid.UUID | None = None,
    kind: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page[Annotation]:
    return await ledger.annotations.list(
        document=document,
        segment=segment,
        kind=kind,
        status=status,
        limit=limit,
        cursor=cursor,
        workspace=who.workspace,
    )


@router.post("/annotations", response_model=Annotation, status_code=201)
async def create_annotation(
    ledger: Ledger, who: Editor, body: AnnotationIn, response: Response
) -> Annotation:
    """Label or correct a document, version or segment (a correction keeps the segment's
    original text and confidence in its value)."""
    note = await ledger.annotations.create(
        body.target_type,
        body.target_id,
        body.kind,
        body.value,
        status=body.status,
        actor=who.actor,
        workspace=who.workspace,
    )
    response.headers["ETag"] = etag(note)
    return note


@router.get("/annotations/{annotation_id}", response_model=Annotation)
async def get_annotation(
    ledger: Ledger, who: Viewer, annotation_id: uuid.UUID, response: Response
) -> Annotation:
    note = await ledger.annotations.get(annotation_id, workspace=who.workspace)
    response.headers["ETag"] = etag(note)
    return note


@router.get("/annotations/{annotation_id}/history", response_model=list[AnnotationEvent])
async def annotation_history(
    ledger: Ledger, who: Viewer, annotation_id: uuid.UUID
) -> list[AnnotationEvent]:
    """Every change, oldest first, with who made it and the value before and after."""
    return await ledger.annotations.history(annotation_id, workspace=who.workspace)


def revision_of(if_match: str) -> int:
    text = if_match.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit() or len(text) > 9:
        raise InvalidInput('If-Match names the revision you read: If-Match: "<revision>"')
    return int(text)


@router.patch(
    "/annotations/{annotation_id}",
    response_model=Annotation,
    responses={412: {"description": "stale revision"}, 428: {"description": "If-Match missing"}},
)
async def update_annotation(
    ledger: Ledger,
    who: Editor,
    annotation_id: uuid.UUID,
    body: AnnotationChange,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Change the value and/or status of the revision named by ``If-Match``. Without it:
    428; with a stale one: 412, and nothing is written."""
    path = f"/api/v1/annotations/{annotation_id}"
    if if_match is None:
        return problem(
            428,
            "PreconditionRequired",
            'send If-Match: "<revision>" with the revision you read',
            instance=path,
        )
    expected = revision_of(if_match)
    if body.value is None and body.status is None:
        raise InvalidInput("a change names a new value, a new status, or both")
    try:
        note = await ledger.annotations.update(
            annotation_id,
            expected_revision=expected,
            value=body.value,
            status=body.status,
            actor=who.actor,
            workspace=who.workspace,
        )
    except Conflict:  # somebody changed it since: nothing was written
        current = await ledger.annotations.get(annotation_id, workspace=who.workspace)
        return problem(
            412,
            "PreconditionFailed",
            f"the annotation is at revision {current.revision}, not {expected}",
            instance=path,
            headers={"ETag": etag(current)},
        )
    response.headers["ETag"] = etag(note)
    return note
