"""API key DTOs: the stored key (never its secret) and, once, the key a client sends."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from docledger.schemas.common import InputModel, OutputModel
from docledger.vocab import MembershipRole


class ApiKeyCreate(InputModel):
    workspace_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    role: MembershipRole = "viewer"
    actor: str | None = Field(default=None, max_length=320)


class ApiKey(OutputModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    role: MembershipRole
    prefix: str
    actor: str | None = None
    created_at: datetime
    revoked_at: datetime | None = None


class IssuedApiKey(OutputModel):
    """What ``api_keys.create`` returns: the key's record and the key itself, shown once."""

    key: ApiKey
    secret: str
