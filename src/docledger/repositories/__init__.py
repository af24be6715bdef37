"""Repositories, one per aggregate. ``REPOSITORIES`` is what a ledger exposes by attribute name."""

from docledger.repositories.base import Repository
from docledger.repositories.document import DocumentRepository
from docledger.repositories.job import JobRepository
from docledger.repositories.membership import MembershipRepository
from docledger.repositories.user import UserRepository
from docledger.repositories.workspace import WorkspaceRepository

REPOSITORIES: dict[str, type[Repository]] = {
    "workspaces": WorkspaceRepository,
    "users": UserRepository,
    "memberships": MembershipRepository,
    "documents": DocumentRepository,
    "jobs": JobRepository,
}

__all__ = [
    "REPOSITORIES",
    "DocumentRepository",
    "JobRepository",
    "MembershipRepository",
    "Repository",
    "UserRepository",
    "WorkspaceRepository",
]
