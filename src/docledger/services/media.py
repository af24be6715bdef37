"""Media type from content (magic bytes first, the file name only as a hint), and PDF pages.

No libmagic: the formats document pipelines meet are few, and their signatures are fixed.
"""

from __future__ import annotations

import io
import json
import logging
import re
from codecs import BOM_UTF8
from pathlib import PurePath
from typing import BinaryIO

from docledger.extractors.encoding import looks_textual
from docledger.extractors.mail import looks_like_mail

log = logging.getLogger(__name__)

#: How many leading bytes the sniffer needs.
SNIFF_BYTES = 4096

_SIGNATURES: list[tuple[bytes, int, str]] = [
    # first: a tar's first bytes are a member's name, which may be anything ("BM..." too)
    (b"ustar", 257, "application/x-tar"),
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"BM", 0, "image/bmp"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"\xfd7zXZ\x00", 0, "application/x-xz"),
    (b"1AY&SY", 4, "application/x-bzip2"),  # after "BZh" and the block size
    (b"PK\x03\x04", 0, "application/zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/x-ole-storage"),
    (b"{\\rtf", 0, "application/rtf"),
]

_ZIP_BY_EXTENSION = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".xlsb": "application/vnd.ms-excel.sheet.binary.macroEnabled.12",
    ".epub": "application/epub+zip",
}

#: Folders only one kind of OOXML package has (their names appear in the zip's first
#: entries, which a file's first few kilobytes hold).
_OOXML_FOLDERS = (
    (b"word/", _ZIP_BY_EXTENSION[".docx"]),
    (b"ppt/", _ZIP_BY_EXTENSION[".pptx"]),
    (b"xl/", _ZIP_BY_EXTENSION[".xlsx"]),
)


def _package(head: bytes) -> str | None:
    """An office package's or a book's own type: OpenDocument and EPUB store it as their
    first entry, named ``mimetype`` and uncompressed (some EPUB tools put their container,
    which only EPUB has, first instead); OOXML names its parts' folders. None for other
    zips."""
    if head[30:38] == b"mimetype":
        name = head[38:120].split(b"PK", 1)[0]
        if name.startswith(b"application/vnd.oasis.opendocument.") and name.isascii():
            return name.decode()
        if name.startswith(b"application/epub+zip"):
            return _ZIP_BY_EXTENSION[".epub"]
    if b"\x00META-INF/container.xml" in head:  # an EPUB without its mimetype entry first
        return _ZIP_BY_EXTENSION[".epub"]
    if any(marker in head for marker in (b"[Content_Types].xml", b"_rels/.rels", b"docProps/")):
        if b"xl/workbook.bin" in head:  # Excel's binary workbook: parts in BIFF12, not XML
            return _ZIP_BY_EXTENSION[".xlsb"]
        for folder, media_type in _OOXML_FOLDERS:
            if b"\x00" + folder in head:  # a local header's name (after its length field)
                return media_type
    return None


#: Office 97-2003 files are OLE compound files too.
_OLE_BY_EXTENSION = {
    ".doc": "application/msword",
    ".dot": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
}
#: ... told apart by their main stream's name, when the compound file's directory lies within
#: the bytes sniffed (small files; else the file name decides)
_OLE_BY_STREAM = (
    ("EncryptedPackage", "application/x-ms-encrypted-package"),  # a password-protected OOXML
    ("WordDocument", "application/msword"),
    ("Workbook", "application/vnd.ms-excel"),
    ("PowerPoint Document", "application/vnd.ms-powerpoint"),
)


def _ole_by_streams(head: bytes) -> str | None:
    for stream, media_type in _OLE_BY_STREAM:
        if stream.encode("utf-16-le") + b"\x00\x00" in head:
            return media_type
    return None


def ole_kind(data: bytes) -> str | None:
    """The Office 97-2003 type of a whole OLE compound file, from its directory (which the
    bytes sniffed seldom reach); None when it is none of them or cannot be read."""
    import olefile  # noqa: PLC0415 - only OLE files pay for the import

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            for stream, media_type in _OLE_BY_STREAM:
                if ole.exists(stream):
                    return media_type
    except Exception:  # a broken compound file, whatever olefile raises: not recognised
        return None
    return None


_TEXT_BY_EXTENSION = {
    ".rtf": "application/rtf",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "application/xhtml+xml",
    ".xml": "application/xml",
    ".nxml": "application/xml",
    ".tei": "application/xml",
    ".svg": "image/svg+xml",
    ".hocr": "text/vnd.hocr+html",
    ".json": "application/json",
    ".ipynb": "application/x-ipynb+json",
    ".ics": "text/calendar",
    ".ifb": "text/calendar",
    ".jsonl": "application/x-ndjson",
    ".eml": "message/rfc822",
    ".mbox": "application/mbox",
    ".mbx": "application/mbox",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".toml": "application/toml",
}


