"""Excel 97-2003 workbooks (``.xls``): a ``record`` per row of every worksheet, as for XLSX.

An ``.xls`` is an OLE compound file (read with ``olefile``) whose ``Workbook`` stream is a
sequence of BIFF8 records: first the workbook's globals (the shared strings, the number
formats and cell styles, the date system, each sheet's name, visibility and where its
records start), then a substream per sheet holding its cells. Facts from [MS-XLS] section
2.4 (records) and 2.5 (structures): LABELSST, NUMBER, RK and MULRK (numbers packed into 30
bits), BOOLERR, FORMULA with its cached result (a string result in the STRING record after
it), LABEL; strings longer than a record continue in CONTINUE records, each continuation
restating whether its characters are 8- or 16-bit.

A cell's text is what Excel shows, by the same rules as the xlsx extractor
(``docledger.extractors.workbook``): numbers to 15 significant digits, dates and times by
their number format in the workbook's date system, percentages, ``TRUE`` / ``FALSE``, error
values as written. Encrypted workbooks and Excel 5/95 ones (BIFF5, a ``Book`` stream) are
refused with an ``InvalidInput`` that says so.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from docledger.errors import InvalidInput
from docledger.extractors import compound
from docledger.extractors.workbook import (
    MOST_CELLS,
    XlsxExtractor,
    epoch_of,
    format_kind,
    kind_of_format,
    shown_number,
)

MEDIA_TYPE = "application/vnd.ms-excel"
WHAT = "Excel 97-2003 workbook"
BIFF8 = 0x0600
#: record types ([MS-XLS] 2.3)
BOF, EOF, CONTINUE, FILEPASS, DATEMODE = 0x0809, 0x000A, 0x003C, 0x002F, 0x0022
FORMAT, XF, BOUNDSHEET, SST = 0x041E, 0x00E0, 0x0085, 0x00FC
LABELSST, LABEL, RSTRING, NUMBER, RK, MULRK = 0x00FD, 0x0204, 0x00D6, 0x0203, 0x027E, 0x00BD
BOOLERR, FORMULA, STRING = 0x0205, 0x0006, 0x0207
ERRORS = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?",
          0x24: "#NUM!", 0x2A: "#N/A"}  # fmt: skip
#: the BOF records Excel 2, 3 and 4 files start with (no compound file around them)
OLD_BOFS = {b"\x09\x00": 2, b"\x09\x02": 3, b"\x09\x04": 4}
#: columns of a BIFF8 sheet (IV), rows (65,536)
MOST_COLUMNS = 256


def _refuse(why: str) -> InvalidInput:
    return compound.refused(WHAT, why)


def _records(stream: bytes, start: int) -> Iterator[tuple[int, bytes]]:
    """(type, data) of each record from ``start`` to the end of its substream (its EOF),
    each record's CONTINUE records appended to it as separate pieces (see ``_Pieces``)."""
    pos = start
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        data = stream[pos + 4 : pos + 4 + size]
        if len(data) < size:
            raise _refuse("a record is cut short")
        pos += 4 + size
        yield kind, data
        if kind == EOF:
            return


