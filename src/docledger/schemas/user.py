"""User DTOs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from docledger.schemas.common import InputModel, OutputModel
from docledger.vocab import UserRole


class UserCreate(InputModel):
    email: str = Field(max_length=320)
    name: str | None = Field(default=None, max_length=200)
    role: UserRole = "member"
    preferences: dict[str, Any] = Field(default_factory=dict)

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str) -> str:
        """Emails are compared case-insensitively, so they are stored lower-cased."""
        local, at, domain = value.strip().partition("@")
        if not at or not local or "." not in domain or " " in value.strip():
            raise ValueError("not an email address")
        return f"{local}@{domain}".lower()


class User(OutputModel):
    id: uuid.UUID
    email: str
    name: str
    role: UserRole
    preferences: dict[str, Any]
    created_at: datetime
    updated_at: datetime
