"""Membership DTOs."""

from __future__ import annotations

import uuid
from datetime import datetime

from docledger.schemas.common import InputModel, OutputModel
from docledger.vocab import MembershipRole


class MembershipCreate(InputModel):
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    role: MembershipRole = "editor"


class Membership(OutputModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    role: MembershipRole
    created_at: datetime
