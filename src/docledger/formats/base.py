"""What an export format is, what it reads and where it writes.

A format reads records (one dict per segment, or per finding for ``source = "findings"``) in
a stable order (document key, version, extraction, page, reading order), and writes files
through a ``Sink``: text files in a private folder that the export then stores as blobs. It
never holds every record at once: ``source()`` starts a fresh pass over the selection, so a
format that needs two passes (COCO: images, then annotations) asks twice. Output is a pure
function of the records and the options (no timestamps, no random ids, stable key order), so
an export reproduces byte for byte.

A page or document a format cannot write (no page size for a box, say) is reported with
``sink.fail(record, reason)``: the rest is written and the format ends ``partial``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from docledger.bbox import convert
from docledger.errors import InvalidInput
from docledger.schemas.extraction import BBox

Record = dict[str, Any]
Source = Callable[[], Iterator[Record]]

#: how many failed pages an export lists one by one (the rest are counted)
FAILURES_LISTED = 200


class PageFailure(Exception):
    """A record's page cannot be written in this format (the reason is the message)."""


def dumps(value: Any) -> str:
    """Compact JSON with the keys in the order the format built them: the same bytes for the
    same records, whichever dialect or process wrote them."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class Sink:
    """The files a format writes, in a private folder, with their record counts and the
    pages it had to leave out."""

    def __init__(
        self,
        folder: Path,
        fmt: str,
        page_image: Callable[[str, int, int], tuple[bytes, int, int]] | None = None,
    ) -> None:
        self.folder = folder
        self.format = fmt
        #: (version id, page, dpi) -> (PNG, width, height), for formats that ship images
        self.page_image = page_image
        self.files: dict[str, dict[str, Any]] = {}
        self.failed: list[dict[str, Any]] = []
        self.failed_count = 0
        self._open: list[IO[str]] = []

    def open(self, name: str, media_type: str) -> IO[str]:
        """A new UTF-8 text file (LF line ends) named ``name`` inside the export."""
        if not name or name.startswith("/") or ".." in Path(name).parts:
            raise InvalidInput(f"a file name inside an export is relative: {name!r}")
        if name in self.files:
            raise InvalidInput(f"{self.format} wrote {name!r} twice")
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.files[name] = {"path": path, "media_type": media_type, "records": 0}
        handle = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed by close()
        self._open.append(handle)
        return handle

    def add_binary(self, name: str, data: bytes, media_type: str) -> None:
        if name in self.files:
            return  # one image per page, however many formats or passes ask
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files[name] = {"path": path, "media_type": media_type, "records": 0}

    def image(self, record: Mapping[str, Any], dpi: int) -> tuple[int, int]:
        """Put the record's page image in the export; its size in pixels."""
        if self.page_image is None:
            raise PageFailure("this export cannot read page images")
        png, width, height = self.page_image(str(record["version_id"]), record["page"], dpi)
        self.add_binary(f"pages/{record['version_id']}/{record['page']}.png", png, "image/png")
        return width, height

    def count(self, name: str, records: int = 1) -> None:
        self.files[name]["records"] += records

    def fail(self, record: Mapping[str, Any], reason: str) -> None:
        self.failed_count += 1
        if len(self.failed) < FAILURES_LISTED:
            where = {k: record.get(k) for k in ("document", "version", "page") if k in record}
            if where not in [{k: f.get(k) for k in where} for f in self.failed[-1:]]:
                self.failed.append({**where, "error": reason})

    def close(self) -> None:
        for handle in self._open:
            if not handle.closed:
                handle.close()


@runtime_checkable
class ExportFormat(Protocol):
    """``name`` is what users pass; ``version`` goes into the export record (bump it when the
    bytes a format writes change); ``source`` is ``"segments"`` or ``"findings"``."""

    name: str
    version: str
    source: str
    description: str

    def write(self, records: Source, sink: Sink, options: Mapping[str, Any]) -> None: ...


class BaseFormat:
    """Shared defaults for the built-ins."""

    name: str = ""
    version: str = "1"
    source: str = "segments"
    description: str = ""


# -- what a record says, after the humans had their say ------------------------------------

_RANK = {"approved": 3, "submitted": 2, "draft": 1}


def _reviewed(record: Mapping[str, Any], kinds: tuple[str, ...]) -> dict[str, Any] | None:
    best: dict[str, Any] | None = None
    for note in record.get("annotations") or ():
        if note["kind"] not in kinds or note["status"] not in _RANK:
            continue
        if best is None or _RANK[note["status"]] >= _RANK[best["status"]]:
            best = note
    return best


def label_of(record: Mapping[str, Any]) -> tuple[str, bool]:
    """(label, whether a person gave it): the best non-rejected label / classification / box
    label annotation, else the extractor's label, else the segment kind."""
    note = _reviewed(record, ("label", "classification", "bbox"))
    if note is not None and note["value"].get("label"):
        return str(note["value"]["label"]), True
    return str(record.get("label") or record.get("kind") or "segment"), False


def box_of(record: Mapping[str, Any]) -> tuple[BBox | None, bool]:
    """(box, whether a person drew it): a reviewed ``bbox`` annotation wins over the
    extractor's box."""
    note = _reviewed(record, ("bbox",))
    if note is not None:
        value = note["value"]
        box = BBox(
            x0=value["x0"], y0=value["y0"], x1=value["x1"], y1=value["y1"],
            unit=value.get("unit", "pt"),
        )  # fmt: skip
        return box, True
    raw = record.get("bbox")
    return (None if raw is None else BBox.model_validate(raw)), False


def text_of(record: Mapping[str, Any]) -> str | None:
    note = _reviewed(record, ("correction",))
    if note is not None:
        return str(note["value"].get("corrected"))
    text = record.get("text")
    return None if text is None else str(text)


def percent_box(record: Mapping[str, Any], box: BBox) -> BBox:
    """The box in percent of its page (Label Studio's and, scaled, COCO's frame)."""
    if box.unit == "percent":
        return box
    if box.unit == "fraction":
        return convert(box, "percent", page_width=1, page_height=1)
    page = record.get("page_box")
    if page and page.get("unit", "pt") == box.unit and page["x1"] > 0 and page["y1"] > 0:
        w, h = page["x1"], page["y1"]
        return BBox(
            x0=box.x0 * 100 / w, y0=box.y0 * 100 / h, x1=box.x1 * 100 / w, y1=box.y1 * 100 / h,
            unit="percent",
        )  # fmt: skip
    size = record.get("page_size_pt")
    if size and box.unit == "pt":
        return convert(box, "percent", page_width=size[0], page_height=size[1])
    raise PageFailure(f"no page size to place a {box.unit} box on page {record.get('page')}")


def page_pixels(record: Mapping[str, Any], dpi: float) -> tuple[int, int]:
    """The page image's size at ``dpi``: what the renderer makes (points x dpi / 72,
    rounded); a page whose box is in pixels is that many pixels."""
    page = record.get("page_box")
    if page and page.get("unit") == "px":
        return round(page["x1"]), round(page["y1"])
    size = record.get("page_size_pt")
    if not size:
        raise PageFailure(f"no page size for page {record.get('page')}")
    return max(1, round(size[0] * dpi / 72)), max(1, round(size[1] * dpi / 72))
