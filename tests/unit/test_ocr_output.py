"""OCR engines' output files read with their boxes (see docledger.extractors.ocr_output), on
files nobody here wrote (OCRmyPDF's hOCR, kraken's ALTO and PAGE XML, tests/corpus.py), each
checked against lxml reading the same file by the format's own rules; and on bad input."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import lxml.etree
import lxml.html
import pytest

from docledger.errors import InvalidInput
from docledger.extractors import (
    AltoExtractor,
    HocrExtractor,
    PageXmlExtractor,
    XmlExtractor,
    for_media_type,
)
from docledger.services.media import sniff
from tests.corpus import fetched, real_ocr_output

#: kraken's documentation templates: "..." where attributes go
TEMPLATES = {"docs__alto.xml", "docs__pagexml.xml"}


@pytest.fixture(scope="module")
def files() -> list[Path]:
    return fetched(real_ocr_output, "OCR output")


def _lines(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in segments if s["kind"] == "line"]


def _box(segment: dict[str, Any]) -> tuple[float, float, float, float]:
    b = segment["bbox"]
    return (b["x0"], b["y0"], b["x1"], b["y1"])


def _on_pages(segments: list[dict[str, Any]]) -> None:
    pages = {s["page_number"]: s["metadata"] for s in segments if s["kind"] == "page"}
    for s in segments:
        meta = pages[s["page_number"]]
        x0, y0, x1, y1 = _box(s)
        assert 0 <= x0 <= x1 <= meta["width"], s
        assert 0 <= y0 <= y1 <= meta["height"], s
        if s["kind"] == "line" and s["confidence"] is not None:
            assert 0 <= s["confidence"] <= 1


def _local(element: Any) -> str:
    return lxml.etree.QName(element).localname if isinstance(element.tag, str) else ""


def _alto_truth(path: Path) -> list[tuple[str, tuple[float, ...]]]:
    root = lxml.etree.parse(str(path)).getroot()
    out = []
    for line in root.iter("{*}TextLine"):
        words = [s.get("CONTENT") for s in line if _local(s) == "String"]
        text = " ".join(w for w in words if w and w.strip())
        if text:
            x, y = float(line.get("HPOS")), float(line.get("VPOS"))
            out.append((text, (x, y, x + float(line.get("WIDTH")), y + float(line.get("HEIGHT")))))
    return out


def _page_text(line: Any) -> str:
    return " ".join("".join(line.xpath("./*[local-name()='TextEquiv'][1]/*/text()")).split())


def _page_truth(path: Path) -> list[tuple[str, tuple[float, ...]]]:
    root = lxml.etree.parse(str(path)).getroot()
    out = []
    for line in root.iter("{*}TextLine"):
        text = _page_text(line)
        if text:
            out.append((text, _polygon_box(line)))
    return out


def _hocr_truth(path: Path) -> list[tuple[str, tuple[float, ...]]]:
    root = lxml.html.fromstring(path.read_bytes())
    out = []
    for line in root.xpath("//*[contains(concat(' ', @class, ' '), ' ocr_line ')]"):
        words = line.xpath(".//*[contains(concat(' ', @class, ' '), ' ocrx_word ')]")
        text = " ".join(" ".join(w.text_content().split()) for w in words)
        box = re.search(r"bbox (\d+) (\d+) (\d+) (\d+)", line.get("title"))
        assert box is not None
        out.append((text, tuple(float(v) for v in box.groups())))
    return out


def test_every_ocr_output_file_is_typed_and_read_as_its_own_reader_reads_it(
    files: list[Path],
) -> None:
    assert len(files) >= 14
    kinds: dict[str, int] = {}
    for path in files:
        data = path.read_bytes()
        media_type = sniff(data[:8192])  # no name: the content says what it is
        extractor = for_media_type(media_type)
        assert extractor is not None, (path.name, media_type)
        kinds[extractor.name] = kinds.get(extractor.name, 0) + 1
        name = path.name.split("kraken-5.2.9__")[-1]
        if name in TEMPLATES:
            with pytest.raises(InvalidInput, match="not well-formed XML"):
                extractor.extract(data, {})
            continue
        segments = extractor.extract(data, {})
        if isinstance(extractor, XmlExtractor):  # ABBYY FineReader's XML: read as XML text
            assert "FineReader" in path.name
            assert segments
            continue
        _on_pages(segments)
        found = [(s["text"], _box(s)) for s in _lines(segments)]
        if isinstance(extractor, AltoExtractor):
            assert found == _alto_truth(path), path.name
        elif isinstance(extractor, HocrExtractor):
            assert found == _hocr_truth(path), path.name
        else:  # PAGE XML: by its reading order, so compared as a set here (order below)
            assert sorted(found) == sorted(_page_truth(path)), path.name
    assert kinds == {"hocr": 6, "alto": 3, "page-xml": 4, "xml": 1}, kinds


def test_page_xml_follows_its_reading_order(files: list[Path]) -> None:
    (path,) = [p for p in files if p.name.endswith("170025120000003,0074.xml")]
    root = lxml.etree.parse(str(path)).getroot()
    order = {
        ref.get("regionRef"): int(ref.get("index")) for ref in root.iter("{*}RegionRefIndexed")
    }
    regions = sorted(root.iter("{*}TextRegion"), key=lambda r: order[r.get("id")])
    want = []
    for region in regions:
        for line in region.iterfind("{*}TextLine"):
            text = _page_text(line)
            if text:
                want.append(text)
    segments = PageXmlExtractor().extract(path.read_bytes(), {})
    assert [s["text"] for s in _lines(segments)] == want
    blocks = [s for s in segments if s["kind"] == "block"]
    assert len(blocks) == len([r for r in regions if r.find("{*}TextLine") is not None])
    assert segments[0]["metadata"]["image"] == "170025120000003,0074.jpg"


def test_words_come_with_their_own_boxes_and_confidences(files: list[Path]) -> None:
    (path,) = [p for p in files if p.name.endswith("latin.hocr")]
    segments = HocrExtractor().extract(path.read_bytes(), {"granularity": "words"})
    words = [s for s in segments if s["kind"] == "word"]
    assert [w["text"] for w in words[:5]] == ["The", "quick", "brown", "fox", "jumps"]
    assert _box(words[1]) == (650.0, 200.0, 1050.0, 400.0)
    (first, *_) = _lines(segments)
    assert first["confidence"] == pytest.approx(0.95)
    (page,) = [s for s in segments if s["kind"] == "page"]
    assert page["metadata"]["image"] == "test.png"  # the scan, as the file names it
    chunk = next(s for s in segments if s["kind"] == "chunk")
    assert "The quick brown fox jumps" in chunk["text"]


ALTO_MM10 = b"""<?xml version="1.0"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v3#">
  <Description><MeasurementUnit>mm10</MeasurementUnit></Description>
  <Layout><Page WIDTH="2100" HEIGHT="2970"><PrintSpace>
    <TextBlock HPOS="254" VPOS="254" WIDTH="1000" HEIGHT="100">
      <TextLine HPOS="254" VPOS="254" WIDTH="1000" HEIGHT="50">
        <String CONTENT="Fire" HPOS="254" VPOS="254" WIDTH="200" HEIGHT="50" WC="0.9"/><SP/>
        <String CONTENT="doors" HPOS="500" VPOS="254" WIDTH="254" HEIGHT="50" WC="0.7"/>
        <HYP CONTENT="-"/>
      </TextLine>
      <TextLine HPOS="nan" VPOS="1e999" WIDTH="1" HEIGHT="1">
        <String CONTENT="lost" HPOS="inf" VPOS="0" WIDTH="1" HEIGHT="1"/>
      </TextLine>
    </TextBlock>
  </PrintSpace></Page></Layout>
