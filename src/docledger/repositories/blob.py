"""Blob rows: the database's note that bytes with this hash are durable in the blob store.

Every writer of bytes (ingest, page renders, model artifacts) notes them here, after the store
has made them durable and before any row names them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from docledger.db.dialect import in_values, insert_ignore
from docledger.db.types import utcnow
from docledger.models import Blob as BlobRow
from docledger.repositories.base import Repository, readonly
from docledger.storage.base import StoredBlob

_IN_LIST = 500  # hashes per IN (...) list


class BlobRepository(Repository):
    def create_many(self, blobs: Sequence[tuple[StoredBlob, str]]) -> int:
        """Note each (stored blob, media type) not noted yet; a blob noted before keeps its
        first row. Returns how many rows were new."""
        rows = {
            blob.sha256: {
                "sha256": blob.sha256,
                "size_bytes": blob.size_bytes,
                "media_type": media_type,
                "storage_uri": blob.storage_uri,
                "created_at": utcnow(),
            }
            for blob, media_type in blobs
        }
        present = self.present(list(rows))
        missing = [row for sha, row in rows.items() if sha not in present]
        insert_ignore(self.session, BlobRow, missing, conflict=["sha256"])
        return len(missing)

    @readonly
    def present(self, hashes: Sequence[str]) -> set[str]:
        """Which of these hashes have a blob row."""
        found: set[str] = set()
        for start in range(0, len(hashes), _IN_LIST):
            part = hashes[start : start + _IN_LIST]
            found.update(
                self.session.scalars(
                    select(BlobRow.sha256).where(in_values(self.session, BlobRow.sha256, part))
                )
            )
        return found
