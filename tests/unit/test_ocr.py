"""OCR on text we drew ourselves: several fonts and sizes, rendered at 144 dpi (and a copy
turned by 1.5 degrees); character error rate at most 2% and every line box within 3 px of the
ink of that line. A PDF page without a text layer is OCR'd under ``ocr="auto"``."""

from __future__ import annotations

import io
import os
from typing import Any

import pypdfium2 as pdfium
import pytest
import reportlab
from PIL import Image
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from docledger.extractors import ImageExtractor, PdfExtractor, ocr
from tests.planted import edit_distance

pytestmark = pytest.mark.skipif(
    not ocr.available() and os.environ.get("CI", "").lower() not in {"1", "true", "yes"},
    reason="the ocr extra is not installed",
)

FONTS = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
LINES = [
    ("Helvetica", 12, "Fire door D7 fails the self-closing test."),
    ("Times-Roman", 11, "Water damage on the ceiling of room N-104."),
    ("Courier", 10, "Invoice 2026-0042 total due 1,250.00 EUR"),
    ("Vera", 14, "Replace the ceiling panels before the visit."),
    ("VeraBd", 9, "Emergency lighting works on every floor."),
    ("Helvetica-Oblique", 16, "Grid lines A-F moved 300 mm east"),
]
TOP, STEP, DPI = 780, 40, 144


def _page() -> bytes:
    for name, file in (("Vera", "Vera.ttf"), ("VeraBd", "VeraBd.ttf")):
        pdfmetrics.registerFont(TTFont(name, os.path.join(FONTS, file)))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(595, 842))
    for n, (font, size, text) in enumerate(LINES):
        c.setFont(font, size)
        c.drawString(72, TOP - STEP * n, text)
    c.showPage()
    c.save()
    return out.getvalue()


def _render(pdf: bytes) -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[0].render(scale=DPI / 72).to_pil().convert("L")
    finally:
        doc.close()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _ink_box(image: Image.Image, band: tuple[int, int]) -> tuple[int, int, int, int]:
    px = image.load()
    xs, ys = [], []
    for y in range(*band):
        for x in range(image.width):
            if px[x, y] < 128:
                xs.append(x)
                ys.append(y)
    return min(xs), min(ys), max(xs) + 1, max(ys) + 1


def _lines(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in segments if s["kind"] == "line"]


def _cer(found: list[str]) -> float:
    expected = [text for _, _, text in LINES]
    errors = sum(edit_distance(a, b) for a, b in zip(found, expected, strict=True))
    return errors / sum(len(t) for t in expected)


def test_ocr_reads_rendered_text_with_tight_boxes() -> None:
    image = _render(_page())
    lines = _lines(list(ImageExtractor().extract(_png(image), {})))
    assert len(lines) == len(LINES)
    assert _cer([line["text"] for line in lines]) <= 0.02
    scale = DPI / 72
    for n, line in enumerate(lines):
        baseline = (842 - (TOP - STEP * n)) * scale
        ink = _ink_box(image, (int(baseline - 30 * scale), int(baseline + 10 * scale)))
        box = line["bbox"]
        assert box["unit"] == "px"
        for got, want in zip((box["x0"], box["y0"], box["x1"], box["y1"]), ink, strict=True):
            assert abs(got - want) <= 3, (line["text"], box, ink)
        assert 0.5 < line["confidence"] <= 1


def test_ocr_reads_a_skewed_scan() -> None:
    image = _render(_page()).rotate(1.5, expand=True, fillcolor=255, resample=Image.BICUBIC)
    lines = _lines(list(ImageExtractor().extract(_png(image), {})))
    assert len(lines) == len(LINES)
    assert _cer([line["text"] for line in lines]) <= 0.02


def test_pdf_page_without_text_layer_is_ocrd_under_auto() -> None:
    image = _render(_page()).convert("RGB")
    scanned = io.BytesIO()
    image.save(scanned, format="PDF", resolution=DPI)  # an image-only PDF, as scanners write
    data = scanned.getvalue()
    extractor = PdfExtractor()
    assert not _lines(list(extractor.extract(data, {"ocr": "never"})))
    segments = list(extractor.extract(data, {}))
    (page,) = [s for s in segments if s["kind"] == "page"]
    assert page["metadata"]["ocr"]["dpi"] == DPI
    lines = _lines(segments)
    assert _cer([line["text"] for line in lines]) <= 0.02
    first = lines[0]["bbox"]
    assert first["unit"] == "pt"
    assert first["x0"] == pytest.approx(72, abs=3)  # drawn at x = 72 pt
    chunks = [s for s in segments if s["kind"] == "chunk"]
    assert "Fire door D7 fails" in chunks[0]["text"]
    assert extractor.version_for({}).startswith("3+rapidocr")
    assert extractor.version_for({"ocr": "never"}) == "3"