</alto>"""


def test_alto_in_tenths_of_a_millimetre_is_given_in_points() -> None:
    segments = AltoExtractor().extract(ALTO_MM10, {})
    (page,) = [s for s in segments if s["kind"] == "page"]
    assert page["bbox"]["unit"] == "pt"
    assert page["metadata"]["width"] == pytest.approx(595.276, abs=0.01)  # A4
    assert page["metadata"]["lines_without_box"] == 1  # its numbers are not finite
    (line,) = _lines(segments)
    assert line["text"] == "Fire doors-"
    assert _box(line) == pytest.approx((72.0, 72.0, 355.465, 86.173), abs=0.01)
    assert line["confidence"] == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("extractor", "data", "message"),
    [
        (AltoExtractor(), b"<alto><Layout><Page>", "cannot read the ALTO file: not well-formed"),
        (PageXmlExtractor(), b"<PcGts><Page></PcGts>", "cannot read the PAGE XML file"),
        (
            AltoExtractor(),
            b'<!DOCTYPE alto [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><alto>&b;</alto>',
            "entit",
        ),
        (HocrExtractor(), b"<div>" * 1001 + b"</span>" * 1000, "nested too deeply"),
        (HocrExtractor(), b"", None),
        (HocrExtractor(), b"<html><body><p>no OCR classes at all</p></body></html>", None),
    ],
)
def test_bad_or_empty_input(extractor: Any, data: bytes, message: str | None) -> None:
    if message is None:  # nothing to read is no segment, not an error
        assert extractor.extract(data, {}) == []
        return
    with pytest.raises(InvalidInput, match=message):
        extractor.extract(data, {})


def test_hocr_lines_without_words_and_markup_cut_off() -> None:
    data = (
        b"<html><body><div class='ocr_page' title='bbox 0 0 100 50'>"
        b"<span class='ocr_line' title='bbox 5 5 60 20'>Room &amp; N-104</span>"
        b"<span class='ocr_line' title='bbox 5 25 60 400'>never closed"
    )
    lines = _lines(HocrExtractor().extract(data, {}))
    assert [(s["text"], _box(s)) for s in lines] == [
        ("Room & N-104", (5.0, 5.0, 60.0, 20.0)),
        ("never closed", (5.0, 25.0, 60.0, 50.0)),  # kept on its page
    ]
    huge = b"<div class='ocr_page' title='bbox 0 0 9" + b"9" * 400 + b" 50'>"
    huge += b"<span class='ocr_line' title='bbox 0 0 1" + b"0" * 400 + b" 9'>far</span>"
    huge += b"<span class='ocr_line' title='bbox 1 1 9 9'>near</span></div>"
    (page, *rest) = HocrExtractor().extract(huge, {})
    assert page["metadata"] == {"width": 9.0, "height": 9.0, "rotation": 0,
                                "lines_without_box": 1}  # fmt: skip
    assert [s["text"] for s in _lines(rest)] == ["near"]
    assert lines[0]["confidence"] is None


@pytest.mark.parametrize(
    ("head", "want"),
    [
        (b"<?xml version='1.0'?><alto xmlns='http://www.loc.gov/standards/alto/ns-v4#'>",
         "application/alto+xml"),
        (b"<PcGts xmlns='http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15'>",
         "application/vnd.prima.page+xml"),
        (b"<html><head><meta name='ocr-capabilities' content='ocr_page ocr_line'/>",
         "text/vnd.hocr+html"),
        (b"<html><body><p>an ordinary page</p></body></html>", "text/html"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' width='1'/>", "image/svg+xml"),
        (b"<b>bold</b> is not a document element", "text/plain"),
    ],
)  # fmt: skip
def test_sniffed_by_content(head: bytes, want: str) -> None:
    assert sniff(head) == want


def test_named_as_html_or_xml_still_typed_by_content(files: list[Path]) -> None:
    """OCR engines and pipelines save hOCR as .html and ALTO and PAGE XML as .xml."""
    by_kind = {}
    for path in files:
        head = path.read_bytes()[:8192]
        by_kind.setdefault(sniff(head), head)
    hocr, alto, page = (by_kind[k] for k in ("text/vnd.hocr+html", "application/alto+xml",
                                             "application/vnd.prima.page+xml"))  # fmt: skip
    assert sniff(hocr, "scan_0001.html") == "text/vnd.hocr+html"
    assert sniff(alto, "scan_0001.xml") == "application/alto+xml"
    assert sniff(page, "scan_0001.xml") == "application/vnd.prima.page+xml"
    assert sniff(b"<html><body><p>a page</p></body></html>", "a.html") == "text/html"
    assert sniff(b"<?xml version='1.0'?><article/>", "a.xml") == "application/xml"


PAGE_2010 = b"""<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2010-03-19">
 <Page imageWidth="1000" imageHeight="1400">
  <ReadingOrder><OrderedGroup id="g"><RegionRef regionRef="r2"/><RegionRef regionRef="r1"/>
  </OrderedGroup></ReadingOrder>
  <TextRegion id="r1" type="paragraph">
   <Coords><Point x="100" y="300"/><Point x="900" y="300"/><Point x="900" y="400"/></Coords>
   <TextLine id="l2"><Coords><Point x="100" y="300"/><Point x="880" y="340"/></Coords>
    <Word><Coords><Point x="100" y="300"/><Point x="400" y="340"/></Coords>
     <TextEquiv conf="0.5"><Unicode>Water</Unicode></TextEquiv></Word>
    <Word><Coords><Point x="420" y="300"/><Point x="880" y="340"/></Coords>
     <TextEquiv conf="0.7"><Unicode>damage</Unicode></TextEquiv></Word>
   </TextLine>
  </TextRegion>
  <TextRegion id="r3" type="marginalia">
   <TextLine id="l3"><Coords points="950,500 990,500 990,900"/>
    <TextEquiv index="2"><Unicode>second reading</Unicode></TextEquiv>
    <TextEquiv index="1" conf="0.9"><Unicode>first reading</Unicode></TextEquiv></TextLine>
  </TextRegion>
  <TextRegion id="r2" type="heading">
   <TextLine id="l1"><Coords points="100,100 700,100 700,160 100,160"/>
    <TextEquiv><Unicode>Inspection report</Unicode></TextEquiv></TextLine>
  </TextRegion>
 </Page>
