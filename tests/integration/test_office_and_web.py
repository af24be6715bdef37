"""A folder of the files teams actually have, ingested and extracted in one batch on both
dialects: a Word report, a saved web page, a Latin-1 CSV from a Windows spreadsheet, a UTF-16
note, a photo stored sideways, a slide deck, an Excel workbook, LibreOffice text and a
spreadsheet, a mail, an SVG plan, and a broken DOCX. Each goes to its extractor; the broken
one is a recorded failure with a clear message and the rest goes on; text search finds words
that only a right reading of each file gives."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import docx
import openpyxl
import pptx
from odf.opendocument import OpenDocumentSpreadsheet, OpenDocumentText
from odf.table import Table, TableCell, TableRow
from odf.text import H, P
from PIL import Image

from docledger import Ledger
from tests.corpus import fetched, real_epubs, real_legacy_office


def _folder(root: Path) -> Path:
    folder = root / "inbox"
    folder.mkdir()
    report = docx.Document()
    report.add_heading("Relatório de vistoria", level=1)
    report.add_paragraph("A porta corta-fogo D7 não fecha sozinha.")
    report.save(str(folder / "vistoria.docx"))
    (folder / "page.html").write_bytes(
        b"<html><head><title>Lighting</title><script>var hidden = 'zzscriptword';</script>"
        b"</head><body><h1>Emergency lighting</h1><p>Floor&nbsp;2 luminaires flicker.</p>"
        b"</body></html>"
    )
    (folder / "revisão.csv").write_bytes(
        "documento;situação\nplanta-baixa.pdf;aprovação pendente\n".encode("cp1252")
    )
    (folder / "nota.txt").write_bytes("Infiltração no teto da sala N-104.\n".encode("utf-16"))
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = io.BytesIO()
    Image.new("RGB", (40, 120), "white").save(photo, format="JPEG", exif=exif)
    (folder / "photo.jpg").write_bytes(photo.getvalue())
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 this is not really a zip archive")
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    slide.shapes.title.text = "Fachada norte"
    box = slide.shapes.add_textbox(pptx.util.Pt(72), pptx.util.Pt(144), pptx.util.Pt(200),
                                   pptx.util.Pt(40))  # fmt: skip
    box.text_frame.text = "Rachadura na viga V12"
    deck.save(str(folder / "obra.pptx"))
    odt = OpenDocumentText()
    odt.text.addElement(H(outlinelevel=1, text="Ata de reunião"))
    odt.text.addElement(P(text="Escada pressurizada liberada."))
    odt.save(str(folder / "ata.odt"))
    ods = OpenDocumentSpreadsheet()
    sheet = Table(name="Pendências")
    for values in (("item", "estado"), ("extintor E3", "vencido")):
        row = TableRow()
        for value in values:
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        sheet.addElement(row)
    ods.spreadsheet.addElement(sheet)
    ods.save(str(folder / "pendencias.ods"))
    book = openpyxl.Workbook()
    book.active.append(["desenho", "revisado"])
    book.active.append(["A-101 planta térreo", dt.date(2026, 11, 30)])
    book.active["B2"].number_format = "dd/mm/yyyy"
    book.save(str(folder / "desenhos.xlsx"))
    (folder / "planta.svg").write_bytes(
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300"><g transform="translate('
        b'50 40)"><text x="10" y="20" font-size="12">Shaft S-3 sealed</text></g></svg>'
    )
    (folder / "aviso.eml").write_bytes(
        b"From: Obra <obra@example.com>\nTo: qualidade@example.com\nSubject: =?utf-8?q?Aviso_de_"
        b"interdi=C3=A7=C3=A3o?=\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: quoted-printable\n\nElevador de carga interditado at=C3=A9 "
        b"segunda.\n"
    )
    return folder


def test_a_folder_of_everyday_files_extracts_each_by_its_kind(
    ledger: Ledger, tmp_path: Path
) -> None:
    added = ledger.documents.create_from_paths([_folder(tmp_path)])
    assert all(r.outcome == "added" for r in added), added
    by_key = {Path(r.external_key or "").name: r for r in added}
    assert by_key["photo.jpg"].page_count == 1
    outcomes = ledger.extractions.run([r.document_id for r in added])
    kinds = {Path(o.document).name: o.extractor for o in outcomes}
    errors = {Path(o.document).name: o.error for o in outcomes if o.error}
    assert kinds["vistoria.docx"] == "docx"
    assert kinds["page.html"] == "html"
    assert kinds["revisão.csv"] == "csv"
    assert kinds["nota.txt"] == "text"
    assert (kinds["obra.pptx"], kinds["ata.odt"], kinds["pendencias.ods"]) == ("pptx", "odt", "ods")
    assert kinds["desenhos.xlsx"] == "xlsx"
    assert kinds["aviso.eml"] == "mail"
    assert kinds["planta.svg"] == "svg"
    assert list(errors) == ["broken.docx"]
    assert errors["broken.docx"].startswith("cannot read the DOCX: not a readable zip file")
    for query, key in (
        ("corta-fogo sozinha", "vistoria.docx"),
        ("luminaires flicker", "page.html"),
        ("aprovação pendente", "revisão.csv"),
        ("infiltração teto", "nota.txt"),
        ("rachadura viga", "obra.pptx"),
        ("escada pressurizada", "ata.odt"),
        ("extintor vencido", "pendencias.ods"),
        ("planta térreo", "desenhos.xlsx"),
        ("elevador interditado até segunda", "aviso.eml"),
        ("shaft sealed", "planta.svg"),
    ):
        hits = ledger.search.text(query, k=3)
        assert hits, query
        assert Path(hits[0].external_key).name == key, (query, hits[0].external_key)
    assert ledger.search.text("zzscriptword") == []  # a page's script is not its text
    (photo_page,) = [
        s for s in ledger.segments.of_version(by_key["photo.jpg"].version_id) if s.kind == "page"
    ]
    assert (photo_page.bbox["x1"], photo_page.bbox["y1"]) == (120, 40)  # as the photo shows
    # the slide's text box where the deck put it (points), on slide 1
    (crack,) = [
        s
        for s in ledger.segments.of_version(by_key["obra.pptx"].version_id)
        if s.kind == "block" and "V12" in (s.text or "")
    ]
    assert crack.page_number == 1
    assert crack.bbox is not None
    assert (crack.bbox["x0"], crack.bbox["y0"], crack.bbox["x1"], crack.bbox["y1"]) == (
        72, 144, 272, 184)  # fmt: skip
    (record,) = list(ledger.segments.of_version(by_key["pendencias.ods"].version_id))
    assert record.text == "item: extintor E3\nestado: vencido"
    assert record.meta["sheet"] == "Pendências"
    (drawing,) = list(ledger.segments.of_version(by_key["desenhos.xlsx"].version_id))
    assert drawing.text == "desenho: A-101 planta térreo\nrevisado: 2026-11-30"


def test_office_97_2003_files_extract_each_by_its_kind(ledger: Ledger, tmp_path: Path) -> None:
    """The legacy Office corpus (other projects' .doc, .xls and .ppt files) in one batch,
    named and unnamed alike: each goes to its extractor, the encrypted and pre-97 ones are
    recorded failures saying what they are, and search finds what each file says."""
    corpus = fetched(real_legacy_office, "legacy-Office")
    folder = tmp_path / "archive"
    folder.mkdir()
    for path in corpus:
        (folder / path.name.split("__")[-1]).write_bytes(path.read_bytes())
    added = ledger.documents.create_from_paths([folder])
    assert len(added) == len(corpus)
    assert all(r.outcome == "added" for r in added), added
    outcomes = ledger.extractions.run([r.document_id for r in added])
    by_name = {Path(o.document).name: o for o in outcomes}
    expected = {".doc": "doc", ".xls": "xls", ".ppt": "ppt"}
    for name, outcome in by_name.items():
        if "encrypt" in name:
            assert outcome.error is not None
            assert "is encrypted" in outcome.error, name
        elif outcome.error is not None:  # Excel 2-5 files: said, not a traceback
            assert "BIFF4" in outcome.error or "BIFF5" in outcome.error, name
        else:
            assert outcome.extractor == expected[Path(name).suffix], name
    assert sum(o.error is not None for o in outcomes) == 7  # 5 encrypted, an Excel 4 and a 5
    for query, name in (
        ("neither macros nor dde links", "harmless-clean.doc"),
        ("simple harmless ASCII", "embedded-simple-2007.ppt"),
        ("Öcker 1988-05-03", "Formate.xls"),
    ):
        hits = ledger.search.text(query, k=3)
        assert hits, query
        assert Path(hits[0].external_key).name == name, (query, hits[0].external_key)
    # a .doc given as bytes without a name is still a Word document
    unnamed = ledger.documents.create((folder / "harmless-clean.doc").read_bytes())
    assert unnamed.media_type == "application/msword"


def test_epub_books_extract_in_reading_order_and_search_cites_the_chapter(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Debian's EPUB manuals (ten languages, two tools' output) in one batch with a broken
    book: each is typed and read by the epub extractor, the broken one is a recorded
    failure, and a search hit names the chapter file and its place in the reading order."""
    corpus = fetched(real_epubs, "EPUB")
    folder = tmp_path / "books"
    folder.mkdir()
    for path in corpus:
        (folder / path.name.replace("__", "-")).write_bytes(path.read_bytes())
    (folder / "broken.epub").write_bytes(b"PK\x03\x04 not a book")
    added = ledger.documents.create_from_paths([folder])
    assert len(added) == len(corpus) + 1
    outcomes = ledger.extractions.run([r.document_id for r in added])
    for outcome in outcomes:
        if Path(outcome.document).name == "broken.epub":
            assert outcome.error is not None
            assert "cannot read the EPUB book" in outcome.error
        else:
            assert outcome.error is None, outcome
            assert outcome.extractor == "epub"
    # (some translations keep this English paragraph: any of them may come first)
    hits = ledger.search.text("netboot image setup required on the server", k=5)
    assert hits
    assert "live-manual." in hits[0].external_key
    assert "setup required on the server" in (hits[0].text or "")
    assert hits[0].page_number is not None
    assert hits[0].page_number > 1
    segment = ledger.segments.get(hits[0].segment_id)
    assert segment.meta["part"] == "OEBPS/the-basics.xhtml"