def sniff(  # noqa: PLR0911, PLR0912 - a test and a return per format reads best
    head: bytes, filename: str | None = None, *, complete: bool = False
) -> str:
    """The media type of content starting with ``head``.

    ``complete`` says ``head`` is the whole content, which lets JSON be confirmed by parsing.
    """
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if not head and complete:  # empty: no content says what it is; an empty .txt is text
        fallback = "text/plain" if suffix == ".txt" else "application/octet-stream"
        return _TEXT_BY_EXTENSION.get(suffix, fallback)
    for signature, offset, media_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            if media_type == "application/zip":
                return _package(head) or _ZIP_BY_EXTENSION.get(suffix, media_type)
            if media_type == "application/x-ole-storage" and (
                suffix == ".msg" or "__substg1.0_".encode("utf-16-le") in head
            ):
                return "application/vnd.ms-outlook"  # an Outlook message's property streams
            if media_type == "application/x-ole-storage":
                return _OLE_BY_EXTENSION.get(suffix) or _ole_by_streams(head) or media_type
            return media_type
    if suffix == ".xls" and head[:2] in (b"\x09\x00", b"\x09\x02", b"\x09\x04"):
        return "application/vnd.ms-excel"  # an Excel 2-4 worksheet: a BOF record, no OLE file
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if not looks_textual(head, complete):
        return "application/octet-stream"
    stripped = head.removeprefix(BOM_UTF8).lstrip()
    looks_json = suffix in {".json", ""} and stripped[:1] in {b"{", b"["}
    if looks_json and (not complete or _parses_as_json(head)):
        # a notebook's cells (format 4) or worksheets (3) come first, and name their types
        notebook = b'"cell_type"' in head and (b'"cells"' in head or b'"worksheets"' in head)
        return "application/x-ipynb+json" if notebook else "application/json"
    if suffix in _TEXT_BY_EXTENSION:
        return _named_markup(_TEXT_BY_EXTENSION[suffix], stripped)
    if stripped[:5].lower() in {b"<?xml", b"<!doc"}:
        return _markup_kind(stripped)
    if stripped[:5].lower() in {b"<html", b"<head", b"<body"}:
        return "text/vnd.hocr+html" if _HOCR.search(head) else "text/html"
    if _ROOT_FIRST.match(stripped):  # XML without a declaration, by its root element
        return _markup_kind(stripped)
    if stripped[:15].upper() == b"BEGIN:VCALENDAR":
        return "text/calendar"
    if suffix != ".txt" and looks_like_mail(head):  # a saved message with no .eml name
        return "message/rfc822"
    return "text/plain"


_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_HTML_DOCTYPE = re.compile(rb"<!DOCTYPE\s+html\b", re.IGNORECASE)
#: a root element with a namespace, or one of the roots known below, opening the content
_ROOT_FIRST = re.compile(rb"<(?:[\w.-]+:)?(?:svg|alto|PcGts)\b|<[A-Za-z_][\w.:-]*\s[^>]*\bxmlns\b")
#: an hOCR file names its page elements (and usually its engine's capabilities) up front
_HOCR = re.compile(rb"""ocr-capabilities|class\s*=\s*["'][^"']*\bocr_page\b""")


def _markup_kind(head: bytes) -> str:
    """HTML (hOCR among it), SVG, ALTO, PAGE or other XML, by the document's root element
    (after the XML declaration, comments and the DOCTYPE)."""
    rest = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", b"", head,
                  flags=re.DOTALL | re.IGNORECASE)  # fmt: skip
    root = _ROOT.search(rest)
    name = root[1].rsplit(b":", 1)[-1].lower() if root else b""
    if name == b"html" or _HTML_DOCTYPE.search(head):
        return "text/vnd.hocr+html" if _HOCR.search(head) else "text/html"
    return _XML_ROOTS.get(name, "application/xml")


#: XML documents known by their root element: drawings and OCR engines' output (ALTO, PAGE)
_XML_ROOTS = {
    b"svg": "image/svg+xml",
    b"alto": "application/alto+xml",
    b"pcgts": "application/vnd.prima.page+xml",
}


def _named_markup(by_name: str, stripped: bytes) -> str:
    """The type a markup file's name gives, made specific by its content: OCR engines write
    hOCR as ``.html`` and ALTO and PAGE XML as ``.xml``, which would read them without boxes."""
    if by_name in {"text/html", "application/xhtml+xml"} and _HOCR.search(stripped):
        return "text/vnd.hocr+html"
    if by_name == "application/xml":
        found = _markup_kind(stripped)
        if found in {"application/alto+xml", "application/vnd.prima.page+xml"}:
            return found
    return by_name


def _parses_as_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def pdf_page_count(stream: BinaryIO | bytes) -> int | str:
    """Pages of a PDF (PDFium), or why it cannot be opened (the file is still stored; an
    encrypted PDF is counted once extraction is given its password)."""
    from docledger.extractors.pdf import page_count  # noqa: PLC0415 - only PDFs pay for it

    return page_count(stream if isinstance(stream, bytes) else stream.read())
