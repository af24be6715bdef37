"""Image documents the way real files come: a photo stored sideways with an EXIF orientation,
a screenshot with a transparent background, a 16-bit scan, an animation, a multi-page TIFF, a
broken frame. Each is read as a viewer shows it (boxes in the upright picture's pixels) or
refused with one clear ``InvalidInput``; page images are rendered the same way."""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from docledger.errors import InvalidInput
from docledger.extractors import ImageExtractor, image, ocr
from docledger.extractors.render import LONGEST_SIDE, render_image_pages

needs_ocr = pytest.mark.skipif(
    not ocr.available() and os.environ.get("CI", "").lower() not in {"1", "true", "yes"},
    reason="the ocr extra is not installed",
)

LINES = ("Fire door D7 fails the test", "Water damage in room N-104")
SIZE = (700, 200)


def _upright() -> Image.Image:
    """Two lines of black text on white, as the page is meant to be seen."""
    font = ImageFont.load_default(size=28)
    picture = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(picture)
    for n, text in enumerate(LINES):
        draw.text((30, 40 + 70 * n), text, font=font, fill=0)
    return picture


def _ink(picture: Image.Image) -> list[tuple[int, int, int, int]]:
    """The ink box of each text line of the upright picture."""
    dark = np.asarray(picture) < 128
    out = []
    for top in (30, 100):
        band = dark[top : top + 60]
        rows, cols = np.flatnonzero(band.any(axis=1)), np.flatnonzero(band.any(axis=0))
        out.append((int(cols[0]), top + int(rows[0]), int(cols[-1]) + 1, top + int(rows[-1]) + 1))
    return out


