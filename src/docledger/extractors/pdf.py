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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors.layout import WORD_GAP, Block, Box, Line, Word, blocks_of, split_line

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

    def place(self, box: Any) -> tuple[Any, Any, Any, Any, Any]:
        """``box`` (n x 4: left, bottom, right, top in user space) on the shown page: x0, y0,
        x1, y1 clipped to the page, and whether each box touches the page at all."""
        import numpy as np  # noqa: PLC0415

        ax, ay = self._points(box[:, 0], box[:, 3])
        bx, by = self._points(box[:, 2], box[:, 1])
        x0, x1 = np.minimum(ax, bx), np.maximum(ax, bx)
        y0, y1 = np.minimum(ay, by), np.maximum(ay, by)
        w, h = self.width, self.height
        inside = (x1 >= 0) & (y1 >= 0) & (x0 <= w) & (y0 <= h)
        return (
            np.clip(x0, 0.0, w),
            np.clip(y0, 0.0, h),
            np.clip(x1, 0.0, w),
            np.clip(y1, 0.0, h),
            inside,
        )

    def _points(self, x: Any, y: Any) -> tuple[Any, Any]:
        u, v = x - self.left, self.top - y
        w, h = self.right - self.left, self.top - self.bottom
        if self.rotation == 90:
            return h - v, u
        if self.rotation == 180:
            return w - u, h - v
        if self.rotation == 270:
            return v, w - u
        return u, v


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
    kept: int  # characters placed in words
    swapped: int = 0  # characters read back from byte-swapped code points


#: A page whose text is at least this share of byte-swapped code points (below) is read with
#: their bytes swapped back.
SWAPPED_SHARE = 0.3


#: Code points that separate words (PDFium's generated spaces included) and that end lines.
_SPACES = [0, 9, 11, 12, 32, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFFFE]
_SPACES += list(range(0x2000, 0x200B))
_LINE_BREAKS = [10, 13]


def page_layout(pdfium: Any, page: Any, number: int) -> PageLayout:
    """One page's blocks in reading order, from PDFium's characters.

    The per-character work is two calls into PDFium (code point and box); everything else
    (placing boxes on the shown page, word and line breaks, word boxes) is done with numpy
    over the whole page, so the layout costs little more than reading the characters."""
    import numpy as np  # noqa: PLC0415 - numpy is imported on first use (see search.py)

    raw = pdfium.raw
    frame = frame_of(page)
    textpage = page.get_textpage()
    try:
        tp = textpage.raw
        count = raw.FPDFText_CountChars(tp)
        get_code, get_box = raw.FPDFText_GetUnicode, raw.FPDFText_GetLooseCharBox
        rects = (raw.FS_RECTF * max(count, 1))()  # left, top, right, bottom as float32
        has_box = bytearray(count)
        codes = [0] * count
        for i in range(count):
            code = get_code(tp, i)
            codes[i] = code
            if code > 32 and code != 0xFFFE:
                has_box[i] = get_box(tp, i, rects[i])
        code_arr = np.asarray(codes, dtype=np.int64)
        has_text = np.frombuffer(bytes(has_box), dtype=np.uint8).astype(bool)
        swapped = _swap_back(code_arr, has_text)  # before spaces: U+3000 may be a "0"
        breaks = np.isin(code_arr, _LINE_BREAKS)
        spaces = np.isin(code_arr, _SPACES)
        control = (
            (
                (code_arr < 32)
                | ((code_arr >= 0x7F) & (code_arr < 0xA0))
                | ((code_arr >= 0xD800) & (code_arr < 0xE000))
                | (code_arr >= 0x110000)
            )
            & ~breaks
            & ~spaces
        )
        text_mask = has_text & ~control & ~spaces & ~breaks
        ltrb = np.frombuffer(rects, dtype=np.float32, count=4 * count).reshape(count, 4)
        box = ltrb[:, [0, 3, 2, 1]].astype(np.float64)  # left, bottom, right, top
        x0, y0, x1, y1, inside = frame.place(box)
        keep = text_mask & inside
        outside = int((text_mask & ~inside).sum())
        index = np.flatnonzero(keep)
        lines, sizes, angles = _segment(index, code_arr, breaks, spaces, x0, y0, x1, y1)
        size_of = {i: float(raw.FPDFText_GetFontSize(tp, i)) for i in sizes}
        angle_of = {i: float(raw.FPDFText_GetCharAngle(tp, i)) for i in angles}
    finally:
        textpage.close()
    out: list[Line] = []
    for words, first in lines:
        horizontal = _horizontal(angle_of[first], frame.rotation)
        out.extend(split_line(words, size_of[first], horizontal))
    return PageLayout(number, frame, blocks_of(out), count, outside, len(index), swapped)


