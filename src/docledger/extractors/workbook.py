"""Excel workbooks (XLSX, XLSM): a ``record`` per row of every worksheet, as a CSV's rows are.

The spreadsheet a team keeps beside its documents (the review sheet, the zone list, the
register of drawings) is an Excel file far more often than a CSV. Each worksheet is read in
the workbook's tab order; its rows become records through ``docledger.extractors.table``
(the first row the header when it looks like one), with ``metadata.sheet`` naming the sheet
(and ``hidden`` when it is). A cell's text is what Excel shows for it, as far as a reader of
the text needs: shared and inline strings as written, numbers to Excel's 15 significant
digits (``3``, not ``3.0``), dates and times stored as day numbers turned back into ISO dates
(by their number format, in the workbook's 1900 or 1904 date system), percentages as
percentages, booleans as ``TRUE`` / ``FALSE``, error values as written (``#N/A``); a formula's
cached result is its value. Cells are placed by their reference (``C7``), and files that leave
references out (some writers do) by their order.

Worksheets are read as a stream of rows (``iterparse``), so a sheet of a million rows is
never held as one tree; cells past ``MOST_CELLS`` fail the document rather than the machine.
Element names are matched without their namespace, so the "strict" OOXML dialect reads too.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from docledger.errors import InvalidInput
from docledger.extractors.package import opened, part, relations, streamed
from docledger.extractors.table import records
from docledger.extractors.text import TextExtractor
from docledger.schemas.extraction import SegmentIn

MEDIA_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel.sheet.macroEnabled.12",
)
#: Cells (with content) read from one workbook.
MOST_CELLS = 5_000_000
#: Columns a row is read to (Excel's own limit, XFD).
MOST_COLUMNS = 16_384
_WHAT = "XLSX"
#: Built-in number formats that show a date, a time, or both (ECMA-376 18.8.30).
_DATE_FORMATS = {14, 15, 16, 17, 22, 27, 28, 29, 30, 31, 34, 35, 36, 50, 51, 52, 53, 54, 57, 58}
_TIME_FORMATS = {18, 19, 20, 21, 32, 33, 45, 46, 47, 55, 56}
_PERCENT_FORMATS = {9, 10}
_LITERALS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')
_COLUMN = re.compile(r"[A-Za-z]{1,3}")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ElementTree.Element, name: str) -> Iterator[ElementTree.Element]:
    return (child for child in element if _local(child.tag) == name)


def _first(element: ElementTree.Element, name: str) -> ElementTree.Element | None:
    return next(_children(element, name), None)


def kind_of_format(code: str) -> str | None:
    """'date', 'time', 'datetime' or 'percent' for a custom number format, else None."""
    bare = _LITERALS.sub("", code.split(";", 1)[0]).lower()
    if "%" in bare:
        return "percent"
    has_date = "y" in bare or "d" in bare
    has_time = "h" in bare or "s" in bare or "[h]" in code.lower()
    if "m" in bare and not has_time:
        has_date = True  # "mmm yyyy": months; "h:mm": minutes
    if has_date and has_time:
        return "datetime"
    return "date" if has_date else "time" if has_time else None


def _styles(tree: ElementTree.Element | None) -> list[str | None]:
    """Per cell style index: how its numbers are shown (see ``kind_of_format``)."""
    if tree is None:
        return []
    custom: dict[int, str | None] = {}
    formats = _first(tree, "numFmts")
    for fmt in [] if formats is None else _children(formats, "numFmt"):
        try:
            custom[int(fmt.get("numFmtId", ""))] = kind_of_format(fmt.get("formatCode", ""))
        except ValueError:
            continue
    out: list[str | None] = []
    xfs = _first(tree, "cellXfs")
    for xf in [] if xfs is None else _children(xfs, "xf"):
        try:
            number = int(xf.get("numFmtId", "0"))
        except ValueError:
            number = 0
        out.append(format_kind(number, custom))
    return out


def epoch_of(is_1904: bool) -> datetime:
    """Day 0 of the workbook's date system (Excel's day numbers are wall-clock dates: no
    time zone to give them)."""
    return datetime(1904, 1, 1) if is_1904 else datetime(1899, 12, 30)  # noqa: DTZ001


def format_kind(number: int, custom: Mapping[int, str | None]) -> str | None:
    """How a number format shows numbers: a workbook's own formats by their code, Excel's
    built-in ones (the same numbers in XLSX and XLS) by their number."""
    if number in custom:
        return custom[number]
    if number in _DATE_FORMATS:
        return "datetime" if number == 22 else "date"
    if number in _TIME_FORMATS:
        return "time"
    return "percent" if number in _PERCENT_FORMATS else None


def _number(raw: str, shown: str | None, epoch: datetime) -> str:
    try:
        value = float(raw)
    except ValueError:
        return raw
    return shown_number(value, shown, epoch)


def shown_number(value: float, shown: str | None, epoch: datetime) -> str:
    """A number as Excel shows it: to 15 significant digits, or as the date, time or
    percentage its format makes it."""
    if shown in {"date", "time", "datetime"} and 0 <= value < 2_958_466:  # up to 9999-12-31
        if epoch.year == 1899 and value < 60:
            value += 1  # Excel counts a 29 February 1900 that never was (as Lotus 1-2-3 did)
        moment = epoch + timedelta(days=value)
        moment = (moment + timedelta(microseconds=500_000)).replace(microsecond=0)
        if shown == "date":
            return moment.date().isoformat()
        if shown == "time":
            return moment.time().isoformat()
        return moment.isoformat(" ")
    if shown == "percent":
        return f"{value * 100:.15g}%"
    return f"{value:.15g}"


def _strings(archive: zipfile.ZipFile, name: str | None) -> list[str]:
    """The shared strings (rich text runs joined; phonetic guides left out)."""
    tree = part(archive, name, _WHAT) if name else None
    return [] if tree is None else ["".join(_texts(item)) for item in _children(tree, "si")]


def _texts(item: ElementTree.Element) -> Iterator[str]:
    for child in item:
        name = _local(child.tag)
        if name == "t":
            yield child.text or ""
        elif name == "r":
            yield from _texts(child)


def _column(reference: str | None) -> int | None:
    """0-based column of a cell reference ("C7" -> 2)."""
    found = _COLUMN.match(reference or "")
    if found is None:
        return None
    number = 0
    for letter in found.group().upper():
        number = number * 26 + ord(letter) - 64
    return number - 1


def _value(cell: ElementTree.Element, shared: list[str], styles: list[str | None],
           epoch: datetime) -> str:  # fmt: skip
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        inline = _first(cell, "is")
        return "" if inline is None else "".join(_texts(inline))
    found = _first(cell, "v")
    raw = (found.text or "") if found is not None else ""
    if not raw:
        return ""
    if kind == "s":
        try:
            return shared[int(raw)]
        except (ValueError, IndexError):
            raise InvalidInput(f"cannot read the {_WHAT}: a cell names shared string {raw!r}, "
                               "which the workbook does not have") from None  # fmt: skip
    if kind == "b":
        return "TRUE" if raw.strip() in {"1", "true"} else "FALSE"
    if kind in {"str", "e", "d"}:
        return raw
    try:
        shown = styles[int(cell.get("s", "0"))] if styles else None
    except (ValueError, IndexError):
        shown = None
    return _number(raw, shown, epoch)


def _rows(stream: Any, shared: list[str], styles: list[str | None],
          epoch: datetime) -> Iterator[tuple[int, list[str]]]:  # fmt: skip
    """(row number, cell texts) per row of a worksheet, read as a stream."""
    last = 0
    holder: ElementTree.Element | None = None
    # S314: ``stream`` refuses a DTD as it is read (package.streamed), so no entity expands
    for event, element in ElementTree.iterparse(stream, events=("start", "end")):  # noqa: S314
        if event == "start":
            if holder is None and _local(element.tag) == "sheetData":
                holder = element
            continue
        if _local(element.tag) != "row":
            continue
        try:
            number = int(element.get("r", ""))
        except ValueError:
            number = last + 1
        last = number
        cells: list[str] = []
        for cell in _children(element, "c"):
            at = _column(cell.get("r"))
            at = len(cells) if at is None else at
            if at >= MOST_COLUMNS:
                break
            text = _value(cell, shared, styles, epoch)
            if at >= len(cells):
                cells.extend([""] * (at - len(cells) + 1))
            cells[at] = text
        while cells and not cells[-1].strip():
            cells.pop()
        yield number, cells
        if holder is not None:
            holder.clear()  # rows read are let go: memory stays one row deep


def sheets(data: bytes) -> Iterator[tuple[str, bool, list[tuple[int, int, list[str]]]]]:
    """(name, hidden, rows) per worksheet in tab order; rows as ``table.records`` takes them."""
    with opened(data, _WHAT) as archive:
        root = dict(relations(archive, "", _WHAT).values())
        book_name = root.get("officeDocument", "xl/workbook.xml")
        book = part(archive, book_name, _WHAT)
        if book is None:
            raise InvalidInput(f"cannot read the {_WHAT}: it has no workbook part")
        targets = relations(archive, book_name, _WHAT)
        by_kind: dict[str, str] = {}
        for kind, target in targets.values():
            by_kind.setdefault(kind, target)
        shared = _strings(archive, by_kind.get("sharedStrings"))
        styles = _styles(part(archive, by_kind["styles"], _WHAT) if "styles" in by_kind else None)
        properties = _first(book, "workbookPr")
        is_1904 = properties is not None and properties.get("date1904") in {"1", "true"}
        epoch = epoch_of(is_1904)
        listed = _first(book, "sheets")
        cells = 0
        for sheet in [] if listed is None else _children(listed, "sheet"):
            rel = next((v for k, v in sheet.attrib.items() if _local(k) == "id"), "")
            kind, target = targets.get(rel, ("", ""))
            if kind != "worksheet" or target not in archive.NameToInfo:
                continue  # chart sheets and dialog sheets hold no cells
            table = []
            with streamed(archive, target, _WHAT) as stream:
                for number, row in _rows(stream, shared, styles, epoch):
                    cells += len(row)
                    if cells > MOST_CELLS:
                        raise InvalidInput(f"cannot read the {_WHAT}: over {MOST_CELLS} cells")
                    if any(c.strip() for c in row):
                        table.append((number, number, row))
            yield sheet.get("name", ""), sheet.get("state", "visible") != "visible", table


class XlsxExtractor(TextExtractor):
    """Excel workbooks: a ``record`` per row of every worksheet, values as Excel shows them
    (see ``docledger.extractors.workbook``), the sheet in ``metadata.sheet``."""

    name: str = "xlsx"
    version: str = "1"
    media_types: tuple[str, ...] = MEDIA_TYPES

    @staticmethod
    def sheets(data: bytes) -> Iterator[tuple[str, bool, list[tuple[int, int, list[str]]]]]:
        """(name, hidden, rows) per worksheet (the format's own reading)."""
        return sheets(data)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        self.check(params)  # the text extractor's params are accepted (and unused)
        out: list[SegmentIn] = []
        for name, hidden, table in self.sheets(data):
            noted: dict[str, Any] = {"sheet": name, **({"hidden": True} if hidden else {})}
            out.extend(records(table, noted))
        return out
