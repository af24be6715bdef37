"""Image documents (scans, screenshots, photos of pages) as pages the way a viewer shows them.

Read from real files (Pillow's own test images: 1,000 files, broken ones on purpose), an image
is not the friendly RGB picture OCR expects:
- a phone photo is stored sideways with an EXIF orientation that every viewer applies, so
  boxes measured on the stored pixels land in the wrong place on the picture people see, and
  OCR reads sideways text;
- a screenshot or an exported drawing with a transparent background keeps black in its
  transparent pixels: dropping the alpha leaves black text on black;
- a 16-bit scan keeps its grey levels above 255, which an 8-bit conversion clips to white;
- a multi-page TIFF is a document of pages, while an animated GIF or PNG is a picture that
  moves (one file here had 384 frames): its first frame is what a still viewer shows;
- a broken file fails with SyntaxError, ValueError or EOFError as often as with OSError, and
  only once a frame is decoded, which may be long after the file opened.

So every frame is made upright, flattened on white and scaled to 8 bits before anything reads
it, frames are decoded one at a time (a 1,000-page scan never sits in memory at once), and
any failure to decode becomes one ``InvalidInput`` naming the frame.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from typing import Any, BinaryIO

from docledger.errors import InvalidInput

#: The media types read as images (what ``sniff`` names them).
MEDIA_TYPES = ("image/png", "image/jpeg", "image/tiff", "image/webp", "image/bmp", "image/gif")
#: Formats whose frames are the pages of a document; other formats' frames are animation.
PAGED_FORMATS = frozenset({"TIFF", "DCX"})
#: ``frames`` param: "auto" reads every page of a paged format and the first frame of an
#: animation; "all" reads every frame; "first" only the first.
FRAME_MODES = ("auto", "all", "first")
#: What a decoder may raise on a broken or hostile file: Pillow's plugins use all of these
#: (an unsupported variant of a format is NotImplementedError), besides its refusal of a
#: decompression bomb, met on opening the file or only on decoding a frame.
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    KeyError,
    NotImplementedError,
    MemoryError,
)


def open_image(data: bytes | BinaryIO) -> Any:
    """The image, its header read (from bytes or a seekable file); ``InvalidInput`` when
    Pillow cannot read it."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        return Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
    except UnidentifiedImageError as exc:  # its text names an internal buffer object
        raise InvalidInput("cannot read the image: not a format Pillow can read") from exc
    except _refusals() as exc:
        raise InvalidInput(f"cannot read the image: {_reason(exc)}") from exc


def frame_count(image: Any, mode: str = "auto") -> int:
    """How many frames are read as pages under the ``frames`` mode."""
    total = int(getattr(image, "n_frames", 1) or 1)
    if mode == "all" or (mode == "auto" and image.format in PAGED_FORMATS):
        return total
    return 1


def page_count(data: bytes | BinaryIO) -> int | str:
    """Pages the image extractor will read (a TIFF's frames, else one), or why the image
    cannot be read: counted at ingest from the headers, no pixels decoded."""
    try:
        image = open_image(data)
        return frame_count(image)
    except InvalidInput as exc:
        return str(exc)
    except _refusals() as exc:
        return f"cannot read the image: {_reason(exc)}"


def pages(
    data: bytes, mode: str = "auto", only: set[int] | None = None, skip: set[int] | None = None
) -> Iterator[tuple[int, Any, dict[str, Any]]]:
    """(page number, upright 8-bit RGB image, what was done to read it) per frame read (of
    those in ``only`` when given, but not in ``skip``), one frame decoded at a time.
    Pillow's warnings about a file (an invalid animation, an odd palette) are kept in the
    notes instead of printed."""
    if mode not in FRAME_MODES:
        raise InvalidInput(f"frames is one of {', '.join(FRAME_MODES)}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = open_image(data)
        try:  # counting a TIFF's frames walks the file: a broken one fails here
            count = frame_count(image, mode)
            total = int(getattr(image, "n_frames", 1) or 1)
        except _refusals() as exc:
            raise InvalidInput(f"cannot read the image: {_reason(exc)}") from exc
    for number in range(1, count + 1):
        if (only is not None and number not in only) or (skip and number in skip):
            continue
        with warnings.catch_warnings(record=True) as more:
            warnings.simplefilter("always")
            try:
                image.seek(number - 1)
                page, notes = readable(image)
            except _refusals() as exc:
                where = f"frame {number} of the image" if total > 1 else "the image"
                raise InvalidInput(f"cannot read {where}: {_reason(exc)}") from exc
        said = sorted({str(w.message) for w in (*caught, *more)})
        caught = []
        if said:
            notes["warnings"] = said[:10]
        if number == 1 and total > count:
            notes["frames"] = {"in_file": total, "read": count}
        yield number, page, notes


def readable(frame: Any) -> tuple[Any, dict[str, Any]]:
    """The frame as people see it, in 8-bit RGB: EXIF orientation applied, transparency
    laid on white, 16-bit and float levels stretched to 0..255. Returns it and notes."""
    from PIL import Image, ImageOps  # noqa: PLC0415

    notes: dict[str, Any] = {"format": frame.format or "", "mode": frame.mode}
    frame.load()
    orientation = frame.getexif().get(0x0112, 1)
    if orientation not in (1, None):
        frame = ImageOps.exif_transpose(frame)
        notes["exif_orientation"] = int(orientation)
    if frame.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        frame = _stretched(frame)
    if "A" in frame.mode or "a" in frame.mode or "transparency" in frame.info:
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(white, rgba)
        notes["transparency"] = "on white"
    rgb = frame.convert("RGB")
    return rgb, notes


def _stretched(frame: Any) -> Any:
    """A 16-bit, 32-bit or float grey image as 8 bits, its darkest level 0 and its lightest
    255 (scanners write 12 bits in 16; converting clipped everything above 255 to white)."""
    import numpy as np  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    levels = np.asarray(frame, dtype=np.float64)
    finite = levels[np.isfinite(levels)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    scaled = np.zeros(levels.shape) if high <= low else (levels - low) * (255.0 / (high - low))
    return Image.fromarray(np.nan_to_num(scaled).clip(0, 255).astype(np.uint8), mode="L")


def _refusals() -> tuple[type[BaseException], ...]:
    from PIL import Image  # noqa: PLC0415

    return (*DECODE_ERRORS, Image.DecompressionBombError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "too large to decode in memory"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
