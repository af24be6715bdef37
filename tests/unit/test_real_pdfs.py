"""The PDF extractor on every PDF of three other projects' test suites (see tests/corpus.py):
each file gives segments whose boxes lie inside their page and whose text is PDFium's own
page text, or one clear per-document error; nothing raises anything else."""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from docledger.errors import InvalidInput
from docledger.extractors import PdfExtractor
from tests.corpus import SAMPLE_PASSWORD, fetched, real_pdfs

#: The user password of pypdf's files encrypted with every revision of the standard handler.
PYPDF_PASSWORD = "asdfzxcv"
IGNORED = {"\ufffe", "\ufffd"}


def _corpus() -> list[Path]:
    return fetched(real_pdfs, "real-PDF")


@pytest.fixture(scope="module")
def corpus() -> list[Path]:
    return _corpus()


def _chars(text: str) -> Counter[str]:
    return Counter(
        c for c in text if not c.isspace() and c not in IGNORED and unicodedata.category(c) != "Cc"
    )


def _swapped_back(char: str) -> str:
    code = ord(char)
    return chr(code >> 8) if code & 0xFF == 0 and 0x20 <= code >> 8 <= 0x7E else char


def _engine_pages(data: bytes, password: str | None) -> list[str]:
    doc = pdfium.PdfDocument(data, password=password)
    try:
        out = []
        for page in doc:
            textpage = page.get_textpage()
            out.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return out
    finally:
        doc.close()


def _check(path: Path, segments: list[dict], password: str | None) -> None:
    pages = {s["page_number"]: s for s in segments if s["kind"] == "page"}
    engine = _engine_pages(path.read_bytes(), password)
    assert sorted(pages) == list(range(1, len(engine) + 1)), path.name
    for s in segments:
        page = pages[s["page_number"]]
        width, height = page["metadata"]["width"], page["metadata"]["height"]
        box = s["bbox"]
        assert 0 <= box["x0"] <= box["x1"] <= width + 1e-6, (path.name, s)
        assert 0 <= box["y0"] <= box["y1"] <= height + 1e-6, (path.name, s)
    for number, page in pages.items():
        if page["metadata"].get("chars_byte_swapped"):  # read back as the extractor does
            engine[number - 1] = "".join(_swapped_back(c) for c in engine[number - 1])
        lines = "".join(
            s["text"] for s in segments if s["kind"] == "line" and s["page_number"] == number
        )
        ours, theirs = _chars(lines), _chars(engine[number - 1])
        assert _chars(page["text"]) == ours, path.name
        outside = page["metadata"].get("chars_outside_page", 0)
        assert not ours - theirs, (path.name, number, ours - theirs)
        assert sum((theirs - ours).values()) <= outside, (path.name, number, theirs - ours)


def test_every_real_pdf_extracts_or_fails_clearly(corpus: list[Path]) -> None:
    assert len(corpus) >= 150
    extractor = PdfExtractor()
    extracted, refused = [], []
    for path in corpus:
        data = path.read_bytes()
        try:
            segments = extractor.extract(data, {"ocr": "never"})
        except InvalidInput as exc:
            refused.append((path.name, str(exc)))
            continue
        _check(path, segments, None)
        extracted.append(path.name)
    assert len(extracted) >= 135, refused
    for name, message in refused:
        assert message.startswith(("cannot open the PDF", "cannot read page")), (name, message)
    # the encrypted samples are refused without a password and read with it
    encrypted = [p for p in corpus if p.name.split("__")[-1].startswith(("aes-", "rc4-"))]
    assert len(encrypted) >= 5
    for path in encrypted:
        assert path.name in {name for name, _ in refused}
        segments = extractor.extract(
            path.read_bytes(), {"password": SAMPLE_PASSWORD, "ocr": "never"}
        )
        _check(path, segments, SAMPLE_PASSWORD)
        assert any(s["kind"] == "line" for s in segments)


def test_text_with_byte_swapped_code_points_is_read_back(corpus: list[Path]) -> None:
    """OCRmyPDF's cmyk.pdf maps its glyphs to byte-swapped UTF-16 ("M" as U+4D00): PDFium
    reads CJK ideographs; the extractor reads the labels drawn. CJK text is left alone."""
    (path,) = [p for p in corpus if p.name.endswith("ocrmypdf-17.13.0__tests__resources__cmyk.pdf")]
    assert "\u4d00" in _engine_pages(path.read_bytes(), None)[0]  # what PDFium gives
    segments = PdfExtractor().extract(path.read_bytes(), {"ocr": "never"})
    (page,) = [s for s in segments if s["kind"] == "page"]
    assert page["text"].split("\n")[:2] == ["MulticolorBlack", "PureBlack(K=100)"]
    assert page["metadata"]["chars_byte_swapped"] == 60
    cjk = [p for p in corpus if "cjk" in p.name.lower() or "chinese" in p.name.lower()]
    assert cjk
    for path in cjk:
        for s in PdfExtractor().extract(path.read_bytes(), {"ocr": "never"}):
            assert "chars_byte_swapped" not in s.get("metadata", {}), path.name


def test_every_revision_of_pdf_encryption_reads_with_its_password(corpus: list[Path]) -> None:
    """pypdf's files encrypted with revisions 2, 3, 4 (RC4 and AES) and 5 and 6 (AES-256) of
    the standard handler: refused without the user password, extracted with it."""
    extractor = PdfExtractor()
    found = [p for p in corpus if p.name.split("__")[-1].endswith("-user-password.pdf")]
    revisions = {p.name.split("__")[-1].split("-")[0] for p in found}
    assert revisions == {"r2", "r3", "r4", "r5", "r6"}, sorted(p.name for p in found)
    for path in found:
        with pytest.raises(InvalidInput, match="encrypted: give its password"):
            extractor.extract(path.read_bytes(), {"ocr": "never"})
        segments = extractor.extract(
            path.read_bytes(), {"password": PYPDF_PASSWORD, "ocr": "never"}
        )
        _check(path, segments, PYPDF_PASSWORD)
        assert any(s["kind"] == "line" and s["text"].strip() for s in segments), path.name
