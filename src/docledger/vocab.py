"""The closed vocabularies of the schema.

Each is a ``Literal`` for the DTOs and a tuple for the CHECK constraints, defined once here so the
database and the API can never disagree about which values exist.
"""

from __future__ import annotations

from typing import Literal, get_args

MembershipRole = Literal["owner", "editor", "viewer"]
UserRole = Literal["admin", "member", "service"]
DocumentStatus = Literal["uploaded", "processing", "completed", "failed", "archived"]
ExtractionStatus = Literal["pending", "running", "succeeded", "failed"]
SegmentKind = Literal[
    "page",
    "block",
    "line",
    "word",
    "zone",
    "chunk",
    "evidence",
    "table",
    "figure",
    "section",
    "record",
    "other",
]
BBoxUnit = Literal["pt", "px", "fraction", "percent"]
EmbeddingMetric = Literal["cosine", "l2", "ip"]
AnnotationTarget = Literal["document", "version", "segment"]
AnnotationKind = Literal["label", "correction", "bbox", "span", "classification", "review"]
AnnotationStatus = Literal["draft", "submitted", "approved", "rejected"]
AnnotationAction = Literal["create", "update", "status", "delete"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "dead", "cancelled"]
RunKind = Literal[
    "pipeline",
    "ingest",
    "extraction",
    "embedding",
    "training",
    "evaluation",
    "comparison",
    "export",
    "other",
]
RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
LogLevel = Literal["debug", "info", "warning", "error"]
LineageDirection = Literal["in", "out"]
EntityType = Literal[
    "blob",
    "document",
    "version",
    "extraction",
    "segment",
    "embedding_space",
    "annotation",
    "dataset",
    "run",
    "model_version",
    "export",
    "finding",
    "finding_output",
    "conversation",
    "message",
]
ModelStage = Literal["none", "staging", "production", "archived"]
ExportStatus = Literal["pending", "running", "succeeded", "partial", "failed"]
ExportAction = Literal["create", "start", "format", "fail", "finish", "resume", "reproduce"]
FindingStatus = Literal["candidate", "confirmed", "rejected"]
#: what a finding's audit history records (``finding_events.action``)
FindingAction = Literal[
    "create", "edit", "confirm", "reject", "reopen", "merge", "link", "unlink", "carry", "stale"
]
#: what a finding's evidence can point at through the API
LinkTarget = Literal["segment", "version", "document", "finding"]
#: a link to a segment after its document got a new version: still the same text (current),
#: followed to a successor whose text changed (changed), or left behind with no successor (stale)
LinkState = Literal["current", "changed", "stale"]
SearchMode = Literal["vector", "text", "hybrid", "manual"]
#: what documents.create does with a file whose bytes another document already holds
DuplicatePolicy = Literal["new_document", "skip", "error"]
MessageRole = Literal["system", "user", "assistant", "tool"]


def values(vocabulary: object) -> tuple[str, ...]:
    """The allowed values of a vocabulary ``Literal``."""
    return tuple(str(v) for v in get_args(vocabulary))
