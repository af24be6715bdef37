"""PowerPoint 97-2003 .ppt files: every .ppt of the legacy Office corpus (file-type
detectors' samples, oletools' test decks with VBA, embedded objects and encryption) read by
the ppt extractor. No Python library reads .ppt to compare with, so the checks are the file
itself: every word read is in the PowerPoint Document stream as written (UTF-16 or 8-bit),
every box lies on its slide, and what the decks visibly say is read, titles as titles."""

from __future__ import annotations

import re
import struct

import olefile
import pytest

from docledger.errors import InvalidInput
from docledger.extractors import PptExtractor, for_media_type
from docledger.extractors.powerpoint97 import slides
from docledger.services.media import ole_kind, sniff
from tests.corpus import fetched, real_legacy_office


def _decks() -> list:
    return [p for p in fetched(real_legacy_office, "legacy-Office") if p.suffix == ".ppt"]


def test_every_real_ppt_reads_words_that_are_in_its_stream_in_boxes_on_its_slides() -> None:
    decks = _decks()
    assert len(decks) >= 6
    read = refused = 0
    for path in decks:
        data = path.read_bytes()
        assert sniff(data[:4096], path.name) == "application/vnd.ms-powerpoint", path.name
        assert ole_kind(data) == "application/vnd.ms-powerpoint", path.name
        if "encrypted" in path.name:
            with pytest.raises(InvalidInput, match="encrypted"):
                slides(data)
            refused += 1
            continue
        (width, height), deck = slides(data)
        stream = olefile.OleFileIO(data).openstream("PowerPoint Document").read()
        assert deck, path.name
        for slide in deck:
            for box, lines, _title in slide.blocks:
                for word in re.findall(r"\w{3,}", " ".join(lines)):
                    assert word.encode("utf-16-le") in stream or word.encode("latin-1") in stream
                if box is not None:
                    assert 0 <= box.x0 < box.x1 <= width + 1, (path.name, box)
                    assert 0 <= box.y0 < box.y1 <= height + 1, (path.name, box)
            read += bool(slide.blocks)
    assert refused == 1
    assert read >= 4  # puremagic's test.ppt is one empty slide


def test_what_the_decks_say_is_read_titles_as_titles() -> None:
    by_name = {p.name.split("__")[-1]: p for p in _decks()}
    _, (slide,) = slides(by_name["sample.ppt"].read_bytes())
    assert [(lines, title) for _, lines, title in slide.blocks] == [
        (["Sample"], True),
        (["Presentation"], False),
    ]
    _, (slide,) = slides(by_name["embedded-simple-2007.ppt"].read_bytes())
    assert [(lines, title) for _, lines, title in slide.blocks] == [
        (["Embedded Objects"], True),
        (["This slide contains an embedded object", "It is a simple harmless ASCII text file"],
         False),
    ]  # fmt: skip
    title, body = slide.blocks
    assert title[0] is not None
    assert body[0] is not None
    assert title[0].y1 <= body[0].y0  # the title above the body


def test_a_ppt_becomes_pages_blocks_with_boxes_and_chunks() -> None:
    by_name = {p.name.split("__")[-1]: p for p in _decks()}
    assert isinstance(for_media_type("application/vnd.ms-powerpoint"), PptExtractor)
    segments = PptExtractor().extract(by_name["embedded-simple-2007.ppt"].read_bytes(), {})
    kinds = [s["kind"] for s in segments]
    assert kinds[0] == "page"
    assert segments[0]["metadata"]["title"] == "Embedded Objects"
    assert kinds.count("block") == 2
    assert all(s["bbox"] is not None for s in segments if s["kind"] == "block")
    assert "chunk" in kinds


def test_what_is_not_a_ppt_is_refused_clearly() -> None:
    doc = next(p for p in fetched(real_legacy_office, "legacy-Office") if p.suffix == ".doc")
    with pytest.raises(InvalidInput, match="no PowerPoint Document stream"):
        PptExtractor().extract(doc.read_bytes(), {})
    good = _decks()[0].read_bytes()
    with pytest.raises(InvalidInput):
        PptExtractor().extract(good[: len(good) // 2], {})


def test_groups_nested_without_end_are_refused_clearly() -> None:
    """A drawing whose groups nest 200 deep (each a group shape and a group): InvalidInput,
    not a RecursionError."""
    from docledger.extractors.powerpoint97 import _Drawing, _Records  # noqa: PLC0415

    shape = struct.pack("<HHI", 0x000F, 0xF004, 0)
    body = b""
    for _ in range(200):
        inner = shape + body
        body = struct.pack("<HHI", 0x000F, 0xF003, len(inner)) + inner
    with pytest.raises(InvalidInput, match="nested too deeply"):
        _Drawing(_Records(body), []).read(0, len(body))


def test_nuls_in_text_atoms_are_not_text() -> None:
    from docledger.extractors.powerpoint97 import TEXT_BYTES, TEXT_CHARS, _Records  # noqa: PLC0415

    chars = "Ti\x00tle".encode("utf-16-le")
    assert _Records(chars).text(TEXT_CHARS, 0, len(chars)) == "Title"
    assert _Records(b"a\x00b").text(TEXT_BYTES, 0, 3) == "ab"
