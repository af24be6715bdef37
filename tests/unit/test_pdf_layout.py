"""Box accuracy and reading order of the PDF extractor on PDFs drawn with reportlab, where we
know where every word is: plain, a moved origin (``cm``), a scaled page, a CropBox offset, a
rotated page, and two columns drawn line by line across both. Two independent checks: the
expected geometry (within 1 pt) and the ink of the page as PDFium renders it (every dark
pixel lies in a word box, and every word box holds ink)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pypdfium2 as pdfium
import pytest
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from docledger.errors import InvalidInput
from docledger.extractors import ImageExtractor, PdfExtractor

W, H = 595.0, 842.0
FONT, SIZE = "Helvetica", 12.0


def _pdf(draw: Callable[[canvas.Canvas], None], pagesize: tuple[float, float] = (W, H)) -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=pagesize, pageCompression=0)
    c.setFont(FONT, SIZE)
    draw(c)
    c.showPage()
    c.save()
    return out.getvalue()


def _segments(data: bytes, **params: Any) -> list[dict[str, Any]]:
    return list(PdfExtractor().extract(data, {"granularity": "words", "ocr": "never", **params}))


def _words(data: bytes) -> dict[str, dict[str, float]]:
    return {s["text"]: s["bbox"] for s in _segments(data) if s["kind"] == "word"}


def _expected(text: str, x: float, y: float, scale: float = 1.0) -> dict[str, dict[str, float]]:
    """Word boxes (top-left origin) of ``text`` drawn at baseline (x, y) on an upright page:
    x exact from the font's advance widths; the baseline inside the box."""
    out, cursor = {}, x
    for word in text.split(" "):
        width = stringWidth(word, FONT, SIZE) * scale
        out[word] = {"x0": cursor, "x1": cursor + width, "baseline": H - y}
        cursor += width + stringWidth(" ", FONT, SIZE) * scale
    return out


def _assert_boxes(
    found: dict[str, dict[str, float]], expected: dict[str, dict[str, float]], size: float
) -> None:
    for word, want in expected.items():
        box = found[word]
        assert abs(box["x0"] - want["x0"]) <= 1.0, (word, box, want)
        assert abs(box["x1"] - want["x1"]) <= 1.0, (word, box, want)
        assert box["y0"] <= want["baseline"] <= box["y1"], (word, box, want)
        assert 0.8 * size <= box["y1"] - box["y0"] <= 1.4 * size, (word, box)


def _assert_ink_in_boxes(data: bytes, segments: list[dict[str, Any]]) -> None:
    """Render at 72 dpi (1 px = 1 pt) and compare the ink with the word boxes."""
    doc = pdfium.PdfDocument(data)
    image = doc[0].render(scale=1).to_pil().convert("L")
    width, height = image.size
    pixels = image.load()
    boxes = [s["bbox"] for s in segments if s["kind"] == "word"]
    pad = 1.5
    inked = [0] * len(boxes)
    stray = 0
    for py in range(height):
        for px in range(width):
            if pixels[px, py] >= 128:
                continue
            cx, cy = px + 0.5, py + 0.5
            hits = [
                i
                for i, b in enumerate(boxes)
                if b["x0"] - pad <= cx <= b["x1"] + pad and b["y0"] - pad <= cy <= b["y1"] + pad
            ]
            stray += not hits
            for i in hits:
                inked[i] += 1
    doc.close()
    assert stray == 0, f"{stray} dark pixels outside every word box"
    assert all(inked), "a word box with no ink under it"


LINE = "Fire door D9 fails the self-closing test"


def test_plain_page_word_boxes_within_a_point() -> None:
    data = _pdf(lambda c: c.drawString(72, 700, LINE))
    segments = _segments(data)
    _assert_boxes(_words(data), _expected(LINE, 72, 700), SIZE)
    _assert_ink_in_boxes(data, segments)
    (page,) = [s for s in segments if s["kind"] == "page"]
    assert page["metadata"]["width"] == pytest.approx(W)
    assert page["metadata"]["rotation"] == 0
    assert "bbox_estimated" not in str(segments)


