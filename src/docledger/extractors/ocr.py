"""OCR through RapidOCR (the ``ocr`` extra: ``pip install 'docledger[ocr]'``).

Why RapidOCR: its wheel carries the PP-OCRv4 detection, direction and recognition models and
runs them with onnxruntime on the CPU, so nothing is fetched from a model hub at run time and
no system package is needed (Debian's tesseract is not on our machines; figures in
bench/extraction.py). The engine is loaded once per process, on first use.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from importlib import metadata
from typing import Any

from docledger.errors import MissingDependency
from docledger.extractors.layout import Block, Box, Line, Word, blocks_of

log = logging.getLogger(__name__)

_DIST = "rapidocr-onnxruntime"
#: Detector settings for documents: without dilation, lines set at ordinary leading (10.5 pt
#: on 14 pt) stay apart; with it every other line of such a page was merged into its
#: neighbour and lost. Boxes grow by RapidOCR's default 1.6: a tighter 1.5 was meant here, but
#: every read since word boxes are asked for ran at 1.6 (see ``_read``), and on
#: bench/extraction.py's pages 1.5 measured CER 0.31% against 0.29%.
ENGINE_OPTIONS = {"det_use_dilation": False, "det_unclip_ratio": 1.6}
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
            _engine = RapidOCR(**ENGINE_OPTIONS)
        return _engine


#: Images up to this size (longest side, pixels) are read at twice their size. Off (0): on
#: the benchmark's dense 10.5 pt pages at 144 dpi twice the size gave CER 0.06% against
#: 0.27% at 1x, for 35% more time; the spaces the recognizer drops at 1x are put back from
#: the ink (``_spaced``).
UPSCALE_BELOW = 0


#: A detected box taller than this many times the page's typical line is several lines the
#: detector ran together (tight leading): it is cut at the empty rows between them and each
#: piece read again on its own.
MERGED = 1.6


def _read(rgb: Any, factor: int) -> list[tuple[list[float], list[float], str, float, list[float]]]:
    """RapidOCR on an image read at ``factor`` times its size: per line the x and y of its
    quadrilateral, its text, score and one x centre per character, in the image's pixels."""
    import numpy as np  # noqa: PLC0415

    width, height = rgb.size
    big = rgb.resize((width * factor, height * factor)) if factor != 1 else rgb
    # no direction classifier per line: on document pages it turned whole lines upside down
    # (and lost them); a page is turned upright as a whole first (``read_blocks``)
    # the detector's settings again: any keyword argument makes RapidOCR reset them to its
    # defaults for this and every later call (an engine option held only until the first)
    result, _ = _load()(
        np.asarray(big), use_cls=False, return_word_box=True,
        unclip_ratio=ENGINE_OPTIONS["det_unclip_ratio"],
    )  # fmt: skip
    out = []
    for points, found, score, *chars in result or []:
        xs = [float(p[0]) / factor for p in points]
        ys = [float(p[1]) / factor for p in points]
        centers = [sum(p[0] for p in quad) / (4 * factor) for quad in (chars[0] if chars else [])]
        out.append((xs, ys, str(found), float(score), centers))
    return out


#: A page is looked at first on a copy at most this many pixels long: the detector finds its
#: lines and the direction classifier votes on them (a fifth of the time of a full read).
PROBE_SIDE = 768
#: Share of the lines' length that decides: vertical lines (a page scanned sideways), lines
#: the classifier reads as upside down.
TURN_SHARE = 0.6
#: A detected box at least this many times as long as it is thick is a line (or a word) and
#: votes; squarer ones are letters and marks, which tell no direction (a page of single
#: letters or a chart's axis numbers was taken for sideways).
LINE_SHAPE = 2.5
#: A skew between these (degrees) that most long lines agree on is straightened before the
#: read: under the lower one the read is as good, and text slanted by more than the upper one
#: is a drawing's (a chart's labels), not a page fed askew.
SKEW_MIN, SKEW_MAX = 0.3, 10.0


