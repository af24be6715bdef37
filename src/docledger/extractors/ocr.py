"""OCR through RapidOCR (the ``ocr`` extra: ``pip install 'docledger[ocr]'``).

Why RapidOCR: its wheel carries the PP-OCRv4 detection, direction and recognition models and
runs them with onnxruntime on the CPU, so nothing is fetched from a model hub at run time and
no system package is needed (Debian's tesseract is not on our machines; figures in
bench/extraction.py). The engine is loaded once per process, on first use.
"""

from __future__ import annotations

import functools
import threading
from importlib import metadata
from typing import Any

from docledger.errors import MissingDependency
from docledger.extractors.layout import Box, Line, Word

_DIST = "rapidocr-onnxruntime"
_engine: Any = None
_lock = threading.Lock()


@functools.cache
def engine_version() -> str | None:
    """``rapidocr-onnxruntime <version>`` when the extra is installed, else None (read once
    per process: every extraction asks)."""
    try:
        return f"{_DIST} {metadata.version(_DIST)}"
    except metadata.PackageNotFoundError:
        return None


def available() -> bool:
    return engine_version() is not None


def _load() -> Any:
    global _engine  # noqa: PLW0603 - one engine per process: loading it takes a second
    with _lock:
        if _engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR  # noqa: PLC0415
            except ImportError as exc:
                raise MissingDependency(
                    "OCR needs the ocr extra: pip install 'docledger[ocr]'"
                ) from exc
            _engine = RapidOCR()
        return _engine


#: Images up to this size (longest side, pixels) are read at twice their size: the recognizer
#: drops spaces between small words (measured at 144 dpi: 5 of 40 characters on 9 pt bold
#: text at 1x, none at 2x, for about the same time: detection works on a bounded size).
UPSCALE_BELOW = 2600


def read_lines(image: Any, scale: float = 1.0) -> list[Line]:
    """The text lines RapidOCR finds in a PIL image, top to bottom, boxes divided by
    ``scale`` (pixels per output unit). Each box is the detector's quadrilateral tightened to
    the ink inside it (the detector pads its boxes by a few pixels)."""
    import numpy as np  # noqa: PLC0415

    rgb = image.convert("RGB")
    gray = np.asarray(image.convert("L"), dtype=np.uint8)
    width, height = rgb.size
    factor = 2 if max(width, height) <= UPSCALE_BELOW else 1
    if factor != 1:
        rgb = rgb.resize((width * factor, height * factor))
    result, _ = _load()(np.asarray(rgb), return_word_box=True)
    lines = []
    for points, found, score, *chars in result or []:
        xs = [float(p[0]) / factor for p in points]
        ys = [float(p[1]) / factor for p in points]
        x0, y0 = max(min(xs), 0.0), max(min(ys), 0.0)
        x1, y1 = min(max(xs), float(width)), min(max(ys), float(height))
        if x1 <= x0 or y1 <= y0:
            continue
        x0, y0, x1, y1 = _ink(gray, x0, y0, x1, y1)
        centers = [sum(p[0] for p in quad) / (4 * factor) for quad in (chars[0] if chars else [])]
        text = " ".join(_spaced(str(found), centers, gray, x0, y0, x1, y1).split())
        if not text:
            continue
        box = Box(x0 / scale, y0 / scale, x1 / scale, y1 / scale)
        confidence = min(max(float(score), 0.0), 1.0)
        lines.append(Line([Word(text, box)], box, box.height, True, confidence))
    lines.sort(key=lambda line: (line.box.y0, line.box.x0))
    return lines


#: An empty stretch of columns at least this share of the line's height is a word gap.
WORD_GAP = 0.22
#: Characters that sit apart from their neighbours without a space ("N-104", "A/B").
_JOINERS = set("-/\u2010\u2013")


def _spaced(
    text: str, centers: list[float], gray: Any, x0: float, y0: float, x1: float, y1: float
) -> str:
    """The recognized text with a space put back wherever the ink of the line has a gap as
    wide as a word space between two characters the recognizer ran together (its model drops
    spaces between small or compressed words). Needs a position per character; without them
    the text is returned as read."""
    import numpy as np  # noqa: PLC0415

    if len(centers) != len(text) or " " in text or len(text) < 2:
        return text
    crop = gray[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))]
    if crop.size == 0:
        return text
    low, high = int(crop.min()), int(crop.max())
    if high - low < 48:
        return text
    dark = crop < (low + high) / 2
    ink = (dark if dark.mean() <= 0.5 else ~dark).any(axis=0)
    least = max(2.0, WORD_GAP * (y1 - y0))
    gaps, run = [], 0
    for column, inked in enumerate(ink):
        if inked:
            if run >= least:
                gaps.append(x0 + column - run / 2)
            run = 0
        else:
            run += 1
    out = [text[0]]
    for n in range(1, len(text)):
        joined = text[n - 1] in _JOINERS or text[n] in _JOINERS
        if not joined and any(centers[n - 1] < gap < centers[n] for gap in gaps):
            out.append(" ")
        out.append(text[n])
    return "".join(out)


def _ink(
    gray: Any, x0: float, y0: float, x1: float, y1: float
) -> tuple[float, float, float, float]:
    """The box shrunk to the pixels of the minority tone inside it (the text, dark on light
    or light on dark), split at the midpoint of the darkest and lightest pixel; the box as
    given when it holds no contrast."""
    import numpy as np  # noqa: PLC0415

    top, left = int(y0), int(x0)
    crop = gray[top : int(np.ceil(y1)), left : int(np.ceil(x1))]
    if crop.size == 0:
        return x0, y0, x1, y1
    low, high = int(crop.min()), int(crop.max())
    if high - low < 48:
        return x0, y0, x1, y1
    dark = crop < (low + high) / 2
    ink = dark if dark.mean() <= 0.5 else ~dark
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows) or not len(cols):
        return x0, y0, x1, y1
    return (
        float(left + cols[0]),
        float(top + rows[0]),
        float(left + cols[-1] + 1),
        float(top + rows[-1] + 1),
    )
