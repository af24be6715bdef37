"""JSONL: one segment per line with its document key, version, page, box and annotations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from docledger.formats.base import BaseFormat, Sink, Source, dumps

#: the keys of a line, in order (internal helpers such as page sizes stay out)
FIELDS = (
    "document", "document_id", "version", "version_id", "extraction_id", "extractor",
    "segment_id", "ordinal", "kind", "label", "page", "bbox", "text", "confidence",
    "annotations",
)  # fmt: skip


def line(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in FIELDS}


class JsonlFormat(BaseFormat):
    name = "jsonl"
    description = "one segment per line: document, version, page, box, text, annotations"

    def write(self, records: Source, sink: Sink, options: Mapping[str, Any]) -> None:
        out = sink.open("segments.jsonl", "application/x-ndjson")
        for record in records():
            out.write(dumps(line(record)))
            out.write("\n")
            sink.count("segments.jsonl")
