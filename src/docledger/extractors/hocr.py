"""hOCR files (Tesseract, OCRmyPDF, Cuneiform): pages, blocks, lines and words by their hOCR
classes, boxes from their ``title`` properties (see ``docledger.extractors.ocr_output``)."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors.encoding import decode
from docledger.extractors.layout import Block, Box
from docledger.extractors.ocr_pages import OcrPage, make_line, ordered_box

#: hOCR classes of a line's container (a paragraph, a content area, a block)
HOCR_BLOCKS = {"ocr_par", "ocr_carea", "ocrx_block", "ocr_block"}
#: hOCR classes of a line of text
HOCR_LINES = {"ocr_line", "ocrx_line", "ocr_header", "ocr_caption", "ocr_textfloat"}
#: hOCR classes of areas without text of their own, and their zones' labels
HOCR_AREAS = {"ocr_photo": "photo", "ocr_image": "image", "ocr_linedrawing": "linedrawing",
              "ocr_separator": "separator", "ocr_table": "table", "ocr_float": "float",
              "ocr_math": "math", "ocr_chem": "chem"}  # fmt: skip
#: Elements open at once beyond this are refused (each end tag is looked for among them).
MOST_DEPTH = 1000
_VOID = {"meta", "link", "br", "img", "hr", "input", "area", "base", "col", "wbr", "source"}
_NUMBER = r"-?\d+(?:\.\d+)?"
_BBOX = re.compile(rf"\bbbox\s+({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})")
_WCONF = re.compile(rf"\bx_wconf\s+({_NUMBER})")
_IMAGE = re.compile(r"""\bimage\s+(?:"([^"]*)"|'([^']*)'|(\S+?)(?:;|$))""")
_TEXTANGLE = re.compile(rf"\btextangle\s+({_NUMBER})")


class _HocrReader(HTMLParser):
    """Pages, blocks, lines and words by their hOCR classes; boxes from ``title`` bboxes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pages: list[OcrPage] = []
        self.stack: list[tuple[str, str | None]] = []  # (tag, role) of open elements
        self.block: Block | None = None
        self.line: dict[str, Any] | None = None
        self.word: dict[str, Any] | None = None

    def _page(self) -> OcrPage:
        if not self.pages:  # lines outside any ocr_page: one page holds them
            self.pages.append(OcrPage())
        return self.pages[-1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = set((found.get("class") or "").split())
        title = found.get("title") or ""
        role = None
        if "ocr_page" in classes:
            role = "page"
            box = _title_box(title)
            image = _IMAGE.search(title)
            named = next((g for g in image.groups() if g), None) if image else None
            self.pages.append(
                OcrPage(box.x1 if box else None, box.y1 if box else None, image=named)
            )
            self.block = None
        elif classes & HOCR_AREAS.keys() and self.line is None:
            area = sorted(classes & HOCR_AREAS.keys())[0]
            box = _title_box(title)
            if box is not None:
                self._page().zones.append((HOCR_AREAS[area], box, {"class": area}))
        elif classes & HOCR_BLOCKS and self.line is None:
            role = "block"
            self.block = Block()
            self._page().blocks.append(self.block)
        elif classes & HOCR_LINES and self.line is None:
            role = "line"
            angle = _TEXTANGLE.search(title)
            upright = angle is None or round(float(angle[1])) % 180 == 0
            self.line = {"box": _title_box(title), "words": [], "text": [], "upright": upright}
        elif "ocrx_word" in classes and self.line is not None and self.word is None:
            role = "word"
            conf = _WCONF.search(title)
            self.word = {"box": _title_box(title), "text": [],
                         "conf": float(conf[1]) / 100 if conf else None}  # fmt: skip
        if tag not in _VOID:
            if len(self.stack) >= MOST_DEPTH:
                raise InvalidInput("cannot read the hOCR file: it is nested too deeply")
            self.stack.append((tag, role))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not any(open_tag == tag for open_tag, _ in self.stack):
            return  # a stray end tag
        while self.stack:
            open_tag, role = self.stack.pop()
            self._close(role)
            if open_tag == tag:
                return

    def _close(self, role: str | None) -> None:
        if role == "word" and self.word is not None and self.line is not None:
            self.line["words"].append(("".join(self.word["text"]), self.word["box"],
                                       self.word["conf"]))  # fmt: skip
            self.word = None
        elif role == "line" and self.line is not None:
            line = make_line(self.line["words"], self.line["box"], "".join(self.line["text"]), None)
            if line is not None:
                line.horizontal = self.line["upright"]  # textangle 90: set vertically
                if self.block is None:  # a line outside any block is a block of its own
                    self._page().blocks.append(Block())
                    self._page().blocks[-1].add(line)
                else:
                    self.block.add(line)
            elif "".join(self.line["text"]).strip():
                self._page().unboxed += 1
            self.line = None
        elif role == "block":
            self.block = None

    def handle_data(self, data: str) -> None:
        if self.word is not None:
            self.word["text"].append(data)
        if self.line is not None:
            self.line["text"].append(data)

    def close(self) -> None:
        super().close()
        while self.stack:
            self._close(self.stack.pop()[1])


def _title_box(title: str) -> Box | None:
    found = _BBOX.search(title)
    if found is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in found.groups())
    if not math.isfinite(x0 + y0 + x1 + y1):  # 400 digits read as infinity
        return None
    return ordered_box(x0, y0, x1, y1)


def hocr_pages(data: bytes) -> tuple[list[OcrPage], str]:
    reader = _HocrReader()
    reader.feed(decode(data)[0])
    reader.close()
    return reader.pages, "px"
