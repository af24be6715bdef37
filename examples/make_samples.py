"""Write the sample files in examples/data/ (a PDF, two PNGs, a scan among them, Markdown and
JSON).

Every byte is produced here, so the samples carry no third-party content. Run it again to
regenerate them; the output is deterministic.
"""

from __future__ import annotations

import io
import json
import random
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).parent / "data"

PAGES = [
    ["Invoice 2026-0042", "Acme Drawings Ltd", "Total due: 1,250.00 EUR", "Payment within 30 days"],
    ["Site plan revision B", "Grid lines A-F moved 300 mm east", "Door D12 now opens outward"],
]


def pdf(pages: list[list[str]]) -> bytes:
    """A minimal, valid PDF 1.4 with one text line per entry, Helvetica, A4 pages."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font_ref = 3 + 2 * len(pages)
    for index, lines in enumerate(pages):
        content_ref = 4 + 2 * index
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_ref} 0 R "
            f"/Resources << /Font << /F1 {font_ref} 0 R >> >> >>".encode()
        )
        ops = ["BT", "/F1 14 Tf", "72 770 Td", "18 TL"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode()
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def png(width: int, height: int) -> bytes:
    """An RGB gradient PNG (a stand-in for a scanned page thumbnail)."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            rows += bytes((x * 255 // (width - 1), y * 255 // (height - 1), 128))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


SCAN_LINES = [
    "SITE VISIT 14 NOVEMBER - EAST STAIRWELL",
    "Fire door D9 does not close on its own.",
    "Closer arm loose; replace before the next visit.",
    "Inspector: R. Okafor",
]


def scan() -> bytes:
    """A scanned note: text drawn into a grey, slightly noisy image with no text layer (what
    OCR is for). Uses Pillow's bundled font, so the output is the same on every machine."""
    rng = random.Random(7)  # noqa: S311 - reproducible grain, not a secret
    image = Image.new("L", (900, 300), 236)
    pixels = image.load()
    assert pixels is not None
    for _ in range(4000):  # paper grain
        pixels[rng.randrange(900), rng.randrange(300)] = rng.randrange(200, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=30)
    for n, line in enumerate(SCAN_LINES):
        draw.text((40, 30 + 62 * n), line, fill=25, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


MARKDOWN = """# Field notes: north wing inspection

## Summary
The inspection of the north wing found water damage near the east stairwell
and two fire doors that do not close on their own.

## Findings
- Water damage on the ceiling of room N-104, about 2 square metres.
- Fire door D7 and fire door D9 fail the self-closing test.
- Emergency lighting works on every floor.

## Next steps
Replace the ceiling panels in N-104 and adjust the door closers before the
follow-up visit.
"""

RECORDS = [
    {"id": "F-001", "title": "Export invoices as CSV", "status": "candidate", "confidence": 0.82},
    {
        "id": "F-002",
        "title": "Flag drawings whose grid lines moved",
        "status": "confirmed",
        "confidence": 0.91,
    },
    {
        "id": "F-003",
        "title": "Route low-confidence OCR zones to review",
        "status": "candidate",
        "confidence": 0.64,
    },
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "invoice-and-plan.pdf").write_bytes(pdf(PAGES))
    (OUT / "thumbnail.png").write_bytes(png(64, 48))
    (OUT / "scan.png").write_bytes(scan())
    (OUT / "notes").mkdir(exist_ok=True)
    (OUT / "notes" / "inspection.md").write_text(MARKDOWN)
    (OUT / "features.json").write_text(json.dumps(RECORDS, indent=2) + "\n")


if __name__ == "__main__":
    main()