def _swap_back(codes: Any, text: Any) -> int:
    """Repair, in place, text whose font maps each glyph to its UTF-16 code unit with the
    bytes swapped ("M" read as U+4D00, "0" as U+3000): a broken ToUnicode map some producers
    write (OCRmyPDF's ``cmyk.pdf``: "MulticolorBlack" came out as CJK ideographs). A code
    point whose low byte is zero and whose high byte is printable ASCII is that pattern;
    where such code points are at least ``SWAPPED_SHARE`` of the page's text (real CJK text
    has them at a rate of about one in a hundred: U+4E00 is common), they are read as their
    high byte. Runs before spaces are told apart (U+3000 is an ideographic space, or a "0").
    Returns how many were read back."""
    high = codes >> 8
    pattern = text & ((codes & 0xFF) == 0) & (high >= 0x20) & (high <= 0x7E)
    found = int(pattern.sum())
    if found < 4 or found < SWAPPED_SHARE * int(text.sum()):
        return 0
    codes[pattern] = high[pattern]
    return found


def _segment(
    index: Any, codes: Any, breaks: Any, spaces: Any, x0: Any, y0: Any, x1: Any, y1: Any
) -> tuple[list[tuple[list[Word], int]], set[int], set[int]]:
    """Words (grouped by the engine's lines) from the kept characters at ``index``: a word
    ends at a space or line break between two kept characters, or at a gap wider than
    WORD_GAP character heights (or a step backwards)."""
    import numpy as np  # noqa: PLC0415

    if len(index) == 0:
        return [], set(), set()
    line_no = np.cumsum(breaks)[index]
    space_no = np.cumsum(spaces)[index]
    kx0, ky0, kx1, ky1 = x0[index], y0[index], x1[index], y1[index]
    height = ky1 - ky0
    new_word = np.ones(len(index), dtype=bool)
    if len(index) > 1:
        h = np.maximum(height[1:], height[:-1])
        gap = kx0[1:] - kx1[:-1]
        new_word[1:] = (
            (line_no[1:] != line_no[:-1])
            | (space_no[1:] != space_no[:-1])
            | (gap > WORD_GAP * h)
            | (kx1[1:] < kx0[:-1] - WORD_GAP * h)
        )
    starts = np.flatnonzero(new_word)
    ends = np.append(starts[1:], len(index))
    wx0 = np.minimum.reduceat(kx0, starts)
    wy0 = np.minimum.reduceat(ky0, starts)
    wx1 = np.maximum.reduceat(kx1, starts)
    wy1 = np.maximum.reduceat(ky1, starts)
    text = np.asarray(codes, dtype=np.uint32)[index].tobytes().decode("utf-32-le")
    lines: list[tuple[list[Word], int]] = []
    firsts: set[int] = set()
    current = -1
    line_of, char_of = line_no.tolist(), index.tolist()
    boxes = zip(wx0.tolist(), wy0.tolist(), wx1.tolist(), wy1.tolist(), strict=True)
    for a, b, (bx0, by0, bx1, by1) in zip(starts.tolist(), ends.tolist(), boxes, strict=True):
        if line_of[a] != current:
            current = line_of[a]
            first = char_of[a]
            firsts.add(first)
            lines.append(([], first))
        lines[-1][0].append(Word(text[a:b], Box(bx0, by0, bx1, by1)))
    return lines, firsts, firsts


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
            hint = (
                "a wrong password"
                if password
                else 'encrypted: give its password as the param "password" (used, never stored)'
            )
            raise InvalidInput(f"cannot open the PDF: {hint}") from exc
        raise InvalidInput(f"cannot open the PDF: {message}") from exc


def pages(
    data: bytes, password: str | None = None, only: set[int] | None = None
) -> Iterator[tuple[Any, Any, int]]:
    """(pdfium module, page, number) for each page, one at a time (constant memory). The
    form environment is set up first, so filled-in fields are drawn on rendered pages and
    readable (``docledger.extractors.pdf_forms``; ``page.pdf.formenv``)."""
    import pypdfium2 as pdfium  # noqa: PLC0415 - only PDF extraction pays for the import

    from docledger.extractors.pdf_forms import enable  # noqa: PLC0415

    with PDFIUM_LOCK:
        doc = open_pdf(pdfium, data, password)
        try:
            enable(doc)
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


def page_count(data: bytes) -> int | str:
    """Pages of a PDF, or why PDFium cannot open it (``encrypted`` when it needs a
    password)."""
    import pypdfium2 as pdfium  # noqa: PLC0415

    with PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            return "encrypted" if "password" in str(exc).lower() else str(exc)
        try:
            return len(doc)
        finally:
            doc.close()
