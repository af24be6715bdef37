"""Pydantic DTOs at the API boundary: ``XCreate`` in, ``X`` out. Never live ORM objects."""

from docledger.schemas.blob import Blob
from docledger.schemas.common import validate
from docledger.schemas.document import (
    Document,
    DocumentDetail,
    DocumentPage,
    DocumentVersion,
    IngestResult,
)
from docledger.schemas.membership import Membership, MembershipCreate
from docledger.schemas.user import User, UserCreate
from docledger.schemas.workspace import Workspace, WorkspaceCreate

__all__ = [
    "Blob",
    "Document",
    "DocumentDetail",
    "DocumentPage",
    "DocumentVersion",
    "IngestResult",
    "Membership",
    "MembershipCreate",
    "User",
    "UserCreate",
    "Workspace",
    "WorkspaceCreate",
    "validate",
]
