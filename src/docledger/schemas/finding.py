"""Finding DTOs: the finding, its evidence (with citations you can draw), its review history,
its versioned outputs, the registered kinds, and the summaries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from docledger.schemas.common import OutputModel
from docledger.vocab import EntityType, FindingAction, FindingStatus, LinkState


class Finding(OutputModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    document_id: uuid.UUID | None
    run_id: uuid.UUID | None
    kind: str
    title: str
    summary: str | None
    body: dict[str, Any]
    confidence: float | None
    status: FindingStatus
    revision: int
    stale: bool
    stale_reason: str | None
    merged_into_id: uuid.UUID | None
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class FindingLink(OutputModel):
    id: uuid.UUID
    finding_id: uuid.UUID
    #: one of LinkTarget through the API; older hand-written rows may name other entities
    target_type: EntityType
    target_id: str
    relation: str
    strength: float | None
    reasoning: str | None
    state: LinkState
    stale_reason: str | None
    created_at: datetime


class Evidence(OutputModel):
    """A link with what it points at, ready to cite: a segment's text, page and box (and its
    version and document), or the version / document / finding it names. ``exists`` is False
    when the target row was deleted since."""

    link: FindingLink
    exists: bool
    document_id: uuid.UUID | None = None
    document_key: str | None = None
    version_id: uuid.UUID | None = None
    version_number: int | None = None
    segment_kind: str | None = None
    page_number: int | None = None
    bbox: dict[str, Any] | None = None
    text: str | None = None
    finding_title: str | None = None


class FindingEvent(OutputModel):
    id: uuid.UUID
    finding_id: uuid.UUID
    action: FindingAction
    revision: int
    actor_id: uuid.UUID | None
    actor: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime


class FindingKind(OutputModel):
    """A kind of finding: built in (feature, comparison, change_analysis) or registered in a
    workspace with a JSON schema for its bodies."""

    name: str
    relations: list[str]
    body_schema: dict[str, Any] | None = None
    description: str | None = None
    builtin: bool = False


class FindingOutput(OutputModel):
    id: uuid.UUID
    finding_id: uuid.UUID
    output_type: str
    version: int
    body: dict[str, Any]
    actor_id: uuid.UUID | None
    created_at: datetime


class FindingAttachment(OutputModel):
    finding_id: uuid.UUID
    name: str
    sha256: str
    created_at: datetime


class CarryResult(OutputModel):
    """What a re-extraction did to the evidence on the old segments."""

    kept: int = 0
    changed: int = 0
    stale: int = 0
    findings_stale: int = 0


class RunSummary(OutputModel):
    """A run's findings in one query: a drawing-comparison session's comparisons, its
    successful change analyses and their average alignment score, and every kind / status."""

    run_id: uuid.UUID
    comparisons: int
    successful_analyses: int
    failed_analyses: int
    average_alignment: float | None
    by_kind: dict[str, int]
    by_status: dict[str, int]


class WorkspaceSummary(OutputModel):
    workspace_id: uuid.UUID
    total: int
    stale: int
    by_kind_and_status: dict[str, dict[str, int]]
