"""What the OCR output readers (``docledger.extractors.hocr``, ``.ocr_output``) build: pages
of blocks of lines of words with boxes, before they become segments."""

from __future__ import annotations

from dataclasses import dataclass, field

from docledger.extractors.layout import Block, Box, Line, Word


@dataclass
class OcrPage:
    """One page of an OCR output file, as read."""

    width: float | None = None
    height: float | None = None
    blocks: list[Block] = field(default_factory=list)
    unboxed: int = 0  # lines with text and no box anywhere (left out)
    image: str | None = None  # the scan the file describes, as it names it
    #: areas without text the file marks (an image, a table, a separator, a line's place in
    #: layout-only ground truth): (label, box, what the file calls it)
    zones: list[tuple[str, Box, dict[str, str]]] = field(default_factory=list)


def ordered_box(x0: float, y0: float, x1: float, y1: float) -> Box:
    return Box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def union_of(boxes: list[Box]) -> Box | None:
    if not boxes:
        return None
    out = boxes[0]
    for box in boxes[1:]:
        out = out.union(box)
    return out


def make_line(words: list[tuple[str, Box | None, float | None]], box: Box | None,
          text: str, confidence: float | None) -> Line | None:  # fmt: skip
    """A line from its words (text, box, confidence), or from its own text and box when it
    has no words; None when it has no text or no box at all."""
    kept = [(t, b, c) for t, b, c in words if t.strip()]
    box = box or union_of([b for _, b, _ in kept if b is not None])
    if box is None:
        return None
    if kept:
        found = [Word(" ".join(t.split()), b or box) for t, b, _ in kept]
        scores = [c for _, _, c in kept if c is not None]
        if confidence is None and scores:
            confidence = sum(scores) / len(scores)
    else:
        plain = " ".join(text.split())
        if not plain:
            return None
        found = [Word(plain, box)]
    if confidence is not None:
        confidence = min(max(confidence, 0.0), 1.0)
    return Line(found, box, box.height, True, confidence)
