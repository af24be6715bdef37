"""PDF layout from PDFium (pypdfium2): exact character boxes → words → lines → blocks.

PDFium reports each character's box in the page's user space with every transformation
already applied (``cm``, text matrix, font size, scaling), so CAD exports that move their
origin and pages drawn at a scale come out where they are drawn. The boxes are then put in
docledger's convention: relative to the visible page (the CropBox clipped to the MediaBox),
top-left origin, the page's /Rotate applied, clipped to the page. Characters wholly outside
the visible page are dropped (counted in the page's metadata).

"Loose" character boxes are used: their height is the font's ascent to descent, so a line's
box covers its line of type whatever letters it holds.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors.chunking import spans
from docledger.extractors.layout import Block, Box, Char, Line, blocks_of, split_line, words_of

_BREAKS = {"\r", "\n"}
#: PDFium is not thread-safe: one document is worked on at a time per process (worker
#: threads, the async API's thread pool).
PDFIUM_LOCK = threading.RLock()


@dataclass(frozen=True)
class PageFrame:
    """Maps PDF user space to the displayed page (top-left origin, rotation applied)."""

    left: float
    bottom: float
    right: float
    top: float
    rotation: int  # clockwise degrees: 0, 90, 180, 270

    @property
    def width(self) -> float:
        w = self.right - self.left
        return w if self.rotation in (0, 180) else self.top - self.bottom

    @property
    def height(self) -> float:
        h = self.top - self.bottom
        return h if self.rotation in (0, 180) else self.right - self.left

    def point(self, x: float, y: float) -> tuple[float, float]:
        u, v = x - self.left, self.top - y
        w, h = self.right - self.left, self.top - self.bottom
        if self.rotation == 90:
            return h - v, u
        if self.rotation == 180:
            return w - u, h - v
        if self.rotation == 270:
            return v, w - u
        return u, v

    def box(self, left: float, bottom: float, right: float, top: float) -> Box | None:
        """The box on the displayed page, clipped to it; None when wholly outside."""
        ax, ay = self.point(left, top)
        bx, by = self.point(right, bottom)
        x0, x1 = sorted((ax, bx))
        y0, y1 = sorted((ay, by))
        w, h = self.width, self.height
        if x1 < 0 or y1 < 0 or x0 > w or y0 > h:
            return None
        return Box(max(x0, 0.0), max(y0, 0.0), min(x1, w), min(y1, h))


def frame_of(page: Any) -> PageFrame:
    ml, mb, mr, mt = page.get_mediabox()
    cl, cb, cr, ct = page.get_cropbox()
    left, right = max(min(ml, mr), min(cl, cr)), min(max(ml, mr), max(cl, cr))
    bottom, top = max(min(mb, mt), min(cb, ct)), min(max(mb, mt), max(cb, ct))
    if right <= left or top <= bottom:  # a CropBox outside the MediaBox: PDFium uses the media
        left, bottom, right, top = min(ml, mr), min(mb, mt), max(ml, mr), max(mb, mt)
    rotation = int(page.get_rotation()) % 360
    return PageFrame(float(left), float(bottom), float(right), float(top), rotation)


@dataclass
class PageLayout:
    number: int
    frame: PageFrame
    blocks: list[Block]
    chars: int
    outside: int
    engine_text: str


def page_layout(pdfium: Any, page: Any, number: int) -> PageLayout:
    """One page's blocks in reading order, from PDFium's characters."""
    raw = pdfium.raw
    frame = frame_of(page)
    textpage = page.get_textpage()
    try:
        tp = textpage.raw
        count = raw.FPDFText_CountChars(tp)
        rect = raw.FS_RECTF()
        chars: list[Char | None] = []
        sizes: dict[int, float] = {}
        angles: dict[int, float] = {}
        outside = 0
        line_start = True
        for i in range(count):
            code = raw.FPDFText_GetUnicode(tp, i)
            ch = chr(code) if 0 < code < 0x110000 else ""
            if ch in _BREAKS:
                if not line_start:
                    chars.append(None)
                line_start = True
                continue
            if not ch or ch.isspace() or ch == "\ufffe":
                chars.append(Char(" ", Box(0, 0, 0, 0)))
                continue
            if ch < " " or "\x7f" <= ch < "\xa0":  # control codes some fonts map to: no text
                continue
            if not raw.FPDFText_GetLooseCharBox(tp, i, rect):
                continue
            box = frame.box(rect.left, rect.bottom, rect.right, rect.top)
            if box is None:
                outside += 1
                continue
            if line_start:
                sizes[len(chars)] = float(raw.FPDFText_GetFontSize(tp, i))
                angles[len(chars)] = float(raw.FPDFText_GetCharAngle(tp, i))
                line_start = False
            chars.append(Char(ch, box))
        engine_text = textpage.get_text_range()
    finally:
        textpage.close()
    lines = _lines(chars, sizes, angles, frame.rotation)
    return PageLayout(number, frame, blocks_of(lines), count, outside, engine_text)


def _lines(
    chars: list[Char | None], sizes: dict[int, float], angles: dict[int, float], rotation: int
) -> list[Line]:
    """The engine's lines (split at its breaks), cut further by the layout rules."""
    out: list[Line] = []
    start = 0
    for end in [i for i, c in enumerate(chars) if c is None] + [len(chars)]:
        piece = chars[start:end]
        size = next((sizes[j] for j in range(start, end) if j in sizes), 0.0)
        angle = next((angles[j] for j in range(start, end) if j in angles), 0.0)
        start = end + 1
        for words in words_of(piece):
            if words:
                out.extend(split_line(words, size, _horizontal(angle, rotation)))
    return out


