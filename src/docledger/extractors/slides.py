"""PowerPoint presentations (PPTX): a page per slide, a block per shape with its exact box.

Slides are documents in which every piece of text sits in a box someone placed, so the file
itself says where each one is: a shape's frame (``a:xfrm``: offset and extent in EMU, 12,700
to the point) is its box, through the transforms of the groups holding it. A placeholder
(title, body) that does not move its frame sits where its slide layout puts the placeholder
of the same index (or type), else where the slide master does, so boxes come from there.
Rotated shapes keep their unrotated frame.

Per slide, in the order of the presentation's slide list: a ``page`` segment (the slide's
size in points; its title and whether it is hidden in the metadata), a ``block`` per shape
with text (paragraphs a line each; a table a row a line, cells joined by `` | ``) in the
slide's drawing order, chunks over them as for a PDF page, and the speaker notes as a
``block`` labelled ``notes`` with chunks of their own (no box: notes are not on the slide).
Charts, SmartArt and embedded objects hold their text in parts of their own and are not read.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from docledger.errors import InvalidInput
from docledger.extractors.base import CHUNK_PARAMS, Chunking
from docledger.extractors.chunking import spans
from docledger.extractors.layout import Block, Box, Line, Word
from docledger.extractors.package import opened, part, relations
from docledger.extractors.page_segments import layout_segments

P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
EMU_PER_PT = 12_700
#: PowerPoint's default slide (10 x 7.5 in) when a presentation does not say its size.
DEFAULT_SIZE = (9_144_000, 6_858_000)
#: Groups nested deeper than this are not followed (no real deck comes near).
MOST_DEPTH = 64
_WHAT = "PPTX"


@dataclass(frozen=True)
class Transform:
    """Child coordinates (EMU) to slide coordinates: x' = dx + sx * x, y' = dy + sy * y."""

    dx: float = 0.0
    dy: float = 0.0
    sx: float = 1.0
    sy: float = 1.0

    def box(self, x: float, y: float, cx: float, cy: float) -> Box:
        x0, y0 = self.dx + self.sx * x, self.dy + self.sy * y
        x1, y1 = x0 + self.sx * cx, y0 + self.sy * cy
        return Box(min(x0, x1) / EMU_PER_PT, min(y0, y1) / EMU_PER_PT,
                   max(x0, x1) / EMU_PER_PT, max(y0, y1) / EMU_PER_PT)  # fmt: skip

    def into(self, xfrm: ElementTree.Element) -> Transform:
        """The transform of a group's children: its child frame mapped onto its frame."""
        off, ext = _pair(xfrm, "off", "x", "y"), _pair(xfrm, "ext", "cx", "cy")
        ch_off, ch_ext = _pair(xfrm, "chOff", "x", "y"), _pair(xfrm, "chExt", "cx", "cy")
        if off is None or ext is None or ch_off is None or ch_ext is None:
            return self
        kx = ext[0] / ch_ext[0] if ch_ext[0] else 1.0
        ky = ext[1] / ch_ext[1] if ch_ext[1] else 1.0
        return Transform(
            self.dx + self.sx * (off[0] - kx * ch_off[0]),
            self.dy + self.sy * (off[1] - ky * ch_off[1]),
            self.sx * kx,
            self.sy * ky,
        )


def _pair(xfrm: ElementTree.Element, tag: str, a: str, b: str) -> tuple[float, float] | None:
    node = xfrm.find(f"{A}{tag}")
    if node is None:
        return None
    try:
        return float(node.get(a, "0")), float(node.get(b, "0"))
    except ValueError:
        return None


def _frame(shape: ElementTree.Element) -> tuple[float, float, float, float] | None:
    """A shape's own frame (x, y, cx, cy in EMU), if it states one."""
    xfrm = shape.find(f"{P}spPr/{A}xfrm")
    if xfrm is None:
        xfrm = shape.find(f"{P}xfrm")  # graphic frames (tables) keep theirs here
    if xfrm is None:
        return None
    off, ext = _pair(xfrm, "off", "x", "y"), _pair(xfrm, "ext", "cx", "cy")
    if off is None or ext is None:
        return None
    return (*off, *ext)


def _placeholder(shape: ElementTree.Element) -> tuple[str, str] | None:
    """(type, index) of a placeholder shape (a body placeholder's type is left out)."""
    ph = shape.find(f"{P}nvSpPr/{P}nvPr/{P}ph")
    if ph is None:
        ph = shape.find(f"{P}nvGraphicFramePr/{P}nvPr/{P}ph")
    if ph is None:
        return None
    return ph.get("type", "obj"), ph.get("idx", "0")


