"""Extractions and segments: idempotent recording, snapshots per params, validation, queries,
stable identity across re-extractions and carried-forward annotations; built-in extractors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from docledger import InvalidInput, Ledger, NotFound

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


def zones(texts: list[str], conf: float = 0.9) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"kind": "page", "page_number": 1, "bbox": {"x0": 0, "y0": 0, "x1": 600, "y1": 800}}
    ]
    for n, text in enumerate(texts):
        out.append(
            {
                "kind": "zone",
                "page_number": 1,
                "text": text,
                "parent": 0,
                "confidence": conf - n * 0.1,
                "label": "field",
                "bbox": {"x0": 10, "y0": 10 + 50 * n, "x1": 300, "y1": 50 + 50 * n},
            }
        )
    return out


def test_record_is_idempotent_and_params_make_snapshots(ledger: Ledger) -> None:
    version = ledger.documents.create(b"scan", external_key="scan.pdf").version_id
    first = ledger.extractions.record(version, "ocr", "2.1", {"lang": "eng"}, zones(["a", "b"]))
    assert (first.created, first.segments) == (True, 3)
    again = ledger.extractions.record(version, "ocr", "2.1", {"lang": "eng"}, zones(["x"]))
    assert (again.created, again.extraction.id, again.segments) == (False, first.extraction.id, 3)
    other = ledger.extractions.record(version, "ocr", "2.1", {"lang": "por"}, zones(["a"]))
    assert other.created
    assert len(ledger.extractions.of_version(version)) == 2
    segs = ledger.segments.of_extraction(first.extraction.id)
    assert [s.ordinal for s in segs] == [0, 1, 2]
    assert segs[1].parent_id == segs[0].id
    assert segs[1].content_hash is not None
    assert [s.text for s in ledger.segments.of_extraction(first.extraction.id, kind="zone")] == [
        "a",
        "b",
    ]
    newest = ledger.segments.of_version(version)  # the "por" snapshot came last
    assert [s.extraction_id for s in newest] == [other.extraction.id] * 2
    assert [s.text for s in ledger.segments.of_version(version, kind="zone")] == ["a"]
    assert ledger.segments.of_version(version, extractor="nope") == []
    bare = ledger.documents.create(b"bare", external_key="bare.pdf").version_id
    assert ledger.segments.of_version(bare) == []
    worst = ledger.segments.low_confidence(0.85, extraction=first.extraction.id)
    assert [s.text for s in worst] == ["b", "a"][: len(worst)]
    assert worst[0].confidence == pytest.approx(0.8)
    # the review queue: one kind, and only what nobody has annotated yet
    assert (
        ledger.segments.low_confidence(0.85, kinds=["page"], extraction=first.extraction.id) == []
    )
    ledger.annotations.create("segment", worst[0].id, "review", {"verdict": "accepted"})
    left = ledger.segments.low_confidence(
        0.85, extraction=first.extraction.id, kinds=["zone"], unreviewed=True
    )
    assert worst[0].id not in [s.id for s in left]
    assert [s.id for s in left] == [s.id for s in worst[1:]]


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "zone", "confidence": 1.5},
        {"kind": "zone", "bbox": {"x0": 5, "y0": 0, "x1": 1, "y1": 1}},
        {"kind": "zone", "bbox": {"x0": 0, "y0": 0, "x1": 2, "y1": 1, "unit": "fraction"}},
        {"kind": "blob"},
        {"kind": "zone", "page_number": 0},
        {"kind": "zone", "parent": 5},
        {"kind": "zone", "bbox": {"x0": float("nan"), "y0": 0, "x1": 1, "y1": 1}},
        {"kind": "zone", "bbox": {"x0": 0, "y0": 0, "x1": float("inf"), "y1": 1}},
        {"kind": "zone", "bbox": {"x0": 0, "y0": 0, "x1": 1, "y1": 1, "page": 2}},
        {"kind": "zone", "confidence": 0.5, "colour": "red"},
        {"kind": "zone", "label": "x" * 201},
        {"kind": "zone", "content_hash": "abc"},
    ],
)
def test_bad_segments_write_nothing(ledger: Ledger, bad: dict[str, Any]) -> None:
    version = ledger.documents.create(b"scan", external_key="scan.pdf").version_id
    with pytest.raises(InvalidInput):
        ledger.extractions.record(version, "ocr", "1", {}, [{"kind": "page"}, bad])
    assert ledger.extractions.of_version(version) == []
    with pytest.raises(NotFound):
        ledger.extractions.record("01a20000-0000-7000-8000-000000000000", "ocr", "1", {}, [])


def test_stable_identity_and_carry_forward(ledger: Ledger) -> None:
    v1 = ledger.documents.create(b"scan v1", external_key="scan.pdf").version_id
    old = ledger.extractions.record(v1, "ocr", "1", {}, zones(["Total: 41", "Date: 1 May"]))
    old_segs = ledger.segments.of_extraction(old.extraction.id)
    note = ledger.annotations.create(
        "segment", old_segs[1].id, "correction", {"corrected": "Total: 42"}
    )
    ledger.annotations.create("segment", old_segs[2].id, "label", {"label": "date"})
    v2 = ledger.documents.create(b"scan v2", external_key="scan.pdf").version_id
    texts = ["Total: 41", "Date: 2 May"]  # first zone identical, second re-read differently
    new = ledger.extractions.record(v2, "ocr", "2", {}, zones(texts))
    assert new.linked_to_predecessors == 3  # page by box, zone 1 by hash, zone 2 by box
    new_segs = ledger.segments.of_extraction(new.extraction.id)
    assert [s.predecessor_id for s in new_segs] == [s.id for s in old_segs]
    assert ledger.annotations.carry_forward(old.extraction.id, new.extraction.id) == 2
    carried = ledger.annotations.list(segment=new_segs[1].id).items
    assert [c.value["corrected"] for c in carried] == ["Total: 42"]
    assert carried[0].version_id == v2
    history = ledger.annotations.history(carried[0].id)
    assert history[0].after is not None
    assert history[0].after["carried_from"] == str(note.id)
    assert ledger.annotations.list(segment=old_segs[1].id).items[0].id == note.id  # old ones stay


def test_builtin_extractors_on_the_samples(ledger: Ledger) -> None:
    ledger.documents.create_from_paths([EXAMPLES], recursive=True)
    ids = ledger.extractions.document_ids()
    outcomes = {o.document: o for o in ledger.extractions.run(ids)}
    assert not any(o.error for o in outcomes.values())
    thumb = ledger.segments.of_extraction(outcomes["thumbnail.png"].extraction_id)
    assert [s.kind for s in thumb] == ["page"]  # a gradient: OCR finds no text
    scan = outcomes["scan.png"]
    assert scan.extractor == "image"
    (chunk,) = ledger.segments.of_extraction(scan.extraction_id, kind="chunk")
    assert "Fire door D9 does not close" in (chunk.text or "")
    assert chunk.bbox is not None
    assert chunk.bbox["unit"] == "px"
    assert 0.5 < (chunk.confidence or 0) <= 1
    assert outcomes["features.json"].segments == 3
    pdf = outcomes["invoice-and-plan.pdf"]
    assert (pdf.extractor, pdf.error) == ("pdf", None)
    pages = ledger.segments.of_extraction(pdf.extraction_id, kind="page")
    assert [p.page_number for p in pages] == [1, 2]
    assert "Invoice 2026-0042" in (pages[0].text or "")
    lines = ledger.segments.of_extraction(pdf.extraction_id, kind="line", page=1)
    assert any("Total due" in (line.text or "") for line in lines)
    box = lines[0].bbox or {}
    assert box["unit"] == "pt"
    assert 0 <= box["y0"] <= box["y1"] <= 842  # top-left origin, inside the A4 page
    assert lines[0].meta["font_size"] == 14  # the sample's Helvetica 14
    assert box["x0"] == pytest.approx(72, abs=0.5)  # drawn at x = 72 pt
    md = ledger.segments.of_extraction(outcomes["notes/inspection.md"].extraction_id)
    assert {s.kind for s in md} == {"section", "chunk"}
    assert any(s.label == "Findings" for s in md)
    rerun = ledger.extractions.run(ids)
    assert not any(o.created for o in rerun)
    small = ledger.extractions.run(
        ["notes/inspection.md"], extractor="text", params={"chunk_size": 80, "chunk_overlap": 10}
    )
    assert small[0].created
    assert small[0].segments > md.__len__()
    with pytest.raises(InvalidInput):
        ledger.extractions.run(ids, extractor="nope")


UNSTRUCTURED = [
    {
        "type": "Title",
        "element_id": "e1",
        "text": "Invoice 2026-0042",
        "metadata": {
            "page_number": 1,
            "coordinates": {
                "points": [[200, 100], [200, 160], [1200, 160], [1200, 100]],
                "system": "PixelSpace",
                "layout_width": 1654,
                "layout_height": 2339,
            },
        },
    },
    {"type": "Table", "element_id": "e2", "text": "Total 1,250.00", "metadata": {"page_number": 1}},
]

DOCLING = {
    "version": "1.3.0",
    "pages": {"1": {"size": {"width": 595.0, "height": 842.0}, "page_no": 1}},
    "texts": [
        {
            "self_ref": "#/texts/0",
            "label": "section_header",
            "text": "Site plan",
            "prov": [
                {
                    "page_no": 1,
                    "bbox": {
                        "l": 72.0,
                        "t": 770.0,
                        "r": 300.0,
                        "b": 750.0,
                        "coord_origin": "BOTTOMLEFT",
                    },
                }
            ],
        }
    ],
    "tables": [{"self_ref": "#/tables/0", "label": "table", "prov": [{"page_no": 1}]}],
}


def test_import_unstructured_and_docling_elements(ledger: Ledger) -> None:
    import json  # noqa: PLC0415

    ledger.documents.create(b"%PDF-1.4 x", external_key="a.pdf")
    first = ledger.extractions.import_elements("a.pdf", json.dumps(UNSTRUCTURED).encode())
    assert (first.extractor, first.created, first.segments) == ("unstructured", True, 2)
    segs = ledger.segments.of_extraction(first.extraction_id)
    assert (segs[0].kind, segs[0].label, segs[1].kind) == ("section", "Title", "table")
    assert segs[0].bbox == {"x0": 200, "y0": 100, "x1": 1200, "y1": 160, "unit": "px"}
    again = ledger.extractions.import_elements("a.pdf", json.dumps(UNSTRUCTURED).encode())
    assert not again.created
    docling = ledger.extractions.import_elements("a.pdf", json.dumps(DOCLING).encode())
    assert docling.extractor == "docling"
    header = ledger.segments.of_extraction(docling.extraction_id)[0]
    assert header.bbox == {"x0": 72.0, "y0": 72.0, "x1": 300.0, "y1": 92.0, "unit": "pt"}
    with pytest.raises(InvalidInput):
        ledger.extractions.import_elements("a.pdf", b'{"neither": 1}')
    with pytest.raises(InvalidInput):
        ledger.extractions.import_elements("a.pdf", b"not json")


HOCR_PAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head>
<meta name='ocr-system' content='tesseract 5.3.0' /></head><body>
<div class='ocr_page' title='image "scan.png"; bbox 0 0 1240 1754'>
<div class='ocr_photo' title='bbox 600 400 1100 900'></div>
<p class='ocr_par'><span class='ocr_line' title='bbox 120 200 900 240'>
<span class='ocrx_word' title='bbox 120 200 300 240; x_wconf 91'>Fire</span>
<span class='ocrx_word' title='bbox 320 200 520 240; x_wconf 64'>door</span>
<span class='ocrx_word' title='bbox 540 200 900 240; x_wconf 88'>D7</span></span></p>
</div></body></html>"""


