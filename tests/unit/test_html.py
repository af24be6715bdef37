"""HTML pages read as the text a browser shows: on a page we wrote (every construct named),
and on the real pages of chardet's test folders (28 pages in 25 encodings, see
tests/corpus.py), html2text's and trafilatura's, whose words must match lxml's reading of
the same page."""

from __future__ import annotations

import re

import pytest
from lxml import html as lxml_html

from docledger.extractors import HtmlExtractor, for_media_type
from docledger.extractors.html import decoded_page
from docledger.services.media import sniff
from tests.corpus import fetched, real_html, real_texts

PAGE = b"""<!DOCTYPE html><html><head><title>Inspection &amp; report</title>
<style>p { color: red }</style><script>var x = "<p>not text</p>";</script></head><body>
<p>Intro   text with&nbsp;an entity &lt;b&gt; and <b>bold</b>.</p>
<h2>Fire doors</h2><p>Door D7 fails.<br>Door D9 passes.</p>
<table><tr><th>Room</th><th>State</th></tr><tr><td>N-104</td><td>wet</td></tr></table>
<h2>Lighting <small>(all floors)</small></h2>
<ul><li>Floor 1 ok</li><li>Floor 2 <i>pending</i></li></ul>
<pre>  code   block
  kept</pre><noscript>enable scripts</noscript><template><p>hidden</p></template>
<svg><text>drawn</text></svg></body></html>"""
WORD = re.compile(r"\w+")
#: What lxml and this reader both leave out of a page's text.
UNSHOWN = ("//script|//style|//noscript|//template|//head|//svg|//iframe|//object|//select"
           "|//canvas|//math|//datalist")  # fmt: skip


def test_a_page_reads_as_a_browser_shows_it() -> None:
    segments = HtmlExtractor().extract(PAGE, {})
    sections = [s for s in segments if s.kind == "section"]
    assert [s.label for s in sections] == ["Inspection & report", "Fire doors",
                                           "Lighting (all floors)"]  # fmt: skip
    assert [s.text for s in sections] == [
        "Intro text with an entity <b> and bold.",
        "Fire doors\n\nDoor D7 fails.\nDoor D9 passes.\n\nRoom | State\nN-104 | wet",
        "Lighting (all floors)\n\nFloor 1 ok\nFloor 2 pending\n\n  code   block\n  kept",
    ]
    assert all(s.metadata["title"] == "Inspection & report" for s in sections)
    chunks = [s for s in segments if s.kind == "chunk"]
    assert chunks
    assert all(s.parent is not None for s in chunks)
    everything = " ".join(s.text or "" for s in segments)
    for hidden in ("color", "not text", "enable scripts", "hidden", "drawn", "&amp;", "&nbsp;"):
        assert hidden not in everything


def test_html_is_sniffed_and_routed_to_the_html_extractor() -> None:
    assert sniff(PAGE, "page.html", complete=True) == "text/html"
    assert sniff(b"  <html><body>x</body></html>", None, complete=True) == "text/html"
    assert sniff(b"<body>x</body>", "export", complete=True) == "text/html"
    assert isinstance(for_media_type("text/html"), HtmlExtractor)
    assert isinstance(for_media_type("application/xhtml+xml"), HtmlExtractor)


def test_the_pages_own_charset_declaration_decides() -> None:
    page = '<html><head><meta charset="koi8-r"><title>t</title></head><body><p>Привет мир</p>'
    (section, *_) = HtmlExtractor().extract(page.encode("koi8-r"), {})
    assert section.text == "Привет мир"
    assert section.metadata["encoding"] == "koi8-r"
    # an unknown or self-contradicting declaration is ignored: detection decides
    for meta in ('<meta charset="no-such">', '<meta charset="utf-16">'):
        page = f"<html><head>{meta}</head><body><p>Situação aprovada</p></body></html>"
        (section, *_) = HtmlExtractor().extract(page.encode("utf-8"), {})
        assert section.text == "Situação aprovada"


def test_a_head_never_closed_ends_where_the_body_starts() -> None:
    for page in (
        b"<html><head><title>T</title><body><p>Visible text</p></body></html>",
        b"<html><head><title>T</title><meta charset=utf-8><p>Visible text",
        b"<head><title>T</title>Visible text",
    ):
        (section, *_) = HtmlExtractor().extract(page, {})
        assert section.text == "Visible text", page
        assert section.label == "T"


