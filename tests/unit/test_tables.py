"""CSV and TSV as one record per row, on every example file of csvkit (tests/corpus.py: Latin-1,
UTF-16, a BOM, NUL bytes, Mac line ends, ragged rows, files without a header row, census
extracts) and on the cases a spreadsheet export brings."""

from __future__ import annotations

import csv
import io
import re

import pytest

from docledger.errors import InvalidInput
from docledger.extractors import CsvExtractor, for_media_type
from docledger.extractors.encoding import decode
from docledger.extractors.table import delimiter, is_header
from docledger.services.media import sniff
from tests.corpus import fetched, real_csv


def test_every_real_csv_gives_a_record_per_data_row() -> None:
    corpus = fetched(real_csv, "real-CSV")
    assert len(corpus) >= 60
    headed = 0
    for path in corpus:
        data = path.read_bytes()
        records = CsvExtractor().extract(data, {})
        text, _ = decode(data)
        sep = delimiter(text)
        # every file uses its suffix's delimiter but one, written with semicolons
        semicolons = path.name.endswith("sniff_limit.csv")
        assert sep == (";" if semicolons else "\t" if path.suffix == ".tsv" else ","), path.name
        table = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep)
                 if any(c.strip() for c in r)]  # fmt: skip
        header = len(table) > 1 and is_header(table[0])  # a lone row is data
        headed += header
        assert len(records) == len(table) - (1 if header else 0), path.name
        for record, cells in zip(records, table[1 if header else 0 :], strict=True):
            values = [line.split(": ", 1)[1] for line in (record.text or "").split("\n") if line]
            assert values == [" ".join(c.split()) for c in cells if c.strip()], path.name
            assert record.kind == "record"
    assert headed >= 50


def test_a_one_line_csv_is_a_record_not_a_header() -> None:
    """gawk's example addresses.csv: one row, every cell filled, none a number (the ZIP code
    is "12345-6789"). Read as a header it left the file with no segment at all."""
    data = b'Robbins,Arnold,"1234 A Pretty Street, NE",MyTown,MyState,12345-6789,USA\n'
    (record,) = CsvExtractor().extract(data, {})
    assert record.text is not None
    assert "column 3: 1234 A Pretty Street, NE" in record.text
    assert record.metadata["row"] == 1
    header_only_then_row = data.replace(b"Robbins", b"Name") + data
    assert len(CsvExtractor().extract(header_only_then_row, {})) == 1


def test_a_brazilian_excel_export() -> None:
    """cp1252, semicolons, decimal commas, a trailing delimiter and an empty cell."""
    data = (
        "Documento;Revisão;Situação;Área (m²);\r\n"
        "planta-baixa.pdf;3;aprovação pendente;1.250,5;\r\n"
        "corte-AA.pdf;1;;87,25;\r\n"
    ).encode("cp1252")
    assert sniff(data, "revisões.csv", complete=True) == "text/csv"
    assert isinstance(for_media_type("text/csv"), CsvExtractor)
    first, second = CsvExtractor().extract(data, {})
    assert first.text == (
        "Documento: planta-baixa.pdf\nRevisão: 3\nSituação: aprovação pendente\nÁrea (m²): 1.250,5"
    )
    assert second.text == "Documento: corte-AA.pdf\nRevisão: 1\nÁrea (m²): 87,25"
    assert (first.metadata["row"], second.metadata["row"]) == (2, 3)
    assert first.metadata["encoding"] == "cp1252"


def test_rows_without_a_header_and_tsv() -> None:
    (only,) = CsvExtractor().extract(b"1,2,3\n", {})
    assert only.text == "column 1: 1\ncolumn 2: 2\ncolumn 3: 3"
    assert sniff(b"a\tb\n1\t2\n", "x.tsv", complete=True) == "text/tab-separated-values"
    (row,) = CsvExtractor().extract(b"name\tvalue\ndoor D7\tfails\n", {})
    assert row.text == "name: door D7\nvalue: fails"
    assert CsvExtractor().extract(b"", {}) == []
    # a lone row: nothing below says it is a header, so it is kept as a record
    (lone,) = CsvExtractor().extract(b"a,b\n", {})
    assert lone.text == "column 1: a\ncolumn 2: b"


def test_a_malformed_csv_is_refused_clearly() -> None:
    huge = b'a,b\n"' + b"x" * (17 * 1024 * 1024) + b'",1\n'
    with pytest.raises(InvalidInput, match=re.escape("cannot read the CSV at line")):
        CsvExtractor().extract(huge, {})
