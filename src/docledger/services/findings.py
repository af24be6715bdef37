"""``ledger.findings``: every FindingRepository method, plus the files attached to a finding
(a comparison's overlay image), whose bytes go to the blob store before the row names them."""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from docledger.errors import NotFound
from docledger.models import FindingBlob as AttachmentRow
from docledger.repositories.blob import BlobRepository
from docledger.repositories.finding import FindingRepository
from docledger.repositories.workspace import WorkspaceRef
from docledger.schemas.finding import FindingAttachment
from docledger.services.scope import Service, service
from docledger.services.staging import put_file


class FindingService(Service, FindingRepository):
    @service
    def attach(
        self,
        finding: Any,
        name: str,
        data: str | os.PathLike[str] | bytes | BinaryIO,
        *,
        media_type: str = "application/octet-stream",
        workspace: WorkspaceRef | None = None,
    ) -> FindingAttachment:
        """Attach a file (a path, bytes or a binary stream) under ``name``; attaching again
        under the same name replaces the file the name points at (the old blob stays until
        gc finds it unreferenced)."""
        with self._scope.session(readonly=True) as session:
            FindingRepository(session)._finding_row(finding, workspace)  # before any bytes move
        with self._scope.writing_blobs():
            stored = put_file(self._scope.blobs, data, "an attachment")
            with self._scope.session() as session:
                BlobRepository(session).create_many([(stored, media_type)])
                return FindingRepository(session)._attach_row(
                    finding, name, stored.sha256, workspace
                )

    @service
    def read_attachment(
        self, finding: Any, name: str, *, workspace: WorkspaceRef | None = None
    ) -> bytes:
        """The bytes of an attached file (verified against their hash as they are read)."""
        with self._scope.session(readonly=True) as session:
            repo = FindingRepository(session)
            row = repo._finding_row(finding, workspace)
            found = session.get(AttachmentRow, (row.id, name))
            if found is None:
                raise NotFound(f"finding {row.id} has no attachment {name!r}")
            sha256 = found.sha256
        with self._scope.blobs.open(sha256) as handle:
            return handle.read()


__all__ = ["FindingService"]
