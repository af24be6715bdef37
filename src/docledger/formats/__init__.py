"""Export formats: the built-ins and those other packages register as entry points.

A format turns the stream of records an export selected into files (see ``base.py`` for the
interface). A plugin cannot replace a built-in of the same name; ``register`` adds one for the
running process (tests, notebooks).
"""

from __future__ import annotations

from importlib.metadata import entry_points

from docledger.errors import InvalidInput
from docledger.formats.base import ExportFormat, PageFailure, Sink
from docledger.formats.coco import CocoFormat
from docledger.formats.elements import DoclingFormat, UnstructuredFormat
from docledger.formats.findings import FeatureOutputsFormat
from docledger.formats.jsonl import JsonlFormat
from docledger.formats.labelstudio import LabelStudioFormat
from docledger.formats.tabular import CsvFormat, ReviewCsvFormat

ENTRY_POINT_GROUP = "docledger.export_formats"

_BUILTIN: tuple[ExportFormat, ...] = (
    JsonlFormat(),
    CsvFormat(),
    ReviewCsvFormat(),
    CocoFormat(),
    LabelStudioFormat(),
    UnstructuredFormat(),
    DoclingFormat(),
    FeatureOutputsFormat(),
)
_REGISTERED: dict[str, ExportFormat] = {}

__all__ = [
    "ENTRY_POINT_GROUP",
    "ExportFormat",
    "PageFailure",
    "Sink",
    "available",
    "get",
    "register",
    "unregister",
]


def register(fmt: ExportFormat) -> None:
    """Add a format for this process (a built-in's name is refused)."""
    if not isinstance(fmt, ExportFormat):
        raise InvalidInput("an export format has name, version, kind and write()")
    if fmt.name in {b.name for b in _BUILTIN}:
        raise InvalidInput(f"{fmt.name!r} is a built-in export format")
    _REGISTERED[fmt.name] = fmt


def unregister(name: str) -> None:
    _REGISTERED.pop(name, None)


def available() -> dict[str, ExportFormat]:
    found: dict[str, ExportFormat] = {f.name: f for f in _BUILTIN}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            continue
        factory = ep.load()
        fmt = factory() if callable(factory) else factory
        if isinstance(fmt, ExportFormat):
            found[ep.name] = fmt
    for name, fmt in _REGISTERED.items():
        found.setdefault(name, fmt)
    return found


def get(names: object) -> list[ExportFormat]:
    """The formats named, in the order given; an unknown or repeated name is refused."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list | tuple) or not names:
        raise InvalidInput("formats is a non-empty list of format names")
    known = available()
    out: list[ExportFormat] = []
    for name in names:
        if not isinstance(name, str) or name not in known:
            raise InvalidInput(f"unknown export format {name!r}; one of {sorted(known)}")
        if any(f.name == name for f in out):
            raise InvalidInput(f"format {name!r} is named twice")
        out.append(known[name])
    return out
