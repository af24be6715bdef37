"""Jupyter notebooks read as their reader sees them, checked on nbformat's and nbconvert's
test notebooks (formats 2 to 4.5) against the cells as the format's JSON gives them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from docledger.errors import InvalidInput
from docledger.extractors import JsonExtractor, NotebookExtractor, for_media_type
from docledger.services.media import sniff
from tests.corpus import fetched, real_notebooks

WORD = re.compile(r"\w+")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FENCE = re.compile(r"^`{3,}[^\n`]*$", re.M)


def _joined(value: Any, joint: str) -> str:
    return joint.join(value) if isinstance(value, list) else (value or "")


def _truth(notebook: dict[str, Any]) -> list[str]:
    """The words of each cell's source and text outputs, in order, read from the JSON by the
    format's rules (format 3 and earlier: worksheets of cells, code in ``input``)."""
    joint = "\n" if notebook.get("nbformat", 4) < 3 else ""
    cells = notebook.get("cells")
    if cells is None:
        cells = [c for ws in notebook.get("worksheets", []) for c in ws.get("cells", [])]
    words: list[str] = []
    for cell in cells:
        # (a fence line in a Markdown cell is left out here as in the text read)
        words += WORD.findall(FENCE.sub(" ", _joined(cell.get("source", cell.get("input")), joint)))
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                text = _joined(output.get("text"), joint)
            elif kind in {"execute_result", "display_data", "pyout", "display"}:
                text = _joined(output.get("data", {}).get("text/plain"), joint)
                text = text or _joined(output.get("text"), joint)
            elif kind in {"error", "pyerr"}:
                text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
            else:
                text = ""
            words += WORD.findall(FENCE.sub(" ", ANSI.sub("", text)))
    return words


def test_every_real_notebook_reads_cell_after_cell() -> None:
    """Each notebook is typed by name and by content, and its sections hold every word of
    its cells and text outputs in order (the code fenced with its language, so a ``#``
    comment is no heading), and none besides."""
    files = fetched(real_notebooks, "notebook")
    assert len(files) >= 40
    read = 0
    for path in files:
        data = path.read_bytes()
        assert sniff(data, path.name) == "application/x-ipynb+json", path.name
        notebook = json.loads(data)
        extractor = for_media_type(sniff(data, path.name))
        assert isinstance(extractor, NotebookExtractor)
        segments = extractor.extract(data, {})
        text = "\n".join(s.text or "" for s in segments if s.kind == "section")
        ours = WORD.findall(FENCE.sub(" ", text))  # the fences and their language names
        want = _truth(notebook)
        assert ours == want, path.name
        for segment in segments:
            if segment.kind == "section" and segment.label:
                assert segment.label in text
        read += bool(want)
    assert read >= 35


def test_code_comments_and_outputs_are_no_headings() -> None:
    notebook = {
        "nbformat": 4,
        "metadata": {"kernelspec": {"language": "python"}},
        "cells": [
            {"cell_type": "markdown", "source": ["# Survey\n", "\n", "Crack widths."]},
            {
                "cell_type": "code",
                "source": "# not a heading\nx = '```'\nprint(x)",
                "outputs": [
                    {"output_type": "stream", "text": ["# printed\n"]},
                    {
                        "output_type": "error",
                        "ename": "KeyError",
                        "evalue": "'C4'",
                        "traceback": ["\x1b[31mKeyError\x1b[0m"],
                    },
                ],
            },
            {"cell_type": "markdown", "source": "## Results"},
            {"cell_type": "raw", "source": "raw text"},
        ],
    }
    data = json.dumps(notebook).encode()
    assert sniff(data, None) == "application/x-ipynb+json"
    segments = NotebookExtractor().extract(data, {})
    sections = [s for s in segments if s.kind == "section"]
    assert [s.label for s in sections] == ["Survey", "Results"]
    assert "````python\n# not a heading\nx = '```'\nprint(x)\n````" in (sections[0].text or "")
    assert "```text\n# printed\n```" in (sections[0].text or "")
    assert "KeyError: 'C4'" in (sections[0].text or "")
    assert "\x1b" not in (sections[0].text or "")
    assert sections[0].metadata["language"] == "python"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"cells_": []}', "no cells, worksheets or nbformat"),
    ],
)
def test_what_is_no_notebook_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        NotebookExtractor().extract(data, {})


def test_plain_json_stays_json(tmp_path: Path) -> None:
    data = b'{"cells": "a spreadsheet export", "rows": 3}'
    assert sniff(data, "export.json") == "application/json"
    assert isinstance(for_media_type(sniff(data, None)), JsonExtractor)


def test_nuls_json_escapes_are_dropped_not_a_failure() -> None:
    notebook = {"nbformat": 4, "cells": [
        {"cell_type": "markdown", "source": "# Ti\u0000tle\n\nbo\u0000dy"},
        {"cell_type": "code", "source": "x = 1",
         "outputs": [{"output_type": "stream", "text": "a\u0000b"}]},
    ]}  # fmt: skip
    segments = NotebookExtractor().extract(json.dumps(notebook).encode(), {})
    assert [s.label for s in segments if s.kind == "section"] == ["Title"]
    assert all("\x00" not in (s.text or "") for s in segments)
    assert "body" in (segments[0].text or "")
    assert "ab" in (segments[0].text or "")
