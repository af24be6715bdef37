"""The model registry within the key's workspace: register a version (its artifact streamed
to the blob store), list, read, move between stages, download the artifact. Names are
numbered per workspace, so another workspace's "ocr" is invisible, never a conflict."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, File, Form, Header, Path, Query, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from docledger.errors import InvalidInput, NotFound
from docledger.schemas.common import Page
from docledger.schemas.model_version import ModelVersion
from docledger.server.auth import Editor, Ledger, Viewer
from docledger.server.documents import chunks, content_disposition, not_modified
from docledger.vocab import ModelStage

router = APIRouter(tags=["models"])

Name = Annotated[str, Path(min_length=1, max_length=200)]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/models", response_model=Page[ModelVersion])
async def list_models(
    ledger: Ledger,
    who: Viewer,
    name: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page[ModelVersion]:
    """This workspace's model versions by name and version (every version of ``name``)."""
    return await ledger.model_versions.list(
        name, limit=limit, cursor=cursor, workspace=who.workspace
    )


def _metrics(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"metrics are a JSON object: {exc}") from exc
    if not isinstance(parsed, dict):
        raise InvalidInput("metrics are a JSON object")
    return parsed


@router.post("/models", response_model=ModelVersion, status_code=201)
async def register_model(
    ledger: Ledger,
    who: Editor,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    artifact: Annotated[UploadFile | None, File(description="the model file")] = None,
    run: Annotated[uuid.UUID | None, Form(description="the run that produced it")] = None,
    metrics: Annotated[str | None, Form(description="a JSON object", max_length=100_000)] = None,
    description: Annotated[str | None, Form(max_length=10_000)] = None,
    stage: Annotated[ModelStage, Form()] = "none",
) -> ModelVersion:
    """Version n+1 of ``name`` in this workspace; the artifact is spooled as it arrives and
    stored as a blob, then named by the version row (a failed registration leaves no row)."""
    return await ledger.model_versions.create(
        name,
        run,
        artifact=artifact.file if artifact is not None else None,
        metrics=_metrics(metrics),
        description=description,
        stage=stage,
        workspace=who.workspace,
    )


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: ModelStage


@router.put("/models/{name:path}/versions/{version}/stage", response_model=ModelVersion)
async def set_stage(
    ledger: Ledger, who: Editor, name: Name, version: Version, body: StageIn
) -> ModelVersion:
    """Move a version to a stage; promoting to production archives the name's previous
    production version in the same transaction."""
    return await ledger.model_versions.promote(name, version, body.stage, workspace=who.workspace)


@router.get(
    "/models/{name:path}/versions/{version}/artifact",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 304: {}},
)
async def download_artifact(
    ledger: Ledger,
    who: Viewer,
    name: Name,
    version: Version,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The artifact's bytes, streamed and checked against their hash (the ``ETag``)."""
    found = await ledger.model_versions.get(name, version=version, workspace=who.workspace)
    if found.artifact_sha256 is None:
        raise NotFound(f"model {name} v{version} has no artifact")
    etag = f'"{found.artifact_sha256}"'
    if not_modified(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    size = await to_thread.run_sync(ledger.blobs.size, found.artifact_sha256)
    source = await to_thread.run_sync(ledger.blobs.open, found.artifact_sha256)

    headers = {"ETag": etag, "Content-Disposition": content_disposition(f"{name}-v{version}.bin")}
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(chunks(source), media_type="application/octet-stream", headers=headers)


# last: a name may hold slashes ("org/ocr"), so this path would also match the routes above
@router.get("/models/{name:path}", response_model=ModelVersion)
async def get_model(
    ledger: Ledger,
    who: Viewer,
    name: Name,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    stage: ModelStage | None = None,
) -> ModelVersion:
    """A version by number, the one in a stage (``stage=production``), or the newest."""
    return await ledger.model_versions.get(
        name, version=version, stage=stage, workspace=who.workspace
    )
