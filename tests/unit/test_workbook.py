"""Excel workbooks: every workbook of xlsx2csv's source distribution read by the xlsx
extractor and by openpyxl (the independent reading): the same sheets in the same order and
the same value in every cell (numbers to 15 digits, dates as ISO dates; percentages shown as
percentages here); then a workbook built here in the 1904 date system with a hidden sheet,
and broken workbooks refused with one clear error."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from docledger.errors import InvalidInput
from docledger.extractors import XlsxExtractor, for_media_type
from docledger.extractors.workbook import sheets
from docledger.services.media import sniff
from tests.corpus import fetched, real_xlsx


def _shown(value: Any) -> str:
    """openpyxl's value as the extractor writes it."""
    if isinstance(value, dt.datetime):
        return value.isoformat(" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return f"{value:.15g}"
    return str(value)


def _same(ours: str | None, theirs: str | None) -> bool:
    if ours is None or theirs is None:
        return ours == theirs
    if ours.endswith("%"):  # a percentage format: Excel shows 50%, the cell holds 0.5
        return float(ours[:-1]) / 100 == pytest.approx(float(theirs))
    return ours in (theirs, f"{theirs} 00:00:00")  # midnight in a date-time format


def _cells(path: Path) -> tuple[list[str], list[dict[tuple[int, int], str]]]:
    book = openpyxl.load_workbook(path, data_only=True)
    out = []
    for sheet in book.worksheets:
        out.append({
            (c.row, c.column - 1): _shown(c.value)
            for row in sheet.iter_rows() for c in row
            if c.value is not None and str(c.value).strip()
        })  # fmt: skip
    return [s.title for s in book.worksheets], out


#: cells holding 0 in a date format (row, column)
DAY_ZERO = {("pyexcel_xlsx-0.6.1__tests__fixtures__date_field.xlsx", (5, 0))}


@pytest.mark.filterwarnings("ignore::UserWarning")  # openpyxl on extensions it drops
def test_every_real_workbook_reads_as_openpyxl_reads_it() -> None:
    corpus = fetched(real_xlsx, "real-XLSX")
    assert len(corpus) >= 20
    compared = 0
    for path in corpus:
        data = path.read_bytes()
        assert isinstance(for_media_type(sniff(data[:4096], path.name)), XlsxExtractor)
        read = list(sheets(data))
        assert XlsxExtractor().extract(data, {}) or not any(t for _, _, t in read), path.name
        if path.name.endswith("formatted_inline_string.xlsx"):  # openpyxl cannot open it
            assert read == [("Sheet1", False, [(1, 1, ["Regular Bold"])])]
            continue
        names, books = _cells(path)
        assert [name for name, _, _ in read] == names, path.name
        for (_, _, table), want in zip(read, books, strict=True):
            have = {(n, i): v for n, _, cells in table for i, v in enumerate(cells) if v.strip()}
            assert set(have) == set(want), path.name
            for key, value in want.items():
                if (path.name, key) in DAY_ZERO:
                    # serial 0 as a date: Excel shows "0 January 1900", the day before its
                    # first; openpyxl gives a time for any serial below 1
                    assert (have[key], value) == ("1899-12-31", "00:00:00"), path.name
                    continue
                assert _same(have[key], value), (path.name, key, have[key], value)
                compared += 1
    # measured: 738 cells compared, every one the same but the day-zero cell
    assert compared >= 730


def _book() -> bytes:
    book = openpyxl.Workbook()
    book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    sheet = book.active
    sheet.title = "Zonas"
    sheet.append(["zona", "revisada em", "hora", "cobertura", "ok", "área (m²)"])
    sheet.append(["C2", dt.date(2026, 3, 14), dt.time(9, 30), 0.875, True, 12.5])
    sheet["C2"].number_format = "hh:mm"
    sheet["D2"].number_format = "0.0%"
    sheet["B2"].number_format = "dd/mm/yyyy"
    sheet.append(["C3"])
    sheet["H3"] = "far right"  # a gap of empty columns before it
    hidden = book.create_sheet("Rascunho")
    hidden.sheet_state = "hidden"
    hidden.append(["nota", "ignorar"])
    hidden.append(["x", "y"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_workbook_gives_a_record_per_row_with_values_as_shown() -> None:
    data = _book()
    assert isinstance(for_media_type(sniff(data[:4096], "no-name")), XlsxExtractor)
    first, second, draft = XlsxExtractor().extract(data, {})
    assert first.text == (
        "zona: C2\nrevisada em: 2026-03-14\nhora: 09:30:00\ncobertura: 87.5%\nok: TRUE\n"
        "área (m²): 12.5"
    )
    assert first.metadata == {"sheet": "Zonas", "row": 2, "line": 2}
    assert second.text == "zona: C3\ncolumn 8: far right"
    assert draft.text == "nota: x\nignorar: y"
    assert draft.metadata["hidden"] is True


def _rewrite(data: bytes, name: str, body: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            new.writestr(info, body.encode() if info.filename == name else old.read(info))
    return out.getvalue()


def test_broken_workbooks_are_refused_clearly() -> None:
    good = _book()
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    # a DTD after a long comment: past any head a sniffer would look at
    late_dtd = '<?xml version="1.0"?><!--' + "x" * 70_000 + '--><!DOCTYPE a [<!ENTITY b "c">]>'
    cases = {
        b"PK\x03\x04 nothing": "not a readable zip file",
        _rewrite(good, "xl/worksheets/sheet1.xml", late_dtd + sheet.split("?>", 1)[-1]):
            "xl/worksheets/sheet1.xml declares a DTD",
        _rewrite(good, "xl/worksheets/sheet1.xml", sheet[: len(sheet) // 2]): "broken XML",
        _rewrite(good, "xl/worksheets/sheet1.xml", re.sub(r'<c r="A1" t="inlineStr">.*?</c>',
                 '<c r="A1" t="s"><v>999</v></c>', sheet)): "shared string '999'",
    }  # fmt: skip
    for data, message in cases.items():
        with pytest.raises(InvalidInput, match=re.escape(message)):
            XlsxExtractor().extract(data, {})