</PcGts>"""


def test_page_xml_2010_points_reading_order_and_region_types() -> None:
    segments = PageXmlExtractor().extract(PAGE_2010, {"granularity": "words"})
    blocks = [s for s in segments if s["kind"] == "block"]
    # the reading order first (r2, r1), then the region it leaves out (r3)
    assert [(b["label"], b["text"]) for b in blocks] == [
        ("heading", "Inspection report"),
        ("paragraph", "Water damage"),
        ("marginalia", "first reading"),
    ]
    lines = _lines(segments)
    assert _box(lines[1]) == (100.0, 300.0, 880.0, 340.0)
    assert lines[1]["confidence"] == pytest.approx(0.6)  # its words' mean: it has none
    assert lines[2]["confidence"] == pytest.approx(0.9)
    words = [s for s in segments if s["kind"] == "word"]
    assert [(w["text"], _box(w)) for w in words] == [
        ("Inspection report", (100.0, 100.0, 700.0, 160.0)),  # a line without words
        ("Water", (100.0, 300.0, 400.0, 340.0)),
        ("damage", (420.0, 300.0, 880.0, 340.0)),
        ("first reading", (950.0, 500.0, 990.0, 900.0)),
    ]


def test_a_page_size_of_nothing_or_less_is_what_the_contents_span() -> None:
    data = b"""<PcGts><Page imageWidth="-5" imageHeight="0"><TextRegion id="r">
 <TextLine id="l"><Coords points="1,1 20,1 20,9 1,9"/>
 <TextEquiv><Unicode>line</Unicode></TextEquiv></TextLine></TextRegion></Page></PcGts>"""
    (page, *_) = PageXmlExtractor().extract(data, {})
    assert (page["metadata"]["width"], page["metadata"]["height"]) == (20.0, 9.0)


def test_hocr_text_set_vertically_is_a_vertical_line() -> None:
    data = (
        b"<div class='ocr_page' title='bbox 0 0 100 100'>"
        b"<span class='ocr_line' title='bbox 10 10 20 90; textangle 90'>down</span>"
        b"<span class='ocr_line' title='bbox 30 10 90 20; textangle 180'>up</span></div>"
    )
    lines = _lines(HocrExtractor().extract(data, {}))
    assert [(s["text"], bool(s["metadata"].get("vertical"))) for s in lines] == [
        ("down", True),
        ("up", False),
    ]


def test_page_xml_reading_order_by_index_not_by_listing() -> None:
    data = b"""<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">
 <Page imageWidth="100" imageHeight="100"><ReadingOrder><OrderedGroup id="g">
  <RegionRefIndexed index="1" regionRef="a"/><RegionRefIndexed index="0" regionRef="b"/>
 </OrderedGroup></ReadingOrder>
 <TextRegion id="a"><TextLine id="l1"><Coords points="0,0 50,0 50,10 0,10"/>
  <TextEquiv><Unicode>second</Unicode></TextEquiv></TextLine></TextRegion>
 <TextRegion id="b"><TextLine id="l2"><Coords points="0,50 50,50 50,60 0,60"/>
  <TextEquiv><Unicode>first</Unicode></TextEquiv></TextLine></TextRegion>
