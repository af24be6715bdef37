"""OpenDocument presentations (ODP): a page per slide, a block per shape with its box.

As for PowerPoint (``docledger.extractors.slides``): every ``draw:page`` of ``content.xml``
is a slide, in order; each shape on it that holds text (a frame's text box, a custom shape,
a table) is a block whose box is the shape's ``svg:x``, ``svg:y``, ``svg:width`` and
``svg:height`` in points (lengths in cm, mm, in, pt, pc or px; shapes in groups are placed
in the page's own coordinates, so no transform is needed), its text read as in an ODT
(``docledger.extractors.odf``). A shape placed by a ``draw:transform`` instead keeps its text
without a box. The title is the ``presentation:class="title"`` frame's text; the speaker
notes are the text of ``presentation:notes``. The slide size is the master page's page
layout in ``styles.xml``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from xml.etree import ElementTree

from docledger.errors import InvalidInput
from docledger.extractors.layout import Box
from docledger.extractors.odf import DRAW, blocks, body_of, read_all
from docledger.extractors.package import opened, part
from docledger.extractors.slides import MOST_DEPTH, Slide, SlidesExtractor

MEDIA_TYPE = "application/vnd.oasis.opendocument.presentation"
SVG = "{urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0}"
STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
FO = "{urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0}"
PRESENTATION = "{urn:oasis:names:tc:opendocument:xmlns:presentation:1.0}"
#: points per unit of each length unit ODF allows
UNITS = {"pt": 1.0, "cm": 72 / 2.54, "mm": 72 / 25.4, "in": 72.0, "pc": 12.0, "px": 0.75}
_LENGTH = re.compile(r"\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*([a-z]*)\s*")
#: shapes whose text is read (a group's shapes are read one by one)
_SHAPES = {f"{DRAW}{n}" for n in ("frame", "custom-shape", "rect", "ellipse", "polygon",
                                 "path", "caption", "line", "connector", "circle")}  # fmt: skip
#: LibreOffice's default slide (28 x 15.75 cm) when the file does not say
DEFAULT_SIZE = (28 * 72 / 2.54, 15.75 * 72 / 2.54)


def length(value: str | None) -> float | None:
    """An ODF length in points (None when absent or not a length)."""
    found = _LENGTH.fullmatch(value or "")
    if found is None or found[2] not in UNITS:
        return None
    points = float(found[1]) * UNITS[found[2]]
    return points if math.isfinite(points) else None  # "1e999cm": no box rather than inf


def _slide_size(data: bytes, master: str | None) -> tuple[float, float]:
    """The page layout of the master page the first slide uses (else of the first one)."""
    with opened(data, "OpenDocument file") as archive:
        styles = part(archive, "styles.xml", "OpenDocument file")
    if styles is None:
        return DEFAULT_SIZE
    masters = list(styles.iter(f"{STYLE}master-page"))
    chosen = next((m for m in masters if m.get(f"{STYLE}name") == master), None)
    chosen = chosen if chosen is not None else (masters[0] if masters else None)
    wanted = chosen.get(f"{STYLE}page-layout-name") if chosen is not None else None
    for layout in styles.iter(f"{STYLE}page-layout"):
        if wanted is None or layout.get(f"{STYLE}name") == wanted:
            props = layout.find(f"{STYLE}page-layout-properties")
            if props is not None:
                width = length(props.get(f"{FO}page-width"))
                height = length(props.get(f"{FO}page-height"))
                if width and height:
                    return width, height
    return DEFAULT_SIZE


def _text(shape: ElementTree.Element) -> list[str]:
    lines: list[str] = []
    for text, _heading in read_all(blocks(shape)):
        lines.extend(line.strip() for line in text.split("\n") if line.strip())
    return lines


def _box(shape: ElementTree.Element) -> Box | None:
    x, y = length(shape.get(f"{SVG}x")), length(shape.get(f"{SVG}y"))
    w, h = length(shape.get(f"{SVG}width")), length(shape.get(f"{SVG}height"))
    if x is None or y is None or w is None or h is None or shape.get(f"{DRAW}transform"):
        return None
    return Box(x, y, x + w, y + h)


def _shapes(
    container: ElementTree.Element, depth: int = 0
) -> Iterator[tuple[Box | None, list[str], bool]]:
    """(box, lines, is the title) per shape with text, in drawing order."""
    if depth > MOST_DEPTH:
        raise InvalidInput("cannot read the OpenDocument file: its groups are nested too deeply")
    for child in container:
        if child.tag == f"{DRAW}g":
            yield from _shapes(child, depth + 1)
        elif child.tag in _SHAPES:
            lines = _text(child)
            if lines:
                is_title = child.get(f"{PRESENTATION}class") == "title"
                yield _box(child), lines, is_title


def slides(data: bytes) -> tuple[tuple[float, float], list[Slide]]:
    """The slide size (points) and every slide, in the presentation's order."""
    body = body_of(data, "presentation")
    pages = body.findall(f"{DRAW}page")
    size = _slide_size(data, pages[0].get(f"{DRAW}master-page-name") if pages else None)
    found: list[Slide] = []
    for page in pages:
        notes = page.find(f"{PRESENTATION}notes")
        noted = [] if notes is None else [line for _, ls, _ in _shapes(notes) for line in ls]
        blocks = list(_shapes(page))
        found.append(Slide(len(found) + 1, False, blocks, "\n".join(noted)))
    return size, found


class OdpExtractor(SlidesExtractor):
    """OpenDocument presentations: the same segments as for PPTX (see
    ``docledger.extractors.odp``)."""

    name: str = "odp"
    version: str = "1"
    media_types: tuple[str, ...] = (MEDIA_TYPE,)

    @staticmethod
    def slides(data: bytes) -> tuple[tuple[float, float], list[Slide]]:
        return slides(data)
