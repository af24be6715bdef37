"""COCO detection JSON: one image per page (its size at the export's dpi, the file name the
page image gets when the export includes images), one annotation per boxed segment, categories
from the labels (a person's label wins over the extractor's). Loadable by
``pycocotools.coco.COCO``; boxes are ``[x, y, width, height]`` in pixels, top-left origin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from docledger.formats.base import (
    BaseFormat,
    PageFailure,
    Record,
    Sink,
    Source,
    box_of,
    dumps,
    label_of,
    page_pixels,
    percent_box,
)

NAME = "coco.json"
DEFAULT_DPI = 150


def image_name(record: Mapping[str, Any]) -> str:
    """Where a page image lives inside an export (and what COCO / Label Studio point at)."""
    return f"pages/{record['version_id']}/{record['page']}.png"


def drawable(record: Mapping[str, Any]) -> bool:
    """A region worth drawing: on a page, with a box, not the page itself."""
    return record.get("page") is not None and record.get("kind") != "page"


def dpi_of(options: Mapping[str, Any]) -> int:
    return int(options.get("dpi", DEFAULT_DPI))


class _Array:
    """A JSON array written element by element."""

    def __init__(self, out: IO[str], key: str, first: bool = False) -> None:
        self.out = out
        self.empty = True
        out.write(("" if first else ",") + dumps(key) + ":[")

    def add(self, value: Any) -> None:
        self.out.write(("" if self.empty else ",") + dumps(value))
        self.empty = False

    def close(self) -> None:
        self.out.write("]")


class CocoFormat(BaseFormat):
    name = "coco"
    description = "COCO detection JSON over the page images: boxes in pixels, label categories"

    def write(self, records: Source, sink: Sink, options: Mapping[str, Any]) -> None:
        dpi = dpi_of(options)
        out = sink.open(NAME, "application/json")
        out.write("{")
        out.write(dumps("info") + ":" + dumps({"description": "docledger export", "dpi": dpi}))
        out.write("," + dumps("licenses") + ":[]")
        images: dict[tuple[str, Any], tuple[int, int, int]] = {}
        array = _Array(out, "images")
        for record in records():
            key = (str(record["version_id"]), record.get("page"))
            if not drawable(record) or key in images or record.get("bbox") is None:
                continue
            try:
                if options.get("images"):
                    width, height = sink.image(record, dpi)
                else:
                    width, height = page_pixels(record, dpi)
            except PageFailure as exc:
                sink.fail(record, str(exc))
                images[key] = (0, 0, 0)  # tried: its boxes are skipped, not failed again
                continue
            image_id = len(images) + 1
            images[key] = (image_id, width, height)
            array.add(
                {
                    "id": image_id, "file_name": image_name(record), "width": width,
                    "height": height, "document": record["document"],
                    "document_id": record["document_id"], "version_id": record["version_id"],
                    "page": record["page"],
                }
            )  # fmt: skip
        array.close()
        categories: dict[str, int] = {}
        array = _Array(out, "annotations")
        for record in records():
            written = self._annotation(record, images, categories, sink)
            if written is not None:
                array.add(written)
                sink.count(NAME)
        array.close()
        array = _Array(out, "categories")
        for label, category_id in categories.items():
            array.add({"id": category_id, "name": label, "supercategory": "segment"})
        array.close()
        out.write("}\n")

    def _annotation(
        self,
        record: Record,
        images: dict[tuple[str, Any], tuple[int, int, int]],
        categories: dict[str, int],
        sink: Sink,
    ) -> dict[str, Any] | None:
        image = images.get((str(record["version_id"]), record.get("page")))
        if not drawable(record) or image is None or image[0] == 0:
            return None
        box, drawn = box_of(record)
        if box is None:
            return None
        try:
            pct = percent_box(record, box)
        except PageFailure as exc:
            sink.fail(record, str(exc))
            return None
        image_id, width, height = image
        x0, y0 = pct.x0 * width / 100, pct.y0 * height / 100
        x1, y1 = pct.x1 * width / 100, pct.y1 * height / 100
        x0, y0, x1, y1 = (round(v, 2) for v in (x0, y0, x1, y1))
        label, by_person = label_of(record)
        category_id = categories.setdefault(label, len(categories) + 1)
        return {
            "id": sink.files[NAME]["records"] + 1,
            "image_id": image_id,
            "category_id": category_id,
            "bbox": [x0, y0, round(x1 - x0, 2), round(y1 - y0, 2)],
            "area": round((x1 - x0) * (y1 - y0), 2),
            "iscrowd": 0,
            "segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]],
            "segment_id": record["segment_id"],
            "reviewed": by_person or drawn,
        }
