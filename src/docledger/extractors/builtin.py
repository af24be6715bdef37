"""The built-in PDF and image extractors (layout from PDFium, OCR for pages without text)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors import ocr, pdf_forms
from docledger.extractors.base import CHUNK_PARAMS, Chunking, Param
from docledger.extractors.image import FRAME_MODES, MEDIA_TYPES
from docledger.extractors.image import pages as image_pages
from docledger.extractors.page_segments import layout_segments
from docledger.extractors.pdf import page_layout, pages

GRANULARITIES = ("pages", "blocks", "lines", "words")
OCR_MODES = ("auto", "always", "never")


class PdfExtractor(Chunking):
    """PDF layout: per page a ``page`` segment (width, height, rotation), its ``block`` and
    ``line`` segments with exact boxes in reading order (``word`` too with
    ``granularity="words"``), and retrieval ``chunk`` segments. Pages with fewer than
    ``ocr_min_chars`` characters are OCR'd when the ocr extra is installed (``ocr="auto"``).
    A filled-in form's answers are ``zone`` segments (``docledger.extractors.pdf_forms``)."""

    name: str = "pdf"
    #: 3: filled-in form fields' values as zones; 4: scanned pages read upright and straight
    #: (turned by 90, 180 or 270 degrees, or fed askew), boxes on the page as it is; text a
    #: broken font map gives as byte-swapped code points read back (``chars_byte_swapped``)
    version: str = "4"
    media_types: tuple[str, ...] = ("application/pdf",)
    params = {
        **CHUNK_PARAMS,
        "granularity": Param(str, "lines", choices=GRANULARITIES),
        "password": Param(str, None, nullable=True, secret=True),
        "ocr": Param(str, "auto", choices=OCR_MODES),
        "ocr_min_chars": Param(int, 16, low=0, high=100_000),
        "ocr_dpi": Param(int, 144, low=72, high=600),
    }

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        values = super().check(params)
        if values["ocr"] == "always" and not ocr.available():
            raise InvalidInput("ocr='always' needs the ocr extra: pip install 'docledger[ocr]'")
        return values

    def version_for(self, params: Mapping[str, Any]) -> str:
        """OCR'd text is the OCR engine's: its version is part of the extraction's."""
        engine = ocr.engine_version()
        if params.get("ocr", "auto") == "never" or engine is None:
            return self.version
        return f"{self.version}+{engine.replace(' ', '-')}"

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        values = self.check(params)
        mode = values["ocr"] if ocr.available() else "never"
        out: list[dict[str, Any]] = []
        for pdfium, page, number in pages(data, values["password"]):
            layout = page_layout(pdfium, page, number)
            frame = layout.frame
            chars = layout.kept
            meta: dict[str, Any] = {"chars": chars}
            if layout.outside:
                meta["chars_outside_page"] = layout.outside
            if layout.swapped:
                meta["chars_byte_swapped"] = layout.swapped
            blocks = layout.blocks
            if mode == "always" or (mode == "auto" and chars < values["ocr_min_chars"]):
                dpi = values["ocr_dpi"]
                image = page.render(scale=dpi / 72.0).to_pil()
                found, turned = ocr.read_blocks(image, scale=dpi / 72.0)
                if found or mode == "always":
                    engine = ocr.engine_version()
                    blocks, meta["ocr"] = found, {"dpi": dpi, "engine": engine, **turned}
            first = len(out)
            out.extend(
                layout_segments(
                    number,
                    (frame.width, frame.height, frame.rotation),
                    blocks,
                    unit="pt",
                    granularity=values["granularity"],
                    chunk_size=values["chunk_size"],
                    chunk_overlap=values["chunk_overlap"],
                    page_meta=meta,
                    first_index=first,
                )
            )
            env = getattr(page.pdf, "formenv", None)
            answers = pdf_forms.fields(env.raw if env is not None else None, page, frame)
            out.extend(pdf_forms.segments(answers, number, first))
        return out


class ImageExtractor(Chunking):
    """Scans, screenshots and photos of pages (PNG, JPEG, TIFF, ...): OCR lines, blocks and
    chunks per page, boxes in pixels of the image as viewers show it (EXIF orientation
    applied, see ``docledger.extractors.image``). A multi-page TIFF's frames are its pages;
    an animation is read by its first frame unless ``frames="all"``. Needs the ocr extra."""

    name: str = "image"
    #: 2: EXIF orientation applied, transparency on white, 16-bit levels stretched,
    #: animations read by their first frame; 3: pages read upright and straight (a scan turned
    #: by 90, 180 or 270 degrees, or fed askew), boxes on the image as it is
    version: str = "3"
    media_types: tuple[str, ...] = MEDIA_TYPES
    params = {
        **CHUNK_PARAMS,
        "granularity": Param(str, "lines", choices=GRANULARITIES),
        "frames": Param(str, "auto", choices=FRAME_MODES),
    }

    def version_for(self, params: Mapping[str, Any]) -> str:
        """The text is the OCR engine's: its version is part of the extraction's."""
        return f"{self.version}+{(ocr.engine_version() or 'no-ocr').replace(' ', '-')}"

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        values = self.check(params)
        out: list[dict[str, Any]] = []
        for number, page, notes in image_pages(data, values["frames"]):
            width, height = page.size
            blocks, turned = ocr.read_blocks(page)
            out.extend(
                layout_segments(
                    number,
                    (float(width), float(height), 0),
                    blocks,
                    unit="px",
                    granularity=values["granularity"],
                    chunk_size=values["chunk_size"],
                    chunk_overlap=values["chunk_overlap"],
                    page_meta={**notes, "ocr": {"engine": ocr.engine_version(), **turned}},
                    first_index=len(out),
                )
            )
        return out
