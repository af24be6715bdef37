"""SVG drawings: their text where it is drawn.

Plans, schematics and diagrams exported as SVG keep their labels as text (``<text>``,
``<tspan>``), placed by coordinates and by the transforms of every group around them. Each
piece of text becomes a ``line`` where it is drawn on the drawing's canvas (the ``viewBox``,
else ``width`` x ``height``; user units, reported as ``px``), through every ``transform``
(matrix, translate, scale, rotate, skewX, skewY) of the element and its ancestors; lines form
blocks and reading order as on a PDF page (``docledger.extractors.layout``), then chunks.

A line's anchor (its start on the baseline, or its middle or end per ``text-anchor``) is
exact. Its extent is estimated from the font size (glyphs half an em wide on average, an em
high), since an SVG does not carry its fonts' metrics: the page's ``metadata.boxes`` says
``estimated``. Hidden text (``display: none``, ``<defs>``, ``<symbol>``, clip paths, masks)
is not read. The drawing's ``<title>`` and ``<desc>`` go into the page's metadata. A DTD is
accepted only without entities (Illustrator writes entities for its namespaces, but each is a
plain string there; one that refers to others is how entity expansion attacks begin).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any
from xml.etree import ElementTree

from docledger.errors import InvalidInput
from docledger.extractors.base import CHUNK_PARAMS, Chunking
from docledger.extractors.layout import Box, Line, Word, blocks_of
from docledger.extractors.page_segments import layout_segments

MEDIA_TYPE = "image/svg+xml"
SVG = "{http://www.w3.org/2000/svg}"
#: Font size when nothing says one (the CSS default).
DEFAULT_SIZE = 16.0
#: Average glyph width and the ascent, in ems (the estimate the boxes rest on).
EM_WIDTH, ASCENT = 0.5, 0.8
#: Units of ``width`` / ``height`` in user units (CSS pixels).
UNITS = {"": 1.0, "px": 1.0, "pt": 96 / 72, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54,
         "in": 96.0, "em": 16.0, "ex": 8.0}  # fmt: skip
MOST_DEPTH = 200
_HIDDEN = {"defs", "symbol", "clipPath", "mask", "pattern", "marker", "metadata", "style",
           "script", "title", "desc", "linearGradient", "radialGradient", "filter"}  # fmt: skip
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_TRANSFORM = re.compile(r"(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^)]*)\)")
_ENTITY = re.compile(rb"<!ENTITY\s+(%?)\s*[^\s\"'>]+\s+(?:\"([^\"]*)\"|'([^']*)'|(SYSTEM|PUBLIC))")

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _times(m: Matrix, n: Matrix) -> Matrix:
    """m x n: n applied first."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + c * q, b * p + d * q, a * r + c * s, b * r + d * s,
            a * t + c * u + e, b * t + d * u + f)  # fmt: skip


def transform_of(text: str | None) -> Matrix:
    """An SVG ``transform`` list as one matrix (an unreadable one is the identity)."""
    out = IDENTITY
    for name, args in _TRANSFORM.findall(text or ""):
        v = [float(x) for x in _NUMBER.findall(args)]
        step: Matrix | None = None
        if name == "matrix" and len(v) == 6:
            step = (v[0], v[1], v[2], v[3], v[4], v[5])
        elif name == "translate" and v:
            step = (1, 0, 0, 1, v[0], v[1] if len(v) > 1 else 0.0)
        elif name == "scale" and v:
            step = (v[0], 0, 0, v[1] if len(v) > 1 else v[0], 0, 0)
        elif name == "rotate" and v:
            a = math.radians(v[0])
            step = (math.cos(a), math.sin(a), -math.sin(a), math.cos(a), 0, 0)
            if len(v) == 3:  # about a point: there, turn, back
                step = _times(_times((1, 0, 0, 1, v[1], v[2]), step), (1, 0, 0, 1, -v[1], -v[2]))
        elif name in {"skewX", "skewY"} and v:
            k = math.tan(math.radians(v[0]))
            step = (1, 0, k, 1, 0, 0) if name == "skewX" else (1, k, 0, 1, 0, 0)
        if step is not None:
            out = _times(out, step)
    return out


