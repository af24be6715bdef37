"""Jupyter notebooks (``.ipynb``): the notebook as its reader sees it, cell after cell.

Read as JSON, a notebook gave a record per top-level key (its cells all in one, as escaped
JSON strings). Here it is written out as the Markdown document a notebook is: Markdown
cells as they are, each code cell fenced with the kernel's language, its text outputs
(streams, plain-text results, errors' names and messages, not their tracebacks' terminal
colours) fenced after it, raw cells as text; then sectioned at the Markdown headings, as the
``text`` extractor sections Markdown (a ``#`` in code or in an output is no heading: it is
fenced), with sentence-aware chunks. Images and widget state are not text. Both notebook
formats in use are read: 4 (``cells``) and 3 (``worksheets`` of cells, heading cells).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors.encoding import decode
from docledger.extractors.markdown import headings
from docledger.extractors.text import TextExtractor, sectioned
from docledger.schemas.extraction import SegmentIn

MEDIA_TYPE = "application/x-ipynb+json"
#: Characters kept of one output (a printed data frame can be megabytes).
MOST_OUTPUT = 20_000
_TICKS = re.compile(r"`{3,}")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _text(value: Any, joint: str = "") -> str:
    """A notebook string: one string, or a list of lines (which keep their line ends since
    format 3; format 2 stored them without, to be joined by ``joint``); without NULs, which
    JSON can escape and no column holds."""
    if isinstance(value, list):
        value = joint.join(v for v in value if isinstance(v, str))
    return value.replace("\x00", "") if isinstance(value, str) else ""


def _fenced(body: str, info: str) -> str:
    """A fenced code block that the body's own backticks cannot close."""
    longest = max((len(m) for m in _TICKS.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body.rstrip()}\n{fence}"


def _outputs(cell: Mapping[str, Any], joint: str) -> list[str]:
    """A code cell's outputs as text: streams, plain-text results, errors."""
    out = []
    for output in cell.get("outputs") or []:
        if not isinstance(output, Mapping):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            text = _text(output.get("text"), joint)
        elif kind in {"execute_result", "display_data", "pyout", "display"}:
            data = output.get("data")
            text = _text(data.get("text/plain"), joint) if isinstance(data, Mapping) else ""
            text = text or _text(output.get("text"), joint)  # format 3 kept it beside the data
        elif kind in {"error", "pyerr"}:
            text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
        else:
            text = ""
        text = _ANSI.sub("", text).strip()
        if text:
            out.append(text[:MOST_OUTPUT])
    return out


def _cells(notebook: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The cells, in order, of either format."""
    if isinstance(notebook.get("cells"), list):
        cells = notebook["cells"]
    elif isinstance(notebook.get("worksheets"), list):
        cells = [
            c
            for sheet in notebook["worksheets"]
            if isinstance(sheet, Mapping)
            for c in sheet.get("cells") or []
        ]
    elif "nbformat" in notebook:
        cells = []  # a notebook with nothing in it
    else:
        raise InvalidInput("not a Jupyter notebook: it has no cells, worksheets or nbformat")
    return [c for c in cells if isinstance(c, Mapping)]


def _language(notebook: Mapping[str, Any]) -> str:
    meta = notebook.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    for holder, key in (("kernelspec", "language"), ("language_info", "name")):
        found = meta.get(holder)
        if isinstance(found, Mapping) and isinstance(found.get(key), str):
            return "".join(c for c in found[key] if c.isalnum() or c in "+-#_")[:40]
    return ""


def markdown_of(notebook: Mapping[str, Any]) -> tuple[str, str]:
    """(the notebook as one Markdown document, its kernel's language)."""
    language = _language(notebook)
    version = notebook.get("nbformat")
    joint = "\n" if isinstance(version, int) and version < 3 else ""
    parts = []
    for cell in _cells(notebook):
        kind = cell.get("cell_type")
        source = _text(cell.get("source", cell.get("input")), joint)
        if kind == "code":
            if source.strip():
                parts.append(_fenced(source, cell.get("language") or language))
            parts.extend(_fenced(text, "text") for text in _outputs(cell, joint))
        elif kind == "heading":  # format 3
            level = cell.get("level")
            level = level if isinstance(level, int) and 1 <= level <= 6 else 1
            parts.append("#" * level + " " + " ".join(source.split()))
        elif source.strip():  # markdown, raw
            parts.append(source.strip("\n"))
    return "\n\n".join(parts) + "\n", language


class NotebookExtractor(TextExtractor):
    """Jupyter notebooks (``.ipynb``): Markdown cells, code and its text outputs in order,
    a ``section`` per Markdown heading and ``chunk``s (see ``docledger.extractors.notebook``)."""

    name: str = "notebook"
    version: str = "1"
    media_types: tuple[str, ...] = (MEDIA_TYPE,)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)
        try:
            notebook = json.loads(decode(data)[0])
        except (ValueError, RecursionError) as exc:
            raise InvalidInput(
                f"not a Jupyter notebook: not valid JSON ({str(exc)[:200]})"
            ) from exc
        if not isinstance(notebook, Mapping):
            raise InvalidInput("not a Jupyter notebook: its JSON is not an object")
        text, language = markdown_of(notebook)
        noted = {"language": language} if language else {}
        return sectioned(text, headings(text), values["chunk_size"], values["chunk_overlap"],
                         noted)  # fmt: skip
