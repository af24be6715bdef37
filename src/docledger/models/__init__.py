"""ORM models, one module per aggregate. Importing this package registers every table."""

from docledger.db.base import Base
from docledger.db.bounds import bound_columns
from docledger.models.annotation import Annotation, AnnotationEvent
from docledger.models.api_key import ApiKey
from docledger.models.blob import Blob
from docledger.models.conversation import Conversation, Message, MessageFeedback, Retrieval
from docledger.models.dataset import Dataset, DatasetItem
from docledger.models.document import Document, DocumentVersion, PageImage
from docledger.models.embedding import Embedding, EmbeddingSpace
from docledger.models.export import Export, ExportEvent, ExportFile
from docledger.models.extraction import Extraction, Segment
from docledger.models.finding import (
    Finding,
    FindingBlob,
    FindingEvent,
    FindingKind,
    FindingLink,
    FindingOutput,
)
from docledger.models.job import Job, JobEvent
from docledger.models.lineage import LineageEdge
from docledger.models.membership import Membership
from docledger.models.model_version import ModelVersion
from docledger.models.run import MetricChunk, Run, RunEvent
from docledger.models.user import User
from docledger.models.workspace import Workspace

# every table is declared: from now on a value either dialect would store differently (NaN,
# NUL, too long, out of range) is InvalidInput on both (docledger.db.bounds)
bound_columns(Base.metadata)

__all__ = [
    "Annotation",
    "AnnotationEvent",
    "ApiKey",
    "Blob",
    "Conversation",
    "Dataset",
    "DatasetItem",
    "Document",
    "DocumentVersion",
    "Embedding",
    "EmbeddingSpace",
    "Export",
    "ExportEvent",
    "ExportFile",
    "Extraction",
    "Finding",
    "FindingBlob",
    "FindingEvent",
    "FindingKind",
    "FindingLink",
    "FindingOutput",
    "Job",
    "JobEvent",
    "LineageEdge",
    "Membership",
    "Message",
    "MessageFeedback",
    "MetricChunk",
    "ModelVersion",
    "PageImage",
    "Retrieval",
    "Run",
    "RunEvent",
    "Segment",
    "User",
    "Workspace",
]