def _paragraphs(body: ElementTree.Element) -> list[str]:
    """The text of a text body, a string per non-empty paragraph."""
    out = []
    for paragraph in body.iter(f"{A}p"):
        pieces = []
        for node in paragraph:
            if node.tag in {f"{A}r", f"{A}fld"}:
                pieces.append("".join(t.text or "" for t in node.iter(f"{A}t")))
            elif node.tag == f"{A}br":
                pieces.append("\n")
        text = "".join(pieces).replace("\x0b", "\n").strip()
        if text:
            out.append(text)
    return out


def _table(frame: ElementTree.Element) -> list[str]:
    """A table's rows, a string each, cells joined by `` | `` (merged-over cells and trailing
    empty ones left out)."""
    rows = []
    for row in frame.iter(f"{A}tr"):
        cells = [
            " ".join(_paragraphs(cell)).replace("\n", " ")
            for cell in row.findall(f"{A}tc")
            if not (cell.get("hMerge") or cell.get("vMerge"))
        ]
        while cells and not cells[-1]:
            cells.pop()  # trailing empty cells say nothing
        if cells:
            rows.append(" | ".join(cells))
    return rows


_TITLES = {"title", "ctrTitle"}


def _kind(ph_type: str) -> str:
    """Placeholder types a master names differently (a slide's ``obj`` sits on its body)."""
    return "title" if ph_type in _TITLES else "body" if ph_type in {"obj", "subTitle"} else ph_type


class Positions:
    """Frames of a layout's and a master's placeholders, by index and by type."""

    def __init__(self, *trees: ElementTree.Element | None) -> None:
        self.levels: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for tree in trees:
            by_index: dict[str, Any] = {}
            by_type: dict[str, Any] = {}
            for shape in [] if tree is None else tree.iter(f"{P}sp"):
                ph, frame = _placeholder(shape), _frame(shape)
                if ph is None or frame is None:
                    continue
                by_index.setdefault(ph[1], frame)
                by_type.setdefault(_kind(ph[0]), frame)
            self.levels.append((by_index, by_type))

    def of(self, ph: tuple[str, str]) -> tuple[float, float, float, float] | None:
        for n, (by_index, by_type) in enumerate(self.levels):
            # the layout matches by index, then type; the master by type alone
            found = (by_index.get(ph[1]) if n == 0 else None) or by_type.get(_kind(ph[0]))
            if found is not None:
                return found  # type: ignore[no-any-return]
        return None


def _shapes(
    tree: ElementTree.Element, where: Transform, positions: Positions, depth: int = 0
) -> Iterator[tuple[Box | None, list[str], bool]]:
    """(box, lines, is the title) per shape with text, in drawing order."""
    if depth > MOST_DEPTH:
        raise InvalidInput(f"cannot read the {_WHAT}: its groups are nested too deeply")
    for shape in tree:
        if shape.tag == f"{MC}AlternateContent":
            # newer shapes come with a fallback for older readers: the first choice is read
            chosen = shape.find(f"{MC}Choice")
            chosen = chosen if chosen is not None else shape.find(f"{MC}Fallback")
            if chosen is not None:
                yield from _shapes(chosen, where, positions, depth + 1)
            continue
        if shape.tag == f"{P}grpSp":
            xfrm = shape.find(f"{P}grpSpPr/{A}xfrm")
            inner = where.into(xfrm) if xfrm is not None else where
            yield from _shapes(shape, inner, positions, depth + 1)
            continue
        if shape.tag == f"{P}sp":
            body = shape.find(f"{P}txBody")
            lines = _paragraphs(body) if body is not None else []
        elif shape.tag == f"{P}graphicFrame":
            lines = _table(shape)
        else:  # pictures, connectors, embedded content
            continue
        if not lines:
            continue
        ph = _placeholder(shape)
        frame = _frame(shape) or (positions.of(ph) if ph is not None else None)
        box = where.box(*frame) if frame is not None else None
        yield box, lines, ph is not None and ph[0] in _TITLES


def _slide_size(presentation: ElementTree.Element) -> tuple[float, float]:
    size = presentation.find(f"{P}sldSz")
    try:
        cx = float(size.get("cx", "")) if size is not None else 0.0
        cy = float(size.get("cy", "")) if size is not None else 0.0
    except ValueError:
        cx = cy = 0.0
    return (cx, cy) if cx > 0 and cy > 0 else DEFAULT_SIZE


