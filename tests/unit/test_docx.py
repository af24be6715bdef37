"""Word documents: on every DOCX of python-docx's own test files (see tests/corpus.py) the
docx extractor reads every word python-docx reads from the body's paragraphs and tables, and
more only where python-docx does not look (a table inside a table cell); on a document we
write, headings become sections and tables rows; broken and hostile files are refused."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import docx
import pytest

from docledger.errors import InvalidInput
from docledger.extractors import DocxExtractor, for_media_type
from docledger.extractors.docx import MEDIA_TYPE, document_text
from docledger.services.media import sniff
from tests.corpus import fetched, real_docx

WORD = re.compile(r"\w+")


def _words_python_docx_reads(path: Path) -> set[str]:
    document = docx.Document(str(path))
    texts = [p.text for p in document.paragraphs]
    texts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return set(WORD.findall(" ".join(texts).lower()))


def test_every_real_docx_reads_what_python_docx_reads() -> None:
    corpus = fetched(real_docx, "real-DOCX")
    assert len(corpus) >= 40
    with_text, more = 0, []
    for path in corpus:
        segments = DocxExtractor().extract(path.read_bytes(), {})
        body = [s for s in segments if s.kind == "section" and "part" not in s.metadata]
        ours = set(WORD.findall(" ".join(s.text or "" for s in body)))
        theirs = _words_python_docx_reads(path)
        assert theirs <= {w.lower() for w in ours}, (path.name, sorted(theirs - ours)[:10])
        with_text += bool(theirs)
        if {w.lower() for w in ours} != theirs:
            more.append(path.name)
    assert with_text >= 25
    # only the file with a table nested in a table cell, whose text python-docx's cells omit
    assert more == [n for n in more if n.endswith("blk-paras-and-tables.docx")], more


def _furniture_python_docx_reads(path: Path) -> set[str]:
    document = docx.Document(str(path))
    texts = []
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header,
                     section.first_page_footer, section.even_page_header,
                     section.even_page_footer):  # fmt: skip
            if not part.is_linked_to_previous:
                texts += [p.text for p in part.paragraphs]
    return set(WORD.findall(" ".join(texts).lower()))


def test_headers_and_footers_are_read_once_after_the_body() -> None:
    corpus = fetched(real_docx, "real-DOCX")
    with_furniture = 0
    for path in corpus:
        segments = DocxExtractor().extract(path.read_bytes(), {})
        extra = [s for s in segments if s.kind == "section" and "part" in s.metadata]
        ours = set(WORD.findall(" ".join(s.text or "" for s in extra if s.metadata["part"]
                                         in {"header", "footer"}).lower()))  # fmt: skip
        theirs = _furniture_python_docx_reads(path)
        assert theirs <= ours, (path.name, sorted(theirs - ours)[:10])
        with_furniture += bool(theirs)
        labels = [s.label for s in extra]
        assert labels == [t for t in ("Footnotes", "Endnotes", "Headers", "Footers") if t in labels]
    # measured: 4 files whose headers or footers hold words, every word found
    assert with_furniture >= 4


def _written() -> bytes:
    document = docx.Document()
    document.add_heading("Inspection report", level=0)  # the Title style
    document.add_paragraph("Site visit on 4 May.")
    document.add_heading("Fire doors", level=1)
    document.add_paragraph("Door D7 fails the self-closing test.")
    table = document.add_table(rows=2, cols=2)
    for (row, col), text in {(0, 0): "Room", (0, 1): "State", (1, 0): "N-104",
                             (1, 1): "wet"}.items():  # fmt: skip
        table.cell(row, col).text = text
    document.add_heading("Lighting", level=2)
    document.add_paragraph("Emergency lighting works.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_tables_nested_a_few_deep_are_read() -> None:
    text, _, _ = document_text(_rezipped(_written(), "word/document.xml", _nested(20)))
    assert text == "deep"


def test_headings_make_sections_and_tables_rows() -> None:
    segments = DocxExtractor().extract(_written(), {})
    sections = [s for s in segments if s.kind == "section"]
    assert [s.label for s in sections] == ["Inspection report", "Fire doors", "Lighting"]
    assert sections[1].text == (
        "Fire doors\n\nDoor D7 fails the self-closing test.\n\nRoom | State\nN-104 | wet"
    )
    text, marks, _ = document_text(_written())
    assert [text[offset : offset + len(title)] for offset, title in marks] == [
        "Inspection report",
        "Fire doors",
        "Lighting",
    ]
    assert any(s.kind == "chunk" and "Door D7" in (s.text or "") for s in segments)


def test_docx_is_sniffed_and_routed() -> None:
    data = _written()
    assert sniff(data[:4096], "report.docx") == MEDIA_TYPE
    assert isinstance(for_media_type(MEDIA_TYPE), DocxExtractor)


def _rezipped(data: bytes, name: str, content: bytes | None) -> bytes:
    """The DOCX with one part replaced (or removed when ``content`` is None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            if item.filename != name:
                target.writestr(item, source.read(item))
        if content is not None:
            target.writestr(name, content)
    return out.getvalue()


def _nested(depth: int) -> bytes:
    """A body of tables each inside the one cell of the table around it."""
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    inner = "<w:tbl><w:tr><w:tc>" * depth + "<w:p><w:r><w:t>deep</w:t></w:r></w:p>"
    close = "</w:tc></w:tr></w:tbl>" * depth
    return f"<w:document {w}><w:body>{inner}{close}</w:body></w:document>".encode()


def test_broken_and_hostile_files_are_refused() -> None:
    good = _written()
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">'.encode()
            for n in range(1, 10)
        )
        + b']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
    )
    cases = {
        b"not a zip": "not a readable zip file",
        good[: len(good) // 2]: "not a readable zip file",
        _rezipped(good, "word/document.xml", None): "it has no word/document.xml",
        _rezipped(good, "word/document.xml", b"<w:document><w:body>"): "broken XML",
        _rezipped(good, "word/document.xml", laughs): "declares a DTD",
        _rezipped(good, "word/document.xml", _nested(5_000)): "nested too deeply",
    }
    for data, message in cases.items():
        with pytest.raises(InvalidInput, match=message):
            DocxExtractor().extract(data, {})


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_FOOTNOTES = (
    f'<w:footnotes xmlns:w="{_W}">'
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:id="1"><w:p><w:r><w:t>Tested under NBR 11742.</w:t></w:r></w:p></w:footnote>'
    "</w:footnotes>"
).encode()


def test_footnotes_follow_the_body_numbered() -> None:
    """Word keeps a footnote in word/footnotes.xml, reached by the body's relationship; its
    separators are not notes. (python-docx's test files hold separators only.)"""
    data = _rezipped(_written(), "word/footnotes.xml", _FOOTNOTES)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        rels = archive.read("word/_rels/document.xml.rels").decode()
    link = (
        '<Relationship Id="rIdNotes" Target="footnotes.xml" Type="http://schemas.openxmlformats'
        '.org/officeDocument/2006/relationships/footnotes"/></Relationships>'
    )
    data = _rezipped(data, "word/_rels/document.xml.rels",
                     rels.replace("</Relationships>", link).encode())  # fmt: skip
    segments = DocxExtractor().extract(data, {})
    (notes,) = [s for s in segments if s.metadata.get("part") == "footnotes"]
    assert notes.label == "Footnotes"
    assert notes.text == "[1] Tested under NBR 11742."
    body = [s for s in segments if s.kind == "section" and "part" not in s.metadata]
    assert all("NBR 11742" not in (s.text or "") for s in body)
