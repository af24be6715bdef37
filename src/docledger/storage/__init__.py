"""Blob stores: a local content-addressed folder, or S3-compatible object storage."""

from __future__ import annotations

from docledger.config import Settings
from docledger.storage.base import BlobStore, StoredBlob, blob_key
from docledger.storage.local import LocalBlobStore


def open_blob_store(settings: Settings) -> BlobStore:
    """The store named by DOCLEDGER_BLOB_ROOT: a folder, or ``s3://bucket/prefix``."""
    root = settings.resolved_blob_root
    if root.startswith("s3://"):
        from docledger.storage.s3 import ObjectBlobStore  # noqa: PLC0415 - optional extra

        return ObjectBlobStore.from_settings(settings)
    return LocalBlobStore(root)


__all__ = ["BlobStore", "LocalBlobStore", "StoredBlob", "blob_key", "open_blob_store"]