def local_name(tag: Any) -> str:
    """An element's name without its namespace (comments and PIs have none)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _style(element: ElementTree.Element) -> dict[str, str]:
    """Presentation attributes overridden by the ``style`` attribute's declarations."""
    found = {k: v for k, v in element.attrib.items() if k in {"font-size", "text-anchor",
                                                              "display", "visibility"}}  # fmt: skip
    for declaration in (element.get("style") or "").split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() in {"font-size", "text-anchor", "display", "visibility"}:
            found[name.strip()] = value.strip()
    return found


def _length(value: str | None, em: float = DEFAULT_SIZE) -> float | None:
    match = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-z%]*)\s*",
                         value or "")  # fmt: skip
    if match is None or match.group(2) == "%":
        return None
    unit = match.group(2)
    scale = em if unit == "em" else UNITS.get(unit)
    return None if scale is None else float(match.group(1)) * scale


def _canvas(root: ElementTree.Element) -> tuple[float, float, float, float]:
    """(min x, min y, width, height) of the drawing in user units."""
    box = [float(x) for x in _NUMBER.findall(root.get("viewBox") or "")]
    if len(box) == 4 and box[2] > 0 and box[3] > 0:
        return box[0], box[1], box[2], box[3]
    width = _length(root.get("width")) or 300.0  # CSS's default replaced-element size
    height = _length(root.get("height")) or 150.0
    return 0.0, 0.0, width, height


def check_entities(data: bytes, what: str = "SVG") -> None:
    """Entities only as plain strings (Illustrator's namespace names), never referring to
    other entities or to files; a declaration the check cannot read is refused too. A
    parameter entity naming an external DTD (old RSS feeds pull in XHTML's character names
    that way) is let through: the parser never reads external DTDs, and it names no text."""
    declared = data.count(b"<!ENTITY")
    if not declared:
        return
    found = _ENTITY.findall(data)
    if len(found) != declared or declared > 100:
        raise InvalidInput(f"cannot read the {what}: it declares entities other than plain strings")
    for percent, plain, single, external in found:
        value = plain or single
        if (external and not percent) or b"&" in value or b"%" in value:
            raise InvalidInput(f"cannot read the {what}: it declares an entity that refers to "
                               "other entities or to a file")  # fmt: skip


def _pieces(
    element: ElementTree.Element, at: Matrix, size: float, anchor: str, depth: int = 0
) -> Iterator[tuple[str, Matrix, float, str, float | None, float | None]]:
    """(text, transform, font size, anchor, x, y) per run of a text element: the element's
    own text, then each tspan's (with its own x/y when it sets them), then tails."""
    if depth > MOST_DEPTH:
        raise InvalidInput("cannot read the SVG: it is nested too deeply")
    x = _first_number(element.get("x"))
    y = _first_number(element.get("y"))
    if element.text and element.text.strip():
        yield element.text, at, size, anchor, x, y
    for child in element:
        if local_name(child.tag) in {"tspan", "textPath", "a"}:
            style = _style(child)
            if style.get("display") == "none":
                continue
            child_size = _length(style.get("font-size"), size) or size
            yield from _pieces(child, _times(at, transform_of(child.get("transform"))),
                               child_size, style.get("text-anchor", anchor), depth + 1)  # fmt: skip
        if child.tail and child.tail.strip():
            yield child.tail, at, size, anchor, None, None


def _first_number(value: str | None) -> float | None:
    found = _NUMBER.search(value or "")
    return float(found.group()) if found else None


def _lines(root: ElementTree.Element, origin: tuple[float, float]) -> list[Line]:
    out: list[Line] = []
    stack: list[tuple[ElementTree.Element, Matrix, float, str, int]] = [
        (root, transform_of(root.get("transform")), DEFAULT_SIZE, "start", 0)
    ]
    while stack:
        element, at, size, anchor, depth = stack.pop()
        if depth > MOST_DEPTH:
            raise InvalidInput("cannot read the SVG: it is nested too deeply")
        for child in reversed(list(element)):
            name = local_name(child.tag)
            style = _style(child)
            if name in _HIDDEN or style.get("display") == "none":
                continue
            inner = _times(at, transform_of(child.get("transform")))
            child_size = _length(style.get("font-size"), size) or size
            child_anchor = style.get("text-anchor", anchor)
            if name == "text":
                out.extend(_placed(child, inner, child_size, child_anchor, origin))
            else:
                stack.append((child, inner, child_size, child_anchor, depth + 1))
    return out


