"""Image documents on every file of Pillow's test images (see tests/corpus.py): 1,000 files in
every format and mode Pillow reads, animations, multi-page TIFFs, EXIF-rotated photos, and the
truncated, malformed and hostile files of its fuzzing. Each file is read as upright 8-bit RGB
pages, or refused with one ``InvalidInput`` that says it cannot be read; nothing raises
anything else, page images come out the size of their pages, and OCR'd boxes lie inside."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from docledger.errors import InvalidInput
from docledger.extractors import ImageExtractor, image, ocr
from docledger.extractors.render import LONGEST_SIDE, render_image_pages
from tests.corpus import fetched, real_images


@pytest.fixture(scope="module")
def corpus() -> dict[str, Path]:
    found = fetched(real_images, "real-image")
    return {p.name: p for p in found}


def _named(corpus: dict[str, Path], name: str) -> Path:
    (found,) = [p for key, p in corpus.items() if key.endswith("__" + name)]
    return found


def _frames(data: bytes) -> tuple[str | None, int]:
    """The format and frame count Pillow itself reports, when it can open the file."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            return opened.format, int(getattr(opened, "n_frames", 1) or 1)
    except Exception:
        return None, 0


def test_every_real_image_reads_as_pages_or_fails_clearly(corpus: dict[str, Path]) -> None:
    assert len(corpus) >= 1000
    read, refused = {}, {}
    for name, path in sorted(corpus.items()):
        data = path.read_bytes()
        try:
            got = [(n, page.mode, page.size) for n, page, _ in image.pages(data)]
        except InvalidInput as exc:
            refused[name] = str(exc)
            continue
        fmt, frames = _frames(data)
        assert got, name
        assert [n for n, _, _ in got] == list(range(1, len(got) + 1)), name
        assert all(mode == "RGB" and w > 0 and h > 0 for _, mode, (w, h) in got), (name, got)
        # a TIFF's frames are its pages; an animation is read by its first frame
        assert len(got) == (frames if fmt in image.PAGED_FORMATS else 1), (name, fmt, frames)
        read[name] = got
    assert len(read) >= 800, sorted(refused.items())[:20]
    assert len(refused) >= 150
    for name, message in refused.items():
        assert message.startswith(("cannot read the image", "cannot read frame")), (name, message)
    # a malformed animation whose first frame Pillow cannot find (it raised SyntaxError)
    assert refused[_named(corpus, "chunk_no_fctl.png").name].startswith("cannot read frame 1")
    assert sum(1 for got in read.values() if len(got) > 1) >= 5  # multi-page TIFFs among them


def test_rotated_photos_read_as_the_picture_they_show(corpus: dict[str, Path]) -> None:
    """Pillow's ``hopper_orientation_N`` files store one photo in each of the seven other
    EXIF orientations, and its ``g4_orientation_N`` TIFFs a fax page: read upright, each is
    the unrotated original to within JPEG noise, where the photo's stored pixels are far
    from it."""

    def first(name: str) -> np.ndarray:
        _, page, _ = next(image.pages(_named(corpus, name).read_bytes()))
        return np.asarray(page, dtype=np.float64)

    for original, variants in (
        ("hopper.jpg", [f"hopper_orientation_{n}.{ext}" for n in range(2, 9)
                        for ext in ("jpg", "webp")]),
        ("g4_orientation_1.tif", [f"g4_orientation_{n}.tif" for n in range(2, 9)]),
    ):  # fmt: skip
        want = first(original)
        for name in variants:
            got = first(name)
            assert got.shape == want.shape, name
            assert np.abs(got - want).mean() < 8, name
            stored = Image.open(_named(corpus, name)).convert("RGB")
            # (libtiff hands Pillow a TIFF's pixels already turned)
            if name.startswith("hopper") and stored.size == (want.shape[1], want.shape[0]):
                assert np.abs(np.asarray(stored, dtype=np.float64) - want).mean() > 20, name


def test_every_readable_image_renders_pages_of_its_size(corpus: dict[str, Path]) -> None:
    rendered = 0
    for name, path in sorted(corpus.items()):
        data = path.read_bytes()
        try:
            sizes = {n: page.size for n, page, _ in image.pages(data)}
        except InvalidInput:
            continue
        for number, png, width, height in render_image_pages(data, None, set()):
            assert png is not None
            shown = Image.open(io.BytesIO(png))
            assert shown.size == (width, height), name
            w, h = sizes[number]
            scale = min(1.0, LONGEST_SIDE / max(w, h))
            assert abs(width - w * scale) <= 1, name
            assert abs(height - h * scale) <= 1, name
            rendered += 1
    assert rendered >= 850


@pytest.mark.skipif(
    not ocr.available() and os.environ.get("CI", "").lower() not in {"1", "true", "yes"},
    reason="the ocr extra is not installed",
)
def test_ocr_on_a_spread_of_real_images(corpus: dict[str, Path]) -> None:
    """The whole extractor (OCR included) on every 40th readable file and the multi-page
    TIFFs: boxes inside their page, pages numbered like the frames read."""
    readable = []
    for name, path in sorted(corpus.items()):
        try:
            count = sum(1 for _ in image.pages(path.read_bytes()))
        except InvalidInput:
            continue
        readable.append((name, path, count))
    sample = readable[::40] + [r for r in readable if r[2] > 1 and r[0].endswith((".tif", ".tiff"))]
    assert len(sample) >= 25
    extractor = ImageExtractor()
    texts = 0
    for name, path, count in sample:
        segments = extractor.extract(path.read_bytes(), {})
        pages = {s["page_number"]: s for s in segments if s["kind"] == "page"}
        assert sorted(pages) == list(range(1, count + 1)), name
        for s in segments:
            meta = pages[s["page_number"]]["metadata"]
            box = s["bbox"]
            assert box["unit"] == "px"
            assert 0 <= box["x0"] <= box["x1"] <= meta["width"], (name, s)
            assert 0 <= box["y0"] <= box["y1"] <= meta["height"], (name, s)
        texts += any(s["kind"] == "line" for s in segments)
    assert texts >= 3  # some of Pillow's pictures hold text (its drawing and font tests)
