"""PowerPoint 97-2003 presentations (``.ppt``): a page per slide, a block per shape with its box.

A ``.ppt`` is an OLE compound file (read with ``olefile``) whose ``PowerPoint Document``
stream is a tree of records, found through its persist directory ([MS-PPT] 2.3): the
``Current User`` stream names the last edit, each edit's UserEditAtom names its persist
directory (object id to stream offset; newer edits override older ones) and the document.
The document's slide list gives the slides in order, each with the text of its placeholders
(title, body); each slide's drawing ([MS-ODRAW]) holds its shapes, each with its anchor (a
rectangle in master units, 576 to the inch, so 8 to the point; a shape in a group in the
group's own coordinates) and its text, or a reference to placeholder text in the slide list.

The result is what the pptx extractor gives (``docledger.extractors.slides``): per slide a
``page`` (slide size in points; its title), a ``block`` per shape with text in drawing order
with its box, chunks, and the speaker notes as a ``block`` labelled ``notes``. Placeholder
text no shape points at still becomes a block (without a box of its own). Encrypted
presentations are refused with an ``InvalidInput`` that says so.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors import compound
from docledger.extractors.layout import Box
from docledger.extractors.slides import MOST_DEPTH, Slide, SlidesExtractor

MEDIA_TYPE = "application/vnd.ms-powerpoint"
WHAT = "PowerPoint 97-2003 presentation"
#: record types ([MS-PPT] 2.13.24, [MS-ODRAW] 2.2)
DOCUMENT, DOCUMENT_ATOM, SLIDE, SLIDE_ATOM, NOTES = 0x03E8, 0x03E9, 0x03EE, 0x03EF, 0x03F0
SLIDE_LIST, SLIDE_PERSIST, USER_EDIT, PERSIST_DIRECTORY = 0x0FF0, 0x03F3, 0x0FF5, 0x1772
TEXT_HEADER, TEXT_CHARS, TEXT_BYTES, OUTLINE_TEXT_REF = 0x0F9F, 0x0FA0, 0x0FA8, 0x0F9E
SHAPE_GROUP, SHAPE, GROUP_RECT = 0xF003, 0xF004, 0xF009
CHILD_ANCHOR, CLIENT_ANCHOR, CLIENT_TEXTBOX = 0xF00F, 0xF010, 0xF00D
#: the Current User's headerToken of an encrypted presentation
ENCRYPTED_TOKEN = 0xF3D1C4DF
#: TextHeaderAtom types of titles (title, centred title)
TITLES = {0, 6}
#: master units per point
PER_PT = 8.0
#: the most edits followed back, and slides read
MOST_EDITS, MOST_SLIDES = 10_000, 10_000


def _refuse(why: str) -> InvalidInput:
    return compound.refused(WHAT, why)


class _Records:
    """The PowerPoint Document stream as records: (type, version and instance, body start,
    body end); the version's low four bits are 0xF for a container."""

    def __init__(self, stream: bytes) -> None:
        self.stream = stream

    def at(self, pos: int) -> tuple[int, int, int, int]:
        if pos < 0 or pos + 8 > len(self.stream):
            raise _refuse("a record lies outside the PowerPoint Document stream")
        version_instance, kind, size = struct.unpack_from("<HHI", self.stream, pos)
        end = pos + 8 + size
        if end > len(self.stream):
            raise _refuse("a record is cut short")
        return kind, version_instance, pos + 8, end

    def children(self, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
        pos = start
        while pos + 8 <= end:
            found = self.at(pos)
            yield found
            pos = found[3]

    def find(self, start: int, end: int, kind: int) -> tuple[int, int, int, int] | None:
        return next((c for c in self.children(start, end) if c[0] == kind), None)

    def u32(self, pos: int) -> int:
        if pos + 4 > len(self.stream):
            raise _refuse("a record is cut short")
        return int(struct.unpack_from("<I", self.stream, pos)[0])

    def text(self, kind: int, start: int, end: int) -> str:
        raw = self.stream[start:end]
        text = raw.decode("utf-16-le" if kind == TEXT_CHARS else "latin-1", errors="replace")
        return text.replace("\x0b", "\r").replace("\x00", "")  # NULs: not text


def _persist(records: _Records, current_edit: int) -> tuple[dict[int, int], int]:
    """The persist directory (newest edits win) and the document's persist id."""
    directory: dict[int, int] = {}
    document: int | None = None
    seen: set[int] = set()
    pos = current_edit
    while pos and pos not in seen and len(seen) < MOST_EDITS:
        seen.add(pos)
        kind, _, start, end = records.at(pos)
        if kind != USER_EDIT or end - start < 20:
            raise _refuse("its edit history is broken")
        if document is None:
            document = records.u32(start + 16)
        kind, _, first, last = records.at(records.u32(start + 12))
        if kind != PERSIST_DIRECTORY:
            raise _refuse("its persist directory is missing")
        at = first
        while at + 4 <= last:
            entry = records.u32(at)
            base, count = entry & 0xFFFFF, entry >> 20
            for n in range(count):
                directory.setdefault(base + n, records.u32(at + 4 + 4 * n))
            at += 4 + 4 * count
        pos = records.u32(start + 8)  # the edit before this one (0: none)
    if document is None or document not in directory:
        raise _refuse("it names no document")
    return directory, document


def _slide_texts(records: _Records, start: int, end: int) -> dict[int, list[tuple[int, str]]]:
    """Per slide (or notes) persist id: the (text type, text) of its placeholders, from a
    slide list."""
    out: dict[int, list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] | None = None
    kind_of_text = 4  # "other" until a TextHeaderAtom says
    for kind, _, first, last in records.children(start, end):
        if kind == SLIDE_PERSIST and last - first >= 4:
            current = out.setdefault(records.u32(first), [])
        elif kind == TEXT_HEADER and last - first >= 4:
            kind_of_text = records.u32(first)
        elif kind in (TEXT_CHARS, TEXT_BYTES) and current is not None:
            current.append((kind_of_text, records.text(kind, first, last)))
    return out


class _Drawing:
    """The shapes of one slide's (or notes page's) drawing: (box, text, is title) each."""

    def __init__(self, records: _Records, placeholders: list[tuple[int, str]]) -> None:
        self.records, self.placeholders = records, placeholders
        self.used: set[int] = set()
        self.blocks: list[tuple[Box | None, str, bool]] = []

    def read(self, start: int, end: int, depth: int = 0, frame: Any = None) -> None:
        """Shapes within [start, end); ``frame``: a group's (its coordinates, its box)."""
        if depth > MOST_DEPTH:
            raise _refuse("its shapes are nested too deeply")
        for kind, version, first, last in self.records.children(start, end):
            if kind == SHAPE_GROUP:
                self._group(first, last, depth, frame)
            elif kind == SHAPE:
                self._shape(first, last, frame)
            elif version & 0xF == 0xF:  # a container (the drawing's, the slide's own)
                self.read(first, last, depth + 1, frame)

    def _group(self, start: int, end: int, depth: int, frame: Any) -> None:
        if depth > MOST_DEPTH:
            raise _refuse("its shapes are nested too deeply")
        shapes = list(self.records.children(start, end))
        if not shapes:
            return
        kind, _, first, last = shapes[0]  # the group's own shape: its coordinates and box
        inner = frame
        if kind == SHAPE:
            coords = self.records.find(first, last, GROUP_RECT)
            box = self._anchor(first, last, frame)
            if coords is not None and box is not None and coords[3] - coords[2] >= 16:
                left, top, right, bottom = struct.unpack_from("<iiii", self.records.stream,
                                                              coords[2])  # fmt: skip
                inner = ((left, top, right, bottom), box)
        for kind, _, first, last in shapes[1:]:
            if kind == SHAPE_GROUP:
                self._group(first, last, depth + 1, inner)
            elif kind == SHAPE:
                self._shape(first, last, inner)

    def _anchor(self, start: int, end: int, frame: Any) -> Box | None:
        """The shape's box in points: its client anchor, or in a group its child anchor
        mapped from the group's coordinates onto the group's box."""
        stream = self.records.stream
        child = self.records.find(start, end, CHILD_ANCHOR)
        if frame is not None and child is not None and child[3] - child[2] >= 16:
            left, top, right, bottom = struct.unpack_from("<iiii", stream, child[2])
            (g_left, g_top, g_right, g_bottom), box = frame
            sx = (box.x1 - box.x0) / (g_right - g_left) if g_right != g_left else 0.0
            sy = (box.y1 - box.y0) / (g_bottom - g_top) if g_bottom != g_top else 0.0
            return Box(box.x0 + (left - g_left) * sx, box.y0 + (top - g_top) * sy,
                       box.x0 + (right - g_left) * sx, box.y0 + (bottom - g_top) * sy)  # fmt: skip
        anchor = self.records.find(start, end, CLIENT_ANCHOR)
        if anchor is None:
            return None
        size = anchor[3] - anchor[2]
        if size >= 16:
            top, left, right, bottom = struct.unpack_from("<iiii", stream, anchor[2])
        elif size >= 8:
            top, left, right, bottom = struct.unpack_from("<hhhh", stream, anchor[2])
        else:
            return None
        return Box(left / PER_PT, top / PER_PT, right / PER_PT, bottom / PER_PT)

    def _shape(self, start: int, end: int, frame: Any) -> None:
        box = self._anchor(start, end, frame)
        textbox = self.records.find(start, end, CLIENT_TEXTBOX)
        if textbox is None:
            return
        kind_of_text = 4
        for kind, _, first, last in self.records.children(textbox[2], textbox[3]):
            if kind == TEXT_HEADER and last - first >= 4:
                kind_of_text = self.records.u32(first)
            elif kind in (TEXT_CHARS, TEXT_BYTES):
                text = self.records.text(kind, first, last)
                self.blocks.append((box, text, kind_of_text in TITLES))
            elif kind == OUTLINE_TEXT_REF and last - first >= 4:
                index = self.records.u32(first)
                if index < len(self.placeholders):
                    self.used.add(index)
                    text_type, text = self.placeholders[index]
                    self.blocks.append((box, text, text_type in TITLES))

    def unplaced(self) -> list[tuple[Box | None, str, bool]]:
        """Placeholder text no shape points at."""
        return [(None, text, text_type in TITLES)
                for n, (text_type, text) in enumerate(self.placeholders)
                if n not in self.used]  # fmt: skip


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\r") if line.strip()]


def slides(data: bytes) -> tuple[tuple[float, float], list[Slide]]:
    """The slide size (points) and every slide, in the presentation's order."""
    with compound.opened(data, WHAT) as ole:
        stream = compound.stream(ole, "PowerPoint Document", WHAT)
        user = compound.stream(ole, "Current User", WHAT)
        if len(user) < 20:
            raise _refuse("its Current User stream is cut short")
        token, current_edit = struct.unpack_from("<II", user, 12)
        if token == ENCRYPTED_TOKEN:
            raise _refuse("it is encrypted (save it without a password, or as .pptx)")
        records = _Records(stream)
        directory, document_id = _persist(records, current_edit)
        kind, _, start, end = records.at(directory[document_id])
        if kind != DOCUMENT:
            raise _refuse("its document record is not where the directory says")
        size = (720.0, 540.0)
        texts: dict[int, list[tuple[int, str]]] = {}
        order: list[int] = []
        for kind, instance, first, last in records.children(start, end):
            if kind == DOCUMENT_ATOM and last - first >= 8:
                width, height = struct.unpack_from("<ii", stream, first)
                size = (width / PER_PT, height / PER_PT)
            elif kind == SLIDE_LIST and instance >> 4 in (0, 2):
                listed = _slide_texts(records, first, last)
                texts.update(listed)
                if instance >> 4 == 0:
                    order.extend(listed)
        found = [_slide(records, directory, texts, persist_id, n + 1)
                 for n, persist_id in enumerate(order[:MOST_SLIDES])]  # fmt: skip
    return size, [s for s in found if s is not None]


def _slide(
    records: _Records,
    directory: dict[int, int],
    texts: dict[int, list[tuple[int, str]]],
    persist_id: int,
    number: int,
) -> Slide | None:
    if persist_id not in directory:
        return None
    kind, _, start, end = records.at(directory[persist_id])
    if kind != SLIDE:
        return None
    drawing = _Drawing(records, texts.get(persist_id, []))
    drawing.read(start, end)
    notes = ""
    atom = records.find(start, end, SLIDE_ATOM)
    notes_id = records.u32(atom[2] + 16) if atom is not None and atom[3] - atom[2] >= 20 else 0
    if notes_id and notes_id in directory:
        kind, _, first, last = records.at(directory[notes_id])
        if kind == NOTES:
            page = _Drawing(records, texts.get(notes_id, []))
            page.read(first, last)
            notes = "\n".join(t for _, t, _ in [*page.blocks, *page.unplaced()])
    blocks = [(box, _lines(text), title)
              for box, text, title in [*drawing.blocks, *drawing.unplaced()]
              if _lines(text)]  # fmt: skip
    return Slide(number, False, blocks, "\n".join(_lines(notes.replace("\n", "\r"))))


class PptExtractor(SlidesExtractor):
    """PowerPoint 97-2003 presentations: the same segments as for PPTX (see
    ``docledger.extractors.powerpoint97``)."""

    name: str = "ppt"
    version: str = "1"
    media_types: tuple[str, ...] = (MEDIA_TYPE,)

    @staticmethod
    def slides(data: bytes) -> tuple[tuple[float, float], list[Slide]]:
        return slides(data)
