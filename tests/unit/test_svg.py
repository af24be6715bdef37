"""SVG drawings: on every SVG of svglib's source distribution, each line of text the svg
extractor places is checked against an independent placing: svglib converts the drawing to
reportlab graphics, reportlab writes it as a PDF, and PDFium reports where each word's glyphs
are. Anchors (a line's start, middle or end, per ``text-anchor``) agree; then a drawing
written here with nested transforms, units and hidden text, and hostile ones refused."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from reportlab.graphics import renderPDF
from svglib.svglib import svg2rlg

from docledger.errors import InvalidInput
from docledger.extractors import PdfExtractor, SvgExtractor, for_media_type
from docledger.extractors.svg import transform_of
from docledger.services.media import sniff
from tests.corpus import fetched, real_svg


def _their_words(svg: bytes, path: Any) -> tuple[list[dict[str, Any]], float, float]:
    """Words as PDFium finds them in svglib's PDF of the drawing, and the PDF page's size."""
    out = io.BytesIO()
    renderPDF.drawToFile(svg2rlg(str(path)), out)
    segments = PdfExtractor().extract(out.getvalue(), {"ocr": "never", "granularity": "words"})
    page = next(s for s in segments if s["kind"] == "page")
    words = [s for s in segments if s["kind"] == "word"]
    return words, page["metadata"]["width"], page["metadata"]["height"]


def _agrees(line: dict[str, Any], words: list[dict[str, Any]], sx: float, sy: float) -> bool:
    """Some word of the same text lies on the line's baseline band, with the line's start,
    middle or end where the word's is (which one depends on the text's anchor)."""
    first = line["text"].split()[0]
    size = line["metadata"].get("font_size", 16)
    box = line["bbox"]
    tolerance = 0.35 * size
    for word in words:
        if word["text"] != first and not word["text"].startswith(first):
            continue
        w = {k: word["bbox"][k] / (sx if k[0] == "x" else sy) for k in ("x0", "x1", "y0", "y1")}
        if abs(w["y1"] - box["y1"]) > tolerance:
            continue
        if len(line["text"].split()) > 1:  # a start anchor: the first words begin together
            if abs(w["x0"] - box["x0"]) <= tolerance:
                return True
            continue
        ends = (abs(w["x0"] - box["x0"]), abs(w["x1"] - box["x1"]),
                abs((w["x0"] + w["x1"]) / 2 - (box["x0"] + box["x1"]) / 2))  # fmt: skip
        if min(ends) <= tolerance:
            return True
    return False


def test_every_real_drawing_places_its_text_as_svglib_and_pdfium_do() -> None:
    corpus = fetched(real_svg, "real-SVG")
    assert len(corpus) >= 30
    checked = agreed = 0
    for path in corpus:
        data = path.read_bytes()
        assert isinstance(for_media_type(sniff(data[:4096], path.name)), SvgExtractor)
        segments = SvgExtractor().extract(data, {})
        page = segments[0]
        assert page["kind"] == "page"
        assert page["metadata"]["boxes"] == "estimated"
        lines = [s for s in segments if s["kind"] == "line"]
        if not lines:
            continue
        words, width, height = _their_words(data, path)
        sx, sy = width / page["metadata"]["width"], height / page["metadata"]["height"]
        for line in lines:
            checked += 1
            agreed += _agrees(line, words, sx, sy)
    # measured: 92 lines in 6 drawings, all 92 placed where svglib and PDFium put them
    assert checked >= 90
    assert agreed >= checked * 0.95, (agreed, checked)


DRAWING = b"""<?xml version="1.0"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="148mm" viewBox="0 0 840 592">
  <title>Ground floor plan</title>
  <defs><text id="unused" x="5" y="5">hidden template</text></defs>
  <g transform="translate(100 50)">
    <g transform="scale(2)">
      <text x="10" y="20" font-size="10">Room N-104</text>
    </g>
    <text x="300" y="100" style="font-size: 12px; text-anchor: middle">Stair B</text>
    <text x="0" y="200" font-size="8" style="display:none">not shown</text>
  </g>
  <text transform="rotate(90 400 300)" x="400" y="300" font-size="10">Grid C</text>
  <text x="20" y="560" font-size="10">Scale 1:50 <tspan x="20" y="575">Sheet A-101</tspan></text>
</svg>"""


def test_a_plan_places_labels_through_its_transforms() -> None:
    segments = SvgExtractor().extract(DRAWING, {})
    page = segments[0]
    assert (page["metadata"]["width"], page["metadata"]["height"]) == (840, 592)
    assert page["metadata"]["title"] == "Ground floor plan"
    lines = {s["text"]: s["bbox"] for s in segments if s["kind"] == "line"}
    assert set(lines) == {"Room N-104", "Stair B", "Grid C", "Scale 1:50", "Sheet A-101"}
    room = lines["Room N-104"]  # (10, 20) scaled by 2 then moved by (100, 50): x 120, y 90
    assert room["x0"] == pytest.approx(120)
    assert room["y1"] == pytest.approx(90 + 0.2 * 20)  # the baseline, 10 pt text drawn at 2x
    stair = lines["Stair B"]  # middle-anchored at x 400
    assert (stair["x0"] + stair["x1"]) / 2 == pytest.approx(400)
    grid = lines["Grid C"]  # turned a quarter about its own anchor: it runs down the page
    assert grid["y1"] - grid["y0"] > grid["x1"] - grid["x0"]
    assert grid["x1"] == pytest.approx(400 + 0.8 * 10)
    assert lines["Sheet A-101"]["y1"] > lines["Scale 1:50"]["y1"]  # a tspan's own line
    assert transform_of("matrix(1 0 0 1 5 6) translate(1,2)") == (1, 0, 0, 1, 6, 8)


def test_hostile_and_broken_drawings_are_refused_clearly() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;">]>'
              b'<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>')  # fmt: skip
    external = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>')  # fmt: skip
    illustrator = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY ns_svg '
                   b'"http://www.w3.org/2000/svg">]><svg xmlns="&ns_svg;"><text x="1" y="9">'
                   b"ok</text></svg>")  # fmt: skip
    for data, message in (
        (laughs, "refers to other entities"),
        (external, "refers to other entities or to a file"),
        (DRAWING[: len(DRAWING) // 2], "broken XML"),
        (b"<html><body>not a drawing</body></html>", "root element is not <svg>"),
        (
            laughs.replace(b"ENTITY a ", b"ENTITY a:b ").replace(b"&a;", b"&a:b;"),
            "refers to other entities",
        ),
        (
            b'<!DOCTYPE svg [<!ENTITY a SYSTEM "x"><!ENTITY b "y" >]><svg/>'.replace(
                b"<!ENTITY b", b"<!ENTITY\tb"
            ),
            "refers to other entities or to a file",
        ),
        (b'<!DOCTYPE svg [<!ENTITY a "x"> <!ENTITY>]><svg/>', "other than plain strings"),
    ):
        with pytest.raises(InvalidInput, match=re.escape(message)):
            SvgExtractor().extract(data, {})
    assert [s["text"] for s in SvgExtractor().extract(illustrator, {}) if s["kind"] == "line"] == [
        "ok"
    ]