def _placed(
    element: ElementTree.Element, at: Matrix, size: float, anchor: str,
    origin: tuple[float, float],
) -> list[Line]:  # fmt: skip
    """A text element's runs as lines on the canvas, runs sharing a baseline joined."""
    lines: list[Line] = []
    pen_x, pen_y = 0.0, 0.0
    for text, matrix, run_size, run_anchor, x, y in _pieces(element, at, size, anchor):
        words = text.split()
        if not words:
            continue
        width = EM_WIDTH * run_size * len(" ".join(words))
        pen_x = x if x is not None else pen_x
        pen_y = y if y is not None else pen_y
        start = pen_x - (width / 2 if run_anchor == "middle" else width if run_anchor == "end"
                         else 0.0)  # fmt: skip
        box = _box(matrix, start, pen_y - ASCENT * run_size, start + width,
                   pen_y + (1 - ASCENT) * run_size, origin)  # fmt: skip
        pen_x = start + width + EM_WIDTH * run_size  # the next run follows on the line
        line = Line(_words(words, box), box, size=run_size)
        if lines and y is None and x is None:
            joined = lines[-1]
            joined.words.extend(line.words)
            joined.box = joined.box.union(box)
        else:
            lines.append(line)
    return lines


def _box(m: Matrix, x0: float, y0: float, x1: float, y1: float,
         origin: tuple[float, float]) -> Box:  # fmt: skip
    corners = [(m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
               for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]  # fmt: skip
    xs = [c[0] - origin[0] for c in corners]
    ys = [c[1] - origin[1] for c in corners]
    return Box(min(xs), min(ys), max(xs), max(ys))


def _words(words: list[str], box: Box) -> list[Word]:
    """Words spread over the run's box by their share of its characters."""
    total = max(len(" ".join(words)), 1)
    out, at = [], 0
    for word in words:
        left = box.x0 + (box.x1 - box.x0) * at / total
        right = box.x0 + (box.x1 - box.x0) * (at + len(word)) / total
        out.append(Word(word, Box(left, box.y0, right, box.y1)))
        at += len(word) + 1
    return out


def drawing(data: bytes) -> tuple[tuple[float, float], list[Line], dict[str, str]]:
    """The canvas size, the text lines on it, and the title / description."""
    check_entities(data)
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 - entities checked above
    except ElementTree.ParseError as exc:
        raise InvalidInput(f"cannot read the SVG: broken XML ({exc})") from exc
    except (LookupError, ValueError) as exc:
        raise InvalidInput(f"cannot read the SVG: {exc}") from exc
    if local_name(root.tag) != "svg":
        raise InvalidInput("cannot read the SVG: its root element is not <svg>")
    min_x, min_y, width, height = _canvas(root)
    notes = {}
    for name in ("title", "desc"):
        found = next((c for c in root if local_name(c.tag) == name), None)
        if found is not None and "".join(found.itertext()).strip():
            notes[name] = " ".join("".join(found.itertext()).split())[:500]
    try:
        lines = _lines(root, (min_x, min_y))
    except RecursionError as exc:
        raise InvalidInput("cannot read the SVG: it is nested too deeply") from exc
    return (width, height), lines, notes


class SvgExtractor(Chunking):
    """SVG drawings: a ``page`` (the canvas), the text's ``block``s and ``line``s where they
    are drawn (anchors exact, extents estimated: ``metadata.boxes``), ``chunk``s (see
    ``docledger.extractors.svg``)."""

    name: str = "svg"
    version: str = "1"
    media_types: tuple[str, ...] = (MEDIA_TYPE,)
    params = dict(CHUNK_PARAMS)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        values = self.check(params)
        (width, height), lines, notes = drawing(data)
        meta = {"boxes": "estimated", **notes}
        return layout_segments(1, (width, height, 0), blocks_of(lines), unit="px",
                               granularity="lines", chunk_size=values["chunk_size"],
                               chunk_overlap=values["chunk_overlap"], page_meta=meta,
                               first_index=0)  # fmt: skip
