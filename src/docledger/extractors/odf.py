"""OpenDocument text and spreadsheets (ODT, ODS: LibreOffice's and many governments' formats).

An OpenDocument file is a zip package (``docledger.extractors.package``: zip bombs and DTDs
refused, which turns away the external-entity trick of a hostile file) whose body is in
``content.xml``.

- Text (ODT): headings (``text:h``) open sections, as Word's heading styles do in a DOCX;
  paragraphs, list items, frames' text boxes and sections are read in order, tables a row a
  line with cells joined by `` | ``; spaces (``text:s``), tabs and line breaks kept; tracked
  deletions and comments are not text. Footnotes and endnotes follow the body as sections of
  their own (``metadata.part``), each numbered by its citation, as in a DOCX.
- Spreadsheets (ODS): a ``record`` per row of every sheet, as a CSV's rows are
  (``docledger.extractors.table``), with the sheet's name in its metadata; repeated empty
  rows and columns (how a sheet says "nothing until column XFD") are never expanded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from xml.etree import ElementTree

from docledger.errors import InvalidInput
from docledger.extractors.package import opened, part
from docledger.extractors.table import records
from docledger.extractors.text import TextExtractor, sectioned
from docledger.schemas.extraction import SegmentIn

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
#: A repeated row or cell with content is written out at most this many times.
MOST_REPEAT = 1_000
#: Columns a row is read to (a spreadsheet has at most 16,384).
MOST_COLUMNS = 16_384
#: Cells (with content) read from one spreadsheet.
MOST_CELLS = 5_000_000
_SKIPPED = {
    f"{TEXT}note-citation",
    f"{TEXT}tracked-changes",
    f"{OFFICE}annotation",
    f"{OFFICE}annotation-end",
}
_BLOCKS = {f"{TEXT}p", f"{TEXT}h"}
_CONTAINERS = {
    f"{TEXT}list", f"{TEXT}list-item", f"{TEXT}list-header", f"{TEXT}section",
    f"{TEXT}numbered-paragraph", f"{DRAW}frame", f"{DRAW}text-box", f"{TEXT}index-body",
    f"{TEXT}table-of-content", f"{TEXT}illustration-index", f"{TEXT}alphabetical-index",
    f"{TEXT}bibliography", f"{OFFICE}text",
}  # fmt: skip


def _inline(element: ElementTree.Element) -> Iterator[str | ElementTree.Element]:
    """A paragraph's text in order; frames anchored in it are handed back as elements."""
    if element.text:
        yield element.text
    for child in element:
        tag = child.tag
        if tag == f"{TEXT}s":
            count = child.get(f"{TEXT}c", "1")
            yield " " * (min(int(count), 1_000) if count.isdigit() else 1)
        elif tag == f"{TEXT}tab":
            yield "\t"
        elif tag == f"{TEXT}line-break":
            yield "\n"
        elif tag == f"{DRAW}frame":
            yield child
        elif tag == f"{TEXT}note":
            pass  # its citation is a number, its body a footnote: not the sentence's text
        elif tag not in _SKIPPED:
            yield from _inline(child)
        if child.tail:
            yield child.tail


def blocks(container: ElementTree.Element, depth: int = 0) -> Iterator[tuple[str, bool]]:
    """(text, is a heading) per paragraph or table, in order."""
    if depth > 200:
        raise InvalidInput("cannot read the OpenDocument file: it is nested too deeply")
    for child in container:
        tag = child.tag
        if tag in _BLOCKS:
            pieces = list(_inline(child))
            frames = [p for p in pieces if not isinstance(p, str)]
            text = "".join(p for p in pieces if isinstance(p, str)).strip()
            if text:
                yield text, tag == f"{TEXT}h" and "\n" not in text
            for frame in frames:
                yield from blocks(frame, depth + 1)
        elif tag == f"{TABLE}table":
            lines = [" | ".join(c.replace("\n", " ") for c in cells) for cells in _rows(child)]
            kept = "\n".join(line for line in lines if line.strip(" |"))
            if kept:
                yield kept, False
        elif tag in _CONTAINERS:
            yield from blocks(child, depth + 1)


def _cell_text(cell: ElementTree.Element) -> str:
    return "\n".join(text for text, _ in blocks(cell)).strip()


def _rows(table: ElementTree.Element) -> Iterator[list[str]]:
    """A table's rows as lists of cell texts (row groups and headers included), repeated
    rows and cells written out only when they hold something."""
    for row in _row_elements(table):
        cells: list[str] = []
        for cell in row:
            if cell.tag not in {f"{TABLE}table-cell", f"{TABLE}covered-table-cell"}:
                continue
            text = _cell_text(cell)
            times = _repeat(cell, "number-columns-repeated")
            cells.extend([text] * min(times, MOST_REPEAT if text else MOST_COLUMNS))
            if len(cells) > MOST_COLUMNS:
                del cells[MOST_COLUMNS:]
                break
        while cells and not cells[-1]:
            cells.pop()
        for _ in range(min(_repeat(row, "number-rows-repeated"), MOST_REPEAT) if cells else 1):
            yield cells


