"""What OCR engines write: hOCR (Tesseract, OCRmyPDF, Cuneiform), ALTO (libraries' digitised
collections, ABBYY, eScriptorium, kraken) and PAGE XML (Transkribus, OCR-D, kraken).

A team that already ran OCR keeps its results: the text, and where each line and word sits on
the scan. Read as plain HTML or XML, those files lose every box. Here each page becomes a
``page`` segment (the scan's size), its text blocks, lines (and words) with their boxes and
the engine's confidence, in the file's own order, then retrieval chunks; the segments are the
ones the PDF and image extractors write, so search, review and exports treat them alike.

Boxes are the file's, in pixels of the scan it describes (``px``; the page segment's
``metadata.image`` names the scan as the file does); ALTO files measured in
tenths of a millimetre or 1/1200 inch are given in points. A PAGE XML polygon's box is the
smallest upright box around it. Confidences are scaled to 0..1 (hOCR's ``x_wconf`` is a
percentage); a line's is the mean of its words' where the line has none of its own.

Order: hOCR and ALTO in document order (ALTO 4's reading-order groups are not followed);
PAGE XML by its reading order, the regions it leaves out after, in document order. A PAGE
XML region's type (heading, caption, marginalia, ...) is its block's label; an hOCR line with
a ``textangle`` of 90 or 270 is vertical.

Areas the file marks without text are ``zone`` segments of their page, labelled by what they
are: PAGE XML's image, table, graphic, separator ... regions, its text regions and lines that
have no text (layout-only ground truth), ALTO's illustrations and graphical elements, hOCR's
photos, images, separators, tables and formulas; ``metadata.ocr_output`` says what the file
calls each.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any
from xml.etree import ElementTree

from docledger.errors import InvalidInput
from docledger.extractors.base import CHUNK_PARAMS, Chunking, Param
from docledger.extractors.hocr import hocr_pages
from docledger.extractors.layout import Block, Box
from docledger.extractors.ocr_pages import OcrPage, make_line, ordered_box, union_of
from docledger.extractors.page_segments import layout_segments
from docledger.extractors.svg import check_entities, local_name

HOCR = "text/vnd.hocr+html"
ALTO = "application/alto+xml"
PAGE_XML = "application/vnd.prima.page+xml"
GRANULARITIES = ("pages", "blocks", "lines", "words")
PARAMS = {**CHUNK_PARAMS, "granularity": Param(str, "lines", choices=GRANULARITIES)}
#: ALTO's units in points (pixels stay pixels)
ALTO_UNITS = {"mm10": 72 / 254, "inch1200": 72 / 1200}


def _segments(pages: list[OcrPage], unit: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for number, page in enumerate(pages, start=1):
        boxes = [b.box for b in page.blocks if b.box is not None]
        extent = union_of(boxes)
        # a size the file leaves out, or gives as nothing or less: what its contents span
        width = page.width if page.width and page.width > 0 else (extent.x1 if extent else 0.0)
        height = page.height if page.height and page.height > 0 else (extent.y1 if extent else 0.0)
        for block in page.blocks:
            for line in block.lines:
                line.box = _inside(line.box, width, height)
                for word in line.words:
                    word.box = _inside(word.box, width, height)
            block.box = union_of([line.box for line in block.lines])
        first = len(out)
        meta: dict[str, Any] = {}
        if page.image:
            meta["image"] = page.image
        if page.unboxed:
            meta["lines_without_box"] = page.unboxed
        out.extend(
            layout_segments(
                number,
                (width, height, 0),
                [b for b in page.blocks if b.lines],
                unit=unit,
                granularity=values["granularity"],
                chunk_size=values["chunk_size"],
                chunk_overlap=values["chunk_overlap"],
                page_meta=meta,
                first_index=first,
            )
        )
        out.extend(
            {
                "kind": "zone",
                "page_number": number,
                "label": label,
                "text": None,
                "bbox": _inside(box, width, height).as_dict(unit),
                "parent": first,
                "metadata": {"ocr_output": names},
            }
            for label, box, names in page.zones
        )
    return out


def _inside(box: Box, width: float, height: float) -> Box:
    """A box kept on its page (engines round outwards, and some pad past the edge)."""
    x0, x1 = min(max(box.x0, 0.0), width), min(max(box.x1, 0.0), width)
    y0, y1 = min(max(box.y0, 0.0), height), min(max(box.y1, 0.0), height)
    return Box(x0, y0, x1, y1)


# ALTO and PAGE XML ---------------------------------------------------------------------------


def _root(data: bytes, what: str) -> ElementTree.Element:
    check_entities(data, what)
    try:
        return ElementTree.fromstring(data)  # noqa: S314 - entities checked first
    except (ElementTree.ParseError, ValueError) as exc:
        raise InvalidInput(f"cannot read the {what}: not well-formed XML ({exc})") from exc


def _named(element: ElementTree.Element, name: str) -> Iterator[ElementTree.Element]:
    """Descendants of that local name, in document order, whatever their namespace."""
    return (e for e in element.iter() if isinstance(e.tag, str) and local_name(e.tag) == name)


def _children(element: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [e for e in element if isinstance(e.tag, str) and local_name(e.tag) == name]


def _number(element: ElementTree.Element, name: str) -> float | None:
    try:
        value = float(element.get(name, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _alto_box(element: ElementTree.Element, scale: float) -> Box | None:
    x, y = _number(element, "HPOS"), _number(element, "VPOS")
    w, h = _number(element, "WIDTH"), _number(element, "HEIGHT")
    if x is None or y is None or w is None or h is None:
        return None
    return ordered_box(x * scale, y * scale, (x + w) * scale, (y + h) * scale)


def alto_pages(data: bytes) -> tuple[list[OcrPage], str]:
    """The pages and their unit (``px``, or ``pt`` for ALTO's physical units)."""
    root = _root(data, "ALTO file")
    unit_names = [(e.text or "").strip().lower() for e in _named(root, "MeasurementUnit")]
    scale = ALTO_UNITS.get(unit_names[0], 1.0) if unit_names else 1.0
    names = [(e.text or "").strip() for e in _named(root, "fileName")]
    source = names[0] if names and names[0] else None
    pages: list[OcrPage] = []
    for element in _named(root, "Page"):
        w, h = _number(element, "WIDTH"), _number(element, "HEIGHT")
        page = OcrPage(w * scale if w else None, h * scale if h else None, image=source)
        for name, label in (("Illustration", "illustration"), ("GraphicalElement", "graphic")):
            for area in _named(element, name):
                if (box := _alto_box(area, scale)) is not None:
                    page.zones.append((label, box, _kind(area, name, "TYPE")))
        for text_block in _named(element, "TextBlock"):
            block = Block()
            for text_line in _children(text_block, "TextLine"):
                words = []
                for part in text_line:
                    name = local_name(part.tag) if isinstance(part.tag, str) else ""
                    if name == "String":
                        wc = _number(part, "WC")
                        words.append((part.get("CONTENT", ""), _alto_box(part, scale), wc))
                    elif name == "HYP" and words:  # the hyphen a word was broken at
                        text, box, wc = words[-1]
                        words[-1] = (text + part.get("CONTENT", "-"), box, wc)
                line = make_line(words, _alto_box(text_line, scale), "", None)
                if line is not None:
                    block.add(line)
                elif any(t.strip() for t, _, _ in words):
                    page.unboxed += 1
            page.blocks.append(block)
        pages.append(page)
    return pages, ("px" if scale == 1.0 else "pt")


def _points_box(element: ElementTree.Element) -> Box | None:
    """The box around a PAGE ``Coords`` polygon (``points="x,y x,y"`` or 2010's ``Point``s)."""
    coords = _children(element, "Coords")
    if not coords:
        return None
    xs: list[float] = []
    ys: list[float] = []
    for pair in (coords[0].get("points") or "").split():
        x, _, y = pair.partition(",")
        try:
            xs.append(float(x))
            ys.append(float(y))
        except ValueError:
            continue
    for point in _children(coords[0], "Point"):
        x_, y_ = _number(point, "x"), _number(point, "y")
        if x_ is not None and y_ is not None:
            xs.append(x_)
            ys.append(y_)
    finite = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(x + y)]
    if not finite:
        return None
    return Box(min(x for x, _ in finite), min(y for _, y in finite),
               max(x for x, _ in finite), max(y for _, y in finite))  # fmt: skip


