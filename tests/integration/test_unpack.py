"""A mail's attachments as documents of their own, on both dialects: an invoice mail with a
PDF and a CSV attached (and a forwarded message) unpacked into documents keyed under it, each
extracted by its own extractor, linked to the mail by lineage; a re-run adds nothing; a new
version of the mail with a changed attachment adds a version; Outlook files too; anything
else refused without a write."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zipfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from reportlab.pdfgen import canvas

from docledger import Ledger
from docledger.errors import InvalidInput, NotFound
from docledger.services import archive_members
from tests.corpus import (
    fetched,
    real_docx,
    real_msg,
    real_odf,
    real_pptx,
    real_tar_archives,
    real_zip_archives,
)


def _pdf(text: str) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def _mail(total: str) -> bytes:
    forwarded = EmailMessage()
    forwarded["From"] = "vendor@example.com"
    forwarded["Subject"] = "Original quote"
    forwarded.set_content("Quote Q-17 attached earlier.\n")
    mail = EmailMessage()
    mail["From"] = "Billing <billing@example.com>"
    mail["To"] = "ap@example.com"
    mail["Subject"] = "Invoice 2026-118"
    mail.set_content("Please find the invoice attached.\n")
    mail.add_attachment(_pdf(f"Invoice 2026-118 total {total}"), maintype="application",
                        subtype="pdf", filename="invoice 2026/118.pdf")  # fmt: skip
    mail.add_attachment(b"item,amount\nsteel,900\n", maintype="text", subtype="csv",
                        filename="items.csv")  # fmt: skip
    mail.add_attachment(forwarded)
    return mail.as_bytes()


def test_attachments_become_documents_with_lineage(ledger: Ledger) -> None:
    added = ledger.documents.create(_mail("1,250.00"), external_key="inbox/invoice.eml")
    assert added.media_type == "message/rfc822"
    results = ledger.documents.unpack(added.document_id)
    keys = [r.external_key for r in results]
    assert keys == [
        "inbox/invoice.eml/attachments/01-invoice 2026_118.pdf",
        "inbox/invoice.eml/attachments/02-items.csv",
        "inbox/invoice.eml/attachments/03-attachment",
    ]
    assert [r.outcome for r in results] == ["added"] * 3
    assert [r.media_type for r in results] == ["application/pdf", "text/csv", "message/rfc822"]
    document = ledger.documents.get(results[0].document_id)
    assert document.meta["attached_to"] == str(added.document_id)
    assert document.meta["attachment"] == "invoice 2026/118.pdf"
    # each is extracted by its own extractor
    outcomes = ledger.extractions.run([r.document_id for r in results])
    assert [o.extractor for o in outcomes] == ["pdf", "csv", "mail"]
    assert ledger.search.text("steel amount")[0].external_key == keys[1]
    # lineage: the mail's version produced the attachments' versions
    below = {(n.entity_type, n.entity_id) for n in ledger.lineage.downstream(
        ("version", added.version_id))}  # fmt: skip
    assert {("version", str(r.version_id)) for r in results} <= below
    # again: nothing new; a new version of the mail changes the PDF's document only
    assert [r.outcome for r in ledger.documents.unpack("inbox/invoice.eml")] == ["unchanged"] * 3
    newer = ledger.documents.create(_mail("1,350.00"), external_key="inbox/invoice.eml")
    assert newer.outcome == "new_version"
    again = ledger.documents.unpack("inbox/invoice.eml")
    assert [r.outcome for r in again] == ["new_version", "unchanged", "unchanged"]


def test_an_outlook_message_is_unpacked_too(ledger: Ledger) -> None:
    corpus = fetched(real_msg, "real-Outlook")
    (complete,) = [p for p in corpus if p.name.endswith("complete.msg")]
    added = ledger.documents.create(complete.read_bytes(), external_key="mail/complete.msg")
    results = ledger.documents.unpack(added.document_id)
    names = [Path(r.external_key or "").name for r in results]
    assert names == [
        "01-[MS-OXPROPS]-181001.docx",
        "02-[MS-OXPROPS].txt",
        "03-[MS-OXPROPS].pdf",
        "04-hugues-de-buyer-mimeure-313867-unsplash.jpg",
    ]
    assert results[2].media_type == "application/pdf"
    assert results[2].size_bytes == 6934165


def test_only_mail_is_unpacked_and_nothing_is_written(ledger: Ledger) -> None:
    plain = ledger.documents.create(b"just a note\n", external_key="note.txt")
    before = len(ledger.documents.list(limit=100).items)
    with pytest.raises(InvalidInput, match="only mail"):
        ledger.documents.unpack(plain.document_id)
    assert len(ledger.documents.list(limit=100).items) == before
    assert ledger.runs.list(limit=10).items == []


def test_hostile_attachment_names_are_kept_inside_their_mail(ledger: Ledger) -> None:
    """Names from a mail are the sender's: folders, NULs and markup stay in their segment of
    the key (a NUL failed every attachment of the mail at the title column)."""
    mail = EmailMessage()
    mail["From"] = "x@example.com"
    mail["Subject"] = "names"
    # a NUL in the sniffed head makes any file binary: the attachments come after it
    mail.set_content("see attached\n" * 500)
    for name in ("../../etc/passwd", "a\x00b.txt", "<script>.html", ".."):
        mail.add_attachment(name.encode(), maintype="application", subtype="octet-stream",
                            filename=name)  # fmt: skip
    added = ledger.documents.create(mail.as_bytes(), external_key="in/m.eml")
    results = ledger.documents.unpack(added.document_id)
    assert [r.external_key for r in results] == [
        "in/m.eml/attachments/01-_.._etc_passwd",
        "in/m.eml/attachments/02-ab.txt",
        "in/m.eml/attachments/03-<script>.html",
        "in/m.eml/attachments/04-attachment",
    ]
    assert all(r.outcome == "added" for r in results)
    with pytest.raises(InvalidInput, match="without NUL"):
        ledger.documents.create(b"x", external_key="k", filename="a\x00b")


def test_a_mailbox_is_read_message_by_message_and_unpacked(ledger: Ledger) -> None:
    """A mailbox of two mails (an mbox, as Thunderbird and mail exports keep them): a section
    per message, numbered in the mailbox, found by search; unpacking adds the attachments of
    every message."""
    second = EmailMessage()
    second["From"] = "site@example.com"
    second["Subject"] = "Crack report N-104"
    second.set_content("Hairline crack above door N-104.\n")
    second.add_attachment(b"zone,width\nN-104,0.3mm\n", maintype="text", subtype="csv",
                          filename="cracks.csv")  # fmt: skip
    box = (
        b"From billing@example.com Mon Jan  5 09:00:00 2026\n" + _mail("1,250.00") + b"\n"
        b"From site@example.com Tue Jan  6 10:00:00 2026\n" + second.as_bytes() + b"\n"
    )
    added = ledger.documents.create(box, external_key="archive/inbox.mbox")
    assert added.media_type == "application/mbox"
    (outcome,) = ledger.extractions.run([added.document_id])
    assert outcome.extractor == "mail"
    assert outcome.error is None
    hit = ledger.search.text("hairline crack door", k=1)[0]
    assert hit.external_key == "archive/inbox.mbox"
    assert ledger.segments.get(hit.segment_id).meta["message"] == 2
    sections = [
        s for s in ledger.segments.of_extraction(outcome.extraction_id) if s.kind == "section"
    ]
    assert [(s.label, s.meta["message"]) for s in sections] == [
        ("Invoice 2026-118", 1),
        ("Original quote", 1),
        ("Crack report N-104", 2),
    ]
    results = ledger.documents.unpack(added.document_id)
    assert [Path(r.external_key or "").name for r in results] == [
        "01-invoice 2026_118.pdf",
        "02-items.csv",
        "03-attachment",
        "04-cracks.csv",
    ]


def _unpacked(ledger: Ledger, path: Path, key: str, media_type: str) -> tuple[Any, list[Any]]:
    """A real archive added under ``key`` (typed ``media_type`` by its content), unpacked:
    (what adding it gave, the unpack's results)."""
    added = ledger.documents.create(path.read_bytes(), external_key=key)
    assert added.media_type == media_type, path.name
    return added, ledger.documents.unpack(added.document_id)


def test_zip_archives_other_tools_made_unpack_file_for_file(ledger: Ledger) -> None:
    """Real archives (two projects' source distributions with their folders and Office test
    files, sample zips, a mail export): every file becomes a document keyed under the
    archive by its path, with the bytes zipfile reads, typed by its own content; lineage from
    the archive; a re-run adds nothing; the files extract by their own extractors."""
    for path in fetched(real_zip_archives, "zip"):
        key = f"inbox/{path.name}"
        added, results = _unpacked(ledger, path, key, "application/zip")
        with zipfile.ZipFile(path) as archive:
            want = {
                f"{key}/{info.filename}": hashlib.sha256(archive.read(info)).hexdigest()
                for info in archive.infolist()
                if not info.is_dir()
            }
        assert {r.external_key: r.sha256 for r in results} == want, path.name
        assert all(r.outcome == "added" for r in results), path.name
        document = ledger.documents.get(results[0].document_id)
        assert document.meta["unpacked_from"] == str(added.document_id)
        below = {(n.entity_type, n.entity_id) for n in ledger.lineage.downstream(
            ("version", added.version_id))}  # fmt: skip
        assert {("version", str(r.version_id)) for r in results} <= below
        again = ledger.documents.unpack(key)
        assert {r.outcome for r in again} == {"unchanged"}, path.name
    doc = ledger.documents.get("inbox/oletools-0.60.2.zip/oletools-0.60.2/tests/test-data/"
                               "msodde/harmless-clean.doc")  # fmt: skip
    (outcome,) = ledger.extractions.run([doc.id])
    assert outcome.extractor == "doc"
    assert outcome.error is None


def _hostile_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("../../etc/passwd", b"root:x:0:0\n")
        z.writestr("/abs/report.txt", b"absolute path\n")
        z.writestr("dir\\win.txt", b"windows separators\n")
        z.writestr("__MACOSX/._report.txt", b"resource fork")
        z.writestr("photos/.DS_Store", b"finder")
        z.writestr("bad.txt", b"this member will fail its checksum " * 20)
        z.writestr("zeros.bin", bytes(3_000_000))
        z.writestr("locked.pdf", b"%PDF-1.4 secret")
        z.writestr("ok.txt", b"kept\n")
    data = bytearray(out.getvalue())
    # marked encrypted, as a password-protected zip marks it (zipfile cannot write one): the
    # flag bit in the local header (name at +30, flags at +6) and the central one (+46, +8)
    local = data.index(b"locked.pdf")
    central = data.index(b"locked.pdf", local + 1)
    data[local - 30 + 6] |= 0x1
    data[central - 46 + 8] |= 0x1
    at = data.index(b"bad.txt") + len(b"bad.txt")  # the member's compressed bytes follow
    data[at + 5] ^= 0xFF
    return bytes(data)


def test_hostile_and_broken_members_fail_alone_and_paths_stay_inside_the_archive(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive_members, "BOMB_FLOOR", 1_000_000)
    monkeypatch.setattr(archive_members, "BOMB_RATIO", 100)
    added = ledger.documents.create(_hostile_zip(), external_key="up/x.zip")
    results = {r.external_key: r for r in ledger.documents.unpack(added.document_id)}
    assert set(results) == {
        "up/x.zip/etc/passwd",
        "up/x.zip/abs/report.txt",
        "up/x.zip/dir/win.txt",
        "up/x.zip/bad.txt",
        "up/x.zip/zeros.bin",
        "up/x.zip/locked.pdf",
        "up/x.zip/ok.txt",
    }
    assert results["up/x.zip/ok.txt"].outcome == "added"
    assert results["up/x.zip/etc/passwd"].outcome == "added"
    failed = {k: r.error for k, r in results.items() if r.outcome == "failed"}
    assert set(failed) == {"up/x.zip/bad.txt", "up/x.zip/zeros.bin", "up/x.zip/locked.pdf"}
    assert "cannot read bad.txt from the archive" in (failed["up/x.zip/bad.txt"] or "")
    assert "zip bomb" in (failed["up/x.zip/zeros.bin"] or "")
    assert "encrypted" in (failed["up/x.zip/locked.pdf"] or "")
    with pytest.raises(NotFound):
        ledger.documents.get("up/x.zip/bad.txt")  # a failed member writes nothing
    not_zip = ledger.documents.create(b"PK\x03\x04 not a zip", external_key="up/y.zip")
    with pytest.raises(InvalidInput, match=r"cannot read the archive up/y\.zip"):
        ledger.documents.unpack(not_zip.document_id)


def test_tar_archives_and_compressed_files_unpack_too(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real .tar.gz source distributions unpack file for file as tarfile reads them; a tar
    made here, plain, in xz and in bzip2 (each typed by its content), keeps only its regular
    files (not its link, folder or pipe; "./" prefixes dropped); a gzipped PDF is one file
    named without ".gz"; a compressed file that inflates a hundred times past the floor
    fails as a zip bomb."""
    for path in fetched(real_tar_archives, "tar"):
        key = f"src/{path.name}"
        _added, results = _unpacked(ledger, path, key, "application/gzip")
        with tarfile.open(path) as tar:
            want = {
                f"{key}/{info.name}": hashlib.sha256(tar.extractfile(info).read()).hexdigest()  # type: ignore[union-attr]
                for info in tar.getmembers()
                if info.isreg()
            }
        assert {r.external_key: r.sha256 for r in results} == want, path.name
        assert {r.outcome for r in results} == {"added"}
    pdf = _pdf("gzipped report")
    for mode, suffix, media_type in (("w:xz", "tar.xz", "application/x-xz"),
                                     ("w:bz2", "tar.bz2", "application/x-bzip2"),
                                     ("w", "tar", "application/x-tar")):  # fmt: skip
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode=mode) as tar:
            for name, body in (("./docs/report.pdf", pdf), ("./notes.txt", b"tar notes\n")):
                info = tarfile.TarInfo(name)
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
            for name, kind in (("./docs", tarfile.DIRTYPE), ("./link", tarfile.SYMTYPE),
                               ("./pipe", tarfile.FIFOTYPE)):  # fmt: skip
                info = tarfile.TarInfo(name)
                info.type, info.linkname = kind, "notes.txt"
                tar.addfile(info)
        added = ledger.documents.create(out.getvalue(), external_key=f"t.{suffix}")
        assert added.media_type == media_type
        results = ledger.documents.unpack(added.document_id)
        assert [(r.external_key, r.media_type) for r in results] == [
            (f"t.{suffix}/docs/report.pdf", "application/pdf"),
            (f"t.{suffix}/notes.txt", "text/plain"),
        ]
    single = ledger.documents.create(gzip.compress(pdf), external_key="mail/report.pdf.gz")
    (result,) = ledger.documents.unpack(single.document_id)
    assert (result.external_key, result.media_type) == ("mail/report.pdf.gz/report.pdf",
                                                         "application/pdf")  # fmt: skip
    assert result.sha256 == hashlib.sha256(pdf).hexdigest()
    monkeypatch.setattr(archive_members, "BOMB_FLOOR", 1_000_000)
    monkeypatch.setattr(archive_members, "BOMB_RATIO", 100)
    bomb = ledger.documents.create(gzip.compress(bytes(3_000_000)), external_key="z.bin.gz")
    (result,) = ledger.documents.unpack(bomb.document_id)
    assert result.outcome == "failed"
    assert "zip bomb" in (result.error or "")
    with pytest.raises(NotFound):
        ledger.documents.get("z.bin.gz/z.bin")


def test_office_documents_unpack_their_pictures_and_embedded_files(ledger: Ledger) -> None:
    """Word, PowerPoint and OpenDocument files of python-docx, python-pptx and odfpy: their
    pictures and embedded files (a chart's workbook) become documents keyed by their place
    in the package, the bytes zipfile reads, and a chart's workbook extracts as records."""
    wanted = {
        "having-images.docx": fetched(real_docx, "DOCX"),
        "cht-chart-type.pptx": fetched(real_pptx, "PPTX"),
        "images.odt": fetched(real_odf, "OpenDocument"),
    }
    for ending, corpus in wanted.items():
        (path,) = [p for p in corpus if p.name.endswith("__" + ending)]
        added = ledger.documents.create(path.read_bytes(), external_key=f"office/{ending}")
        results = ledger.documents.unpack(added.document_id)
        with zipfile.ZipFile(path) as package:
            want = {
                f"office/{ending}/{n}": hashlib.sha256(package.read(n)).hexdigest()
                for n in package.namelist()
                if n.startswith(("word/media/", "ppt/media/", "ppt/embeddings/", "Pictures/"))
            }
        assert want, ending
        assert {r.external_key: r.sha256 for r in results} == want, ending
    pictures = ledger.documents.unpack("office/having-images.docx")
    assert len(pictures) == 3
    assert {r.media_type for r in pictures} <= {"image/png", "image/jpeg", "image/gif"}
    workbook = ledger.documents.get(
        "office/cht-chart-type.pptx/ppt/embeddings/Microsoft_Excel_Sheet1.xlsx"
    )
    (outcome,) = ledger.extractions.run([workbook.id])
    assert outcome.extractor == "xlsx"
    assert outcome.segments > 0


def test_an_archive_of_too_many_files_says_where_it_stopped(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive_members, "MOST_MEMBERS", 2)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n in range(4):
            z.writestr(f"f{n}.txt", f"file {n}\n")
    added = ledger.documents.create(out.getvalue(), external_key="many.zip")
    results = ledger.documents.unpack(added.document_id)
    assert [(r.external_key, r.outcome) for r in results] == [
        ("many.zip/f0.txt", "added"),
        ("many.zip/f1.txt", "added"),
        ("many.zip/f2.txt", "failed"),
    ]
    assert "holds more than 2 files: f2.txt and those after it were left" in (
        results[2].error or ""
    )
