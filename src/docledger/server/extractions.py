"""Extractions within the key's workspace: what has been extracted from a version, and
running an extractor over a document now (in the request) or as a worker's job."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from docledger.schemas.extraction import Extraction
from docledger.schemas.job import Job
from docledger.server.auth import Editor, Ledger, Viewer
from docledger.services.extraction import ExtractOutcome, check_params, refuse_stored_secrets

router = APIRouter(tags=["extractions"])


@router.get("/versions/{version_id}/extractions", response_model=list[Extraction])
async def list_extractions(ledger: Ledger, who: Viewer, version_id: uuid.UUID) -> list[Extraction]:
    """Every extraction of a version (each extractor, params and status), oldest first."""
    return await ledger.extractions.of_version(version_id, workspace=who.workspace)


class ExtractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    extractor: str | None = Field(default=None, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    background: bool = Field(
        default=False, description="answer 202 with the queued job; a worker extracts"
    )


@router.post(
    "/documents/{document}/extractions",
    response_model=ExtractOutcome | Job,
    status_code=201,
    responses={202: {"model": Job, "description": "queued: a worker extracts"}},
)
async def extract(
    ledger: Ledger, who: Editor, document: str, body: ExtractIn, response: Response
) -> ExtractOutcome | Job:
    """Extract the document's current version (the same extractor and params again records
    nothing new: ``created`` false). A failing extractor is a recorded failed extraction
    (``error``), not an HTTP error. With ``background`` a ``docledger.extract`` job is
    queued instead (202)."""
    found = await ledger.documents.detail(document, workspace=who.workspace)
    check_params(body.extractor, body.params)  # refused now, not by the job later
    if body.background:
        refuse_stored_secrets(body.extractor, body.params)
        payload: dict[str, Any] = {"document": str(found.id), "params": body.params}
        if body.extractor is not None:
            payload["extractor"] = body.extractor
        response.status_code = 202
        return await ledger.jobs.enqueue("docledger.extract", payload, workspace=who.workspace)
    (outcome,) = await ledger.extractions.run(
        [found.id], extractor=body.extractor, params=body.params, workspace=who.workspace
    )
    return outcome
