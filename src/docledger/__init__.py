"""docledger: the persistence layer for document-AI pipelines."""

from docledger.config import Settings, load_settings
from docledger.errors import (
    BlobCorrupt,
    BlobStoreError,
    CheckViolation,
    ConfigurationError,
    Conflict,
    DatabaseUnavailable,
    DocledgerError,
    ForeignKeyViolation,
    IntegrityViolation,
    InvalidInput,
    InvalidTransition,
    LockTimeout,
    MigrationRequired,
    MissingDependency,
    NotFound,
    NotNullViolation,
    PermissionDenied,
    StorageFull,
    Unauthenticated,
)
from docledger.ledger import AsyncLedger, AsyncTx, Ledger, Tx
from docledger.schemas import Membership, User, Workspace
from docledger.schemas.common import Page, every
from docledger.worker import TaskContext, task

__version__ = "0.1.0"

__all__ = [
    "AsyncLedger",
    "AsyncTx",
    "BlobCorrupt",
    "BlobStoreError",
    "CheckViolation",
    "ConfigurationError",
    "Conflict",
    "DatabaseUnavailable",
    "DocledgerError",
    "ForeignKeyViolation",
    "IntegrityViolation",
    "InvalidInput",
    "InvalidTransition",
    "Ledger",
    "LockTimeout",
    "Membership",
    "MigrationRequired",
    "MissingDependency",
    "NotFound",
    "NotNullViolation",
    "Page",
    "PermissionDenied",
    "Settings",
    "StorageFull",
    "TaskContext",
    "Tx",
    "Unauthenticated",
    "User",
    "Workspace",
    "__version__",
    "every",
    "load_settings",
    "task",
]
