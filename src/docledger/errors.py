"""Errors raised by docledger.

Every error is a :class:`DocledgerError`, so callers can catch one class at the boundary. A
class's docstring is its default message. Driver errors never escape raw: the session scope
translates them (see :mod:`docledger.db.errors`) and chains the original with ``raise ... from``.
"""

from __future__ import annotations


class DocledgerError(Exception):
    """docledger failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (type(self).__doc__ or "").strip())


class ConfigurationError(DocledgerError):
    """The configuration is invalid."""


class MigrationRequired(ConfigurationError):
    """The database schema is older than this docledger needs; run `docledger db upgrade`."""


class MissingDependency(DocledgerError, ImportError):
    """An optional dependency is not installed."""


class DatabaseUnavailable(DocledgerError):
    """The database cannot be reached."""


class NotFound(DocledgerError):
    """The requested entity does not exist."""


class InvalidInput(DocledgerError, ValueError):
    """The input is not valid."""


class InvalidTransition(DocledgerError):
    """The requested status change is not allowed from the current status."""


class IntegrityViolation(DocledgerError):
    """The change would break a database constraint."""

    def __init__(self, message: str | None = None, *, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class Conflict(IntegrityViolation):
    """The entity already exists or was changed concurrently."""


class LeaseLost(Conflict):
    """This worker no longer holds the job's lease (it expired and the job moved on)."""


class ForeignKeyViolation(IntegrityViolation):
    """The change refers to a row that does not exist, or removes one still referred to."""


class CheckViolation(IntegrityViolation):
    """A value is outside the range or set the schema allows."""


class NotNullViolation(IntegrityViolation):
    """A required value is missing."""


class LockTimeout(DocledgerError):
    """The database stayed locked by another writer for longer than the configured timeout."""


class PermissionDenied(DocledgerError):
    """The database refused: this role may not read or change that (row-level security keeps a
    tenant to its workspace's rows)."""


class Unauthenticated(DocledgerError):
    """The API key is missing, malformed, unknown or revoked (one answer for all four, so a
    caller learns nothing about which keys exist)."""


class BlobStoreError(DocledgerError):
    """The blob store failed to store or read bytes."""


class BlobCorrupt(BlobStoreError):
    """The stored bytes no longer hash to the blob's name (changed on disk or in the bucket)."""


class StorageFull(DocledgerError):
    """The database's disk is full: free space, then carry on (nothing was half-written)."""


__all__ = [
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
    "LeaseLost",
    "LockTimeout",
    "MigrationRequired",
    "MissingDependency",
    "NotFound",
    "NotNullViolation",
    "PermissionDenied",
    "StorageFull",
    "Unauthenticated",
]
