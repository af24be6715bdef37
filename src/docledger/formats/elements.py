"""Unstructured element JSON: the segments as the element list Unstructured's partitioners
produce (type, element id, text, page number, file name, coordinates with their layout size),
readable by ``ledger.extractions.import_elements`` and by tools that read Unstructured output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from docledger.bbox import convert, to_unstructured
from docledger.formats.base import BaseFormat, PageFailure, Sink, Source, box_of, dumps, text_of
from docledger.schemas.extraction import BBox

NAME = "elements.json"
_TYPES = {"table": "Table", "figure": "Image", "section": "Title", "page": "PageBreak"}
_KNOWN = {
    "Title", "NarrativeText", "ListItem", "Table", "Image", "Figure", "Header", "Footer",
    "FigureCaption", "Address", "EmailAddress", "UncategorizedText", "Formula", "CodeSnippet",
    "PageNumber",
}  # fmt: skip


def element_type(record: Mapping[str, Any]) -> str:
    label = record.get("label")
    if isinstance(label, str) and label in _KNOWN:
        return label
    return _TYPES.get(str(record.get("kind")), "NarrativeText")


def _layout(record: Mapping[str, Any], box: BBox) -> tuple[BBox, float, float]:
    """The box in pixels or points with the page's extent in the same unit."""
    page = record.get("page_box")
    if page and page.get("unit", "pt") == box.unit and box.unit in {"pt", "px"}:
        return box, float(page["x1"]), float(page["y1"])
    size = record.get("page_size_pt")
    if not size:
        raise PageFailure(f"no page size to place a {box.unit} box on page {record.get('page')}")
    pt = convert(box, "pt", page_width=size[0], page_height=size[1])
    return pt, float(size[0]), float(size[1])


class UnstructuredFormat(BaseFormat):
    name = "unstructured"
    description = "Unstructured element JSON: type, text, page, coordinates with layout size"

    def write(self, records: Source, sink: Sink, options: Mapping[str, Any]) -> None:
        out = sink.open(NAME, "application/json")
        out.write("[")
        first = True
        for record in records():
            if record.get("kind") == "page":
                continue
            metadata: dict[str, Any] = {
                "filename": record["document"], "page_number": record.get("page"),
            }  # fmt: skip
            box, _ = box_of(record)
            if box is not None:
                try:
                    placed, width, height = _layout(record, box)
                except PageFailure as exc:
                    sink.fail(record, str(exc))
                    continue
                metadata["coordinates"] = to_unstructured(placed, width, height)
            element = {
                "type": element_type(record),
                "element_id": record["segment_id"],
                "text": text_of(record) or "",
                "metadata": metadata,
            }
            out.write(("\n" if first else ",\n") + dumps(element))
            first = False
            sink.count(NAME)
        out.write("\n]\n")
