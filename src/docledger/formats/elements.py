"""Element JSON of other tools. Unstructured: the segments as the element list its partitioners
produce (type, element id, text, page number, file name, coordinates with their layout size),
readable by ``ledger.extractions.import_elements`` and by tools that read Unstructured output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from docledger.bbox import convert, to_docling, to_unstructured
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


_DOCLING_LABELS = {
    "table": "table", "figure": "picture", "section": "section_header", "page": None,
}  # fmt: skip


class DoclingFormat(BaseFormat):
    """One DoclingDocument JSON per extraction (``docling/<extraction id>.json``): the
    segments as ``texts`` with their provenance (page, box in points with Docling's
    bottom-left origin), the page sizes under ``pages``. ``extractions.import_elements`` reads
    it back."""

    name = "docling"
    description = "DoclingDocument JSON per extraction: texts with page and bottom-left boxes"

    def write(self, records: Source, sink: Sink, options: Mapping[str, Any]) -> None:
        current: str | None = None
        out: Any = None
        pages: dict[str, Any] = {}
        count = 0
        for record in records():
            if record["extraction_id"] != current:
                if out is not None:
                    self._close(out, pages, count)
                current, pages, count = record["extraction_id"], {}, 0
                name = f"docling/{current}.json"
                out = sink.open(name, "application/json")
                head = {"schema_name": "DoclingDocument", "version": "1.0.0",
                        "name": record["document"]}  # fmt: skip
                out.write(dumps(head)[:-1] + ',"texts":[')
            label = _DOCLING_LABELS.get(str(record.get("kind")), "text")
            if label is None:
                continue  # the page itself is the page size, below
            item: dict[str, Any] = {
                "self_ref": f"#/texts/{count}", "parent": {"$ref": "#/body"}, "label": label,
                "orig": text_of(record) or "", "text": text_of(record) or "", "prov": [],
            }  # fmt: skip
            box, _ = box_of(record)
            page = record.get("page")
            if page is not None and box is not None:
                try:
                    placed, width, height = _layout(record, box)
                    if placed.unit != "pt":
                        raise PageFailure(f"page {page} is measured in pixels, not points")
                except PageFailure as exc:
                    sink.fail(record, str(exc))
                    continue
                pages[str(page)] = {"size": {"width": width, "height": height}, "page_no": page}
                item["prov"] = [
                    {"page_no": page, "bbox": to_docling(placed, height),
                     "charspan": [0, len(item["text"])]}
                ]  # fmt: skip
            out.write(("" if count == 0 else ",") + dumps(item))
            count += 1
            sink.count(f"docling/{current}.json")
        if out is not None:
            self._close(out, pages, count)

    @staticmethod
    def _close(out: Any, pages: dict[str, Any], count: int) -> None:
        """The body (every text in reading order, by reference) and the page sizes."""
        out.write('],"body":{"self_ref":"#/body","name":"_root_","label":"unspecified",')
        out.write('"children":[')
        for i in range(count):
            out.write(("," if i else "") + f'{{"$ref":"#/texts/{i}"}}')
        ordered = {k: pages[k] for k in sorted(pages, key=int)}
        out.write(']},"pages":' + dumps(ordered) + "}\n")
        out.close()