def _equiv(element: ElementTree.Element) -> tuple[str | None, float | None]:
    """The text of an element's own ``TextEquiv`` (the first, or index 1 of several) and its
    confidence; (None, None) without one."""
    equivs = _children(element, "TextEquiv")
    if not equivs:
        return None, None
    chosen = next((e for e in equivs if e.get("index") == "1"), equivs[0])
    unicode = _children(chosen, "Unicode")
    text = "".join(unicode[0].itertext()) if unicode else ""
    return text, _number(chosen, "conf")


def _kind(element: ElementTree.Element, name: str, attribute: str = "type") -> dict[str, str]:
    """What the file calls an area: its element, and its type where it gives one (PAGE
    XML's ``type``, ALTO's ``TYPE``)."""
    found = {"element": name}
    if element.get(attribute):
        found["type"] = str(element.get(attribute))[:200]
    return found


def page_xml_pages(data: bytes) -> tuple[list[OcrPage], str]:
    root = _root(data, "PAGE XML file")
    pages: list[OcrPage] = []
    for element in _named(root, "Page"):
        page = OcrPage(_number(element, "imageWidth"), _number(element, "imageHeight"),
                     image=element.get("imageFilename") or None)  # fmt: skip
        rank: dict[str, float] = {}
        for n, ref in enumerate(_named(element, "RegionRefIndexed")):
            index = _number(ref, "index")
            rank.setdefault(ref.get("regionRef", ""), float(n) if index is None else index)
        for n, ref in enumerate(_named(element, "RegionRef")):
            rank.setdefault(ref.get("regionRef", ""), float(n))
        for other in element.iter():
            name = local_name(other.tag) if isinstance(other.tag, str) else ""
            box = _points_box(other) if name.endswith("Region") else None
            if box is not None and name != "TextRegion":
                page.zones.append((name[: -len("Region")].lower(), box, _kind(other, name)))
        regions = list(_named(element, "TextRegion"))
        later = len(rank) + 1.0
        regions.sort(key=lambda r: rank.get(r.get("id", ""), later))  # stable: document order
        for region in regions:
            block = Block(label=region.get("type") or None)
            for text_line in _children(region, "TextLine"):
                text, conf = _equiv(text_line)
                words = []
                for word in _children(text_line, "Word"):
                    word_text, word_conf = _equiv(word)
                    words.append((word_text or "", _points_box(word), word_conf))
                own = " ".join((text or "").split())
                # the words' boxes where they spell the line's own text (or it has none)
                spelled = " ".join(" ".join(t.split()) for t, _, _ in words if t.strip())
                use_words = bool(spelled) and (not own or spelled == own)
                line = make_line(words if use_words else [], _points_box(text_line), own, conf)
                if line is not None:
                    block.add(line)
                elif own or spelled:
                    page.unboxed += 1
                elif (box := _points_box(text_line)) is not None:  # layout without text
                    page.zones.append(("textline", box, _kind(text_line, "TextLine")))
            if not block.lines and (box := _points_box(region)) is not None:
                page.zones.append(("text", box, _kind(region, "TextRegion")))
            page.blocks.append(block)
        pages.append(page)
    return pages, "px"


