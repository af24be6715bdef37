"""The blob DTO: bytes the blob store holds, named by their SHA-256."""

from __future__ import annotations

from datetime import datetime

from docledger.schemas.common import OutputModel


class Blob(OutputModel):
    sha256: str
    size_bytes: int
    media_type: str
    storage_uri: str
    created_at: datetime
