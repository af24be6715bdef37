"""Search: text, vector or hybrid, with the library's filters; logged as a conversation turn
when a conversation is named."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from docledger.schemas.embedding import SearchHit
from docledger.server.auth import Ledger, Viewer

router = APIRouter(tags=["search"])


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=10_000)
    mode: Literal["text", "vector", "hybrid"] = "hybrid"
    k: int = Field(default=10, ge=1, le=1000)
    space: str = Field(default="hash-256", min_length=1, max_length=200)
    kinds: list[str] | None = None
    documents: list[uuid.UUID] | None = None
    min_score: float | None = Field(default=None, ge=-1, le=1, allow_inf_nan=False)
    include_superseded: bool = False
    conversation: uuid.UUID | None = Field(
        default=None, description="log the query and its hits into this conversation"
    )


@router.post("/search", response_model=list[SearchHit])
async def search(ledger: Ledger, who: Viewer, body: SearchRequest) -> list[SearchHit]:
    """The best ``k`` current passages, each with its document, page and box; ``k`` rows
    whenever ``k`` pass the filters. Logging a query writes, so it needs an editor key."""
    if body.conversation is not None:
        who.require("editor")
    ws, kinds, docs, old = who.workspace, body.kinds, body.documents, body.include_superseded
    if body.mode == "text":
        return await ledger.search.text(
            body.query,
            k=body.k,
            workspace=ws,
            kinds=kinds,
            documents=docs,
            include_superseded=old,
            log=body.conversation,
        )
    search = ledger.search.vector if body.mode == "vector" else ledger.search.hybrid
    return await search(
        body.query,
        k=body.k,
        space=body.space,
        workspace=ws,
        kinds=kinds,
        documents=docs,
        include_superseded=old,
        min_score=body.min_score,
        log=body.conversation,
    )
