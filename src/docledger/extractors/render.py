"""Pages rendered to PNG: a PDF's by PDFium (the page's rotation applied, as it is shown), an
image's frames as the image extractor reads them (upright, flattened), so boxes drawn on a
page image land where the extractor measured them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from docledger.extractors import image
from docledger.extractors.pdf import pages

#: An image page's PNG at most this many pixels on its longest side (a browser shows it;
#: boxes are in the image's own pixels and scale with it). Reached at 300 dpi by ~14 inches.
LONGEST_SIDE = 4200


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
        yield (number, *_png(page.render(scale=dpi / 72.0).to_pil()))


def render_image_pages(
    data: bytes, only: set[int] | None, skip: set[int]
) -> Iterator[tuple[int, bytes | None, int, int]]:
    """The same for an image document: its frames at their own size (up to LONGEST_SIDE),
    as many as the image extractor reads by default (every page of a TIFF, the first frame
    of an animation)."""
    for number in sorted(skip if only is None else only & skip):
        yield number, None, 0, 0
    for number, frame, _notes in image.pages(data, only=only, skip=skip):
        longest = max(frame.size)
        shown = frame
        if longest > LONGEST_SIDE:
            shown = frame.resize(
                (
                    max(1, round(frame.width * LONGEST_SIDE / longest)),
                    max(1, round(frame.height * LONGEST_SIDE / longest)),
                )
            )
        yield (number, *_png(shown))


def _png(picture: Any) -> tuple[bytes, int, int]:
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue(), picture.width, picture.height
