"""Document, version and page image DTOs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from docledger.schemas.common import OutputModel, Page
from docledger.vocab import DocumentStatus


class DocumentVersion(OutputModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    document_id: uuid.UUID
    version_number: int
    sha256: str
    size_bytes: int
    media_type: str | None
    original_filename: str | None
    page_count: int | None
    meta: dict[str, Any]
    created_at: datetime


class Document(OutputModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    external_key: str
    title: str | None
    media_type: str | None
    status: DocumentStatus
    current_version: int | None
    tags: list[str]
    meta: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class PageImage(OutputModel):
    """A page rendered to PNG: the blob's hash and the image's size in pixels."""

    id: uuid.UUID
    version_id: uuid.UUID
    page_number: int
    dpi: int
    sha256: str
    width: int
    height: int
    created_at: datetime


class DocumentDetail(Document):
    versions: list[DocumentVersion]


#: added: a new document; new_version: new content for a known key; unchanged: the content is
#: already the current version; reverted: the content equals an older version, which becomes
#: current again; failed: the source could not be read (see ``error``).
#: ``duplicate``: a new key whose bytes another document already holds, skipped under
#: ``on_duplicate_content="skip"`` (the result names the document that holds them)
IngestOutcome = Literal["added", "new_version", "unchanged", "reverted", "duplicate", "failed"]


class IngestResult(OutputModel):
    """What happened to one source in an ingest."""

    outcome: IngestOutcome
    external_key: str | None
    source: str
    document_id: uuid.UUID | None = None
    version_id: uuid.UUID | None = None
    version_number: int | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    media_type: str | None = None
    page_count: int | None = None
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)


#: a page of documents (the name kept from before every listing returned a Page)
DocumentPage = Page[Document]


@dataclass(frozen=True)
class StagedVersion:
    """Bytes already durable in the blob store, ready to be named as a document version
    (``documents.record_versions``): where they came from and what they are."""

    key: str
    display: str
    filename: str | None
    title: str | None
    metadata: dict[str, Any]
    sha256: str
    size_bytes: int
    media_type: str
    page_count: int | None
    warnings: list[str]
