"""OpenDocument text and spreadsheets: every file of odfpy's source distribution read by the
odt / ods extractors and by odfpy itself (the independent reading): the same headings, every
paragraph's text found, sheets' rows as records; the hostile one (an external entity) refused;
then a spreadsheet that repeats empty rows and columns a million times, read at once."""

from __future__ import annotations

import io
import re

import pytest
from odf import teletype
from odf import text as odf_text
from odf.draw import Frame
from odf.opendocument import OpenDocumentSpreadsheet, OpenDocumentText, load
from odf.table import Table, TableCell, TableRow
from odf.text import Note, NoteBody, NoteCitation, P

from docledger.errors import InvalidInput
from docledger.extractors import OdsExtractor, OdtExtractor, for_media_type
from docledger.services.media import sniff
from tests.corpus import fetched, real_odf


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_every_real_opendocument_file_reads_as_odfpy_reads_it() -> None:
    corpus = fetched(real_odf, "real-OpenDocument")
    assert len(corpus) >= 20
    paragraphs = headings = records = 0
    for path in corpus:
        data = path.read_bytes()
        # the type is in the file (its first entry, "mimetype"), whatever its name
        media_type = sniff(data[:4096], "no-name")
        kind = "text" if path.suffix == ".odt" else "spreadsheet"
        assert media_type == f"application/vnd.oasis.opendocument.{kind}", path.name
        extractor = for_media_type(media_type)
        assert isinstance(extractor, OdtExtractor | OdsExtractor)
        if path.name.endswith("nasty.odt"):  # an external entity naming a file to read in
            with pytest.raises(InvalidInput, match=re.escape("content.xml declares a DTD")):
                extractor.extract(data, {})
            continue
        segments = extractor.extract(data, {})
        document = load(io.BytesIO(data))
        if path.suffix == ".ods":
            records += len(segments)
            sheets = {t.getAttribute("name") for t in document.getElementsByType(Table)}
            assert all(s.kind == "record" and s.metadata["sheet"] in sheets for s in segments)
            continue
        want = [h for h in (teletype.extractText(e).strip() for e in
                            document.getElementsByType(odf_text.H)) if h]  # fmt: skip
        assert [s.label for s in segments if s.kind == "section" and s.label] == want, path.name
        headings += len(want)
        body = _flat("\n".join(s.text or "" for s in segments if s.kind == "section"))
        for element in document.text.getElementsByType(odf_text.P):
            if element.getElementsByType(Frame):
                continue  # odfpy runs a frame's caption into its paragraph; here it is its own
            said = _flat(teletype.extractText(element))
            assert said in body, (path.name, said[:80])
            paragraphs += bool(said)
    # measured: 2,559 paragraphs and 578 headings found, 9 spreadsheet rows
    assert paragraphs >= 2_500
    assert headings >= 570
    assert records >= 9


def test_a_sheet_of_repeats_is_not_expanded() -> None:
    """Spreadsheets mark "empty to the end" as a repeat count (a million rows, 16,384
    columns): read as written, a one-line sheet would be billions of cells."""
    book = OpenDocumentSpreadsheet()
    sheet = Table(name="Plan 1")
    for values in (("door", "state"), ("D7", "open"), ("D8", "shut")):
        row = TableRow()
        for value in values:
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        row.addElement(TableCell(numbercolumnsrepeated=16_380))
        sheet.addElement(row)
    blank = TableRow(numberrowsrepeated=1_048_000)
    blank.addElement(TableCell(numbercolumnsrepeated=16_384))
    sheet.addElement(blank)
    book.spreadsheet.addElement(sheet)
    out = io.BytesIO()
    book.write(out)
    first, second = OdsExtractor().extract(out.getvalue(), {})
    assert (first.text, second.text) == ("door: D7\nstate: open", "door: D8\nstate: shut")
    assert (first.metadata["row"], first.metadata["sheet"]) == (2, "Plan 1")


def test_broken_opendocument_files_are_refused_clearly() -> None:
    for data, message in (
        (b"PK\x03\x04 truncated", "not a readable zip file"),
        (_zip({"mimetype": "application/vnd.oasis.opendocument.text"}), "it has no content.xml"),
        (_zip({"content.xml": "<a><b></a>"}), "broken XML"),
        (_zip({"content.xml": _EMPTY_BODY}), "it holds no text body"),
        (
            _zip({"content.xml": _text("<text:span>" * 5_000 + "x" + "</text:span>" * 5_000)}),
            "it is nested too deeply",
        ),
    ):
        with pytest.raises(InvalidInput, match=re.escape(message)):
            OdtExtractor().extract(data, {})


_EMPTY_BODY = (
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>'
)


def _text(paragraph: str) -> str:
    return (
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
        f"<text:p>{paragraph}</text:p></office:text></office:body></office:document-content>"
    )


def test_junk_space_counts_read_as_one_space() -> None:
    data = _zip({"content.xml": _text('a<text:s text:c="x"/>b<text:s text:c="3"/>c')})
    (section,) = [s for s in OdtExtractor().extract(data, {}) if s.kind == "section"]
    assert section.text == "a b   c"


def _zip(parts: dict[str, str]) -> bytes:
    import zipfile  # noqa: PLC0415

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    return out.getvalue()


def test_footnotes_follow_the_body_numbered() -> None:
    document = OpenDocumentText()
    paragraph = P(text="Door D7 fails the self-closing test.")
    note = Note(noteclass="footnote", id="ftn1")
    note.addElement(NoteCitation(text="1"))
    body = NoteBody()
    body.addElement(P(text="Tested under NBR 11742."))
    note.addElement(body)
    paragraph.addElement(note)
    document.text.addElement(paragraph)
    out = io.BytesIO()
    document.write(out)
    sections = [s for s in OdtExtractor().extract(out.getvalue(), {}) if s.kind == "section"]
    text, notes = sections
    assert text.text == "Door D7 fails the self-closing test."  # the note is not the sentence's
    assert "part" not in text.metadata
    assert (notes.label, notes.text) == ("Footnotes", "[1] Tested under NBR 11742.")
    assert notes.metadata["part"] == "footnotes"
