"""Repositories, one per aggregate. ``REPOSITORIES`` is what a ledger exposes by attribute name."""

from docledger.repositories.annotation import AnnotationRepository
from docledger.repositories.base import Repository
from docledger.repositories.dataset import DatasetRepository
from docledger.repositories.document import DocumentRepository
from docledger.repositories.embedding import EmbeddingRepository
from docledger.repositories.extraction import ExtractionRepository
from docledger.repositories.job import JobRepository
from docledger.repositories.membership import MembershipRepository
from docledger.repositories.model_version import ModelRepository
from docledger.repositories.page_image import PageImageRepository
from docledger.repositories.run import RunRepository
from docledger.repositories.segment import SegmentRepository
from docledger.repositories.user import UserRepository
from docledger.repositories.workspace import WorkspaceRepository

REPOSITORIES: dict[str, type[Repository]] = {
    "workspaces": WorkspaceRepository,
    "users": UserRepository,
    "memberships": MembershipRepository,
    "documents": DocumentRepository,
    "jobs": JobRepository,
    "annotations": AnnotationRepository,
    "datasets": DatasetRepository,
    "runs": RunRepository,
    "models": ModelRepository,
    "extractions": ExtractionRepository,
    "segments": SegmentRepository,
    "embeddings": EmbeddingRepository,
    "page_images": PageImageRepository,
}

__all__ = [
    "REPOSITORIES",
    "AnnotationRepository",
    "DatasetRepository",
    "DocumentRepository",
    "EmbeddingRepository",
    "ExtractionRepository",
    "JobRepository",
    "MembershipRepository",
    "ModelRepository",
    "PageImageRepository",
    "Repository",
    "RunRepository",
    "SegmentRepository",
    "UserRepository",
    "WorkspaceRepository",
]
