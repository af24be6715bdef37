"""OpenDocument presentations: every .odp of odfpy's and filetype's source distributions read
by the odp extractor and by odfpy (the independent reading): the same slides, and on each
the same shapes with text, with the same boxes and words. filetype ships one deck saved
both as .odp and as .ppt: the odp and ppt extractors, which share no code, give it the same
boxes."""

from __future__ import annotations

import re

from odf import teletype
from odf.draw import Page
from odf.opendocument import load

from docledger.extractors import OdpExtractor, for_media_type
from docledger.extractors.odp import length, slides
from docledger.extractors.powerpoint97 import slides as ppt_slides
from docledger.services.media import sniff
from tests.corpus import fetched, real_legacy_office, real_odp

_SHAPES = {"frame", "custom-shape", "rect", "ellipse", "polygon", "path", "caption", "circle"}


def _shapes_of(node: object) -> list[object]:
    """The shapes a page holds, those in groups (draw:g) included, as odfpy's nodes."""
    out: list[object] = []
    for child in getattr(node, "childNodes", []):
        local = getattr(child, "qname", ("", ""))[1]
        if local == "g":
            out.extend(_shapes_of(child))
        elif local in _SHAPES:
            out.append(child)
    return out


def _theirs(path: object) -> list[list[tuple[tuple[int, ...], str]]]:
    """Per slide, (box in whole points, its words run together: odfpy joins paragraphs
    without a separator) of each shape with text, as odfpy reads it."""
    document = load(str(path))
    out = []
    for page in document.presentation.getElementsByType(Page):
        shapes = []
        for shape in _shapes_of(page):
            words = "".join(re.findall(r"\w+", teletype.extractText(shape)))
            if not words:
                continue
            x, y, w, h = (
                length(shape.getAttribute(a)) or 0.0 for a in ("x", "y", "width", "height")
            )
            box = (round(x), round(y), round(x + w), round(y + h))
            shapes.append((box, words))
        out.append(shapes)
    return out


def test_every_real_odp_reads_as_odfpy_reads_it() -> None:
    decks = fetched(real_odp, "real-ODP")
    assert len(decks) >= 4
    shapes = 0
    for path in decks:
        data = path.read_bytes()
        assert sniff(data[:4096], None) == "application/vnd.oasis.opendocument.presentation"
        assert isinstance(for_media_type(sniff(data[:4096])), OdpExtractor)
        _size, deck = slides(data)
        ours = [
            [((round(b.x0), round(b.y0), round(b.x1), round(b.y1)),
              "".join(re.findall(r"\w+", " ".join(lines))))
             for b, lines, _ in slide.blocks if b is not None]
            for slide in deck
        ]  # fmt: skip
        theirs = _theirs(path)
        assert sorted(map(sorted, ours)) == sorted(map(sorted, theirs)), path.name
        shapes += sum(map(len, ours))
    assert shapes >= 20  # cols.odp alone places 16 text boxes


def test_the_same_deck_as_odp_and_as_ppt_gives_the_same_boxes() -> None:
    (odp,) = [p for p in fetched(real_odp, "real-ODP") if p.name.endswith("sample.odp")]
    (ppt,) = [p for p in fetched(real_legacy_office, "legacy-Office")
              if p.name.endswith("filetype-1.2.0__tests__fixtures__sample.ppt")]  # fmt: skip
    size_odp, (slide_odp,) = slides(odp.read_bytes())
    size_ppt, (slide_ppt,) = ppt_slides(ppt.read_bytes())
    assert [round(v) for v in size_odp] == [round(v) for v in size_ppt]
    assert len(slide_odp.blocks) == len(slide_ppt.blocks) == 2
    for (box_a, lines_a, title_a), (box_b, lines_b, title_b) in zip(
        slide_odp.blocks, slide_ppt.blocks, strict=True
    ):
        assert (lines_a, title_a) == (lines_b, title_b)
        assert box_a is not None
        assert box_b is not None
        for a, b in zip((box_a.x0, box_a.y0, box_a.x1, box_a.y1),
                        (box_b.x0, box_b.y0, box_b.x1, box_b.y1), strict=True):  # fmt: skip
            assert abs(a - b) < 1.0  # cm in one, master units in the other


def test_an_odp_becomes_pages_with_titles_boxes_and_chunks() -> None:
    (ol,) = [p for p in fetched(real_odp, "real-ODP") if p.name.endswith("ol.odp")]
    segments = OdpExtractor().extract(ol.read_bytes(), {})
    assert segments[0]["kind"] == "page"
    assert segments[0]["metadata"]["title"] == "OL"
    blocks = [s for s in segments if s["kind"] == "block"]
    assert blocks[1]["text"].startswith("Eins\nTsvey\nDray")  # nested list items in order
    assert all(b["bbox"] is not None for b in blocks)


def test_lengths_that_are_not_finite_give_no_box() -> None:
    assert length("1e999cm") is None
    assert length("2.54cm") == 72.0
    assert length("12") is None  # ODF lengths carry their unit
