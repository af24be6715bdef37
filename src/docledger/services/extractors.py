"""Built-in extractors and the plugin interface.

An extractor turns a version's bytes into segments. Third-party extractors register under the
``docledger.extractors`` entry-point group (a class or factory returning an object with
``name``, ``version``, ``media_types`` and ``extract``); a plugin cannot replace a built-in of
the same name.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from docledger.errors import InvalidInput
from docledger.schemas.extraction import SegmentIn

ENTRY_POINT_GROUP = "docledger.extractors"


@runtime_checkable
class Extractor(Protocol):
    name: str
    version: str
    media_types: tuple[str, ...]

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]: ...


def _chunks(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """Character windows of ``size`` with ``overlap``, cut at whitespace when possible."""
    if size <= 0 or overlap < 0 or overlap >= size:
        raise InvalidInput("chunking needs size > 0 and 0 <= overlap < size")
    spans = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind(" ", start + size // 2, end)
            end = cut if cut > start else end
        spans.append((start, end))
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return spans


class TextExtractor:
    """Markdown and plain text: a section per heading (or one for the whole text), then
    chunks of ``chunk_size`` characters overlapping by ``chunk_overlap``, as children of it."""

    name: str = "text"
    version: str = "1"
    media_types: tuple[str, ...] = ("text/markdown", "text/plain", "text/csv", "text/html")

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        text = data.decode("utf-8", errors="replace")
        size = int(params.get("chunk_size", 800))
        overlap = int(params.get("chunk_overlap", 100))
        heading = re.compile(r"^(#{1,6})\s+(.*)$", re.MULTILINE)
        marks = [(m.start(), m.group(2).strip()) for m in heading.finditer(text)]
        if not marks or marks[0][0] > 0:
            marks.insert(0, (0, ""))
        segments: list[SegmentIn] = []
        for n, (start, title) in enumerate(marks):
            end = marks[n + 1][0] if n + 1 < len(marks) else len(text)
            body = text[start:end]
            if not body.strip():
                continue
            parent = len(segments)
            segments.append(
                SegmentIn(
                    kind="section",
                    label=title or None,
                    text=body,
                    metadata={"start": start, "end": end},
                )
            )
            for a, b in _chunks(body, size, overlap):
                segments.append(
                    SegmentIn(
                        kind="chunk",
                        text=body[a:b],
                        parent=parent,
                        metadata={"start": start + a, "end": start + b},
                    )
                )
        return segments


class JsonExtractor:
    """JSON: one ``record`` segment per top-level element (array items or object members)."""

    name: str = "json"
    version: str = "1"
    media_types: tuple[str, ...] = ("application/json",)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise InvalidInput(f"not valid JSON: {exc}") from exc
        items: list[tuple[str | None, Any]]
        if isinstance(doc, list):
            items = [(None, v) for v in doc]
        elif isinstance(doc, dict):
            items = list(doc.items())
        else:
            items = [(None, doc)]
        return [
            SegmentIn(
                kind="record",
                label=key,
                text=json.dumps(value, sort_keys=True),
                metadata={"index": n},
            )
            for n, (key, value) in enumerate(items)
        ]


class PdfExtractor:
    """PDF (pypdf): a ``page`` segment per page with the page's box, and a ``line`` segment per
    text line. pypdf reports where each text run starts (its baseline origin), not its extent,
    so a line's box is estimated from the origin, the font size and the text length; the
    segment's metadata says ``bbox_estimated: true``. Boxes are in points, top-left origin."""

    name: str = "pdf"
    version: str = "1"
    media_types: tuple[str, ...] = ("application/pdf",)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        from pypdf import PdfReader  # noqa: PLC0415

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                reader = PdfReader(io.BytesIO(data), strict=False)
                pages = list(reader.pages)
            except Exception as exc:
                raise InvalidInput(f"cannot read the PDF: {exc}") from exc
            segments: list[SegmentIn] = []
            for number, page in enumerate(pages, start=1):
                width, height = float(page.mediabox.width), float(page.mediabox.height)
                runs: list[tuple[float, float, float, str]] = []

                def visit(
                    text: str,
                    cm: Any,
                    tm: Any,
                    font: Any,
                    size: float,
                    runs: list[tuple[float, float, float, str]] = runs,
                ) -> None:
                    if text.strip():
                        scale = abs(float(tm[0])) or 1.0
                        runs.append((float(tm[4]), float(tm[5]), float(size) * scale, text))

                page_text = page.extract_text(visitor_text=visit) or ""
                parent = len(segments)
                segments.append(
                    SegmentIn(
                        kind="page",
                        page_number=number,
                        text=page_text,
                        bbox={"x0": 0, "y0": 0, "x1": width, "y1": height, "unit": "pt"},
                    )
                )
                for x, y, size, text in runs:
                    line = text.strip()
                    x1 = min(width, x + 0.5 * size * len(line))
                    top = max(0.0, height - y - size)
                    segments.append(
                        SegmentIn(
                            kind="line",
                            page_number=number,
                            text=line,
                            parent=parent,
                            bbox={
                                "x0": max(0.0, x),
                                "y0": top,
                                "x1": max(x1, 0.0, x),
                                "y1": min(height, max(top, height - y)),
                                "unit": "pt",
                            },
                            metadata={"bbox_estimated": True},
                        )
                    )
        return segments


def available() -> dict[str, Extractor]:
    """Every extractor: the built-ins and those other packages register as entry points."""
    found: dict[str, Extractor] = {
        e.name: e for e in (TextExtractor(), JsonExtractor(), PdfExtractor())
    }
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            continue
        factory = ep.load()
        extractor = factory() if callable(factory) else factory
        if isinstance(extractor, Extractor):
            found[ep.name] = extractor
    return found


def for_media_type(media_type: str | None) -> Extractor | None:
    for extractor in available().values():
        if media_type in extractor.media_types:
            return extractor
    return None
