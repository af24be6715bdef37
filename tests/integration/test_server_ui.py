"""The web UI's pages over HTTP on both dialects (the browser tests are in
tests/acceptance/test_ui.py): login with its token, an image document shown as its own page
with its pixel boxes, forms refused without the session's token, user text escaped."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from docledger.db.session import session_scope
from docledger.repositories.export import ExportRepository
from docledger.schemas.extraction import SegmentIn
from docledger.services.exports import RUNNABLE
from tests.integration.server_api import Api, serve


def _log_in(api: Api, who: str = "editor") -> None:
    form = api.client.get("/ui/login")
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert token is not None
    done = api.client.post(
        "/ui/login", data={"key": api.keys[who], "token": token.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303, done.text


def test_login_needs_the_forms_token(db_url: str, blob_root: Path) -> None:
    with serve(db_url, blob_root) as api:
        assert api.client.get("/ui/", follow_redirects=False).headers["location"] == "/ui/login"
        forged = api.client.post(
            "/ui/login", data={"key": api.keys["editor"], "token": "x"}, follow_redirects=False
        )
        assert forged.status_code == 403
        assert "docledger_session" not in forged.cookies
        _log_in(api)
        assert api.client.get("/ui/").status_code == 200


def test_an_image_document_is_its_own_page_with_pixel_boxes(db_url: str, blob_root: Path) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (640, 200), "white").save(picture, format="PNG")
    with serve(db_url, blob_root) as api:
        added = api.ledger.documents.create(
            picture.getvalue(), external_key="scan.png", workspace="a"
        )
        api.ledger.extractions.record(
            added.version_id, "ocr", "1", {},
            [
                SegmentIn(kind="page", page_number=1, text="",
                          bbox={"x0": 0, "y0": 0, "x1": 640, "y1": 200, "unit": "px"}),
                SegmentIn(kind="line", page_number=1, text="<b>Fire</b> door D9", confidence=0.4,
                          bbox={"x0": 40, "y0": 30, "x1": 300, "y1": 60, "unit": "px"}),
            ],
        )  # fmt: skip
        _log_in(api)
        page = api.client.get(f"/ui/documents/{added.document_id}")
        assert page.status_code == 200
        assert 'class="sheet" style="width: 640px' in page.text
        assert '<rect class="seg kind-line"' in page.text
        assert "\\u003cb\\u003eFire" in page.text  # escaped in the cards the script reads
        assert "<b>Fire</b>" not in page.text
        image = api.client.get(f"/ui/documents/{added.document_id}/pages/1.png")
        assert image.status_code == 200
        shown = Image.open(io.BytesIO(image.content))
        assert (shown.format, shown.size) == ("PNG", (640, 200))
        assert shown.convert("RGB").tobytes() == Image.open(picture).convert("RGB").tobytes()
        assert api.client.get(f"/ui/documents/{added.document_id}/pages/2.png").status_code == 422


def test_a_document_read_as_text_lists_its_sections_and_records(
    db_url: str, blob_root: Path
) -> None:
    """A spreadsheet's records and a report's sections have no boxes: the viewer lists them
    (user text escaped), and says "extract first" only while there is nothing to show."""
    with serve(db_url, blob_root) as api:
        table = api.ledger.documents.create(
            b"zone,state\nC2,<script>alert(1)</script>\nC3,dry\n", external_key="z.csv",
            filename="z.csv",
            workspace="a",
        )  # fmt: skip
        _log_in(api)
        before = api.client.get(f"/ui/documents/{table.document_id}")
        assert "extract the document first" in before.text
        api.ledger.extractions.run([table.document_id], workspace="a")
        page = api.client.get(f"/ui/documents/{table.document_id}")
        assert page.status_code == 200
        assert "extract the document first" not in page.text
        assert page.text.count('<li class="passage kind-record">') == 2
        assert "row 3" in page.text
        assert "state: dry" in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "<script>alert(1)</script>" not in page.text
        segment = re.search(r'href="/ui/segments/([0-9a-f-]+)"', page.text)
        assert segment is not None
        assert api.client.get(f"/ui/segments/{segment.group(1)}").status_code == 200


PLAN = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300"><script>alert(1)</script>'
    b'<g transform="translate(50 40)"><text x="10" y="20" font-size="12">Shaft S-3</text></g>'
    b"</svg>"
)


def test_an_svg_drawing_is_its_own_page_served_so_nothing_in_it_runs(
    db_url: str, blob_root: Path
) -> None:
    with serve(db_url, blob_root) as api:
        plan = api.ledger.documents.create(PLAN, external_key="plan.svg", workspace="a")
        api.ledger.extractions.run([plan.document_id], workspace="a")
        _log_in(api)
        page = api.client.get(f"/ui/documents/{plan.document_id}")
        assert f'<img src="/ui/documents/{plan.document_id}/drawing.svg"' in page.text
        assert "aspect-ratio: 400.0 / 300.0" in page.text
        assert '<rect class="seg kind-line"' in page.text
        drawing = api.client.get(f"/ui/documents/{plan.document_id}/drawing.svg")
        assert drawing.status_code == 200
        assert drawing.content == PLAN
        assert drawing.headers["content-type"].startswith("image/svg+xml")
        assert "default-src 'none'" in drawing.headers["content-security-policy"]
        assert drawing.headers["x-content-type-options"] == "nosniff"
        other = api.ledger.documents.create(b"a note", external_key="n.txt", workspace="a")
        refused = api.client.get(f"/ui/documents/{other.document_id}/drawing.svg")
        assert refused.status_code == 404


def _text_picture(lines: list[str]) -> Image.Image:
    font = ImageFont.load_default(size=28)
    picture = Image.new("L", (700, 80 * len(lines)), 255)
    draw = ImageDraw.Draw(picture)
    for n, text in enumerate(lines):
        draw.text((30, 20 + 80 * n), text, font=font, fill=0)
    return picture


def test_a_sideways_photo_and_a_tiff_show_their_boxes_on_their_ink(
    db_url: str, blob_root: Path
) -> None:
    """A photo stored sideways (EXIF orientation 6) and a two-page TIFF, which no browser
    shows: the viewer's page images are the upright pages the OCR measured, so every line's
    box lies on dark pixels of the picture served, on every page."""
    sideways, tiff = io.BytesIO(), io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    upright = _text_picture(["Fire door D7 fails the test"])
    upright.transpose(Image.Transpose.ROTATE_90).save(sideways, format="JPEG", exif=exif)
    second = _text_picture(["Water damage in room N-104", "Grid lines moved east"])
    upright.save(tiff, format="TIFF", save_all=True, append_images=[second])
    with serve(db_url, blob_root) as api:
        photo = api.ledger.documents.create(sideways.getvalue(), external_key="photo.jpg",
                                            workspace="a")  # fmt: skip
        scan = api.ledger.documents.create(tiff.getvalue(), external_key="scan.tif", workspace="a")
        done = api.ledger.extractions.run([photo.document_id, scan.document_id], workspace="a")
        assert all(r.error is None for r in done), done
        _log_in(api)
        checked = 0
        for added, pages in ((photo, 1), (scan, 2)):
            segments = api.ledger.segments.of_version(added.version_id, workspace="a")
            for number in range(1, pages + 1):
                served = api.client.get(f"/ui/documents/{added.document_id}/pages/{number}.png")
                assert served.status_code == 200
                shown = np.asarray(Image.open(io.BytesIO(served.content)).convert("L"))
                (page,) = [s for s in segments if s.kind == "page" and s.page_number == number]
                assert (shown.shape[1], shown.shape[0]) == (page.bbox["x1"], page.bbox["y1"])
                lines = [s for s in segments if s.kind == "line" and s.page_number == number]
                assert lines, (added.document_id, number)
                for line in lines:
                    box = line.bbox
                    inside = shown[int(box["y0"]) : int(box["y1"]), int(box["x0"]) : int(box["x1"])]
                    assert inside.size > 0, (line.text, box)
                    assert inside.min() < 64, (line.text, box)
                    checked += 1
        assert checked == 4


def test_forms_without_the_sessions_token_change_nothing(db_url: str, blob_root: Path) -> None:
    with serve(db_url, blob_root) as api:
        added = api.ledger.documents.create(
            b"Valve V7 closed.", external_key="n.txt", workspace="a"
        )
        api.ledger.extractions.run([added.document_id], workspace="a")
        (segment, *_) = api.ledger.segments.of_version(added.version_id, workspace="a")
        _log_in(api)
        refused: Any = api.client.post(
            f"/ui/segments/{segment.id}/annotate", data={"kind": "label", "text": "x", "csrf": "no"}
        )
        assert refused.status_code == 403
        assert api.ledger.annotations.list(workspace="a").items == []
        page = api.client.get(f"/ui/segments/{segment.id}")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None
        made = api.client.post(
            f"/ui/segments/{segment.id}/annotate",
            data={"kind": "label", "text": "valve", "csrf": token.group(1)},
            follow_redirects=False,
        )
        assert made.status_code == 303
        (note,) = api.ledger.annotations.list(workspace="a").items
        assert note.value == {"label": "valve"}
        assert note.workspace_id == api.ledger.workspaces.get("a").id


def test_an_export_left_running_is_taken_over_from_the_exports_page(
    db_url: str, blob_root: Path
) -> None:
    with serve(db_url, blob_root) as api:
        added = api.ledger.documents.create(b"Pump P1.", external_key="p.txt", workspace="a")
        api.ledger.extractions.run([added.document_id], workspace="a")
        stuck = api.ledger.exports.create({}, ["jsonl"], workspace="a", background=True)
        with session_scope(api.ledger.engine) as s:  # its worker started it and died
            ExportRepository(s)._start(stuck.id, "start", None, RUNNABLE["start"])
        _log_in(api, "viewer")
        assert "Take over" not in api.client.get("/ui/datasets").text
        api.client.cookies.clear()
        _log_in(api)
        page = api.client.get("/ui/datasets")
        assert f'action="/ui/exports/{stuck.id}/resume"' in page.text
        assert "Take over" in page.text
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None
        forged = api.client.post(
            f"/ui/exports/{stuck.id}/resume", data={"csrf": "no", "force": "true"}
        )
        assert forged.status_code == 403
        assert api.ledger.exports.get(stuck.id).status == "running"
        done = api.client.post(
            f"/ui/exports/{stuck.id}/resume",
            data={"csrf": token.group(1), "force": "true"},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert api.ledger.exports.get(stuck.id).status == "succeeded"
        assert "Take over" not in api.client.get("/ui/datasets").text