def test_ocr_output_files_keep_their_boxes(ledger: Ledger) -> None:
    """A Tesseract hOCR file added without a name is typed by its content and stored as the
    lines and words it holds, with their boxes and confidences, and its photo as a zone."""
    added = ledger.documents.create(HOCR_PAGE)
    assert ledger.documents.get(added.document_id).media_type == "text/vnd.hocr+html"
    (outcome,) = ledger.extractions.run([added.document_id], params={"granularity": "words"})
    assert (outcome.extractor, outcome.error) == ("hocr", None)
    (line,) = ledger.segments.of_extraction(outcome.extraction_id, kind="line")
    assert line.text == "Fire door D7"
    assert line.bbox == {"x0": 120.0, "y0": 200.0, "x1": 900.0, "y1": 240.0, "unit": "px"}
    assert line.confidence == pytest.approx(0.81)
    words = ledger.segments.of_extraction(outcome.extraction_id, kind="word")
    assert [(w.text, (w.bbox or {})["x0"]) for w in words] == [
        ("Fire", 120.0),
        ("door", 320.0),
        ("D7", 540.0),
    ]
    (zone,) = ledger.segments.of_extraction(outcome.extraction_id, kind="zone")
    assert (zone.label, zone.text, zone.page_number) == ("photo", None, 1)
    assert zone.bbox == {"x0": 600.0, "y0": 400.0, "x1": 1100.0, "y1": 900.0, "unit": "px"}
