"""Who am I, and the workspace's API keys (owner keys only)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from docledger.schemas.api_key import ApiKey, IssuedApiKey
from docledger.schemas.common import Page
from docledger.schemas.workspace import Workspace
from docledger.server.auth import Ledger, Owner, Viewer

router = APIRouter(tags=["keys"])


class Identity(BaseModel):
    key: ApiKey
    workspace: Workspace


@router.get("/whoami", response_model=Identity)
async def whoami(ledger: Ledger, who: Viewer) -> Identity:
    """The key in use (never its secret), its role and its workspace."""
    return Identity(key=who.key, workspace=await ledger.workspaces.get(who.workspace))


@router.get("/keys", response_model=Page[ApiKey])
async def list_keys(
    ledger: Ledger,
    who: Owner,
    include_revoked: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page[ApiKey]:
    return await ledger.api_keys.list(
        workspace=who.workspace, include_revoked=include_revoked, limit=limit, cursor=cursor
    )


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Literal["viewer", "editor", "owner"] = "viewer"


@router.post("/keys", response_model=IssuedApiKey, status_code=201)
async def create_key(ledger: Ledger, who: Owner, body: KeyIn) -> IssuedApiKey:
    """A new key for this workspace; its secret is in this answer only."""
    return await ledger.api_keys.create(who.workspace, body.name, body.role, actor=who.actor)


@router.delete("/keys/{key}", response_model=ApiKey)
async def revoke_key(ledger: Ledger, who: Owner, key: str) -> ApiKey:
    """Revoke a key (by id or prefix) for good."""
    return await ledger.api_keys.revoke(key, workspace=who.workspace)
