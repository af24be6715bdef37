"""CSV and TSV files as one ``record`` per row, each row's values named by their column.

Read as prose, a spreadsheet export was cut into chunks across rows, so a search hit held the
end of one row and the start of the next, and no value said which column it was. Here every
data row is its own record (``metadata.row``: its line-based row number, the header being
row 1), its text one ``column: value`` line per non-empty cell, which is what a reader (or an
embedder) needs to understand a row out of its table. The file is decoded in its own encoding
(a Brazilian Excel export is cp1252 with ``;`` between values), the delimiter is sniffed among
``, ; tab |``, and the first row is the header when it looks like one (every cell filled,
distinct, none a number) and is not the only one; otherwise columns are named ``column 1``,
``column 2``...
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors.encoding import decode
from docledger.extractors.text import TextExtractor
from docledger.schemas.extraction import SegmentIn

DELIMITERS = ",;\t|"
#: Characters the delimiter sniffer looks at.
SAMPLE = 64 * 1024
#: Longest value read (the csv module's default limit is 128 KiB).
MOST_FIELD = 16 * 1024 * 1024
_SPACES = re.compile(r"\s\s|[^\S ]")
_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?%?$")


def delimiter(text: str, tab_default: bool = False) -> str:
    """The delimiter of a delimited text: sniffed, else the likeliest by count in the first
    line (a one-column file has none to find: the default)."""
    sample = text[:SAMPLE]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ("\t" if tab_default else ",")


def rows(text: str, sep: str) -> list[tuple[int, int, list[str]]]:
    """(row number, the line it ends on, cells) per non-empty row, the first row 1; a
    malformed file is InvalidInput."""
    csv.field_size_limit(MOST_FIELD)
    out: list[tuple[int, int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                out.append((len(out) + 1, reader.line_num, cells))
    except csv.Error as exc:
        raise InvalidInput(f"cannot read the CSV at line {reader.line_num}: {exc}") from exc
    return out


def is_header(cells: list[str]) -> bool:
    """Every cell filled (but a trailing empty one: a row ending in its delimiter, as Excel
    writes them), distinct, and none a number."""
    names = [cell.strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    return (
        bool(names)
        and all(names)
        and len(set(names)) == len(names)
        and not any(_NUMBER.match(name) for name in names)
    )


def records(table: list[tuple[int, int, list[str]]], noted: Mapping[str, Any]) -> list[SegmentIn]:
    """A ``record`` per data row of (row number, line, cells) rows, the first row the header
    when it looks like one; ``noted`` goes into every record's metadata. Spreadsheets
    (``docledger.extractors.odf``) share it."""
    if not table:
        return []
    header: list[str] = []
    # a lone row is data: with no row below it nothing says it names columns (a
    # one-line export of an address is not a header with nothing under it)
    if len(table) > 1 and is_header(table[0][2]):
        header = [" ".join(cell.split()) or f"column {n}" for n, cell in enumerate(table[0][2], 1)]
        table = table[1:]
    out = []
    names = list(header)
    for number, line, cells in table:
        names.extend(f"column {n}" for n in range(len(names) + 1, len(cells) + 1))
        lines = []
        for name, value in zip(names, cells, strict=False):
            value = value.strip()  # noqa: PLW2901 - the cell as stored, trimmed
            if value:
                # a value's own line breaks and runs of spaces become one space
                folded = " ".join(value.split()) if _SPACES.search(value) else value
                lines.append(f"{name}: {folded}")
        out.append(
            SegmentIn(
                kind="record",
                text="\n".join(lines),
                metadata={"row": number, "line": line, **noted},
            )
        )
    return out


class CsvExtractor(TextExtractor):
    """Delimited tables (CSV, TSV): a ``record`` per data row, its text one
    ``column: value`` line per filled cell (see ``docledger.extractors.table``)."""

    name: str = "csv"
    version: str = "1"
    media_types: tuple[str, ...] = ("text/csv", "text/tab-separated-values")

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        self.check(params)  # the text extractor's params are accepted (and unused)
        text, encoding = decode(data)
        table = rows(text, delimiter(text, tab_default=b"\t" in data[:4096]))
        noted: dict[str, Any] = {} if encoding == "utf-8" else {"encoding": encoding}
        return records(table, noted)
