"""Box conventions: conversions in and out of Unstructured, Docling and Label Studio agree."""

from __future__ import annotations

import random

import pytest

from docledger import InvalidInput, bbox
from docledger.schemas.extraction import BBox, BBoxFields, SegmentFields, SegmentIn

PAGE_W, PAGE_H = 595.0, 842.0


def close(a: BBox, b: BBox) -> bool:
    return a.unit == b.unit and all(
        abs(getattr(a, k) - getattr(b, k)) < 1e-9 for k in ("x0", "y0", "x1", "y1")
    )


def random_boxes(n: int = 200) -> list[BBox]:
    rng = random.Random(5)
    out = []
    for _ in range(n):
        x0, x1 = sorted(rng.uniform(0, PAGE_W) for _ in range(2))
        y0, y1 = sorted(rng.uniform(0, PAGE_H) for _ in range(2))
        out.append(BBox(x0=x0, y0=y0, x1=x1, y1=y1, unit="pt"))
    return out


def test_docling_bottom_left_round_trip() -> None:
    for box in random_boxes():
        docling = bbox.to_docling(box, PAGE_H)
        assert docling["t"] >= docling["b"]  # bottom-left origin: top is the larger y
        assert close(bbox.from_docling(docling, PAGE_H), box)


def test_docling_known_box() -> None:
    got = bbox.from_docling(
        {"l": 72, "t": 770, "r": 300, "b": 750, "coord_origin": "BOTTOMLEFT"}, PAGE_H
    )
    assert (got.x0, got.y0, got.x1, got.y1, got.unit) == (72, 72, 300, 92, "pt")
    top_left = bbox.from_docling(
        {"l": 1, "t": 2, "r": 3, "b": 4, "coord_origin": "TOPLEFT"}, PAGE_H
    )
    assert (top_left.y0, top_left.y1) == (2, 4)


def test_unstructured_round_trip_in_pixels() -> None:
    for box in random_boxes():
        px = bbox.convert(box, "px", page_width=PAGE_W, page_height=PAGE_H, dpi=200)
        coords = bbox.to_unstructured(px, PAGE_W * 200 / 72, PAGE_H * 200 / 72)
        back = bbox.from_unstructured(coords)
        assert close(back, px)
        assert close(bbox.convert(back, "pt", page_width=PAGE_W, page_height=PAGE_H, dpi=200), box)


def test_label_studio_round_trip_in_percent() -> None:
    for box in random_boxes():
        pct = bbox.convert(box, "percent", page_width=PAGE_W, page_height=PAGE_H)
        value = bbox.to_label_studio(pct)
        assert 0 <= value["x"] <= 100
        assert close(bbox.from_label_studio(value), pct)
        assert close(bbox.convert(pct, "pt", page_width=PAGE_W, page_height=PAGE_H), box)


def test_fraction_and_errors() -> None:
    box = BBox(x0=0, y0=0, x1=PAGE_W, y1=PAGE_H, unit="pt")
    whole = bbox.convert(box, "fraction", page_width=PAGE_W, page_height=PAGE_H)
    assert (whole.x0, whole.y0, whole.x1, whole.y1) == (0, 0, 1, 1)
    with pytest.raises(InvalidInput):
        bbox.to_docling(whole, PAGE_H)
    with pytest.raises(InvalidInput):
        bbox.to_label_studio(box)
    with pytest.raises(InvalidInput):
        bbox.convert(box, "furlong", page_width=PAGE_W, page_height=PAGE_H)
    with pytest.raises(InvalidInput):
        bbox.from_unstructured({"points": []})
    with pytest.raises(InvalidInput):
        bbox.from_label_studio({"x": 50, "y": 50, "width": -10, "height": 5})


def test_segment_fields_mirror_the_models() -> None:
    """record() validates plain dicts (SegmentFields) for speed; they must accept exactly the
    fields SegmentIn and BBox declare."""
    assert set(SegmentFields.__annotations__) == set(SegmentIn.model_fields)
    assert set(BBoxFields.__annotations__) == set(BBox.model_fields)