class _Pieces:
    """A record and its CONTINUE records read as one: strings cross from piece to piece,
    and a string's characters restart in a new piece with a byte saying their width."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces, self.n, self.at = pieces, 0, 0

    def _next_piece(self) -> None:
        self.n += 1
        self.at = 0
        if self.n >= len(self.pieces):
            raise _refuse("a string runs past its records")

    def take(self, count: int) -> bytes:
        out = b""
        while count > 0:
            if self.at >= len(self.pieces[self.n]):
                self._next_piece()
            part = self.pieces[self.n][self.at : self.at + count]
            out += part
            self.at += len(part)
            count -= len(part)
        return out

    def number(self, fmt: str) -> int:
        return int(struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0])

    def string(self, length_format: str = "<H") -> str:
        """An XLUnicodeRichExtendedString (or a plain XLUnicodeString: no run or phonetic
        flags)."""
        count = self.number(length_format)
        flags = self.number("<B")
        runs = self.number("<H") if flags & 0x08 else 0
        extended = self.number("<I") if flags & 0x04 else 0
        wide = bool(flags & 0x01)
        parts: list[str] = []
        while count > 0:
            if self.at >= len(self.pieces[self.n]):
                self._next_piece()
                wide = bool(self.take(1)[0] & 0x01)  # a continued string's own width byte
            width = 2 if wide else 1
            room = (len(self.pieces[self.n]) - self.at) // width
            if room == 0:
                raise _refuse("a string's characters are cut short")
            chunk = self.take(min(count, room) * width)
            parts.append(chunk.decode("utf-16-le" if wide else "latin-1", errors="replace"))
            count -= len(chunk) // width
        self.take(4 * runs + extended)  # formatting runs and phonetic data: not text
        return "".join(parts).replace("\x00", "")  # C strings' ends: not text (as in decode)


def _rk(value: int) -> float:
    """A number packed into an RK value: 30 bits of an integer or of a double's high bits,
    perhaps divided by 100."""
    if value & 0x02:
        number = float(value >> 2 if value < 0x80000000 else (value >> 2) - (1 << 30))
    else:
        number = float(struct.unpack("<d", struct.pack("<Q", (value & 0xFFFFFFFC) << 32))[0])
    return number / 100 if value & 0x01 else number


class _Globals:
    """What the workbook globals say: strings, styles, the date system, the sheets."""

    def __init__(self, stream: bytes) -> None:
        self.strings: list[str] = []
        custom: dict[int, str | None] = {}
        formats: list[int] = []
        self.sheets: list[tuple[str, bool, int]] = []  # name, hidden, offset
        is_1904 = False
        records = list(_records(stream, 0))
        if not records or records[0][0] != BOF or len(records[0][1]) < 4:
            raise _refuse("its Workbook stream does not start with a BOF record")
        version, kind = struct.unpack_from("<HH", records[0][1], 0)
        if version != BIFF8 or kind != 0x0005:
            raise _refuse("it is not an Excel 97-2003 (BIFF8) workbook")
        for n, (kind, data) in enumerate(records):
            if kind == FILEPASS:
                raise _refuse("it is encrypted (save it without a password, or as .xlsx)")
            if kind == DATEMODE and len(data) >= 2:
                is_1904 = struct.unpack_from("<H", data)[0] == 1
            elif kind == FORMAT and len(data) >= 5:
                number = struct.unpack_from("<H", data)[0]
                custom[number] = kind_of_format(_Pieces([data[2:]]).string())
            elif kind == XF and len(data) >= 4:
                formats.append(struct.unpack_from("<H", data, 2)[0])
            elif kind == BOUNDSHEET and len(data) >= 8:
                offset, state, sheet_type = struct.unpack_from("<IBB", data)
                if sheet_type == 0:  # worksheets (and dialogs); not charts, macros or VBA
                    name = _Pieces([data[6:]]).string("<B")
                    self.sheets.append((name, bool(state & 0x03), offset))
            elif kind == SST and len(data) >= 8:
                pieces = [data[8:]]
                for more_kind, more in records[n + 1 :]:
                    if more_kind != CONTINUE:
                        break
                    pieces.append(more)
                unique = struct.unpack_from("<I", data, 4)[0]
                reader = _Pieces(pieces)
                self.strings = [reader.string() for _ in range(min(unique, MOST_CELLS))]
        self.shown = [format_kind(number, custom) for number in formats]
        self.epoch = epoch_of(is_1904)

    def number(self, value: float, style: int) -> str:
        return shown_number(value, self.shown[style] if style < len(self.shown) else None,
                            self.epoch)  # fmt: skip


def _cells(stream: bytes, offset: int, book: _Globals) -> Iterator[tuple[int, int, str]]:
    """(row, column, text) of each cell with a value in one sheet's substream."""
    records = _records(stream, offset)
    first = next(records, None)
    if first is None or first[0] != BOF:
        raise _refuse("a sheet does not start where the workbook says")
    pending: tuple[int, int] | None = None  # a formula cell whose string result follows
    for kind, data in records:
        if kind == STRING and pending is not None:
            yield (*pending, _Pieces([data]).string())
            pending = None
        elif kind == FORMULA and len(data) >= 14 and data[12:14] == b"\xff\xff" and data[6] == 0:
            pending = struct.unpack_from("<HH", data)  # the STRING record after it has the text
        elif len(data) >= 6:
            row, column, style = struct.unpack_from("<HHH", data)
            for shift, text in _values(kind, data, style, book):
                yield row, column + shift, text


