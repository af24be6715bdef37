"""PowerPoint decks: every presentation of python-pptx's source distribution read by the
pptx extractor and by python-pptx itself (the independent reading): the same shapes with
text, the same text, the same boxes (placeholders placed by their layout), the same notes.
Then a deck built here with a scaled group, a table, notes and a hidden slide, and broken
decks refused with one clear error."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pptx
import pytest
from pptx.util import Pt

from docledger.errors import InvalidInput
from docledger.extractors import SlidesExtractor, for_media_type
from docledger.extractors.slides import MEDIA_TYPE
from docledger.schemas.extraction import SegmentIn
from docledger.services.media import sniff
from tests.corpus import fetched, real_pptx

GROUP, TABLE = 6, 19  # python-pptx's shape types


def _expected(deck: Any) -> list[tuple[int, str, Any]]:
    """(slide, text, shape) per shape with text, as python-pptx reads them."""
    out = []

    def walk(number: int, shapes: Any) -> None:
        for shape in shapes:
            if shape.shape_type == GROUP:
                walk(number, shape.shapes)
            elif shape.has_text_frame:
                lines = [p.text.strip() for p in shape.text_frame.paragraphs if p.text.strip()]
                if lines:
                    out.append((number, "\n".join(lines).replace("\x0b", "\n"), shape))
            elif getattr(shape, "has_table", False) and shape.has_table:
                rows = []
                for row in shape.table.rows:
                    cells = [
                        " ".join(p.text.strip() for p in c.text_frame.paragraphs if p.text.strip())
                        for c in row.cells
                        if not c.is_spanned
                    ]
                    while cells and not cells[-1]:
                        cells.pop()
                    if cells:
                        rows.append(" | ".join(cells))
                if rows:
                    out.append((number, "\n".join(rows), shape))

    for number, slide in enumerate(deck.slides, 1):
        walk(number, slide.shapes)
    return out


def test_every_real_deck_reads_as_python_pptx_reads_it() -> None:
    corpus = fetched(real_pptx, "real-PPTX")
    assert len(corpus) >= 60
    blocks = boxes = notes = 0
    for path in corpus:
        data = path.read_bytes()
        assert sniff(data[:4096], path.name) == MEDIA_TYPE, path.name
        segments = [SegmentIn(**s) for s in SlidesExtractor().extract(data, {})]
        deck = pptx.Presentation(io.BytesIO(data))
        assert sum(s.kind == "page" for s in segments) == len(deck.slides), path.name
        got = [s for s in segments if s.kind == "block" and s.label != "notes"]
        want = _expected(deck)
        assert [(s.page_number, s.text) for s in got] == [(n, t) for n, t, _ in want], path.name
        for segment, (_, _, shape) in zip(got, want, strict=True):
            if shape.left is None or segment.bbox is None:
                continue
            left, top = shape.left / 12700, shape.top / 12700
            right, bottom = left + shape.width / 12700, top + shape.height / 12700
            box = segment.bbox
            assert box.x0 == pytest.approx(left, abs=0.01), path.name
            assert box.y0 == pytest.approx(top, abs=0.01), path.name
            assert box.x1 == pytest.approx(right, abs=0.01), path.name
            assert box.y1 == pytest.approx(bottom, abs=0.01), path.name
            boxes += 1
        blocks += len(got)
        said = [
            slide.notes_slide.notes_text_frame.text.strip().replace("\x0b", "\n")
            for slide in deck.slides
            if slide.has_notes_slide
            and slide.notes_slide.notes_text_frame is not None
            and slide.notes_slide.notes_text_frame.text.strip()
        ]
        assert [s.text for s in segments if s.label == "notes"] == said, path.name
        notes += len(said)
    # measured: 92 shapes with text, every one boxed, and 4 slides' notes
    assert blocks >= 90
    assert boxes == blocks
    assert notes >= 4


def _deck() -> bytes:
    deck = pptx.Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[0])  # title and subtitle placeholders
    first.shapes.title.text = "Inspection round 7"
    first.placeholders[1].text = "Block C, level 2"
    first.notes_slide.notes_text_frame.text = "Ask the contractor about door D7."
    second = deck.slides.add_slide(deck.slide_layouts[6])  # blank
    box = second.shapes.add_textbox(Pt(72), Pt(144), Pt(144), Pt(36))
    box.text_frame.text = "Door D7 does not close"
    box.text_frame.add_paragraph().text = "Seal missing"
    table = second.shapes.add_table(2, 2, Pt(300), Pt(100), Pt(200), Pt(80)).table
    for (r, c), value in {(0, 0): "zone", (0, 1): "state", (1, 0): "C2", (1, 1): "open"}.items():
        table.cell(r, c).text = value
    group = second.shapes.add_group_shape()
    inner = group.shapes.add_textbox(Pt(10), Pt(10), Pt(50), Pt(20))
    inner.text_frame.text = "scaled label"
    hidden = deck.slides.add_slide(deck.slide_layouts[6])
    hidden.shapes.add_textbox(Pt(0), Pt(0), Pt(100), Pt(20)).text_frame.text = "draft"
    hidden._element.set("show", "0")
    out = io.BytesIO()
    deck.save(out)
    # the group drawn twice its child size, moved to (200, 300) pt
    data = out.getvalue()
    return _rewrite(data, "ppt/slides/slide2.xml", _scaled_group)


def _scaled_group(xml: str) -> str:
    emu = 12700
    frame = (
        f'<a:xfrm><a:off x="{200 * emu}" y="{300 * emu}"/><a:ext cx="{100 * emu}" '
        f'cy="{40 * emu}"/><a:chOff x="{10 * emu}" y="{10 * emu}"/><a:chExt cx="{50 * emu}" '
        f'cy="{20 * emu}"/></a:xfrm>'
    )
    return re.sub(r"<p:grpSpPr>.*?</p:grpSpPr>", f"<p:grpSpPr>{frame}</p:grpSpPr>", xml, count=2)


def _rewrite(data: bytes, name: str, change: Any) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            body = old.read(info)
            new.writestr(info, change(body.decode()).encode() if info.filename == name else body)
    return out.getvalue()


def test_a_deck_gives_slides_boxes_tables_groups_and_notes() -> None:
    data = _deck()
    assert isinstance(for_media_type(sniff(data[:4096], "deck")), SlidesExtractor)
    segments = [SegmentIn(**s) for s in SlidesExtractor().extract(data, {})]
    pages = [s for s in segments if s.kind == "page"]
    assert [p.page_number for p in pages] == [1, 2, 3]
    assert pages[0].metadata["title"] == "Inspection round 7"
    assert (pages[0].bbox.x1, pages[0].bbox.y1) == (720, 540)  # 10 x 7.5 in
    assert pages[2].metadata.get("hidden") is True
    blocks = {s.text: s for s in segments if s.kind == "block"}
    title = blocks["Inspection round 7"]
    assert title.bbox is not None
    assert title.bbox.y0 > 0  # where the title layout puts it
    door = blocks["Door D7 does not close\nSeal missing"]
    assert (door.bbox.x0, door.bbox.y0, door.bbox.x1, door.bbox.y1) == (72, 144, 216, 180)
    table = blocks["zone | state\nC2 | open"]
    assert (table.bbox.x0, table.bbox.y0, table.bbox.x1, table.bbox.y1) == (300, 100, 500, 180)
    scaled = blocks["scaled label"]  # child (10, 10, 50 x 20) in a group drawn at 2x
    assert (scaled.bbox.x0, scaled.bbox.y0, scaled.bbox.x1, scaled.bbox.y1) == (200, 300, 300, 340)
    notes = blocks["Ask the contractor about door D7."]
    assert notes.label == "notes"
    assert notes.bbox is None
    assert notes.page_number == 1
    chunks = [s for s in segments if s.kind == "chunk"]
    assert any("Seal missing" in (c.text or "") and c.page_number == 2 for c in chunks)
    assert any(c.metadata.get("notes") for c in chunks)


def _laughs(xml: str) -> str:
    return '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaa">]>' + xml.split("?>", 1)[1]


def _deep(xml: str) -> str:
    nested = "<p:grpSp>" * 100 + "</p:grpSp>" * 100
    return xml.replace("</p:spTree>", nested + "</p:spTree>")


def test_broken_decks_are_refused_clearly() -> None:
    good = _deck()
    cases = {
        b"PK\x03\x04 not a zip at all": "not a readable zip file",
        _rewrite(good, "ppt/presentation.xml", _laughs): "declares a DTD",
        _rewrite(good, "ppt/slides/slide1.xml", lambda x: x[: len(x) // 2]): "broken XML",
        _rewrite(good, "ppt/slides/slide2.xml", _deep): "nested too deeply",
    }
    for data, message in cases.items():
        with pytest.raises(InvalidInput, match=re.escape(message)):
            SlidesExtractor().extract(data, {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as bare:
        bare.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(InvalidInput, match=re.escape("it has no ppt/presentation.xml")):
        SlidesExtractor().extract(out.getvalue(), {})


def _alternate(xml: str) -> str:
    """The text box wrapped as PowerPoint wraps newer shapes: a choice and a fallback."""
    shape = re.search(r"<p:sp>(?:(?!<p:sp>).)*?Door D7.*?</p:sp>", xml, re.S)
    assert shape is not None
    mc = "http://schemas.openxmlformats.org/markup-compatibility/2006"
    wrapped = (f'<mc:AlternateContent xmlns:mc="{mc}"><mc:Choice Requires="p14">'
               f"{shape.group()}</mc:Choice><mc:Fallback>{shape.group()}</mc:Fallback>"
               "</mc:AlternateContent>")  # fmt: skip
    return xml.replace(shape.group(), wrapped)


def test_a_shape_with_a_fallback_is_read_once() -> None:
    data = _rewrite(_deck(), "ppt/slides/slide2.xml", _alternate)
    segments = [SegmentIn(**s) for s in SlidesExtractor().extract(data, {})]
    door = [s for s in segments if s.kind == "block" and "Door D7 does not close" in (s.text or "")]
    assert len(door) == 1
    assert door[0].bbox is not None
    assert (door[0].bbox.x0, door[0].bbox.y0) == (72, 144)