_ROW_GROUPS = {f"{TABLE}{n}" for n in ("table-rows", "table-header-rows", "table-row-group")}


def _row_elements(table: ElementTree.Element) -> Iterator[ElementTree.Element]:
    """The table's own rows (in row groups too), not those of tables in its cells."""
    for child in table:
        if child.tag == f"{TABLE}table-row":
            yield child
        elif child.tag in _ROW_GROUPS:
            yield from _row_elements(child)


def _repeat(element: ElementTree.Element, name: str) -> int:
    try:
        return max(1, int(element.get(f"{TABLE}{name}", "1")))
    except ValueError:
        return 1


def read_all(items: Iterator[Any]) -> list[Any]:
    """All of a generator's items, a hostile nesting (spans in spans, thousands deep) being
    the file's fault."""
    try:
        return list(items)
    except RecursionError as exc:
        raise InvalidInput("cannot read the OpenDocument file: it is nested too deeply") from exc


def body_of(data: bytes, kind: str) -> ElementTree.Element:
    with opened(data, "OpenDocument file") as archive:
        content = part(archive, "content.xml", "OpenDocument file")
    if content is None:
        raise InvalidInput("cannot read the OpenDocument file: it has no content.xml")
    body = content.find(f"{OFFICE}body/{OFFICE}{kind}")
    if body is None:
        raise InvalidInput(f"cannot read the OpenDocument file: it holds no {kind} body")
    return body


def _notes(body: ElementTree.Element) -> list[tuple[str, str]]:
    """(part, text) of the footnotes and endnotes, each "[citation] text", in order."""
    found: dict[str, list[str]] = {"footnotes": [], "endnotes": []}
    for note in body.iter(f"{TEXT}note"):
        kind = "endnotes" if note.get(f"{TEXT}note-class") == "endnote" else "footnotes"
        citation = note.find(f"{TEXT}note-citation")
        mark = "".join(citation.itertext()).strip() if citation is not None else ""
        inner = note.find(f"{TEXT}note-body")
        text = " ".join(t for t, _ in read_all(blocks(inner))) if inner is not None else ""
        if text.strip():
            found[kind].append(f"[{mark or '?'}] {text}")
    return [(kind, "\n\n".join(texts)) for kind, texts in found.items() if texts]


#: The notes' sections after the body, by part.
NOTE_TITLES = {"footnotes": "Footnotes", "endnotes": "Endnotes"}


def document_text(data: bytes) -> tuple[str, list[tuple[int, str]], int]:
    """The text document's text (blocks apart by a blank line) followed by its footnotes and
    endnotes (a section each); (offset, heading) marks; where the body ends."""
    body = body_of(data, "text")
    parts: list[str] = []
    marks: list[tuple[int, str]] = []
    offset = 0
    for text, heading in read_all(blocks(body)):
        if heading:
            marks.append((offset, text))
        parts.append(text)
        offset += len(text) + 2
    body_end = offset
    for kind, text in _notes(body):
        marks.append((offset, NOTE_TITLES[kind]))
        parts.append(text)
        offset += len(text) + 2
    return "\n\n".join(parts), marks, body_end


class OdtExtractor(TextExtractor):
    """OpenDocument text: a ``section`` per heading with sentence-aware ``chunk``s, as for
    a DOCX (see ``docledger.extractors.odf``)."""

    name: str = "odt"
    version: str = "1"
    media_types: tuple[str, ...] = (ODT,)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)
        text, marks, body_end = document_text(data)
        segments = sectioned(text, marks, values["chunk_size"], values["chunk_overlap"], {})
        parts = {title: part for part, title in NOTE_TITLES.items()}
        for segment in segments:
            if segment.kind == "section" and segment.metadata.get("start", 0) >= body_end:
                segment.metadata["part"] = parts.get(segment.label or "", "body")
        return segments


class OdsExtractor(TextExtractor):
    """OpenDocument spreadsheets: a ``record`` per row of every sheet (the first row its
    header when it looks like one), the sheet named in ``metadata.sheet``."""

    name: str = "ods"
    version: str = "1"
    media_types: tuple[str, ...] = (ODS,)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        self.check(params)  # the text extractor's params are accepted (and unused)
        out: list[SegmentIn] = []
        cells = 0
        for sheet in body_of(data, "spreadsheet").findall(f"{TABLE}table"):
            name = sheet.get(f"{TABLE}name", "")
            table = []
            for number, row in enumerate(read_all(_rows(sheet)), 1):
                cells += len(row)
                if cells > MOST_CELLS:
                    raise InvalidInput(f"cannot read the spreadsheet: over {MOST_CELLS} cells")
                if any(c.strip() for c in row):
                    table.append((number, number, row))
            out.extend(records(table, {"sheet": name}))
        return out
