"""Rendered page images: one row per (version, page, dpi), naming a PNG blob."""

from __future__ import annotations

import builtins
import uuid

from sqlalchemy import select

from docledger.db.dialect import insert_ignore
from docledger.db.types import utcnow
from docledger.errors import NotFound
from docledger.ids import new_id
from docledger.models import DocumentVersion as VersionRow
from docledger.models import PageImage as PageImageRow
from docledger.repositories.base import Repository, readonly, require_uuid
from docledger.repositories.blob import BlobRepository
from docledger.repositories.workspace import WorkspaceRef, version_in
from docledger.schemas.document import PageImage
from docledger.storage.base import StoredBlob


class PageImageRepository(Repository):
    @readonly
    def of_version(
        self,
        version_id: uuid.UUID | str,
        *,
        dpi: int | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> builtins.list[PageImage]:
        key = require_uuid(version_id, "version id")
        if workspace is not None:
            version_in(self.session, key, workspace)
        stmt = select(PageImageRow).where(PageImageRow.version_id == key)
        if dpi is not None:
            stmt = stmt.where(PageImageRow.dpi == dpi)
        rows = self.session.scalars(stmt.order_by(PageImageRow.page_number, PageImageRow.dpi))
        return [PageImage.model_validate(r) for r in rows]

    def record(
        self,
        version_id: uuid.UUID | str,
        page_number: int,
        dpi: int,
        blob: StoredBlob,
        width: int,
        height: int,
    ) -> PageImage:
        """Note a rendered page (its PNG already durable in the blob store); rendering the
        same page at the same dpi again keeps the first row."""
        vid = require_uuid(version_id, "version id")
        version = self.session.get(VersionRow, vid)
        if version is None:
            raise NotFound(f"no document version {version_id}")
        now = utcnow()
        BlobRepository(self.session).create_many([(blob, "image/png")])
        insert_ignore(
            self.session,
            PageImageRow,
            [
                {
                    "id": new_id(),
                    "workspace_id": version.workspace_id,
                    "version_id": vid,
                    "page_number": page_number,
                    "dpi": dpi,
                    "sha256": blob.sha256,
                    "width": width,
                    "height": height,
                    "created_at": now,
                }
            ],
            conflict=["version_id", "page_number", "dpi"],
        )
        row = self.session.scalars(
            select(PageImageRow).where(
                PageImageRow.version_id == vid,
                PageImageRow.page_number == page_number,
                PageImageRow.dpi == dpi,
            )
        ).one()
        return PageImage.model_validate(row)
