"""Label Studio tasks JSON: one task per page image, the extractor's boxes as predictions
(with their confidence as score), the boxes and labels people gave as an annotation, regions
in Label Studio's percent-of-image frame; plus the labeling config that shows them. Reading a
Label Studio export back (``parse``) gives the regions to record as annotations: a region whose
id is a segment id is that segment's label (and box, when it was moved)."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any
from xml.sax.saxutils import quoteattr

from docledger.errors import InvalidInput
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
from docledger.formats.coco import dpi_of, drawable, image_name
from docledger.schemas.extraction import BBox

TASKS = "tasks.json"
CONFIG = "label_config.xml"
FROM_NAME, TO_NAME = "label", "image"


def label_config(labels: list[str]) -> str:
    """The labeling config for these tasks: an image with rectangle labels."""
    items = "".join(f"\n    <Label value={quoteattr(label)}/>" for label in labels)
    return (
        "<View>\n"
        f'  <Image name="{TO_NAME}" value="$image"/>\n'
        f'  <RectangleLabels name="{FROM_NAME}" toName="{TO_NAME}">{items}\n'
        "  </RectangleLabels>\n"
        "</View>\n"
    )


def _pages(records: Source) -> Iterator[list[Record]]:
    """The stream cut into pages (records arrive page by page within an extraction)."""
    group: list[Record] = []
    key: tuple[Any, ...] | None = None
    for record in records():
        if not drawable(record):
            continue
        here = (record["extraction_id"], record["page"])
        if group and here != key:
            yield group
            group = []
        key = here
        group.append(record)
    if group:
        yield group


class LabelStudioFormat(BaseFormat):
    name = "labelstudio"
    description = "Label Studio tasks: page images, predictions and annotations in percent"

    def write(self, records: Source, sink: Sink, options: Mapping[str, Any]) -> None:
        dpi = dpi_of(options)
        prefix = str(options.get("image_prefix", ""))
        out = sink.open(TASKS, "application/json")
        out.write("[")
        labels: set[str] = set()
        first = True
        for page in _pages(records):
            task = self._task(page, dpi, prefix, labels, sink, bool(options.get("images")))
            if task is None:
                continue
            out.write(("\n" if first else ",\n") + dumps(task))
            first = False
            sink.count(TASKS)
        out.write("\n]\n")
        config: IO[str] = sink.open(CONFIG, "application/xml")
        config.write(label_config(sorted(labels)))

    def _task(
        self,
        page: list[Record],
        dpi: int,
        prefix: str,
        labels: set[str],
        sink: Sink,
        images: bool,
    ) -> dict[str, Any] | None:
        head = page[0]
        try:
            width, height = sink.image(head, dpi) if images else page_pixels(head, dpi)
        except PageFailure as exc:
            sink.fail(head, str(exc))
            return None
        predicted: list[dict[str, Any]] = []
        reviewed: list[dict[str, Any]] = []
        scores: list[float] = []
        status = "submitted"
        for record in page:
            box, drawn = box_of(record)
            if box is None:
                continue
            label, by_person = label_of(record)
            model_label = str(record.get("label") or record["kind"])
            try:
                pct = percent_box(record, box)
                raw = record.get("bbox")
                model_pct = percent_box(record, BBox.model_validate(raw)) if raw else None
            except PageFailure as exc:
                sink.fail(record, str(exc))
                return None
            if model_pct is not None:
                labels.add(model_label)
                region = self._region(record, model_pct, model_label, width, height)
                if record.get("confidence") is not None:
                    region["score"] = record["confidence"]
                    scores.append(float(record["confidence"]))
                predicted.append(region)
            if by_person or drawn:
                labels.add(label)
                reviewed.append(self._region(record, pct, label, width, height, origin="manual"))
                status = _status(record, status)
        task: dict[str, Any] = {
            "data": {
                "image": prefix + image_name(head), "document": head["document"],
                "document_id": head["document_id"], "version": head["version"],
                "version_id": head["version_id"], "page": head["page"],
                "extraction_id": head["extraction_id"],
            },
            "predictions": [
                {
                    "model_version": head["extractor"],
                    "score": round(sum(scores) / len(scores), 6) if scores else None,
                    "result": predicted,
                }
            ],
        }  # fmt: skip
        if reviewed:
            task["annotations"] = [
                {"result": reviewed, "ground_truth": False, "docledger_status": status}
            ]
        return task

    @staticmethod
    def _region(
        record: Record,
        pct: BBox,
        label: str,
        width: int,
        height: int,
        origin: str = "prediction",
    ) -> dict[str, Any]:
        return {
            "id": record["segment_id"], "from_name": FROM_NAME, "to_name": TO_NAME,
            "type": "rectanglelabels", "origin": origin,
            "original_width": width, "original_height": height, "image_rotation": 0,
            "value": {
                "x": pct.x0, "y": pct.y0, "width": pct.x1 - pct.x0, "height": pct.y1 - pct.y0,
                "rotation": 0, "rectanglelabels": [label],
            },
        }  # fmt: skip


def _status(record: Record, current: str) -> str:
    order = ("draft", "submitted", "approved")
    for note in record.get("annotations") or ():
        if note["status"] in order and order.index(note["status"]) > order.index(current):
            current = note["status"]
    return current


# -- reading a Label Studio export back -----------------------------------------------------


@dataclass(frozen=True)
class Region:
    """One labelled rectangle from a Label Studio export."""

    segment_id: uuid.UUID | None
    version_id: uuid.UUID | None
    page: int | None
    label: str
    x: float
    y: float
    width: float
    height: float
    status: str


def parse(data: bytes | str) -> list[Region]:
    """The labelled rectangles of a Label Studio JSON export (its tasks' annotations; the
    predictions are the model's, not people's). Unknown shapes are refused, not guessed."""
    try:
        tasks = json.loads(data)
    except ValueError as exc:
        raise InvalidInput(f"not a Label Studio export (not JSON): {exc}") from exc
    if not isinstance(tasks, list):
        raise InvalidInput("a Label Studio export is a JSON list of tasks")
    out: list[Region] = []
    for index, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise InvalidInput(f"task {index} has no data object")
        data_ = task["data"]
        version = _uuid(data_.get("version_id"))
        page = data_.get("page")
        for annotation in task.get("annotations") or ():
            if not isinstance(annotation, dict) or annotation.get("was_cancelled"):
                continue
            status = str(annotation.get("docledger_status") or "submitted")
            for region in annotation.get("result") or ():
                found = _region(region, index, version, page, status)
                if found is not None:
                    out.append(found)
    return out


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _region(
    region: Any, index: int, version: uuid.UUID | None, page: Any, status: str
) -> Region | None:
    if not isinstance(region, dict) or region.get("type") != "rectanglelabels":
        return None  # relations, text areas: not boxes
    value = region.get("value")
    if not isinstance(value, dict):
        raise InvalidInput(f"task {index}: a region without a value")
    labels = value.get("rectanglelabels") or []
    try:
        x, y = float(value["x"]), float(value["y"])
        w, h = float(value["width"]), float(value["height"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"task {index}: a rectangle needs x, y, width, height") from exc
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w < 0 or h < 0:
        raise InvalidInput(f"task {index}: a rectangle needs finite x, y and a size >= 0")
    if not labels or not isinstance(labels[0], str):
        raise InvalidInput(f"task {index}: a rectangle without a label")
    return Region(
        segment_id=_uuid(region.get("id")), version_id=version,
        page=page if isinstance(page, int) else None, label=labels[0],
        x=x, y=y, width=w, height=h, status=status,
    )  # fmt: skip