def test_moved_origin_with_cm() -> None:
    def draw(c: canvas.Canvas) -> None:
        c.translate(150, 300)  # a cm operator, as LaTeX, Word and CAD exports write
        c.drawString(20, 40, LINE)

    data = _pdf(draw)
    assert b" cm" in data
    _assert_boxes(_words(data), _expected(LINE, 170, 340), SIZE)
    _assert_ink_in_boxes(data, _segments(data))


def test_scaled_page() -> None:
    def draw(c: canvas.Canvas) -> None:
        c.scale(0.5, 0.5)
        c.drawString(144, 1000, LINE)

    data = _pdf(draw)
    _assert_boxes(_words(data), _expected(LINE, 72, 500, scale=0.5), SIZE * 0.5)
    _assert_ink_in_boxes(data, _segments(data))


def test_cropbox_offset() -> None:
    def draw(c: canvas.Canvas) -> None:
        c.setCropBox((50, 60, 545, 782))
        c.drawString(100, 700, LINE)

    data = _pdf(draw)
    segments = _segments(data)
    (page,) = [s for s in segments if s["kind"] == "page"]
    assert page["metadata"]["width"] == pytest.approx(495)
    assert page["metadata"]["height"] == pytest.approx(722)
    words = _words(data)
    for word, want in _expected(LINE, 100, 700).items():
        box = words[word]
        assert abs(box["x0"] - (want["x0"] - 50)) <= 1.0
        assert box["y0"] <= want["baseline"] - (H - 782) <= box["y1"]
    _assert_ink_in_boxes(data, segments)


def test_text_outside_the_cropbox_is_left_out() -> None:
    def draw(c: canvas.Canvas) -> None:
        c.setCropBox((0, 0, 300, 842))
        c.drawString(72, 700, "inside")
        c.drawString(400, 700, "outside")

    segments = _segments(_pdf(draw))
    assert {s["text"] for s in segments if s["kind"] == "word"} == {"inside"}
    (page,) = [s for s in segments if s["kind"] == "page"]
    assert page["metadata"]["chars_outside_page"] == len("outside")


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_page(rotation: int) -> None:
    """reportlab keeps the shown size and swaps the MediaBox for 90 and 270, so user space
    is UW x UH; a point (x, y) of it shows where /Rotate turns it (clockwise)."""

    def draw(c: canvas.Canvas) -> None:
        c.setPageRotation(rotation)
        c.drawString(72, 500, LINE)

    data = _pdf(draw)
    segments = _segments(data)
    (page,) = [s for s in segments if s["kind"] == "page"]
    assert (page["metadata"]["width"], page["metadata"]["height"]) == pytest.approx((W, H))
    assert page["metadata"]["rotation"] == rotation
    _assert_ink_in_boxes(data, segments)
    uw, uh = (H, W) if rotation in (90, 270) else (W, H)
    words = _words(data)
    assert len(words) == len(LINE.split())
    for word, want in _expected(LINE, 72, 500).items():
        box, u0, u1 = words[word], want["x0"], want["x1"]
        if rotation == 90:  # shows at (y, x): the line runs down the page
            assert abs(box["y0"] - u0) <= 1, (word, box)
            assert abs(box["y1"] - u1) <= 1, (word, box)
            assert box["x0"] <= 500 <= box["x1"]
        elif rotation == 180:  # shows at (UW - x, y): upside down
            assert abs(box["x0"] - (uw - u1)) <= 1, (word, box)
            assert abs(box["x1"] - (uw - u0)) <= 1, (word, box)
            assert box["y0"] <= 500 <= box["y1"]
        else:  # 270: shows at (UH - y, UW - x): the line runs up the page
            assert abs(box["y0"] - (uw - u1)) <= 1, (word, box)
            assert abs(box["y1"] - (uw - u0)) <= 1, (word, box)
            assert box["x0"] <= uh - 500 <= box["x1"]


LEFT = [f"Left column line {n} about fire doors." for n in range(1, 7)]
RIGHT = [f"Right column line {n} about stairwells." for n in range(1, 7)]