def read_blocks(image: Any, scale: float = 1.0) -> tuple[list[Block], dict[str, Any]]:
    """The page's text blocks in reading order, boxes in the image's own frame divided by
    ``scale``, and how the page was turned to read it (``{"orientation": 90, "skew": 1.8}``:
    degrees counter-clockwise, empty for an upright page).

    Scans come sideways, upside down and fed askew: read as they are, a page turned by 180
    degrees gave no text at all and a 2-degree skew lost two words in three (OCRmyPDF's test
    scans). The page is read upright and straight, its lines grouped and ordered in that
    frame, and every box mapped back onto the image as given (a line read off a skewed page
    gets the upright box around its slanted ink)."""
    rgb = image.convert("RGB")
    try:
        turn, skew = orientation(rgb)
    except Exception as exc:  # the probe only helps: it never fails a page
        log.info("OCR orientation probe failed (%s): reading the page as it is", exc)
        turn, skew = 0, 0.0
    upright, back = _upright(rgb, turn, skew)
    blocks = blocks_of(read_lines(upright, scale))
    if not turn and not skew:
        return blocks, {}
    mapped: list[Block] = []
    for block in blocks:
        fresh = Block()
        for line in block.lines:
            words = [Word(w.text, back(w.box, scale)) for w in line.words]
            box = back(line.box, scale)
            fresh.add(Line(words, box, line.size, turn in (0, 180), line.confidence))
        mapped.append(fresh)
    turned: dict[str, Any] = {}
    if turn:
        turned["orientation"] = turn
    if skew:
        turned["skew"] = round(skew, 2)
    return mapped, turned


def orientation(rgb: Any) -> tuple[int, float]:
    """(turn, skew): the degrees counter-clockwise that make the page upright (0, 90, 180 or
    270), then those that straighten its lines (0.0 when under ``SKEW_MIN``)."""
    import cv2  # noqa: PLC0415 - RapidOCR's own dependency
    import numpy as np  # noqa: PLC0415

    engine = _load()
    width, height = rgb.size
    factor = min(1.0, PROBE_SIDE / max(width, height, 1))
    small = rgb.resize((max(1, round(width * factor)), max(1, round(height * factor))))
    bgr = cv2.cvtColor(np.asarray(small), cv2.COLOR_RGB2BGR)
    boxes, _ = engine.text_det(bgr)
    if boxes is None or len(boxes) < 3:
        return 0, 0.0
    vertical = total = 0.0
    lines: list[Any] = []  # the boxes long enough to be lines: they vote
    lengths: list[float] = []
    angles: list[float] = []
    spans: list[float] = []
    for points in boxes:
        quad = np.asarray(points, dtype=float)
        first, second = quad[1] - quad[0], quad[2] - quad[1]
        along = first if np.linalg.norm(first) >= np.linalg.norm(second) else second
        length = float(np.linalg.norm(along))
        across = float(min(np.linalg.norm(first), np.linalg.norm(second)))
        if length < LINE_SHAPE * across:
            continue  # a letter or a mark ("a", "B", an axis' "0"): as tall as it is wide
        angle = (math.degrees(math.atan2(along[1], along[0])) + 90.0) % 180.0 - 90.0
        lines.append(points)
        total += length
        lengths.append(length)
        if abs(angle) > 45.0:
            vertical += length
        if length > 4 * across:  # a line, not a word: its slope is the page's
            angles.append((angle + 45.0) % 90.0 - 45.0)
            spans.append(length)
    turn = 0
    if len(lines) >= 3:
        # RapidOCR turns a tall crop a quarter counter-clockwise before reading it: the
        # classifier then says whether that made the line upright (0) or upside down (180)
        _, votes, _ = engine.text_cls(engine.get_crop_img_list(bgr, lines))
        sure = [(label, n) for (label, score), n in zip(votes, lengths, strict=True)
                if score > 0.9]  # fmt: skip
        flipped = sum(n for label, n in sure if label == "180")
        upright = sum(n for label, n in sure if label == "0")
        if vertical >= TURN_SHARE * total:
            turn = 270 if flipped > upright else 90
        elif flipped >= TURN_SHARE * total and flipped > 2 * upright:
            turn = 180
    skew = 0.0
    if len(angles) >= 5:
        middle = float(np.median(angles))
        agreeing = sum(1 for a in angles if abs(a - middle) <= 1.0)
        # a slope a box's corners rounded to whole pixels could give is no skew: short lines
        # on a small image (a screenshot) come out at 0.7 degrees with straight text
        least = max(SKEW_MIN, math.degrees(math.atan(2.0 / float(np.median(spans)))))
        if agreeing >= TURN_SHARE * len(angles) and least <= abs(middle) <= SKEW_MAX:
            skew = middle
    return turn, skew


