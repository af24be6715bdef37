"""Excel 97-2003 .xls workbooks: every .xls of the legacy Office corpus (pyexcel-xls's and
xlrd 1.2.0's test sheets, oletools' encrypted and macro workbooks, file-type detectors'
samples) read by the xls extractor and by xlrd (the independent reading): the same sheets in
the same order, and every cell xlrd reads with a value shown as the xlsx extractor shows it
(dates by their number format, numbers to 15 digits, booleans, errors)."""

from __future__ import annotations

import datetime as dt

import pytest
import xlrd
import xlrd.formatting

from docledger.errors import InvalidInput
from docledger.extractors import XlsExtractor, for_media_type
from docledger.extractors.excel97 import sheets
from docledger.services.media import sniff
from tests.corpus import fetched, real_legacy_office


def _workbooks() -> list:
    return [p for p in fetched(real_legacy_office, "legacy-Office") if p.suffix == ".xls"]


def _expected(book: xlrd.book.Book, cell: xlrd.sheet.Cell) -> set[str]:
    """What Excel may show for a cell as xlrd reads it: a date-formatted number (by xlrd's
    own detection) as its date, its time or both, whichever its format shows."""
    if cell.ctype == xlrd.XL_CELL_TEXT:
        return {str(cell.value)}
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return {"TRUE" if cell.value else "FALSE"}
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return {xlrd.error_text_from_code.get(cell.value, "#ERROR")}
    value = float(cell.value)
    fmt = book.format_map[book.xf_list[cell.xf_index].format_key]
    if fmt.type == xlrd.formatting.FDT and 0 <= value < 2_958_466:
        moment = xlrd.xldate.xldate_as_datetime(value, book.datemode)
        moment = (moment + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
        return {moment.date().isoformat(), moment.time().isoformat(), moment.isoformat(" ")}
    if "%" in fmt.format_str.split(";")[0]:
        return {f"{value * 100:.15g}%"}
    return {f"{value:.15g}"}


def test_every_real_xls_reads_as_xlrd_reads_it() -> None:
    workbooks = _workbooks()
    assert len(workbooks) >= 25
    compared = refused = 0
    for path in workbooks:
        data = path.read_bytes()
        try:
            book = xlrd.open_workbook(file_contents=data, formatting_info=True)
        except xlrd.biffh.XLRDError as exc:  # encrypted: refused by both, saying so
            why = str(exc)
            with pytest.raises(InvalidInput, match="encrypted"):
                list(sheets(data))
            assert "encrypted" in why, path.name
            refused += 1
            continue
        if book.biff_version < 80:  # Excel 2-5 files: refused, saying what they are
            with pytest.raises(InvalidInput, match=r"BIFF[2-5]"):
                list(sheets(data))
            refused += 1
            continue
        assert sniff(data[:4096], path.name) == "application/vnd.ms-excel", path.name
        ours = list(sheets(data))
        theirs = [s for s in book.sheets() if s.boundsheet_type == 0] if hasattr(
            book.sheets()[0], "boundsheet_type") else book.sheets()  # fmt: skip
        assert [name for name, _, _ in ours] == [s.name for s in theirs], path.name
        for (name, hidden, rows), sheet in zip(ours, theirs, strict=True):
            assert hidden == (sheet.visibility != 0), (path.name, name)
            by_row = {number: cells for number, _, cells in rows}
            for r in range(sheet.nrows):
                for c in range(sheet.ncols):
                    cell = sheet.cell(r, c)
                    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                        continue
                    want = _expected(book, cell)
                    if want == {""}:
                        continue
                    got = by_row.get(r + 1, [])
                    assert c < len(got), (path.name, name, r, c, want)
                    assert got[c] in want, (path.name, name, r, c, got[c], want)
                    compared += 1
    assert refused == 5  # three encrypted, one Excel 5, one Excel 4
    assert compared >= 500


def test_an_xls_is_extracted_into_records_by_its_type() -> None:
    by_name = {p.name.split("__")[-1]: p for p in _workbooks()}
    data = by_name["hidden_sheets.xls"].read_bytes()
    assert isinstance(for_media_type("application/vnd.ms-excel"), XlsExtractor)
    segments = XlsExtractor().extract(data, {})
    assert {s.kind for s in segments} == {"record"}
    assert [s.metadata["sheet"] for s in segments] == ["shown", "hidden"]
    assert segments[1].metadata.get("hidden") is True


def test_what_is_not_an_xls_is_refused_clearly() -> None:
    doc = next(p for p in fetched(real_legacy_office, "legacy-Office") if p.suffix == ".doc")
    with pytest.raises(InvalidInput, match="no Workbook stream"):
        XlsExtractor().extract(doc.read_bytes(), {})
    good = _workbooks()[0].read_bytes()
    with pytest.raises(InvalidInput):
        XlsExtractor().extract(good[: len(good) // 2], {})


def test_nuls_in_strings_are_not_text() -> None:
    """Strings some writers end with NUL (C strings) lose it, 8- and 16-bit alike."""
    from docledger.extractors.excel97 import _Pieces  # noqa: PLC0415

    assert _Pieces([b"\x03\x00\x00a\x00b"]).string() == "ab"
    assert _Pieces([b"\x02\x00\x01" + "x\x00".encode("utf-16-le")]).string() == "x"
