"""OCR on scans nobody here made (OCRmyPDF's test resources, see tests/corpus.py): one
brochure page scanned upright, turned by 90, 180 and 270 degrees, and fed askew, each read
back to the words of the text OCRmyPDF ships with it, every box on its page."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest

from docledger.extractors import ImageExtractor, PdfExtractor, ocr
from tests.corpus import fetched, real_pdfs, real_scans, real_screenshots

pytestmark = pytest.mark.skipif(
    not ocr.available() and os.environ.get("CI", "").lower() not in {"1", "true", "yes"},
    reason="the ocr extra is not installed",
)


@pytest.fixture(scope="module")
def scans() -> dict[str, Path]:
    folder = fetched(real_scans, "OCR scan")
    return {path.name.split("__")[-1]: path for path in folder.iterdir()}


def _words(text: str) -> Counter[str]:
    return Counter(re.findall(r"[a-z]{3,}", text.lower()))


@pytest.mark.parametrize(
    ("name", "turns"),
    [
        ("cardinal.pdf", [None, 90, 180, 270]),  # degrees counter-clockwise that right a page
        ("skew.pdf", [None]),
        ("rotated_skew.pdf", [None]),
    ],
)
def test_a_turned_or_askew_scan_reads_as_its_text(
    scans: dict[str, Path], name: str, turns: list[int | None]
) -> None:
    truth = _words(scans["linn.txt"].read_text(encoding="utf-8"))
    segments = PdfExtractor().extract(scans[name].read_bytes(), {})
    pages = [s for s in segments if s["kind"] == "page"]
    assert [p["metadata"]["ocr"].get("orientation") for p in pages] == turns
    for page in pages:
        number, meta = page["page_number"], page["metadata"]
        lines = [s for s in segments if s["kind"] == "line" and s["page_number"] == number]
        found = _words(" ".join(line["text"] for line in lines))
        recall = sum((found & truth).values()) / sum(truth.values())
        assert recall >= 0.95, (name, number, recall)  # 0.0 to 0.72 when read as given
        assert lines[0]["text"] == "The LinnSequencer", (name, number)
        for s in segments:
            if s["page_number"] == number:
                box = s["bbox"]
                assert 0 <= box["x0"] <= box["x1"] <= meta["width"] + 1e-6, (name, s)
                assert 0 <= box["y0"] <= box["y1"] <= meta["height"] + 1e-6, (name, s)
        sideways = meta["ocr"].get("orientation") in (90, 270)
        assert all(bool(line["metadata"].get("vertical")) == sideways for line in lines)
        if "skew" in name:
            assert 1.0 <= abs(meta["ocr"]["skew"]) <= 3.0, meta["ocr"]
        else:
            assert "skew" not in meta["ocr"], meta["ocr"]


@pytest.mark.parametrize("name", ["linn.pdf", "ccitt.pdf", "c03-29.pdf", "2400dpi.pdf"])
def test_an_upright_scan_is_read_as_it_is(scans: dict[str, Path], name: str) -> None:
    segments = PdfExtractor().extract(scans[name].read_bytes(), {})
    for page in (s for s in segments if s["kind"] == "page"):
        assert set(page["metadata"]["ocr"]) == {"dpi", "engine"}, (name, page["metadata"])


def test_a_screenshot_is_not_straightened() -> None:
    """Straight text in short lines: the detector's boxes slope by a pixel or so (0.7 degrees
    on img2pdf's screenshot), which is no skew."""
    shots = fetched(real_screenshots, "screenshot")
    assert len(shots) == 2
    for path in shots:
        segments = ImageExtractor().extract(path.read_bytes(), {})
        (page,) = [s for s in segments if s["kind"] == "page"]
        assert set(page["metadata"]["ocr"]) == {"engine"}, (path.name, page["metadata"])


def test_pages_of_single_letters_and_marks_are_not_turned() -> None:
    """A page whose text is letters apart ("A", "B", "C"), a chart's axis numbers or a few
    short words: its detected boxes are as tall as wide and tell no direction (each was taken
    for a sideways page before boxes that are not lines were left out of the vote)."""
    wanted = {"inkscape-abc.pdf", "table.pdf", "matplotlib.pdf", "pdf-with-jbig2.pdf"}
    found = [p for p in fetched(real_pdfs, "real-PDF") if p.name.split("__")[-1] in wanted]
    assert len(found) == len(wanted)
    for path in found:
        segments = PdfExtractor().extract(path.read_bytes(), {"ocr": "always"})
        for page in (s for s in segments if s["kind"] == "page"):
            assert "orientation" not in page["metadata"]["ocr"], (path.name, page["metadata"])
