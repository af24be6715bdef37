"""HTML pages as the text a reader sees: sections at their headings, chunks for search.

Read as plain text, a saved web page or an exported help article gave search hits full of
tags, inline scripts, style sheets and entities (``&nbsp;``), and headings were never found
(a Markdown ``#`` is an HTML ``<h2>``). Here the standard library's lenient parser walks the
page once: what a browser does not show (scripts, styles, templates, the head but for its
title, inline SVG) is left out; block elements end a line, paragraphs and headings a
paragraph; table cells are joined by `` | `` a row to a line; whitespace is collapsed as a
browser collapses it, except in ``<pre>``. The bytes are decoded by the page's byte-order
mark, else its own ``<meta charset>``, else detection (``docledger.extractors.encoding``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

from docledger.extractors.encoding import bom_encoding, codec_for_label, decode
from docledger.extractors.text import TextExtractor, sectioned
from docledger.schemas.extraction import SegmentIn

#: Elements whose content a browser does not show as text.
HIDDEN = frozenset({"script", "style", "template", "noscript", "svg", "math", "head", "iframe",
                    "object", "canvas", "select", "datalist"})  # fmt: skip
#: Elements that end a paragraph (a blank line in the text, a chunk boundary).
PARAGRAPHS = frozenset({"p", "div", "section", "article", "header", "footer", "aside", "main",
                        "nav", "blockquote", "pre", "table", "ul", "ol", "dl", "figure",
                        "form", "fieldset", "address", "details", "hr", "body", "h1", "h2",
                        "h3", "h4", "h5", "h6"})  # fmt: skip
#: Elements that end a line.
LINES = frozenset({"br", "li", "tr", "dt", "dd", "figcaption", "summary", "caption", "option",
                   "legend", "label"})  # fmt: skip
#: What may stand in a page's head; anything else ends a head left open.
HEAD_CONTENT = frozenset({"title", "meta", "link", "style", "script", "base", "noscript",
                          "template", "head", "html"})  # fmt: skip
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: Elements without an end tag (never on the stack).
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "param", "source", "track", "wbr"})  # fmt: skip
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)"""
    rb"""|<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.I,
)
_SPACE = re.compile(r"[ \t\n\r\f\v]+")


def page_text(data: bytes) -> tuple[str, str, list[tuple[int, str]], str]:
    """(the page's visible text, its title, (offset, heading) per heading, the encoding)."""
    text, encoding = decoded_page(data)
    reader = _Reader()
    reader.feed(text)
    reader.close()
    return reader.text(), reader.title.strip(), reader.headings, encoding


def visible_text(markup: str) -> str:
    """The text a browser shows of markup already decoded (an e-mail's HTML part)."""
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return reader.text()


def decoded_page(data: bytes) -> tuple[str, str]:
    """A byte-order mark first, then the page's own declaration (an HTML meta charset, or an
    XML declaration's encoding), then detection."""
    if bom_encoding(data) is None:
        declared = _META_CHARSET.search(data[:4096])
        if declared is not None:
            label = declared.group(1) or declared.group(2)
            name = codec_for_label(label.decode("ascii")) or ""
            # a page saying UTF-16 in ASCII bytes is not UTF-16 (HTML's own rule)
            if name and not name.startswith("utf-16") and not name.startswith("utf-32"):
                return data.decode(name, errors="replace").replace("\x00", ""), name
    return decode(data)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.hidden: list[str] = []  # the open hidden elements
        self.pre = 0
        self.in_title = False
        self.title = ""
        self.heading: list[str] | None = None
        self.heading_at = 0
        self.headings: list[tuple[int, str]] = []
        self.cells = 0  # cells so far in the open table row

    def _emit(self, piece: str) -> None:
        self.parts.append(piece)
        self.length += len(piece)

    def _break(self, blank: bool) -> None:
        """End the line (a blank line when ``blank``), never more than one blank line, and
        without the space a collapsed run left at its end."""
        if self.parts and self.parts[-1].endswith(" ") and not self.pre:
            kept = self.parts[-1].rstrip(" ")
            self.length -= len(self.parts[-1]) - len(kept)
            self.parts[-1] = kept
        tail = "".join(self.parts[-3:])
        want = "\n\n" if blank else "\n"
        if not tail or tail.endswith(want):
            return
        if tail.endswith("\n"):
            want = want[1:]
        self._emit(want)

    def _leave_head(self) -> None:
        """A page that never closes its head: the body starts where the head's content
        ends, as a browser reads it (else the whole page would stay hidden)."""
        if self.hidden and self.hidden[-1] == "head":
            self.hidden.pop()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HEAD_CONTENT:
            self._leave_head()
        if tag in HIDDEN:
            if tag not in VOID:
                self.hidden.append(tag)
            return
        if tag == "title":
            self.in_title = True
        if self.hidden:
            return
        if tag == "pre":
            self.pre += 1
        if tag in PARAGRAPHS:
            self._break(blank=True)
        elif tag in LINES:
            self._break(blank=False)
        if tag == "tr":
            self.cells = 0
        elif tag in {"td", "th"}:
            if self.cells:
                self._emit(" | ")
            self.cells += 1
        if tag in HEADINGS:
            self.heading, self.heading_at = [], self.length

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in HIDDEN:
            if tag in self.hidden:  # close it and anything left open inside
                del self.hidden[len(self.hidden) - 1 - self.hidden[::-1].index(tag) :]
            return
        if self.hidden:
            return
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in HEADINGS and self.heading is not None:
            title = _SPACE.sub(" ", "".join(self.heading)).strip()
            if title:
                self.headings.append((self.heading_at, title))
            self.heading = None
        if tag in PARAGRAPHS:
            self._break(blank=True)
        elif tag in LINES or tag == "tr":
            self._break(blank=False)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif data.strip():
            self._leave_head()
        if self.hidden:
            return
        data = data.replace("\xa0", " ")  # a no-break space is a space to search
        if not self.pre:
            data = _SPACE.sub(" ", data)
            tail = self.parts[-1] if self.parts else "\n"
            if tail.endswith((" ", "\n")):
                data = data.lstrip(" ")
        if not data:
            return
        if self.heading is not None:
            self.heading.append(data)
        self._emit(data)

    def text(self) -> str:
        """The text (the heading offsets are of it)."""
        return "".join(self.parts).rstrip()


class HtmlExtractor(TextExtractor):
    """Web pages and exported articles (``text/html``): the text a browser shows, a
    ``section`` per heading (``h1``..``h6``; the page's ``<title>`` labels any text before
    the first), sentence-aware ``chunk``s as in Markdown (see ``docledger.extractors.html``)."""

    name: str = "html"
    version: str = "1"
    media_types: tuple[str, ...] = ("text/html", "application/xhtml+xml")

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)  # the text extractor's params: chunk size and overlap
        text, title, headings, encoding = page_text(data)
        noted: dict[str, Any] = {} if encoding in {"utf-8", "utf_8"} else {"encoding": encoding}
        if title:
            noted["title"] = title[:500]
        marks = list(headings)
        if title and (not marks or text[: marks[0][0]].strip()):
            marks.insert(0, (0, title))
        return sectioned(text, marks, values["chunk_size"], values["chunk_overlap"], noted)
