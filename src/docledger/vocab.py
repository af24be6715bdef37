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
    "pipeline", "ingest", "extraction", "embedding", "training", "evaluation", "comparison", "other"
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
    "conversation",
    "message",
]
ModelStage = Literal["none", "staging", "production", "archived"]
ExportStatus = Literal["pending", "running", "completed", "failed"]
FindingStatus = Literal["candidate", "confirmed", "rejected"]
MessageRole = Literal["system", "user", "assistant", "tool"]


def values(vocabulary: object) -> tuple[str, ...]:
    """The allowed values of a vocabulary ``Literal``."""
    return tuple(str(v) for v in get_args(vocabulary))