</Page></PcGts>"""
    lines = _lines(PageXmlExtractor().extract(data, {}))
    assert [s["text"] for s in lines] == ["first", "second"]


def _polygon_box(element: Any) -> tuple[float, ...]:
    points = element.xpath("./*[local-name()='Coords']/@points")[0].split()
    xs = [float(p.split(",")[0]) for p in points]
    ys = [float(p.split(",")[1]) for p in points]
    return (min(xs), min(ys), max(xs), max(ys))


def test_layout_without_text_is_kept_as_zones(files: list[Path]) -> None:
    """kraken's cPAS-2000.xml is layout ground truth: regions and line polygons, no text. Each
    text line becomes a ``textline`` zone, each region without text a zone of its kind."""
    (path,) = [p for p in files if p.name.endswith("cPAS-2000.xml")]
    root = lxml.etree.parse(str(path)).getroot()
    segments = PageXmlExtractor().extract(path.read_bytes(), {})
    zones = [s for s in segments if s["kind"] == "zone"]
    want = sorted(
        [("textline", _polygon_box(e)) for e in root.iter("{*}TextLine")]
        + [("text", _polygon_box(e)) for e in root.iter("{*}TextRegion")]
        + [("image", _polygon_box(e)) for e in root.iter("{*}ImageRegion")]
    )
    assert sorted((z["label"], _box(z)) for z in zones) == want
    assert len(want) == 101
    assert all(z["text"] is None and z["parent"] == 0 for z in zones)
    assert {z["metadata"]["ocr_output"]["element"] for z in zones} == {
        "TextLine",
        "TextRegion",
        "ImageRegion",
    }
    _on_pages(segments)


def test_hocr_and_alto_areas_without_text_are_zones() -> None:
    hocr = (
        b"<div class='ocr_page' title='bbox 0 0 100 100'>"
        b"<div class='ocr_photo' title='bbox 10 10 60 50'></div>"
        b"<div class='ocr_separator' title='bbox 0 55 100 56'></div>"
        b"<span class='ocr_line' title='bbox 10 60 90 70'>caption</span></div>"
    )
    segments = HocrExtractor().extract(hocr, {})
    zones = [(s["label"], _box(s)) for s in segments if s["kind"] == "zone"]
    assert zones == [("photo", (10.0, 10.0, 60.0, 50.0)), ("separator", (0.0, 55.0, 100.0, 56.0))]
    assert [s["text"] for s in _lines(segments)] == ["caption"]
    alto = ALTO_MM10.replace(
        b"<PrintSpace>",
        b'<PrintSpace><Illustration TYPE="map" HPOS="254" VPOS="508" WIDTH="254" HEIGHT="254"/>',
    )
    (zone,) = [s for s in AltoExtractor().extract(alto, {}) if s["kind"] == "zone"]
    assert (zone["label"], _box(zone)) == ("illustration", (72.0, 144.0, 144.0, 216.0))
    assert zone["metadata"]["ocr_output"] == {"element": "Illustration", "type": "map"}