# extractors ----------------------------------------------------------------------------------


class _OcrOutput(Chunking):
    """The three formats differ in how they are read, not in what they give."""

    name: str
    version: str = "1"
    media_types: tuple[str, ...]
    params = PARAMS

    @staticmethod
    def read(data: bytes) -> tuple[list[OcrPage], str]:
        """The file's pages and their boxes' unit."""
        raise NotImplementedError

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        values = self.check(params)
        pages, unit = self.read(data)
        return _segments(pages, unit, values)


class HocrExtractor(_OcrOutput):
    """hOCR files: per ``ocr_page`` a ``page``, its paragraphs as ``block``s, ``line``s (and
    ``word``s with ``granularity="words"``) with their boxes and confidences, ``chunk``s
    (see ``docledger.extractors.ocr_output``)."""

    name: str = "hocr"
    media_types: tuple[str, ...] = (HOCR,)
    read = staticmethod(hocr_pages)


class AltoExtractor(_OcrOutput):
    """ALTO files: per ``Page`` a ``page``, its ``TextBlock``s, ``TextLine``s (and
    ``String``s) with their boxes and word confidences, ``chunk``s."""

    name: str = "alto"
    media_types: tuple[str, ...] = (ALTO,)
    read = staticmethod(alto_pages)


class PageXmlExtractor(_OcrOutput):
    """PAGE XML files: the ``Page`` as a ``page``, its ``TextRegion``s in reading order as
    ``block``s, ``TextLine``s (and ``Word``s) with the boxes around their polygons, ``chunk``s."""

    name: str = "page-xml"
    media_types: tuple[str, ...] = (PAGE_XML,)
    read = staticmethod(page_xml_pages)
