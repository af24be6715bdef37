"""XML documents (JATS and NLM articles, TEI, DocBook, DITA, any other XML): their text in
document order, sectioned at their titles.

No schema is assumed. An element holding text of its own (its text, or text between its
child elements) is a block: a paragraph with its inline markup (``<italic>``, ``<xref>``,
``<hi>``) read through, one block of the text. An element holding only elements is a
container whose children are read in turn. A block named ``title``, ``head``,
``article-title``, ``heading`` or ``h1``..``h6`` (whatever its namespace) opens a section, as
a heading does in a Word document. Attributes, comments, processing instructions and
``script``/``style`` elements are not text.

Entities: a DOCTYPE naming an external DTD is fine (it is never fetched); HTML's named
character references (``&nbsp;``, ``&mdash;``), which JATS files use through their DTD, are
read as their characters; an internal subset declaring entities that refer to other
entities or to files (entity expansion, external entities) is refused, as for SVG
(``docledger.extractors.svg``).
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterator, Mapping
from typing import Any
from xml.etree import ElementTree

from docledger.errors import InvalidInput
from docledger.extractors.svg import check_entities
from docledger.extractors.text import TextExtractor, sectioned
from docledger.schemas.extraction import SegmentIn

MEDIA_TYPES = ("application/xml", "text/xml")
WHAT = "XML document"
HEADINGS = {"title", "head", "heading", "article-title", "h1", "h2", "h3", "h4", "h5", "h6"}
SKIPPED = {"script", "style"}
#: Elements nested deeper than this are refused (the reader recurses).
MOST_DEPTH = 500
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_NAMED = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _named_references(data: bytes) -> bytes:
    """HTML's named character references as numeric ones (an XML parser knows only five)."""

    def numeric(match: re.Match[bytes]) -> bytes:
        name = match[1].decode("ascii")
        char = html.entities.html5.get(name + ";")
        if name in _XML_ENTITIES or char is None:
            return match[0]
        return "".join(f"&#{ord(c)};" for c in char).encode("ascii")

    return _NAMED.sub(numeric, data)


def _parsed(data: bytes) -> ElementTree.Element:
    check_entities(data, WHAT)
    try:
        return ElementTree.fromstring(data)  # noqa: S314 - entities checked above
    except ElementTree.ParseError as exc:
        if "undefined entity" not in str(exc):
            raise InvalidInput(f"cannot read the {WHAT}: {exc}") from exc
    try:
        return ElementTree.fromstring(_named_references(data))  # noqa: S314 - checked above
    except ElementTree.ParseError as exc:
        raise InvalidInput(f"cannot read the {WHAT}: {exc}") from exc


def _own_text(element: ElementTree.Element) -> bool:
    if (element.text or "").strip():
        return True
    return any((child.tail or "").strip() for child in element)


def _inline(element: ElementTree.Element) -> str:
    parts = [element.text or ""]
    for child in element:
        if not isinstance(child.tag, str) or _local(child.tag) in SKIPPED:
            parts.append(child.tail or "")
            continue
        parts.extend((_inline(child), child.tail or ""))
    return "".join(parts)


def _blocks(element: ElementTree.Element, depth: int = 0) -> Iterator[tuple[str, bool]]:
    """(text, is a heading) per block, in document order."""
    if depth > MOST_DEPTH:
        raise InvalidInput(f"cannot read the {WHAT}: it is nested too deeply")
    for child in element:
        if not isinstance(child.tag, str) or _local(child.tag) in SKIPPED:
            continue
        if _own_text(child):
            text = " ".join(_inline(child).split())
            if text:
                yield text, _local(child.tag) in HEADINGS
        else:
            yield from _blocks(child, depth + 1)


def document_text(data: bytes) -> tuple[str, list[tuple[int, str]]]:
    """The blocks apart by a blank line, and (offset, title) per heading."""
    root = _parsed(data)
    parts: list[str] = []
    marks: list[tuple[int, str]] = []
    offset = 0
    try:
        if _own_text(root):  # a document that is one paragraph
            found = [(" ".join(_inline(root).split()), _local(root.tag) in HEADINGS)]
        else:
            found = list(_blocks(root))
    except RecursionError as exc:
        raise InvalidInput(f"cannot read the {WHAT}: it is nested too deeply") from exc
    for text, heading in found:
        if heading:
            marks.append((offset, text[:200]))
        parts.append(text)
        offset += len(text) + 2
    return "\n\n".join(parts), marks


class XmlExtractor(TextExtractor):
    """XML documents: a ``section`` per title element, the blocks between as its text,
    sentence-aware ``chunk``s (see ``docledger.extractors.xml_text``)."""

    name: str = "xml"
    version: str = "1"
    media_types: tuple[str, ...] = MEDIA_TYPES

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)  # the text extractor's params: chunk size and overlap
        text, marks = document_text(data)
        return sectioned(text, marks, values["chunk_size"], values["chunk_overlap"], {})
