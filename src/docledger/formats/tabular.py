"""CSV: the same records flat, one row per segment; and ``review-csv``, the shape of the
PDF-training product's hand-kept ``review.csv`` (file, page, box, text, the model's label and
confidence, the reviewer's label and status)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from typing import Any

from docledger.formats.base import BaseFormat, Sink, Source, box_of, label_of, text_of

COLUMNS = (
    "document", "version", "page", "segment_id", "kind", "label", "x0", "y0", "x1", "y1",
    "unit", "text", "confidence", "reviewed_label", "reviewed_box", "review_status",
    "corrected_text",
)  # fmt: skip
REVIEW_COLUMNS = (
    "file", "page", "x0", "y0", "x1", "y1", "unit", "text", "predicted_label", "confidence",
    "label", "status",
)  # fmt: skip


def _number(value: Any) -> str:
    return "" if value is None else repr(float(value)) if isinstance(value, float) else str(value)


def _status(record: Mapping[str, Any]) -> str:
    statuses = {n["status"] for n in record.get("annotations") or ()}
    for status in ("approved", "submitted", "draft", "rejected"):
        if status in statuses:
            return status
    return ""


class CsvFormat(BaseFormat):
    name = "csv"
    description = "one row per segment, flat: box corners, text, reviewed label and box"

    def write(self, records: Source, sink: Sink, options: Mapping[str, Any]) -> None:
        out = csv.writer(sink.open("segments.csv", "text/csv"), lineterminator="\n")
        out.writerow(COLUMNS)
        for record in records():
            label, by_person = label_of(record)
            box, drawn = box_of(record)
            corrected = text_of(record)
            corners = (
                [_number(getattr(box, c)) for c in ("x0", "y0", "x1", "y1")] + [box.unit]
                if box is not None
                else ["", "", "", "", ""]
            )
            out.writerow(
                [
                    record["document"], record["version"], _number(record.get("page")),
                    record["segment_id"], record["kind"], record.get("label") or "",
                    *corners, record.get("text") or "", _number(record.get("confidence")),
                    label if by_person else "", "yes" if drawn else "", _status(record),
                    corrected if corrected != record.get("text") and corrected else "",
                ]
            )  # fmt: skip
            sink.count("segments.csv")


class ReviewCsvFormat(BaseFormat):
    name = "review-csv"
    description = "the PDF-training product's review.csv: file, page, box, prediction, label"

    def write(self, records: Source, sink: Sink, options: Mapping[str, Any]) -> None:
        out = csv.writer(sink.open("review.csv", "text/csv"), lineterminator="\n")
        out.writerow(REVIEW_COLUMNS)
        for record in records():
            if record.get("bbox") is None:
                continue  # review.csv lists zones; a box-less segment has no row
            label, by_person = label_of(record)
            box, _ = box_of(record)
            assert box is not None
            out.writerow(
                [
                    record["document"], _number(record.get("page")),
                    *(_number(getattr(box, c)) for c in ("x0", "y0", "x1", "y1")), box.unit,
                    text_of(record) or "", record.get("label") or record["kind"],
                    _number(record.get("confidence")), label if by_person else "",
                    _status(record),
                ]
            )  # fmt: skip
            sink.count("review.csv")