def _notes(archive: zipfile.ZipFile, name: str | None) -> str:
    """The speaker notes: the text of the notes page's body placeholder."""
    tree = part(archive, name, _WHAT) if name else None
    if tree is None:
        return ""
    texts = []
    for shape in tree.iter(f"{P}sp"):
        ph = _placeholder(shape)
        body = shape.find(f"{P}txBody")
        if ph is not None and ph[0] == "body" and body is not None:
            texts.extend(_paragraphs(body))
    return "\n".join(texts)


@dataclass
class Slide:
    number: int
    hidden: bool
    blocks: list[tuple[Box | None, list[str], bool]]
    notes: str


def slides(data: bytes) -> tuple[tuple[float, float], list[Slide]]:
    """The slide size (points) and every slide, in the presentation's order."""
    with opened(data, _WHAT) as archive:
        presentation = part(archive, "ppt/presentation.xml", _WHAT)
        if presentation is None:
            raise InvalidInput(f"cannot read the {_WHAT}: it has no ppt/presentation.xml")
        width, height = _slide_size(presentation)
        targets = relations(archive, "ppt/presentation.xml", _WHAT)
        found: list[Slide] = []
        masters: dict[str, ElementTree.Element | None] = {}
        for entry in presentation.iter(f"{P}sldId"):
            kind, name = targets.get(entry.get(f"{R}id", ""), ("", ""))
            tree = part(archive, name, _WHAT) if kind == "slide" else None
            if tree is None:
                continue  # a slide list entry naming no slide part: nothing to read
            rels = dict(relations(archive, name, _WHAT).values())
            layout = part(archive, rels["slideLayout"], _WHAT) if "slideLayout" in rels else None
            master_name = (
                dict(relations(archive, rels["slideLayout"], _WHAT).values()).get("slideMaster")
                if "slideLayout" in rels
                else None
            )
            if master_name is not None and master_name not in masters:
                masters[master_name] = part(archive, master_name, _WHAT)
            positions = Positions(layout, masters.get(master_name) if master_name else None)
            tree_root = tree.find(f"{P}cSld/{P}spTree")
            blocks = [] if tree_root is None else list(_shapes(tree_root, Transform(), positions))
            found.append(
                Slide(len(found) + 1, tree.get("show") == "0", blocks,
                      _notes(archive, rels.get("notesSlide")))
            )  # fmt: skip
    return (width / EMU_PER_PT, height / EMU_PER_PT), found


class SlidesExtractor(Chunking):
    """PowerPoint presentations: per slide a ``page``, a ``block`` per shape with its box in
    points, chunks, and the speaker notes (see ``docledger.extractors.slides``)."""

    name: str = "pptx"
    version: str = "1"
    media_types: tuple[str, ...] = (MEDIA_TYPE,)
    params = dict(CHUNK_PARAMS)

    @staticmethod
    def slides(data: bytes) -> tuple[tuple[float, float], list[Slide]]:
        """The slide size and the slides (the format's own reading)."""
        return slides(data)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        values = self.check(params)
        size, deck = self.slides(data)
        page = Box(0, 0, *size)
        out: list[dict[str, Any]] = []
        for slide in deck:
            blocks = []
            for box, lines, _title in slide.blocks:
                where = box or page  # a placeholder no layout places: the slide itself
                blocks.append(Block([Line([Word(t, where)], where) for t in lines], where))
            title = next((" ".join(lines) for _, lines, is_title in slide.blocks if is_title), "")
            meta: dict[str, Any] = {"title": title[:200]} if title else {}
            if slide.hidden:
                meta["hidden"] = True
            first = len(out)
            out.extend(
                layout_segments(slide.number, (size[0], size[1], 0), blocks, unit="pt",
                                granularity="blocks", chunk_size=values["chunk_size"],
                                chunk_overlap=values["chunk_overlap"], page_meta=meta,
                                first_index=first)
            )  # fmt: skip
            if slide.notes:
                out.extend(_notes_segments(slide, first, len(out), values))
        return out


def _notes_segments(
    slide: Slide, page: int, at: int, values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The notes as a block of the slide's page (no box) and its chunks."""
    text = slide.notes
    out: list[dict[str, Any]] = [
        {"kind": "block", "label": "notes", "page_number": slide.number, "text": text,
         "parent": page, "metadata": {"notes": True}}
    ]  # fmt: skip
    if values["chunk_size"] > 0:
        out.extend(
            {"kind": "chunk", "page_number": slide.number, "text": text[a:z], "parent": at,
             "metadata": {"notes": True, "start": a, "end": z}}
            for a, z in spans(text, values["chunk_size"], values["chunk_overlap"])
        )  # fmt: skip
    return out
