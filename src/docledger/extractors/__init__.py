"""Extractors: the built-ins and those other packages register as entry points.

See ``docledger.extractors.base`` for the interface. A plugin cannot replace a built-in of the
same name.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from docledger.extractors import ocr
from docledger.extractors.base import Extractor, version_of
from docledger.extractors.builtin import ImageExtractor, PdfExtractor
from docledger.extractors.calendar import CalendarExtractor
from docledger.extractors.compound import EncryptedPackageExtractor
from docledger.extractors.docx import DocxExtractor
from docledger.extractors.epub import EpubExtractor
from docledger.extractors.excel97 import XlsExtractor
from docledger.extractors.html import HtmlExtractor
from docledger.extractors.mail import MailExtractor
from docledger.extractors.notebook import NotebookExtractor
from docledger.extractors.ocr_output import AltoExtractor, HocrExtractor, PageXmlExtractor
from docledger.extractors.odf import OdsExtractor, OdtExtractor
from docledger.extractors.odp import OdpExtractor
from docledger.extractors.outlook import OutlookExtractor
from docledger.extractors.powerpoint97 import PptExtractor
from docledger.extractors.rtf import RtfExtractor
from docledger.extractors.slides import SlidesExtractor
from docledger.extractors.svg import SvgExtractor
from docledger.extractors.table import CsvExtractor
from docledger.extractors.text import (
    ConfigTextExtractor,
    JsonExtractor,
    JsonLinesExtractor,
    TextExtractor,
)
from docledger.extractors.word97 import Word97Extractor
from docledger.extractors.workbook import XlsxExtractor
from docledger.extractors.xml_text import XmlExtractor

ENTRY_POINT_GROUP = "docledger.extractors"

__all__ = [
    "ENTRY_POINT_GROUP",
    "AltoExtractor",
    "CalendarExtractor",
    "ConfigTextExtractor",
    "CsvExtractor",
    "DocxExtractor",
    "EncryptedPackageExtractor",
    "EpubExtractor",
    "Extractor",
    "HocrExtractor",
    "HtmlExtractor",
    "ImageExtractor",
    "JsonExtractor",
    "JsonLinesExtractor",
    "MailExtractor",
    "NotebookExtractor",
    "OdpExtractor",
    "OdsExtractor",
    "OdtExtractor",
    "OutlookExtractor",
    "PageXmlExtractor",
    "PdfExtractor",
    "PptExtractor",
    "RtfExtractor",
    "SlidesExtractor",
    "SvgExtractor",
    "TextExtractor",
    "Word97Extractor",
    "XlsExtractor",
    "XlsxExtractor",
    "XmlExtractor",
    "available",
    "for_media_type",
    "version_of",
]


def available() -> dict[str, Extractor]:
    """Every extractor: the built-ins and those other packages register as entry points."""
    found: dict[str, Extractor] = {
        e.name: e
        for e in (
            TextExtractor(),
            ConfigTextExtractor(),
            HtmlExtractor(),
            EpubExtractor(),
            CsvExtractor(),
            DocxExtractor(),
            Word97Extractor(),
            RtfExtractor(),
            SlidesExtractor(),
            PptExtractor(),
            OdtExtractor(),
            OdsExtractor(),
            OdpExtractor(),
            XlsxExtractor(),
            XlsExtractor(),
            MailExtractor(),
            OutlookExtractor(),
            EncryptedPackageExtractor(),
            SvgExtractor(),
            HocrExtractor(),
            AltoExtractor(),
            PageXmlExtractor(),
            XmlExtractor(),
            NotebookExtractor(),
            CalendarExtractor(),
            JsonExtractor(),
            JsonLinesExtractor(),
            PdfExtractor(),
            ImageExtractor(),
        )
    }
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            continue
        factory = ep.load()
        extractor = factory() if callable(factory) else factory
        if isinstance(extractor, Extractor):
            found[ep.name] = extractor
    return found


def for_media_type(
    media_type: str | None, extractors: dict[str, Extractor] | None = None
) -> Extractor | None:
    """The extractor for a media type (among ``extractors``, default all); images only when
    the OCR extra is installed."""
    for extractor in (available() if extractors is None else extractors).values():
        if media_type in extractor.media_types:
            if isinstance(extractor, ImageExtractor) and not ocr.available():
                return None
            return extractor
    return None
