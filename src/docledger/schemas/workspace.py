"""Workspace DTOs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from docledger.schemas.common import InputModel, OutputModel

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class WorkspaceCreate(InputModel):
    slug: str = Field(pattern=SLUG_PATTERN, description="lower-case letters, digits, - and _")
    name: str | None = Field(default=None, max_length=200)
    settings: dict[str, Any] = Field(default_factory=dict)


class Workspace(OutputModel):
    id: uuid.UUID
    slug: str
    name: str
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
