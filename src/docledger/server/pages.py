"""What the UI's pages share: the templates (autoescaped), rendering with the session's CSRF
token, and a version's segments laid out per page for drawing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from docledger.schemas.extraction import Segment
from docledger.server.auth import Caller
from docledger.server.session import session_token

HERE = Path(__file__).parent
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"], default=True),
)
#: drawn on the page unless asked for: pages are the frame, words and chunks repeat lines
HIDDEN_KINDS = {"page", "word", "chunk"}
DPI = 96


def sheet_width(size: tuple[float, float], unit: str) -> int:
    """The page's width on screen in CSS pixels: points at the UI's dpi, pixels as they are,
    relative units (fraction, percent) at a fixed width."""
    if unit == "pt":
        return round(size[0] * DPI / 72)
    if unit == "px":
        return round(size[0])
    return 800


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    who: Caller | None = values.get("who")
    html = templates.get_template(name).render(
        request=request, csrf=session_token(request) if who else "", **values
    )
    return HTMLResponse(html, status_code=status)


def page_layout(segments: list[Segment]) -> list[dict[str, Any]]:
    """Per page: its size in the boxes' unit (from the page segment, else the boxes' extent)
    and the boxes to draw, largest first so smaller ones lie on top and take the clicks."""
    pages: dict[int, dict[str, Any]] = {}
    for s in segments:
        if s.page_number is None or not s.bbox:
            continue
        page = pages.setdefault(
            s.page_number, {"number": s.page_number, "size": None, "boxes": [], "unit": "pt"}
        )
        box = s.bbox
        page["unit"] = box.get("unit", "pt")
        if s.kind == "page":
            page["size"] = (box["x1"] - box["x0"], box["y1"] - box["y0"])
        elif s.kind not in HIDDEN_KINDS:
            page["boxes"].append(s)
    for page in pages.values():
        if page["size"] is None:
            boxes = page["boxes"]
            page["size"] = (
                max((b.bbox["x1"] for b in boxes), default=1),
                max((b.bbox["y1"] for b in boxes), default=1),
            )
        page["boxes"].sort(
            key=lambda b: (b.bbox["x1"] - b.bbox["x0"]) * (b.bbox["y1"] - b.bbox["y0"]),
            reverse=True,
        )
    return [pages[n] for n in sorted(pages)]