def _upright(rgb: Any, turn: int, skew: float) -> tuple[Any, Any]:
    """The page turned and straightened, and the map of a box on it (in pixels divided by a
    scale) back onto ``rgb`` in the same units: the box around its four corners, kept inside
    the page."""
    import numpy as np  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    width, height = rgb.size
    # forward maps of PIL's transposes (counter-clockwise), as matrices on (x, y, 1)
    moves = {
        0: np.eye(3),
        90: np.array([[0, 1, 0], [-1, 0, width], [0, 0, 1]], dtype=float),
        180: np.array([[-1, 0, width], [0, -1, height], [0, 0, 1]], dtype=float),
        270: np.array([[0, -1, height], [1, 0, 0], [0, 0, 1]], dtype=float),
    }
    forward = moves[turn]
    out = rgb
    if turn:
        out = rgb.transpose(
            {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
             270: Image.Transpose.ROTATE_270}[turn]
        )  # fmt: skip
    if skew:
        before = out.size
        out = out.rotate(skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
        # PIL turns about the centre and centres the grown canvas on it
        cos, sin = math.cos(math.radians(skew)), math.sin(math.radians(skew))
        to_centre = np.array([[1, 0, -before[0] / 2], [0, 1, -before[1] / 2], [0, 0, 1]])
        spin = np.array([[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]])
        from_centre = np.array([[1, 0, out.width / 2], [0, 1, out.height / 2], [0, 0, 1]])
        forward = from_centre @ spin @ to_centre @ forward
    inverse = np.linalg.inv(forward)

    def back(box: Box, scale: float) -> Box:
        corners = np.array(
            [[box.x0, box.x1, box.x1, box.x0], [box.y0, box.y0, box.y1, box.y1], [1, 1, 1, 1]]
        )
        corners[:2] *= scale
        xs, ys, _ = inverse @ corners
        x0, x1 = max(float(xs.min()), 0.0), min(float(xs.max()), float(width))
        y0, y1 = max(float(ys.min()), 0.0), min(float(ys.max()), float(height))
        return Box(x0 / scale, y0 / scale, max(x0, x1) / scale, max(y0, y1) / scale)

    return out, back


def read_lines(image: Any, scale: float = 1.0) -> list[Line]:
    """The text lines RapidOCR finds in a PIL image, top to bottom, boxes divided by
    ``scale`` (pixels per output unit). Each box is the detector's quadrilateral tightened to
    the ink inside it (the detector pads its boxes by a few pixels); a box holding several
    lines is cut into them and each read again."""
    import numpy as np  # noqa: PLC0415

    rgb = image.convert("RGB")
    gray = np.asarray(image.convert("L"), dtype=np.uint8)
    width, height = rgb.size
    factor = 2 if max(width, height) <= UPSCALE_BELOW else 1
    found: list[tuple[float, float, float, float, str, float, list[float]]] = []
    for xs, ys, text, score, centers in _read(rgb, factor):
        x0, y0 = max(min(xs), 0.0), max(min(ys), 0.0)
        x1, y1 = min(max(xs), float(width)), min(max(ys), float(height))
        if x1 > x0 and y1 > y0:
            found.append((*_ink(gray, x0, y0, x1, y1), text, score, centers))
    heights = sorted(y1 - y0 for _, y0, _, y1, *_ in found)
    typical = heights[len(heights) // 2] if heights else 0.0
    lines = []
    for x0, y0, x1, y1, text, score, centers in found:
        pieces = [(x0, y0, x1, y1, text, score, centers)]
        if typical and y1 - y0 > MERGED * typical:
            pieces = _split(rgb, gray, x0, y0, x1, y1, typical, factor) or pieces
        for px0, py0, px1, py1, ptext, pscore, pcenters in pieces:
            clean = " ".join(_spaced(ptext, pcenters, gray, px0, py0, px1, py1).split())
            if not clean:
                continue
            box = Box(px0 / scale, py0 / scale, px1 / scale, py1 / scale)
            confidence = min(max(pscore, 0.0), 1.0)
            lines.append(Line([Word(clean, box)], box, box.height, True, confidence))
    lines.sort(key=lambda line: (line.box.y0, line.box.x0))
    return lines


def _split(
    rgb: Any, gray: Any, x0: float, y0: float, x1: float, y1: float, typical: float, factor: int
) -> list[tuple[float, float, float, float, str, float, list[float]]]:
    """The lines inside one detected box: bands of rows with ink, each read on its own."""
    import numpy as np  # noqa: PLC0415

    top, left = int(y0), int(x0)
    crop = gray[top : int(np.ceil(y1)), left : int(np.ceil(x1))]
    low, high = int(crop.min()), int(crop.max())
    dark = crop < (low + high) / 2
    rows = (dark if dark.mean() <= 0.5 else ~dark).any(axis=1)
    bands: list[list[int]] = []
    for n, inked in enumerate(rows.tolist()):
        if inked and bands and bands[-1][1] == n:
            bands[-1][1] = n + 1
        elif inked:
            bands.append([n, n + 1])
    bands = [b for b in bands if b[1] - b[0] >= 0.35 * typical]
    if len(bands) < 2:
        return []
    pad = int(typical * 0.3)
    out = []
    for a, b in bands:
        ya, yb = max(top + a - pad, 0), min(top + b + pad, gray.shape[0])
        piece = rgb.crop((left, ya, int(np.ceil(x1)), yb))
        for xs, ys, text, score, centers in _read(piece, factor):
            px0, py0 = left + max(min(xs), 0.0), ya + max(min(ys), 0.0)
            px1, py1 = left + min(max(xs), piece.width), ya + min(max(ys), piece.height)
            if px1 > px0 and py1 > py0:
                tight = _ink(gray, px0, py0, px1, py1)
                out.append((*tight, text, score, [left + c for c in centers]))
    return out


#: An empty stretch of columns at least this share of the line's height is a word gap.
WORD_GAP = 0.22
#: Characters that sit apart from their neighbours without a space ("N-104", "A/B").
_JOINERS = set("-/\u2010\u2013")


def _spaced(
    text: str, centers: list[float], gray: Any, x0: float, y0: float, x1: float, y1: float
) -> str:
    """The recognized text with a space put back wherever the ink of the line has a gap as
    wide as a word space between two characters the recognizer ran together (its model drops
    spaces between small or compressed words, sometimes for part of a line). Needs a position
    per character (spaces included); without them the text is returned as read."""
    import numpy as np  # noqa: PLC0415

    if len(centers) != len(text) or len(text) < 2:
        return text
    crop = gray[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))]
    if crop.size == 0:
        return text
    low, high = int(crop.min()), int(crop.max())
    if high - low < 48:
        return text
    dark = crop < (low + high) / 2
    ink = (dark if dark.mean() <= 0.5 else ~dark).any(axis=0)
    runs: list[tuple[int, int]] = []  # (width, end column) of each stretch without ink
    run = 0
    for column, inked in enumerate(ink):
        if inked:
            if run:
                runs.append((run, column))
            run = 0
        else:
            run += 1
    if not runs:
        return text
    # a word gap is wide for the line's height and wide next to its letter gaps (a monospaced
    # font spaces its letters widely)
    typical = sorted(width for width, _ in runs)[len(runs) // 2]
    least = max(2.0, WORD_GAP * (y1 - y0), 1.8 * typical)
    gaps = [x0 + end - width / 2 for width, end in runs if width >= least]
    out = [text[0]]
    for n in range(1, len(text)):
        joined = text[n - 1] in _JOINERS or text[n] in _JOINERS
        spaced = text[n - 1] == " " or text[n] == " "
        if not joined and not spaced and any(centers[n - 1] < gap < centers[n] for gap in gaps):
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
