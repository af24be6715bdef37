"""OCR on text we drew ourselves: several fonts and sizes, rendered at 144 dpi (and copies
turned by 90, 180 and 270 degrees, and by 1.5); character error rate at most 2% and every
line box within 3 px of the ink of that line on the image as given. A PDF page without a text
layer is OCR'd under ``ocr="auto"``."""

from __future__ import annotations

import io
import math
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


def _inks(image: Image.Image) -> list[tuple[int, int, int, int]]:
    """The ink box of each drawn line on the upright page."""
    scale = DPI / 72
    out = []
    for n in range(len(LINES)):
        baseline = (842 - (TOP - STEP * n)) * scale
        out.append(_ink_box(image, (int(baseline - 30 * scale), int(baseline + 10 * scale))))
    return out


def _near(box: dict[str, Any], want: tuple[float, ...], tolerance: float, text: str) -> None:
    got = (box["x0"], box["y0"], box["x1"], box["y1"])
    assert all(abs(a - b) <= tolerance for a, b in zip(got, want, strict=True)), (text, got, want)


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_ocr_reads_a_page_turned_any_way(turn: int) -> None:
    """A scan fed sideways or upside down reads in its own reading order, each box where
    that line's ink is on the image as given (turned by ``turn`` counter-clockwise)."""
    upright = _render(_page())
    width, height = upright.size
    turned = upright.transpose(
        {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
         270: Image.Transpose.ROTATE_270}[turn]
    )  # fmt: skip
    segments = list(ImageExtractor().extract(_png(turned), {}))
    (page,) = [s for s in segments if s["kind"] == "page"]
    assert page["metadata"]["ocr"]["orientation"] == 360 - turn  # what rights it
    lines = _lines(segments)
    assert _cer([line["text"] for line in lines]) <= 0.02
    for line, (x0, y0, x1, y1) in zip(lines, _inks(upright), strict=True):
        moved = {
            90: (y0, width - x1, y1, width - x0),
            180: (width - x1, height - y1, width - x0, height - y0),
            270: (height - y1, x0, height - y0, x1),
        }[turn]
        _near(line["bbox"], moved, 3, line["text"])
        assert bool(line["metadata"].get("vertical")) == (turn != 180)


def test_ocr_reads_a_skewed_scan() -> None:
    """Straightened before the read; each box is the upright box around its line's ink as
    it lies on the skewed image."""
    upright = _render(_page())
    image = upright.rotate(1.5, expand=True, fillcolor=255, resample=Image.BICUBIC)
    segments = list(ImageExtractor().extract(_png(image), {}))
    (page,) = [s for s in segments if s["kind"] == "page"]
    assert page["metadata"]["ocr"]["skew"] == pytest.approx(-1.5, abs=0.2)
    lines = _lines(segments)
    assert len(lines) == len(LINES)
    assert _cer([line["text"] for line in lines]) <= 0.02
    cos, sin = math.cos(math.radians(1.5)), math.sin(math.radians(1.5))

    def onto(x: float, y: float) -> tuple[float, float]:  # where PIL's rotate put (x, y)
        dx, dy = x - upright.width / 2, y - upright.height / 2
        return image.width / 2 + dx * cos + dy * sin, image.height / 2 - dx * sin + dy * cos

    for line, (x0, y0, x1, y1) in zip(lines, _inks(upright), strict=True):
        corners = [onto(x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        _near(line["bbox"], (min(xs), min(ys), max(xs), max(ys)), 3, line["text"])


def test_an_upright_page_is_read_as_it_is() -> None:
    segments = list(ImageExtractor().extract(_png(_render(_page())), {}))
    (page,) = [s for s in segments if s["kind"] == "page"]
    assert set(page["metadata"]["ocr"]) == {"engine"}


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
    assert extractor.version_for({}).startswith("4+rapidocr")
    assert extractor.version_for({"ocr": "never"}) == "4"
