"""Word documents (DOCX): the body's paragraphs and tables in order, a section per heading.

A DOCX is a zip of XML parts (``docledger.extractors.package``: zip bombs and DTDs refused);
the text is in ``word/document.xml``. What a reader sees in the body
is kept: runs' text, tabs and line breaks, hyperlinks' and tracked insertions' text, content
controls, text boxes (as paragraphs of their own, after the paragraph anchoring them),
tables a row to a line with cells joined by `` | ``; deleted text and field codes are not
text. A paragraph
is a heading when its style is one of Word's "heading N" or "Title" styles (by the style's
name in ``word/styles.xml``, which is English whatever the document's language, while the
style's id is not) or carries an outline level. After the body come its footnotes and
endnotes (each numbered as Word numbers it), then the text of its headers and footers (each
once, however many sections repeat it), a section each with ``metadata.part`` saying which;
comments are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from xml.etree import ElementTree

from docledger.errors import InvalidInput
from docledger.extractors.package import opened, part, relations
from docledger.extractors.text import TextExtractor, with_parts
from docledger.schemas.extraction import SegmentIn

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
#: Elements whose text is not the document's (deleted runs, field instructions, ...).
#: (A drawing's text box is written twice, for new and old Word: the fallback is skipped.)
_SKIPPED = {
    *(f"{W}{name}" for name in ("del", "delText", "instrText", "moveFrom", "rPr", "pPr")),
    "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback",
}


def _headings(styles: ElementTree.Element | None) -> set[str]:
    """Ids of the styles that make a paragraph a heading."""
    found: set[str] = set()
    for style in [] if styles is None else styles.iter(f"{W}style"):
        name = style.find(f"{W}name")
        label = (name.get(f"{W}val", "") if name is not None else "").strip().lower()
        outline = style.find(f"{W}pPr/{W}outlineLvl")
        if label.startswith("heading") or label == "title" or outline is not None:
            found.add(style.get(f"{W}styleId", ""))
    return found


def _runs(element: ElementTree.Element, boxes: list[ElementTree.Element]) -> Iterator[str]:
    """A paragraph's text in document order; text boxes met on the way go to ``boxes``."""
    stack = [element]
    while stack:
        node = stack.pop()
        tag = node.tag
        if tag in _SKIPPED:
            continue
        if tag == f"{W}txbxContent":
            boxes.append(node)
            continue
        if tag == f"{W}t":
            yield node.text or ""
        elif tag in {f"{W}tab", f"{W}ptab"}:
            yield "\t"
        elif tag in {f"{W}br", f"{W}cr"}:
            yield "\n"
        elif tag == f"{W}noBreakHyphen":
            yield "-"
        stack.extend(reversed(list(node)))


def _blocks(container: ElementTree.Element, headings: set[str]) -> Iterator[tuple[str, bool]]:
    """(text, is a heading) per paragraph or table of a body, cell or text box, in order."""
    for child in container:
        if child.tag == f"{W}p":
            boxes: list[ElementTree.Element] = []
            text = "".join(_runs(child, boxes)).strip()
            style = child.find(f"{W}pPr/{W}pStyle")
            heading = child.find(f"{W}pPr/{W}outlineLvl") is not None or (
                style is not None and style.get(f"{W}val", "") in headings
            )
            if text:
                yield text, heading and "\n" not in text
            for box in boxes:
                yield from _blocks(box, headings)
        elif child.tag == f"{W}tbl":
            rows = []
            for row in child.findall(f"{W}tr"):
                cells = [
                    " ".join(text for text, _ in _blocks(cell, set())).replace("\n", " ")
                    for cell in row.findall(f"{W}tc")
                ]
                if any(cells):
                    rows.append(" | ".join(cells))
            if rows:
                yield "\n".join(rows), False
        elif child.tag in {f"{W}sdt", f"{W}sdtContent", f"{W}customXml", f"{W}ins"}:
            yield from _blocks(child, headings)


#: What the body's notes and page furniture are called, in the order they follow the body.
EXTRA_PARTS = (("footnotes", "Footnotes"), ("endnotes", "Endnotes"), ("header", "Headers"),
               ("footer", "Footers"))  # fmt: skip


def _notes(root: ElementTree.Element) -> Iterator[str]:
    """Each footnote's or endnote's text, numbered as Word numbers them (separators left out)."""
    for note in root:
        if note.get(f"{W}type") in {"separator", "continuationSeparator", "continuationNotice"}:
            continue
        text = " ".join(t for t, _ in _blocks(note, set()))
        if text.strip():
            yield f"[{note.get(f'{W}id', '?')}] {text}"


def _extras(archive: Any) -> list[tuple[str, str]]:
    """(part kind, its text) for the footnotes, endnotes, headers and footers the body uses;
    a header repeated by several sections is read once."""
    targets = relations(archive, "word/document.xml", "DOCX")
    out: list[tuple[str, str]] = []
    for kind, _title in EXTRA_PARTS:
        seen: list[str] = []
        for name in sorted({n for k, n in targets.values() if k == kind}):
            root = part(archive, name, "DOCX")
            if root is None:
                continue
            found = _notes(root) if kind in {"footnotes", "endnotes"} else (
                t for t, _ in _blocks(root, set()))  # fmt: skip
            seen.extend(t for t in found if t.strip() and t not in seen)
        if seen:
            out.append((kind, "\n\n".join(seen)))
    return out


def document_text(data: bytes) -> tuple[str, list[tuple[int, str]], int]:
    """The body's text (blocks apart by a blank line) followed by its footnotes, endnotes,
    headers and footers (a section each); (offset, heading) per heading; where the body ends."""
    with opened(data, "DOCX") as archive:
        body = part(archive, "word/document.xml", "DOCX")
        if body is None:
            raise InvalidInput("cannot read the DOCX: it has no word/document.xml")
        headings = _headings(part(archive, "word/styles.xml", "DOCX"))
        try:
            extras = _extras(archive)
        except RecursionError as exc:
            raise InvalidInput("cannot read the DOCX: its tables are nested too deeply") from exc
    main = body.find(f"{W}body")
    parts: list[str] = []
    marks: list[tuple[int, str]] = []
    offset = 0
    try:
        for text, heading in _blocks(main if main is not None else body, headings):
            if heading:
                marks.append((offset, text))
            parts.append(text)
            offset += len(text) + 2
    except RecursionError as exc:  # tables in cells in tables, thousands deep
        raise InvalidInput("cannot read the DOCX: its tables are nested too deeply") from exc
    body_end = offset
    titles = dict(EXTRA_PARTS)
    for kind, text in extras:
        marks.append((offset, titles[kind]))
        parts.append(text)
        offset += len(text) + 2
    return "\n\n".join(parts), marks, body_end


class DocxExtractor(TextExtractor):
    """Word documents: a ``section`` per heading (Word's heading and title styles), the
    paragraphs and tables between as its text, sentence-aware ``chunk``s as in Markdown (see
    ``docledger.extractors.docx``)."""

    name: str = "docx"
    #: 2: footnotes, endnotes, headers and footers as sections after the body
    version: str = "2"
    media_types: tuple[str, ...] = (MEDIA_TYPE,)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)  # the text extractor's params: chunk size and overlap
        text, marks, body_end = document_text(data)
        return with_parts(
            text, marks, body_end, values, {title: kind for kind, title in EXTRA_PARTS}
        )