def _values(  # noqa: PLR0911 - one return per kind of cell record reads best
    kind: int, data: bytes, style: int, book: _Globals
) -> list[tuple[int, str]]:
    """(column offset, text) of the values one cell record holds (MULRK: several)."""
    size = len(data)
    if kind == LABELSST and size >= 10:
        index = struct.unpack_from("<I", data, 6)[0]
        return [(0, book.strings[index] if index < len(book.strings) else "")]
    if kind in (LABEL, RSTRING) and size >= 9:
        return [(0, _Pieces([data[6:]]).string())]
    if kind == NUMBER and size >= 14:
        return [(0, book.number(struct.unpack_from("<d", data, 6)[0], style))]
    if kind == RK and size >= 10:
        return [(0, book.number(_rk(struct.unpack_from("<I", data, 6)[0]), style))]
    if kind == MULRK and size >= 12:
        packed = [struct.unpack_from("<HI", data, 4 + 6 * n) for n in range((size - 6) // 6)]
        return [(n, book.number(_rk(value), xf)) for n, (xf, value) in enumerate(packed)]
    if kind == BOOLERR and size >= 8:
        value, is_error = data[6], data[7]
        return [(0, ERRORS.get(value, "#ERROR") if is_error else "TRUE" if value else "FALSE")]
    if kind == FORMULA and size >= 14:  # a cached result (a string one is read above)
        result = data[6:14]
        if result[6:8] != b"\xff\xff":
            return [(0, book.number(struct.unpack("<d", result)[0], style))]
        if result[0] == 1:
            return [(0, "TRUE" if result[2] else "FALSE")]
        if result[0] == 2:
            return [(0, ERRORS.get(result[2], "#ERROR"))]
    return []


def sheets(data: bytes) -> Iterator[tuple[str, bool, list[tuple[int, int, list[str]]]]]:
    """(name, hidden, rows) per worksheet in tab order; rows as ``table.records`` takes them
    (numbered from 1, as Excel shows them)."""
    if data[:2] in OLD_BOFS:
        raise _refuse(f"it is an Excel 2-4 worksheet (BIFF{OLD_BOFS[data[:2]]}); save it as .xlsx")
    with compound.opened(data, WHAT) as ole:
        if ole.exists("Book") and not ole.exists("Workbook"):
            raise _refuse("it is an Excel 5/95 (BIFF5) workbook; save it as .xlsx")
        stream = compound.stream(ole, "Workbook", WHAT)
        book = _Globals(stream)
        count = 0
        for name, hidden, offset in book.sheets:
            rows: dict[int, dict[int, str]] = {}
            for row, column, text in _cells(stream, offset, book):
                count += 1
                if count > MOST_CELLS:
                    raise _refuse(f"over {MOST_CELLS} cells")
                if column < MOST_COLUMNS and text != "":
                    rows.setdefault(row, {})[column] = text
            table = []
            for row in sorted(rows):
                cells = rows[row]
                line = [cells.get(c, "") for c in range(max(cells) + 1)]
                if any(c.strip() for c in line):
                    table.append((row + 1, row + 1, line))
            yield name, hidden, table


class XlsExtractor(XlsxExtractor):
    """Excel 97-2003 workbooks: a ``record`` per row of every worksheet, values as Excel
    shows them (see ``docledger.extractors.excel97``), the sheet in ``metadata.sheet``."""

    name: str = "xls"
    version: str = "1"
    media_types: tuple[str, ...] = (MEDIA_TYPE,)

    @staticmethod
    def sheets(data: bytes) -> Iterator[tuple[str, bool, list[tuple[int, int, list[str]]]]]:
        return sheets(data)
