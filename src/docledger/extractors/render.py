"""Pages of a PDF rendered to PNG by PDFium (the page's rotation applied, as it is shown)."""

from __future__ import annotations

import io
from collections.abc import Iterator

from docledger.extractors.pdf import pages


def render_pages(
    data: bytes,
    dpi: int,
    only: set[int] | None,
    skip: set[int],
    password: str | None = None,
) -> Iterator[tuple[int, bytes | None, int, int]]:
    """(page number, PNG bytes, width px, height px) per page, one page in memory at a time;
    pages in ``skip`` come back with no bytes (rendered before)."""
    for _, page, number in pages(data, password, only):
        if number in skip:
            yield number, None, 0, 0
            continue
        image = page.render(scale=dpi / 72.0).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG")
        yield number, out.getvalue(), image.width, image.height
