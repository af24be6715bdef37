"""Import the element output of other extraction tools (Unstructured, Docling) as an
extraction, with their boxes converted to docledger's convention."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from docledger.bbox import from_docling, from_unstructured
from docledger.errors import InvalidInput
from docledger.schemas.extraction import SegmentIn

_UNSTRUCTURED_KINDS = {
    "Table": "table",
    "Image": "figure",
    "Figure": "figure",
    "Title": "section",
    "PageBreak": "other",
}
_DOCLING_KINDS = {
    "table": "table",
    "picture": "figure",
    "title": "section",
    "section_header": "section",
}


def detect(document: Any) -> str:
    if isinstance(document, list):
        return "unstructured"
    if isinstance(document, dict) and ("texts" in document or "body" in document):
        return "docling"
    raise InvalidInput(
        "not Unstructured (a list of elements) or Docling (a document with 'texts') JSON"
    )


def parse(data: bytes, fmt: str = "auto") -> tuple[str, str, list[SegmentIn]]:
    """(extractor name, extractor version, segments) of an elements file."""
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise InvalidInput(f"the elements file is not JSON: {exc}") from exc
    kind = detect(document) if fmt == "auto" else fmt
    digest = hashlib.sha256(data).hexdigest()[:16]
    if kind == "unstructured":
        return "unstructured", f"import-{digest}", _unstructured(document)
    if kind == "docling":
        version = str(document.get("version", "")) or "unknown"
        return "docling", f"{version}-import-{digest}", _docling(document)
    raise InvalidInput(f"unknown elements format {fmt!r}")


def _unstructured(elements: list[Any]) -> list[SegmentIn]:
    out = []
    for element in elements:
        if not isinstance(element, dict):
            raise InvalidInput("every Unstructured element is a JSON object")
        meta = element.get("metadata") or {}
        coords = meta.get("coordinates")
        out.append(
            SegmentIn(
                kind=_UNSTRUCTURED_KINDS.get(str(element.get("type")), "block"),
                label=element.get("type"),
                text=element.get("text"),
                page_number=meta.get("page_number"),
                bbox=from_unstructured(coords) if coords else None,
                metadata={
                    "element_id": element.get("element_id"),
                    **(
                        {
                            "layout": {
                                "width": coords.get("layout_width"),
                                "height": coords.get("layout_height"),
                            }
                        }
                        if coords
                        else {}
                    ),
                },
            )
        )
    return out


def _docling(document: dict[str, Any]) -> list[SegmentIn]:
    pages = document.get("pages") or {}
    out = []
    for item in document.get("texts", []) + document.get("tables", []):
        label = str(item.get("label", "text"))
        provs = item.get("prov") or [{}]
        prov = provs[0]
        page_no = prov.get("page_no")
        box = None
        if prov.get("bbox") is not None and page_no is not None:
            size = (pages.get(str(page_no)) or {}).get("size") or {}
            if "height" not in size:
                raise InvalidInput(f"Docling page {page_no} has no size: cannot place its boxes")
            box = from_docling(prov["bbox"], float(size["height"]))
        out.append(
            SegmentIn(
                kind=_DOCLING_KINDS.get(label, "block"),
                label=label,
                text=item.get("text"),
                page_number=page_no,
                bbox=box,
                metadata={"self_ref": item.get("self_ref")},
            )
        )
    return out