def _horizontal(angle: float, rotation: int) -> bool:
    """Whether text runs left to right on the displayed page (angle in radians, as drawn)."""
    if angle < 0:  # PDFium could not tell
        return True
    shown = (math.degrees(angle) + rotation) % 360
    return min(shown, 360 - shown) < 10


def open_pdf(pdfium: Any, data: bytes, password: str | None) -> Any:
    try:
        return pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            hint = "a wrong password" if password else "encrypted: pass params={'password': ...}"
            raise InvalidInput(f"cannot open the PDF: {hint}") from exc
        raise InvalidInput(f"cannot open the PDF: {message}") from exc


def pages(
    data: bytes, password: str | None = None, only: set[int] | None = None
) -> Iterator[tuple[Any, Any, int]]:
    """(pdfium module, page, number) for each page, one at a time (constant memory)."""
    import pypdfium2 as pdfium  # noqa: PLC0415 - only PDF extraction pays for the import

    with PDFIUM_LOCK:
        doc = open_pdf(pdfium, data, password)
        try:
            for index in range(len(doc)):
                if only is not None and index + 1 not in only:
                    continue
                try:
                    page = doc[index]
                except pdfium.PdfiumError as exc:
                    raise InvalidInput(f"cannot read page {index + 1} of the PDF: {exc}") from exc
                try:
                    yield pdfium, page, index + 1
                finally:
                    page.close()
        finally:
            doc.close()


def page_count(data: bytes) -> int | None:
    """Pages of a PDF, or None when PDFium cannot open it."""
    import pypdfium2 as pdfium  # noqa: PLC0415

    with PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            return None
        try:
            return len(doc)
        finally:
            doc.close()


def layout_segments(
    number: int,
    frame_size: tuple[float, float, int],
    blocks: list[Block],
    *,
    unit: str,
    granularity: str,
    chunk_size: int,
    chunk_overlap: int,
    page_meta: Mapping[str, Any],
    first_index: int,
) -> list[dict[str, Any]]:
    """A page's segments: the page, its blocks, lines (and words), then its chunks.

    ``first_index`` is the page segment's position in the extraction's list (parents are
    indexes into it). Chunks are children of the page and never cross it, so each has one
    page and one box.
    """
    width, height, rotation = frame_size
    ordered_lines = [line for block in blocks for line in block.lines]
    page_text = "\n\n".join(block.text for block in blocks)
    out: list[dict[str, Any]] = [
        {
            "kind": "page",
            "page_number": number,
            "text": page_text,
            "bbox": Box(0, 0, width, height).as_dict(unit),
            "metadata": {
                "width": round(width, 3),
                "height": round(height, 3),
                "rotation": rotation,
                **page_meta,
            },
        }
    ]
    with_blocks = granularity in {"blocks", "lines", "words"}
    with_lines = granularity in {"lines", "words"}
    for block in blocks:
        block_index = first_index + len(out)
        if with_blocks:
            assert block.box is not None
            out.append(
                {
                    "kind": "block",
                    "page_number": number,
                    "text": block.text,
                    "bbox": block.box.as_dict(unit),
                    "parent": first_index,
                }
            )
        if not with_lines:
            continue
        for line in block.lines:
            line_index = first_index + len(out)
            meta: dict[str, Any] = {}
            if line.size:
                meta["font_size"] = round(line.size, 2)
            if not line.horizontal:
                meta["vertical"] = True
            out.append(
                {
                    "kind": "line",
                    "page_number": number,
                    "text": line.text,
                    "bbox": line.box.as_dict(unit),
                    "parent": block_index if with_blocks else first_index,
                    "confidence": line.confidence,
                    "metadata": meta,
                }
            )
            if granularity == "words":
                out.extend(
                    {
                        "kind": "word",
                        "page_number": number,
                        "text": word.text,
                        "bbox": word.box.as_dict(unit),
                        "parent": line_index,
                    }
                    for word in line.words
                )
    if chunk_size > 0:
        out.extend(
            _chunks(number, blocks, ordered_lines, unit, chunk_size, chunk_overlap, first_index)
        )
    return out


def _chunks(
    number: int,
    blocks: list[Block],
    lines: list[Line],
    unit: str,
    size: int,
    overlap: int,
    parent: int,
) -> list[dict[str, Any]]:
    """Retrieval chunks over the page's text: lines joined by spaces, blocks by a blank
    line; each chunk's box is the union of the lines it touches."""
    pieces: list[str] = []
    starts: list[int] = []
    position = 0
    for b, block in enumerate(blocks):
        if b:
            pieces.append("\n\n")
            position += 2
        for n, line in enumerate(block.lines):
            if n:
                pieces.append(" ")
                position += 1
            starts.append(position)
            text = line.text
            pieces.append(text)
            position += len(text)
    text = "".join(pieces)
    ends = [s + len(line.text) for s, line in zip(starts, lines, strict=True)]
    out = []
    for a, z in spans(text, size, overlap):
        touched = [i for i, (s, e) in enumerate(zip(starts, ends, strict=True)) if s < z and e > a]
        if not touched:
            continue
        box = lines[touched[0]].box
        for i in touched[1:]:
            box = box.union(lines[i].box)
        confidences = [c for i in touched if (c := lines[i].confidence) is not None]
        out.append(
            {
                "kind": "chunk",
                "page_number": number,
                "text": text[a:z],
                "bbox": box.as_dict(unit),
                "parent": parent,
                "confidence": min(confidences) if confidences else None,
                "metadata": {"lines": [touched[0], touched[-1]]},
            }
        )
    return out
