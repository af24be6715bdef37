"""Filled-in PDF forms: each field's value where it sits on the page.

A form's answers (the name typed into "First Name", the ticked box) are not in the page's
content: each is drawn by its widget annotation, which text extraction never reads, so an
extracted claim form held its questions and none of its answers. PDFium's form API reads
them: per widget, the field's full name, type and value, and the widget's rectangle, placed on
the shown page as characters are (``PageFrame``). A text, combo or list field with a value is
a ``zone`` segment (label: the field's name, text: the value); a ticked check box or chosen
radio button is one whose text is its export value ("Yes", "female"); empty fields and
unticked boxes are left out (they are the questions, which the layout already holds).
"""

from __future__ import annotations

import ctypes
import logging
import warnings
from collections.abc import Callable
from typing import Any

#: Field types PDFium reports (``FPDF_FORMFIELD_*``), by the name metadata gives them.
_TYPES = {
    "FPDF_FORMFIELD_TEXTFIELD": "text",
    "FPDF_FORMFIELD_COMBOBOX": "combo",
    "FPDF_FORMFIELD_LISTBOX": "list",
    "FPDF_FORMFIELD_CHECKBOX": "checkbox",
    "FPDF_FORMFIELD_RADIOBUTTON": "radio",
}
#: The longest value kept (a text field may hold a whole letter; a page segment holds more).
MOST_CHARS = 100_000


class _NoXfaNotice(logging.Filter):
    """An XFA form in a PDFium built without XFA still has its AcroForm fields, which is
    what is read: pypdfium2's advice to rebuild PDFium is not a docledger user's concern
    (it was printed once per such file of a batch)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "compiled without XFA support" not in record.getMessage()


logging.getLogger("pypdfium2._helpers.document").addFilter(_NoXfaNotice())


def enable(document: Any) -> Any:
    """The document's form handle (None when it has no form, or PDFium cannot set one up)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            document.init_forms()
        except Exception:  # no form environment means no answers to read, not a failure
            return None
    env = getattr(document, "formenv", None)
    return None if env is None else env.raw


def _text(call: Callable[..., int], handle: Any, annot: Any) -> str:
    """A UTF-16 string PDFium writes into a buffer it sizes first."""
    size = int(call(handle, annot, None, 0))
    if size <= 2:
        return ""
    buffer = ctypes.create_string_buffer(size)
    from pypdfium2 import raw  # noqa: PLC0415 - only PDF forms pay for it

    call(handle, annot, ctypes.cast(buffer, ctypes.POINTER(raw.FPDF_WCHAR)), size)
    return buffer.raw[:size].decode("utf-16-le", errors="replace").rstrip("\x00")


def fields(handle: Any, page: Any, frame: Any) -> list[dict[str, Any]]:
    """The page's answered fields: name, type, value and box (on the shown page, in pt)."""
    if handle is None:
        return []
    import numpy as np  # noqa: PLC0415
    from pypdfium2 import raw  # noqa: PLC0415

    kinds = {getattr(raw, name): kind for name, kind in _TYPES.items() if hasattr(raw, name)}
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for index in range(int(raw.FPDFPage_GetAnnotCount(page.raw))):
        annot = raw.FPDFPage_GetAnnot(page.raw, index)
        if not annot:
            continue
        try:
            if raw.FPDFAnnot_GetSubtype(annot) != raw.FPDF_ANNOT_WIDGET:
                continue
            kind = kinds.get(int(raw.FPDFAnnot_GetFormFieldType(handle, annot)))
            if kind is None:
                continue  # push buttons and signatures hold no answer
            name = _text(raw.FPDFAnnot_GetFormFieldName, handle, annot)
            value = _text(raw.FPDFAnnot_GetFormFieldValue, handle, annot).strip()
            if kind in {"checkbox", "radio"}:
                if not raw.FPDFAnnot_IsChecked(handle, annot):
                    continue
                value = value if value and value != "Off" else "checked"
            if not value or ((name, value) in seen and kind == "radio"):
                continue
            seen.add((name, value))
            rect = raw.FS_RECTF()
            if not raw.FPDFAnnot_GetRect(annot, ctypes.byref(rect)):
                continue
            box = np.array([[min(rect.left, rect.right), min(rect.bottom, rect.top),
                             max(rect.left, rect.right), max(rect.bottom, rect.top)]])  # fmt: skip
            x0, y0, x1, y1, inside = frame.place(box)
            if not inside[0]:
                continue  # a widget off the shown page (cropped away)
            out.append({
                "name": name, "kind": kind, "value": value[:MOST_CHARS],
                "box": (float(x0[0]), float(y0[0]), float(x1[0]), float(y1[0])),
            })  # fmt: skip
        finally:
            raw.FPDFPage_CloseAnnot(annot)
    return out


def segments(found: list[dict[str, Any]], number: int, parent: int) -> list[dict[str, Any]]:
    """The fields as ``zone`` segments of their page."""
    return [
        {
            "kind": "zone",
            "page_number": number,
            "label": field["name"][:200] or None,
            "text": field["value"],
            "bbox": {
                "x0": round(field["box"][0], 3),
                "y0": round(field["box"][1], 3),
                "x1": round(field["box"][2], 3),
                "y1": round(field["box"][3], 3),
                "unit": "pt",
            },
            "parent": parent,
            "metadata": {"form_field": {"name": field["name"], "type": field["kind"]}},
        }
        for field in found
    ]
