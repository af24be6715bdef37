"""Who is calling: an API key sent as ``Authorization: Bearer dlk_...`` (or ``X-API-Key``),
its workspace and its role. Every route passes the key's workspace to the library as
``workspace=``, so another workspace's ids answer 404 exactly like ids that do not exist."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from docledger.errors import PermissionDenied, Unauthenticated
from docledger.ledger import AsyncLedger
from docledger.schemas.api_key import ApiKey
from docledger.server.tenants import Tenants

RANK = {"viewer": 0, "editor": 1, "owner": 2}

_bearer = HTTPBearer(auto_error=False, description="dlk_<prefix>.<secret>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False)


@dataclass(frozen=True)
class Caller:
    key: ApiKey

    @property
    def workspace(self) -> uuid.UUID:
        return self.key.workspace_id

    @property
    def actor(self) -> str | None:
        """Whom histories record a change under: the user the key acts for, if any."""
        return self.key.actor

    def require(self, role: str) -> None:
        if RANK[self.key.role] < RANK[role]:
            raise PermissionDenied(f"this key is a {self.key.role} key; this needs {role}")


def ledger_of(request: Request) -> AsyncLedger:
    """The store's own ledger (authentication runs on it: a key names its workspace)."""
    found = request.app.state.ledger
    assert isinstance(found, AsyncLedger), "the app's lifespan opens the ledger"
    return found


async def ledger_for(request: Request, who: Caller) -> AsyncLedger:
    """The ledger a caller's calls run on: under row-level security a view confined by
    PostgreSQL to the caller's workspace (server/tenants.py), else the store's."""
    tenants: Tenants | None = getattr(request.app.state, "tenants", None)
    if tenants is None:
        return ledger_of(request)
    return await tenants.ledger(who.workspace)


async def caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> Caller:
    sent = bearer.credentials if bearer is not None else header
    if not sent:
        raise Unauthenticated("send an API key: Authorization: Bearer dlk_...")
    try:
        key = await ledger_of(request).api_keys.authenticate(sent)
    except Unauthenticated:
        raise Unauthenticated("the API key is not valid") from None
    return Caller(key)


async def editor(who: Annotated[Caller, Depends(caller)]) -> Caller:
    who.require("editor")
    return who


async def owner(who: Annotated[Caller, Depends(caller)]) -> Caller:
    who.require("owner")
    return who


async def _tenant_ledger(request: Request, who: Annotated[Caller, Depends(caller)]) -> AsyncLedger:
    return await ledger_for(request, who)


#: what API routes call: authenticated by the request's key, confined to its workspace
Ledger = Annotated[AsyncLedger, Depends(_tenant_ledger)]
#: the store's ledger, for the UI's login (which has no session yet)
StoreLedger = Annotated[AsyncLedger, Depends(ledger_of)]
Viewer = Annotated[Caller, Depends(caller)]
Editor = Annotated[Caller, Depends(editor)]
Owner = Annotated[Caller, Depends(owner)]
