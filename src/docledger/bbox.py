"""Conversions between docledger's one box convention and the conventions tools bring.

docledger: page-relative, origin at the top-left corner, y growing downwards, ``(x0, y0, x1,
y1)`` with ``x0 <= x1``, ``y0 <= y1``, in a stated unit (``pt``, ``px``, ``fraction``,
``percent``).

- Unstructured: ``metadata.coordinates = {"points": [[x, y] x4], "system": "PixelSpace",
  "layout_width": W, "layout_height": H}``, pixels, top-left origin.
- Docling: ``prov[].bbox = {"l", "t", "r", "b", "coord_origin": "BOTTOMLEFT" | "TOPLEFT"}``
  in points; with a bottom-left origin ``t`` is measured up from the bottom edge.
- Label Studio: rectangle ``{"x", "y", "width", "height"}`` in percent of the image, top-left.

Every conversion is exact up to floating-point rounding (round trips agree within 1e-9).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from docledger.errors import InvalidInput
from docledger.schemas.common import validate
from docledger.schemas.extraction import BBox


def _box(x0: float, y0: float, x1: float, y1: float, unit: str) -> BBox:
    return validate(BBox, {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "unit": unit})


def from_unstructured(coordinates: Mapping[str, Any]) -> BBox:
    points: Sequence[Sequence[float]] = coordinates.get("points") or []
    if len(points) < 2:
        raise InvalidInput("Unstructured coordinates need points")
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    system = str(coordinates.get("system", "PixelSpace"))
    unit = "px" if system == "PixelSpace" else "pt"
    return _box(min(xs), min(ys), max(xs), max(ys), unit)


def to_unstructured(box: BBox, layout_width: float, layout_height: float) -> dict[str, Any]:
    return {
        "points": [[box.x0, box.y0], [box.x0, box.y1], [box.x1, box.y1], [box.x1, box.y0]],
        "system": "PixelSpace" if box.unit == "px" else "PointSpace",
        "layout_width": layout_width,
        "layout_height": layout_height,
    }


def from_docling(bbox: Mapping[str, Any], page_height: float) -> BBox:
    left, top, right, bottom = (float(bbox[k]) for k in ("l", "t", "r", "b"))
    origin = str(bbox.get("coord_origin", "BOTTOMLEFT")).upper()
    if origin.endswith("BOTTOMLEFT"):
        return _box(left, page_height - top, right, page_height - bottom, "pt")
    return _box(left, top, right, bottom, "pt")


def to_docling(box: BBox, page_height: float) -> dict[str, Any]:
    if box.unit != "pt":
        raise InvalidInput("Docling boxes are in points: convert the box to pt first")
    return {
        "l": box.x0,
        "t": page_height - box.y0,
        "r": box.x1,
        "b": page_height - box.y1,
        "coord_origin": "BOTTOMLEFT",
    }


def from_label_studio(value: Mapping[str, Any]) -> BBox:
    x, y = float(value["x"]), float(value["y"])
    return _box(x, y, x + float(value["width"]), y + float(value["height"]), "percent")


def to_label_studio(box: BBox) -> dict[str, float]:
    if box.unit != "percent":
        raise InvalidInput("Label Studio boxes are in percent: convert the box first")
    return {"x": box.x0, "y": box.y0, "width": box.x1 - box.x0, "height": box.y1 - box.y0}


def convert(
    box: BBox, unit: str, *, page_width: float, page_height: float, dpi: float = 72.0
) -> BBox:
    """The same box in another unit. ``page_width``/``page_height`` are in points; ``dpi``
    relates pixels to points (72 px per inch = 1 px per pt)."""
    if page_width <= 0 or page_height <= 0 or dpi <= 0:
        raise InvalidInput("page size and dpi must be positive")
    to_pt = {
        "pt": (1.0, 1.0),
        "px": (72.0 / dpi, 72.0 / dpi),
        "fraction": (page_width, page_height),
        "percent": (page_width / 100.0, page_height / 100.0),
    }
    if box.unit not in to_pt or unit not in to_pt:
        raise InvalidInput(f"unknown unit {unit!r}")
    fx, fy = to_pt[box.unit]
    gx, gy = to_pt[unit]
    return _box(box.x0 * fx / gx, box.y0 * fy / gy, box.x1 * fx / gx, box.y1 * fy / gy, unit)
