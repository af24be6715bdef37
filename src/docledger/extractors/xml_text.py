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

A file that is not well-formed XML (a feed cut off mid-way, an SGML file, a template with
placeholders) is still read, as text with its tags cut out; its sections say so in
``metadata.read_as_text`` with the parser's complaint.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterator, Mapping
from typing import Any
from xml.etree import ElementTree

from docledger.errors import InvalidInput
from docledger.extractors.encoding import codec_for_label, decode
from docledger.extractors.html import decoded_page, visible_text
from docledger.extractors.svg import check_entities, local_name
from docledger.extractors.text import TextExtractor, sectioned
from docledger.schemas.extraction import SegmentIn

MEDIA_TYPES = ("application/xml", "text/xml")
WHAT = "XML document"
HEADINGS = {"title", "head", "heading", "article-title", "h1", "h2", "h3", "h4", "h5", "h6"}
SKIPPED = {"script", "style"}
#: elements feeds put escaped HTML in (RSS description, content:encoded, Atom content/summary)
ESCAPED_HTML = {"description", "encoded", "content", "summary"}
_HTML_TAG = re.compile(r"</?(?:p|br|div|span|a|img|b|i|em|strong|ul|ol|li|h[1-6]|table|tr|td|"
                       r"blockquote|pre|code|font|hr)\b[^>]*>", re.IGNORECASE)  # fmt: skip
#: Elements nested deeper than this are refused (the reader recurses).
MOST_DEPTH = 500
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_NAMED = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_DECLARED = re.compile(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"'][^>]*\?>")
#: encodings the XML parser reads by itself
_NATIVE = {b"utf-8", b"utf8", b"utf-16", b"utf-16le", b"utf-16be", b"us-ascii", b"ascii",
           b"iso-8859-1", b"latin-1", b"latin1"}  # fmt: skip


def _local(tag: Any) -> str:
    return local_name(tag).lower()


def _named_references(data: bytes) -> bytes:
    """HTML's named character references as numeric ones (an XML parser knows only five)."""

    def numeric(match: re.Match[bytes]) -> bytes:
        name = match[1].decode("ascii")
        char = html.entities.html5.get(name + ";")
        if name in _XML_ENTITIES or char is None:
            return match[0]
        return "".join(f"&#{ord(c)};" for c in char).encode("ascii")

    return _NAMED.sub(numeric, data)


class _Malformed(Exception):
    """Not well-formed XML (a cut-off feed, an SGML file, a template): read as text."""


def _parsed(data: bytes) -> ElementTree.Element:
    """The document's tree. The parser reads UTF-8, UTF-16 and 8-bit encodings itself; a
    document declaring another (EUC-KR, Shift_JIS, Big5) is decoded here first."""
    declared = _DECLARED.match(data)
    source: bytes | str = data
    if declared is not None and declared[1].lower().replace(b"_", b"-") not in _NATIVE:
        codec = codec_for_label(declared[1].decode("ascii"))
        rest = data[declared.end() :]
        source = rest.decode(codec, errors="replace") if codec else decode(rest)[0]
    try:
        return ElementTree.fromstring(source)  # noqa: S314 - entities checked first
    except (ElementTree.ParseError, ValueError) as exc:  # ValueError: an encoding it lacks
        if "undefined entity" not in str(exc):
            raise _Malformed(str(exc)) from exc
    named = (_named_references(source) if isinstance(source, bytes)
             else _named_references(source.encode("utf-8")).decode("utf-8"))  # fmt: skip
    try:
        return ElementTree.fromstring(named)  # noqa: S314 - entities checked first
    except (ElementTree.ParseError, ValueError) as exc:
        raise _Malformed(str(exc)) from exc


def _tags_cut(data: bytes) -> str:
    """The text of markup that does not parse: tags become line ends, references their
    characters, CDATA its content."""
    text = decoded_page(data)[0]
    text = re.sub(r"<!--.*?(-->|$)|<\?.*?(\?>|$)", "\n", text, flags=re.DOTALL)
    text = re.sub(r"<!\[CDATA\[(.*?)(\]\]>|$)", r"\1", text, flags=re.DOTALL)
    text = html.unescape(re.sub(r"<[^>]*>?", "\n", text))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


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


def _shown(element: ElementTree.Element, text: str) -> str:
    """A feed entry's HTML, escaped into the XML (RSS ``description``, ``content:encoded``,
    Atom ``content type="html"``), as a browser shows it rather than with its tags."""
    name = _local(element.tag)
    escaped = name in ESCAPED_HTML or (element.get("type") or "").lower() in {"html", "xhtml"}
    return visible_text(text) if escaped and _HTML_TAG.search(text) else text


def _blocks(element: ElementTree.Element, depth: int = 0) -> Iterator[tuple[str, bool]]:
    """(text, is a heading) per block, in document order."""
    if depth > MOST_DEPTH:
        raise InvalidInput(f"cannot read the {WHAT}: it is nested too deeply")
    for child in element:
        if not isinstance(child.tag, str) or _local(child.tag) in SKIPPED:
            continue
        if _own_text(child):
            text = " ".join(_shown(child, _inline(child)).split())
            if text:
                yield text, _local(child.tag) in HEADINGS
        else:
            yield from _blocks(child, depth + 1)


def document_text(data: bytes) -> tuple[str, list[tuple[int, str]], str | None]:
    """The blocks apart by a blank line, (offset, title) per heading, and why the document
    was read as text instead (None when it parsed)."""
    check_entities(data, WHAT)  # refused whatever else is wrong with the file
    try:
        root = _parsed(data)
    except _Malformed as exc:
        return _tags_cut(data), [], f"not well-formed XML, read as text: {exc}"
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
    return "\n\n".join(parts), marks, None


class XmlExtractor(TextExtractor):
    """XML documents: a ``section`` per title element, the blocks between as its text,
    sentence-aware ``chunk``s (see ``docledger.extractors.xml_text``)."""

    name: str = "xml"
    #: 2: a feed entry's escaped HTML read as a browser shows it
    version: str = "2"
    media_types: tuple[str, ...] = MEDIA_TYPES

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)  # the text extractor's params: chunk size and overlap
        text, marks, fallback = document_text(data)
        noted = {} if fallback is None else {"read_as_text": fallback}
        return sectioned(text, marks, values["chunk_size"], values["chunk_overlap"], noted)
