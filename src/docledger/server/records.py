"""Datasets (frozen snapshots of approved annotations), exports (made, read and downloaded
with their audit trail) and the lineage of any entity, within the key's workspace."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from docledger.errors import NotFound
from docledger.schemas.common import Page
from docledger.schemas.dataset import Dataset, DatasetItem
from docledger.schemas.export import Export
from docledger.schemas.lineage import LineageNode
from docledger.server.auth import Editor, Ledger, Viewer
from docledger.server.documents import chunks, content_disposition
from docledger.vocab import EntityType

router = APIRouter()


@router.get("/datasets", response_model=Page[Dataset], tags=["datasets"])
async def list_datasets(
    ledger: Ledger,
    who: Viewer,
    name: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page[Dataset]:
    return await ledger.datasets.list(
        name=name, limit=limit, cursor=cursor, workspace=who.workspace
    )


class SnapshotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    filter: dict[str, Any] = Field(default_factory=dict)


@router.post("/datasets", response_model=Dataset, status_code=201, tags=["datasets"])
async def snapshot(ledger: Ledger, who: Editor, body: SnapshotIn) -> Dataset:
    """Freeze the approved annotations matching ``filter`` as the name's next version (the
    same content returns the existing version)."""
    return await ledger.datasets.snapshot(body.name, body.filter, workspace=who.workspace)


@router.get("/datasets/{dataset}", response_model=Dataset, tags=["datasets"])
async def get_dataset(
    ledger: Ledger,
    who: Viewer,
    dataset: Annotated[str, Path(max_length=200)],
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Dataset:
    """By id, or by name (newest version unless ``version``)."""
    return await ledger.datasets.get(dataset, version, workspace=who.workspace)


@router.get("/datasets/{dataset}/items", response_model=list[DatasetItem], tags=["datasets"])
async def dataset_items(
    ledger: Ledger,
    who: Viewer,
    dataset: Annotated[str, Path(max_length=200)],
    version: Annotated[int | None, Query(ge=1)] = None,
) -> list[DatasetItem]:
    return await ledger.datasets.items(dataset, version, workspace=who.workspace)


@router.get("/exports", response_model=Page[Export], tags=["exports"])
async def list_exports(
    ledger: Ledger,
    who: Viewer,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page[Export]:
    return await ledger.exports.list(
        status=status, limit=limit, cursor=cursor, workspace=who.workspace
    )


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    selection: dict[str, Any] = Field(default_factory=dict)
    formats: list[str] = Field(default_factory=lambda: ["jsonl"], min_length=1, max_length=10)
    options: dict[str, Any] = Field(default_factory=dict)
    background: bool = Field(
        default=False, description="answer 202 with the export pending; a worker makes it"
    )


@router.post(
    "/exports",
    response_model=Export,
    status_code=201,
    responses={202: {"model": Export, "description": "pending: a worker makes it"}},
    tags=["exports"],
)
async def create_export(ledger: Ledger, who: Editor, body: ExportIn, response: Response) -> Export:
    """Make an export: in the request (201, finished: status, per-format results and files
    in the answer), or with ``background`` (202, pending: a ``docledger.export`` job makes
    it; poll ``GET /exports/{id}``, with ``Location`` pointing there)."""
    made = await ledger.exports.create(
        body.selection, body.formats, options=body.options, actor=who.actor,
        workspace=who.workspace, background=body.background,
    )  # fmt: skip
    if body.background:
        response.status_code = 202
        response.headers["Location"] = f"/api/v1/exports/{made.id}"
    return made


@router.post("/exports/{export_id}/resume", response_model=Export, tags=["exports"])
async def resume_export(
    ledger: Ledger,
    who: Editor,
    export_id: uuid.UUID,
    force: Annotated[
        bool, Query(description="also take over a running export whose maker died")
    ] = False,
) -> Export:
    """Run again the formats of a partial, failed or pending export that did not succeed;
    422 for an export in any other state."""
    return await ledger.exports.resume(
        export_id, actor=who.actor, workspace=who.workspace, force=force
    )


@router.get("/exports/{export_id}", response_model=Export, tags=["exports"])
async def get_export(ledger: Ledger, who: Viewer, export_id: uuid.UUID) -> Export:
    return await ledger.exports.get(export_id, workspace=who.workspace)


@router.get(
    "/exports/{export_id}/files/{name}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
    tags=["exports"],
)
async def export_file(
    ledger: Ledger,
    who: Viewer,
    export_id: uuid.UUID,
    name: Annotated[str, Path(max_length=300)],
) -> StreamingResponse:
    """One file of the export, streamed (checked against its hash as it is read)."""
    export = await ledger.exports.get(export_id, workspace=who.workspace)
    found = next((f for f in export.files if f.name == name), None)
    if found is None:
        raise NotFound(f"export {export_id} has no file {name!r}")
    source = await ledger.exports.open_file(export_id, name, workspace=who.workspace)

    headers = {
        "ETag": f'"{found.sha256}"',
        "Content-Length": str(found.size_bytes),
        "Content-Disposition": content_disposition(found.name),
    }
    return StreamingResponse(chunks(source), media_type=found.media_type, headers=headers)


class Lineage(BaseModel):
    upstream: list[LineageNode]
    downstream: list[LineageNode]


@router.get("/lineage/{entity_type}/{entity_id}", response_model=Lineage, tags=["lineage"])
async def lineage(
    ledger: Ledger,
    who: Viewer,
    entity_type: EntityType,
    entity_id: Annotated[str, Path(max_length=64)],
    direction: Literal["both", "up", "down"] = "both",
    max_depth: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Lineage:
    """What the entity was made from (upstream) and what was made from it (downstream),
    this workspace's entities only."""
    ref = (entity_type, entity_id)
    up = (
        await ledger.lineage.upstream(ref, max_depth, workspace=who.workspace)
        if direction != "down"
        else []
    )
    down = (
        await ledger.lineage.downstream(ref, max_depth, workspace=who.workspace)
        if direction != "up"
        else []
    )
    return Lineage(upstream=up, downstream=down)
