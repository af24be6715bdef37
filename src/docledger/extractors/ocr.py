"""OCR through RapidOCR (the ``ocr`` extra: ``pip install 'docledger[ocr]'``).

Why RapidOCR: its wheel carries the PP-OCRv4 detection, direction and recognition models and
runs them with onnxruntime on the CPU, so nothing is fetched from a model hub at run time and
no system package is needed (Debian's tesseract is not on our machines; figures in
bench/extraction.py). The engine is loaded once per process, on first use.
"""

from __future__ import annotations

import threading
from importlib import metadata
from typing import Any

from docledger.errors import MissingDependency
from docledger.extractors.layout import Box, Line, Word

_DIST = "rapidocr-onnxruntime"
_engine: Any = None
_lock = threading.Lock()


def engine_version() -> str | None:
    """``rapidocr-onnxruntime <version>`` when the extra is installed, else None."""
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


def read_lines(image: Any, scale: float = 1.0) -> list[Line]:
    """The text lines RapidOCR finds in a PIL image, boxes divided by ``scale`` (pixels per
    output unit), clipped to the image, top to bottom."""
    import numpy as np  # noqa: PLC0415

    rgb = image.convert("RGB")
    width, height = rgb.size
    result, _ = _load()(np.asarray(rgb))
    lines = []
    for points, found, score in result or []:
        text = str(found).strip()
        if not text:
            continue
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
        box = Box(
            max(min(xs), 0.0) / scale,
            max(min(ys), 0.0) / scale,
            min(max(xs), width) / scale,
            min(max(ys), height) / scale,
        )
        confidence = min(max(float(score), 0.0), 1.0)
        lines.append(Line([Word(text, box)], box, box.height, True, confidence))
    lines.sort(key=lambda line: (line.box.y0, line.box.x0))
    return lines
