"""A folder of the files teams actually have, ingested and extracted in one batch on both
dialects: a Word report, a saved web page, a Latin-1 CSV from a Windows spreadsheet, a UTF-16
note, a photo stored sideways and a broken DOCX. Each goes to its extractor; the broken one
is a recorded failure with a clear message and the rest goes on; text search finds words
that only a right reading of each file gives."""

from __future__ import annotations

import io
from pathlib import Path

import docx
from PIL import Image

from docledger import Ledger


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
    assert list(errors) == ["broken.docx"]
    assert errors["broken.docx"].startswith("cannot read the DOCX: not a readable zip file")
    for query, key in (
        ("corta-fogo sozinha", "vistoria.docx"),
        ("luminaires flicker", "page.html"),
        ("aprovação pendente", "revisão.csv"),
        ("infiltração teto", "nota.txt"),
    ):
        hits = ledger.search.text(query, k=3)
        assert hits, query
        assert Path(hits[0].external_key).name == key, (query, hits[0].external_key)
    assert ledger.search.text("zzscriptword") == []  # a page's script is not its text
    (photo_page,) = [
        s for s in ledger.segments.of_version(by_key["photo.jpg"].version_id) if s.kind == "page"
    ]
    assert (photo_page.bbox["x1"], photo_page.bbox["y1"]) == (120, 40)  # as the photo shows