def test_broken_markup_never_fails() -> None:
    deep = b"<p>" * 50_000 + b"deep"
    for page in (b"", b"<", b"<p>open <b>never closed", b"</div></div>text", b"<script>x",
                 b"<!-- unterminated", deep, b"<table><td>a<td>b"):  # fmt: skip
        segments = HtmlExtractor().extract(page, {})
        for s in segments:
            assert "<p>" not in (s.text or "")
    (section, *_) = HtmlExtractor().extract(deep, {})
    assert section.text == "deep"


@pytest.fixture(scope="module")
def pages() -> list[tuple[str, bytes]]:
    found = fetched(real_texts, "real-text")
    return [
        (p.name, p.read_bytes()) for p, _ in found if p.name.lower().endswith((".html", ".htm"))
    ]


def test_real_pages_give_the_words_lxml_reads(pages: list[tuple[str, bytes]]) -> None:
    """Every word of each page as lxml reads it (in the same encoding, its unshown elements
    dropped, text nodes apart) and none besides, for all but one degenerate page (a title
    after 1,100 NUL bytes)."""
    assert len(pages) >= 25
    differing = []
    for name, data in pages:
        text, _ = decoded_page(data)
        root = lxml_html.document_fromstring(
            text.encode("utf-8"), parser=lxml_html.HTMLParser(encoding="utf-8")
        )
        for element in root.xpath(UNSHOWN):
            element.drop_tree()
        theirs = set(WORD.findall(" ".join(root.itertext()).lower()))
        segments = HtmlExtractor().extract(data, {})
        shown = " ".join(s.text or "" for s in segments if s.kind == "section")
        ours = set(WORD.findall(shown.lower()))
        assert not re.search(r"</?(p|div|span|a|td|tr|br|script|style)\b[^>]*>", shown, re.I), name
        if ours != theirs:
            differing.append((name, sorted(ours ^ theirs)[:5]))
    assert len(differing) <= 1, differing


#: Elements that end a word in a browser (inline ones, ``<b>``, ``<sup>``, do not: "mc<sup>2
#: </sup>" shows "mc2").
BLOCKS = ("p", "div", "br", "li", "tr", "td", "th", "dt", "dd", "pre", "h1", "h2", "h3", "h4",
          "h5", "h6", "table", "ul", "ol", "dl", "blockquote", "section", "article", "header",
          "footer", "nav", "aside", "main", "hr", "form", "figure", "figcaption", "caption",
          "body", "title", "option", "address", "details", "summary", "fieldset",
          "legend")  # fmt: skip


def _browser_words(data: bytes) -> set[str]:
    """The words lxml reads of a page, text nodes joined as a browser joins them: apart at
    block elements, together across inline ones."""
    text, _ = decoded_page(data)
    root = lxml_html.document_fromstring(
        text.encode("utf-8"), parser=lxml_html.HTMLParser(encoding="utf-8")
    )
    for element in root.xpath(UNSHOWN):
        element.drop_tree()
    for block in root.iter(*BLOCKS):
        block.text = " " + (block.text or "")
        block.tail = " " + (block.tail or "")
    return set(WORD.findall("".join(root.itertext()).lower()))


def test_other_projects_test_pages_give_the_words_a_browser_shows() -> None:
    """html2text's 73 test pages (Google Docs exports, tables whose rows never close,
    entities outside text, direction marks, invalid Unicode, an invalid start) and
    trafilatura's 8 saved web pages: each is typed as HTML, and its words are lxml's, but
    for what lxml drops and a browser shows: a banner a proxy appended after ``</html>``."""
    files = fetched(real_html, "HTML")
    assert len(files) == 81
    after_the_end = {"trafilatura-2.3.1__tests__resources__scam.html": {"listed", "2020", "wiki"}}
    for path in files:
        data = path.read_bytes()
        assert sniff(data, path.name) == "text/html", path.name
        segments = HtmlExtractor().extract(data, {})
        shown = " ".join(s.text or "" for s in segments if s.kind == "section")
        ours = set(WORD.findall(shown.lower()))
        theirs = _browser_words(data)
        assert ours - theirs == after_the_end.get(path.name, set()), path.name
        assert theirs - ours == set(), path.name
