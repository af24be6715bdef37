"""Export DTOs: the export with each format's outcome, its files, and its audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from docledger.schemas.common import OutputModel
from docledger.vocab import ExportAction, ExportStatus


class ExportFile(OutputModel):
    id: uuid.UUID
    export_id: uuid.UUID
    name: str
    format: str
    sha256: str
    size_bytes: int
    records: int
    media_type: str
    created_at: datetime


class Export(OutputModel):
    """``results[format]``: ``status`` (succeeded / partial / failed / pending), ``records``,
    ``failed`` (the documents that could not be written, with the reason) and ``error``."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    selection: dict[str, Any]
    formats: list[str]
    options: dict[str, Any]
    status: ExportStatus
    results: dict[str, Any]
    validation: dict[str, Any]
    error: str | None
    exporter_version: str
    run_id: uuid.UUID | None
    created_by: uuid.UUID | None
    actor: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    files: list[ExportFile] = []


class ExportEvent(OutputModel):
    id: uuid.UUID
    export_id: uuid.UUID
    action: ExportAction
    format: str | None
    actor_id: uuid.UUID | None
    actor: str | None
    detail: dict[str, Any]
    at: datetime


class Reproduction(OutputModel):
    """What ``exports.reproduce`` found: the new export, and per file whether its bytes equal
    the original's."""

    original: uuid.UUID
    export: Export
    identical: bool
    files: dict[str, bool]


class LabelStudioImport(OutputModel):
    """What ``exports.import_label_studio`` did with the file's regions: annotations
    created, regions that already said the same, and regions that name nothing here."""

    created: int
    unchanged: int
    unmatched: int
    annotation_ids: list[uuid.UUID]