def _saved(picture: Image.Image, fmt: str, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    picture.save(out, format=fmt, **kwargs)
    return out.getvalue()


def _lines(segments: list[dict[str, Any]], page: int = 1) -> list[dict[str, Any]]:
    return [s for s in segments if s["kind"] == "line" and s["page_number"] == page]


def _page(segments: list[dict[str, Any]], number: int = 1) -> dict[str, Any]:
    (found,) = [s for s in segments if s["kind"] == "page" and s["page_number"] == number]
    return found


def _reads_upright(segments: list[dict[str, Any]], page: int = 1) -> None:
    """The page is the upright picture's size and each line's box is within 3 px of its
    ink there, its text read."""
    meta = _page(segments, page)["metadata"]
    assert (meta["width"], meta["height"]) == SIZE
    lines = _lines(segments, page)
    assert [line["text"] for line in lines] == list(LINES)
    for line, ink in zip(lines, _ink(_upright()), strict=True):
        box = line["bbox"]
        got = (box["x0"], box["y0"], box["x1"], box["y1"])
        assert all(abs(a - b) <= 3 for a, b in zip(got, ink, strict=True)), (got, ink)


@needs_ocr
def test_a_photo_stored_sideways_is_read_upright() -> None:
    # stored turned a quarter left; EXIF 6 tells viewers to turn it a quarter right
    stored = _upright().transpose(Image.Transpose.ROTATE_90).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    segments = ImageExtractor().extract(_saved(stored, "JPEG", quality=95, exif=exif), {})
    _reads_upright(segments)
    assert _page(segments)["metadata"]["exif_orientation"] == 6


@needs_ocr
def test_text_on_a_transparent_background_is_read() -> None:
    # black text whose background is transparent black: dropping the alpha leaves nothing
    alpha = 255 - np.asarray(_upright())
    rgba = np.zeros((*alpha.shape, 4), dtype=np.uint8)
    rgba[..., 3] = alpha
    segments = ImageExtractor().extract(_saved(Image.fromarray(rgba, "RGBA"), "PNG"), {})
    _reads_upright(segments)
    assert _page(segments)["metadata"]["transparency"] == "on white"


@needs_ocr
def test_a_16_bit_scan_is_read() -> None:
    # ink at 3,000 and paper at 60,000 of 65,535: an 8-bit conversion clips both to white
    levels = np.where(np.asarray(_upright()) < 128, 3000, 60000).astype(np.uint16)
    scan = Image.fromarray(levels)
    assert np.asarray(scan.convert("L")).min() == 255  # what reading it naively sees
    segments = ImageExtractor().extract(_saved(scan, "PNG"), {})
    _reads_upright(segments)


@needs_ocr
def test_a_multi_page_tiff_is_a_document_of_pages() -> None:
    first = _upright()
    blank = Image.new("L", SIZE, 255)
    data = _saved(first, "TIFF", save_all=True, append_images=[blank, first])
    segments = ImageExtractor().extract(data, {})
    assert sorted(s["page_number"] for s in segments if s["kind"] == "page") == [1, 2, 3]
    _reads_upright(segments, 1)
    assert _lines(segments, 2) == []
    _reads_upright(segments, 3)


def _animation() -> bytes:
    colours = [Image.new("RGB", SIZE, (60 * n, 255 - 60 * n, 0)) for n in range(1, 4)]
    frames = [_upright().convert("RGB"), *colours]
    return _saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def test_an_animation_is_read_by_its_first_frame_unless_all_are_asked() -> None:
    data = _animation()
    read = list(image.pages(data))
    assert [n for n, _, _ in read] == [1]
    assert read[0][2]["frames"] == {"in_file": 4, "read": 1}
    assert [n for n, _, _ in image.pages(data, "all")] == [1, 2, 3, 4]
    with pytest.raises(InvalidInput, match="frames is one of"):
        list(image.pages(data, "every"))
    with pytest.raises(InvalidInput, match="param 'frames'"):
        ImageExtractor().check({"frames": "every"})


def test_every_frame_comes_out_8_bit_rgb() -> None:
    upright = _upright()
    for mode in ("1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "I", "F", "I;16"):
        converted = (
            upright.convert(mode)
            if mode != "I;16"
            else Image.fromarray(np.asarray(upright).astype(np.uint16) * 257)
        )
        fmt = "TIFF" if mode in {"CMYK", "I", "F", "I;16"} else "PNG"
        ((number, page, notes),) = list(image.pages(_saved(converted, fmt)))
        assert (number, page.mode, page.size) == (1, "RGB", SIZE), mode
        # the text stays dark on light whatever the stored levels
        gray = np.asarray(page.convert("L"))
        assert gray.min() < 64, (mode, gray.min())
        assert gray.max() > 192, (mode, gray.max())
        assert notes["mode"] == mode


def test_broken_images_are_refused_clearly() -> None:
    png = _saved(_upright(), "PNG")
    for data, message in (
        (b"", "cannot read the image: not a format Pillow can read"),
        (b"not an image at all", "cannot read the image: not a format Pillow can read"),
        (png[: len(png) // 2], "cannot read the image: "),
    ):
        with pytest.raises(InvalidInput) as caught:
            list(image.pages(data))
        assert str(caught.value).startswith(message), str(caught.value)


def test_a_broken_later_frame_names_its_frame() -> None:
    # three uncompressed frames, the file cut short inside the last one's pixels
    frames = [_upright(), _upright(), _upright()]
    data = _saved(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    opened = Image.open(io.BytesIO(data))
    opened.seek(2)
    (strip,) = opened.tag_v2[273]  # StripOffsets of frame 3
    read = image.pages(data[: strip + 10])
    assert next(read)[0] == 1
    assert next(read)[0] == 2
    with pytest.raises(InvalidInput, match="cannot read frame 3 of the image"):
        next(read)


def test_image_pages_render_upright_and_bounded() -> None:
    stored = _upright().transpose(Image.Transpose.ROTATE_90).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    ((number, png, width, height),) = list(
        render_image_pages(_saved(stored, "JPEG", exif=exif), None, set())
    )
    assert png is not None
    assert (number, width, height) == (1, *SIZE)
    assert Image.open(io.BytesIO(png)).size == SIZE
    tall = Image.new("L", (100, LONGEST_SIDE * 2), 255)
    ((_, png, width, height),) = list(render_image_pages(_saved(tall, "PNG"), {1}, set()))
    assert (width, height) == (50, LONGEST_SIDE)
    # pages rendered before come back without bytes; pages not asked for are not decoded
    tiff = _saved(_upright(), "TIFF", save_all=True, append_images=[_upright(), _upright()])
    out = [(n, png is None) for n, png, _, _ in render_image_pages(tiff, None, {2})]
    assert out == [(2, True), (1, False), (3, False)]
    assert [n for n, *_ in render_image_pages(tiff, {3}, set())] == [3]