def test_two_columns_drawn_across_read_column_by_column() -> None:
    def draw(c: canvas.Canvas) -> None:
        c.setFont(FONT, 16)
        c.drawString(72, 780, "Inspection report north wing")
        c.setFont(FONT, SIZE)
        for n, (left, right) in enumerate(zip(LEFT, RIGHT, strict=True)):
            c.drawString(72, 720 - 15 * n, left)  # the content stream alternates columns
            c.drawString(330, 720 - 15 * n, right)

    data = _pdf(draw)
    segments = list(PdfExtractor().extract(data, {"ocr": "never"}))
    lines = [s["text"] for s in segments if s["kind"] == "line"]
    assert lines == ["Inspection report north wing", *LEFT, *RIGHT]
    blocks = [s for s in segments if s["kind"] == "block"]
    assert len(blocks) == 3
    _assert_ink_in_boxes(data, _segments(data))
    chunks = [s for s in segments if s["kind"] == "chunk"]
    assert chunks
    assert all(s["parent"] == 0 for s in chunks)
    assert (
        " ".join(c["text"] for c in chunks).split()
        == " ".join(["Inspection report north wing", *LEFT, *RIGHT]).split()
    )


def test_chunks_keep_sentences_whole_and_box_their_lines() -> None:
    sentences = [f"Sentence number {n} states one planted fact about door D{n}." for n in range(40)]

    def draw(c: canvas.Canvas) -> None:
        text = c.beginText(72, 780)
        line = ""
        for sentence in sentences:
            for word in sentence.split():
                if stringWidth(line + " " + word, FONT, SIZE) > 440:
                    text.textLine(line)
                    line = word
                else:
                    line = f"{line} {word}".strip()
        text.textLine(line)
        c.drawText(text)

    segments = list(PdfExtractor().extract(_pdf(draw), {"chunk_size": 300, "ocr": "never"}))
    chunks = [s for s in segments if s["kind"] == "chunk"]
    assert len(chunks) >= 5
    joined = " ".join(c["text"] for c in chunks)
    for sentence in sentences:  # no sentence is cut between two chunks
        assert any(sentence in c["text"] for c in chunks), sentence
    assert joined.split() == " ".join(sentences).split()
    lines = [s for s in segments if s["kind"] == "line"]
    for chunk in chunks:
        first, last = chunk["metadata"]["lines"]
        covered = lines[first : last + 1]
        assert chunk["bbox"]["y0"] == min(line["bbox"]["y0"] for line in covered)
        assert chunk["bbox"]["y1"] == max(line["bbox"]["y1"] for line in covered)


def test_params_are_checked_before_reading() -> None:
    extractor = PdfExtractor()
    for bad in (
        {"granularity": "letters"},
        {"chunk_size": "800"},
        {"chunk_size": True},
        {"chunk_size": 10**9},
        {"ocr_dpi": float("nan")},
        {"chunk_size": 100, "chunk_overlap": 100},
        {"colour": "red"},
    ):
        with pytest.raises(InvalidInput):
            extractor.extract(b"not even a pdf", bad)


def test_not_a_pdf_and_encrypted_are_clear_errors() -> None:
    with pytest.raises(InvalidInput, match="cannot open the PDF"):
        PdfExtractor().extract(b"%PDF-1.7 broken", {})
    out = io.BytesIO()
    c = canvas.Canvas(out, encrypt="secret")
    c.drawString(72, 700, "classified")
    c.save()
    with pytest.raises(InvalidInput, match="encrypted"):
        PdfExtractor().extract(out.getvalue(), {})
    words = _segments(out.getvalue(), password="secret")
    assert "classified" in {s["text"] for s in words if s["kind"] == "word"}


def test_an_unreadable_image_is_a_clear_error() -> None:
    from PIL import Image  # noqa: PLC0415

    png = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(png, format="PNG")
    for data in (b"not an image at all", png.getvalue()[:40], b"\xff\xd8\xff\xe0garbage"):
        with pytest.raises(InvalidInput, match="cannot read the image") as refused:
            ImageExtractor().extract(data, {})
        assert "object at 0x" not in str(refused.value)
