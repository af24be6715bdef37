"""Page images for an export that ships them (``options={"images": True}``): the image
``documents.render`` made at the export's dpi when there is one, else the page rendered now
from the version's PDF (kept in the export, not noted in ``page_images``: an export reads the
store, it does not change it)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from docledger.formats.base import PageFailure
from docledger.models import DocumentVersion as VersionRow
from docledger.models import PageImage as PageImageRow
from docledger.services.scope import Scope


class PageImages:
    """``(version id, page, dpi) -> (PNG bytes, width, height)``; one PDF in memory at a
    time (records arrive version by version)."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        self._pdf: tuple[str | None, bytes | None] = (None, None)

    def __call__(self, version_id: str, page: int, dpi: int) -> tuple[bytes, int, int]:
        key = uuid.UUID(version_id)
        with self._scope.session(readonly=True) as session:
            made = session.execute(
                select(PageImageRow.sha256, PageImageRow.width, PageImageRow.height).where(
                    PageImageRow.version_id == key,
                    PageImageRow.page_number == page,
                    PageImageRow.dpi == dpi,
                )
            ).first()
            version = session.execute(
                select(VersionRow.sha256, VersionRow.media_type).where(VersionRow.id == key)
            ).first()
        if made is not None:
            with self._scope.blobs.open(made.sha256) as handle:
                return handle.read(), made.width, made.height
        if version is None or version.media_type != "application/pdf":
            raise PageFailure(f"no image of page {page}: not a PDF, and none rendered")
        return self._render(version.sha256, page, dpi)

    def _render(self, sha256: str, page: int, dpi: int) -> tuple[bytes, int, int]:
        from docledger.extractors.render import render_pages  # noqa: PLC0415 - PDFium on demand

        if self._pdf[0] != sha256:
            with self._scope.blobs.open(sha256) as handle:
                self._pdf = (sha256, handle.read())
        data = self._pdf[1]
        assert data is not None
        try:
            for _, png, width, height in render_pages(data, dpi, {page}, set()):
                if png is not None:
                    return png, width, height
        except Exception as exc:
            raise PageFailure(f"page {page} cannot be rendered: {exc}") from exc
        raise PageFailure(f"the PDF has no page {page}")
