"""Filled-in PDF forms: the answers, which live in widget annotations and never in the page's
text, come out as zones where they sit. A form written here with reportlab (text fields, a
ticked and an unticked check box, a chosen radio button, a rotated page); then the filled forms
among other projects' test PDFs, whose answers the layout alone did not hold."""

from __future__ import annotations

import io

import numpy as np
import pypdfium2 as pdfium
from PIL import Image
from reportlab.lib.colors import black, white
from reportlab.pdfgen import canvas

from docledger.extractors import PdfExtractor
from docledger.extractors.pdf_forms import enable
from docledger.extractors.render import render_pages
from tests.corpus import fetched, real_pdfs


def _form(rotate: int = 0) -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(612, 792))
    if rotate:  # reportlab swaps a rotated page's size: this keeps the sheet 612 x 792
        pdf.setPageSize((792, 612))
        pdf.setPageRotation(rotate)
    pdf.drawString(40, 725, "Name:")
    form = pdf.acroForm
    form.textfield(name="claimant", value="Alice Souza", x=100, y=720, width=200, height=20,
                   borderColor=black, fillColor=white)  # fmt: skip
    form.textfield(name="policy", value="", x=100, y=690, width=200, height=20)
    form.checkbox(name="agree", checked=True, x=100, y=650, size=12)
    form.checkbox(name="newsletter", checked=False, x=100, y=630, size=12)
    form.radio(name="channel", value="mail", selected=False, x=100, y=600, size=12)
    form.radio(name="channel", value="phone", selected=True, x=130, y=600, size=12)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _zones(data: bytes) -> dict[str, dict[str, object]]:
    segments = PdfExtractor().extract(data, {"ocr": "never"})
    return {str(s["label"]): s for s in segments if s["kind"] == "zone"}


def test_a_filled_form_gives_its_answers_where_they_sit() -> None:
    data = _form()
    page = next(s for s in PdfExtractor().extract(data, {"ocr": "never"}) if s["kind"] == "page")
    assert "Alice Souza" not in page["text"]  # the layout never held the answer
    zones = _zones(data)
    assert set(zones) == {"claimant", "agree", "channel"}  # empty and unticked left out
    claimant = zones["claimant"]
    assert claimant["text"] == "Alice Souza"
    # top-left origin: y = 792 - 740 .. 792 - 720
    assert claimant["bbox"] == {"x0": 100, "y0": 52, "x1": 300, "y1": 72, "unit": "pt"}
    assert claimant["metadata"] == {"form_field": {"name": "claimant", "type": "text"}}
    assert zones["agree"]["text"] == "Yes"
    assert zones["channel"]["text"] == "phone"
    assert zones["channel"]["metadata"]["form_field"]["type"] == "radio"  # type: ignore[index]
    assert PdfExtractor().version == "4"


def test_page_images_draw_the_answers() -> None:
    """The viewer's page image shows what the zones say (the answer inside its box)."""
    ((_, png, _, _),) = list(render_pages(_form(), 72, None, set()))
    inside = Image.open(io.BytesIO(png or b"")).convert("L").crop((104, 56, 296, 68))
    assert int(np.asarray(inside).min()) < 100  # the typed name's ink, not the border


def test_a_rotated_form_page_places_the_answer_on_the_shown_page() -> None:
    data = _form(rotate=90)
    zones = _zones(data)
    # turned 90 degrees clockwise the page is shown 792 wide: the field at x 100..300,
    # y 720..740 of the sheet (near its top) lands near the right edge, x 720..740, y 100..300
    box = zones["claimant"]["bbox"]
    assert box == {"x0": 720, "y0": 100, "x1": 740, "y1": 300, "unit": "pt"}
    # and beside its question, placed by the same frame as the page's text
    segments = PdfExtractor().extract(data, {"ocr": "never"})
    (label,) = [s for s in segments if s["kind"] == "line" and s["text"] == "Name:"]
    assert 715 <= label["bbox"]["x0"] <= 745
    assert label["bbox"]["y1"] < 100


def test_the_filled_forms_among_real_pdfs() -> None:
    corpus = fetched(real_pdfs, "real-PDF")
    by_name = {path.name.split("__")[-1]: path for path in corpus}
    expected = {
        "libreoffice-form.pdf": {"First Name": "Alice", "First Name_2": "Bob"},
        "form_acrobatReader.pdf": {"foo": "Bar"},
        "form_evince.pdf": {"foo": "bar"},
    }
    for name, answers in expected.items():
        zones = _zones(by_name[name].read_bytes())
        assert {label: z["text"] for label, z in zones.items()} == answers, name
        for zone in zones.values():
            box = zone["bbox"]
            assert 0 <= box["x0"] < box["x1"], name  # type: ignore[index]
            assert 0 <= box["y0"] < box["y1"], name  # type: ignore[index]


def test_a_document_without_a_form_has_no_form_handle() -> None:
    out = io.BytesIO()
    plain = canvas.Canvas(out)
    plain.drawString(72, 720, "no form here")
    plain.save()
    document = pdfium.PdfDocument(out.getvalue())
    try:
        assert enable(document) is None  # no AcroForm: no form environment, no fields read
    finally:
        document.close()
    segments = PdfExtractor().extract(out.getvalue(), {"ocr": "never"})
    assert not [s for s in segments if s["kind"] == "zone"]
    assert [s["text"] for s in segments if s["kind"] == "line"] == ["no form here"]
