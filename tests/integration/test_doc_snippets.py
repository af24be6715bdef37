"""Every Python snippet in README.md and docs/ runs, on SQLite and on PostgreSQL.

A file's snippets run in order in one namespace (a later one may use names an earlier one
made), against a fresh store named by DOCLEDGER_DB_URL, in a folder holding what the prose
says the reader has: an ``inbox/`` with a file in it. Top-level ``await`` is allowed (the
async examples are written as a reader would type them in ``python -m asyncio``).
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
from pathlib import Path

import pytest

from docledger.worker import registry

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SNIPPET = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def snippets(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 1, m.group(1)) for m in SNIPPET.finditer(text)]


def test_the_docs_have_snippets() -> None:
    counted = {path.name: len(snippets(path)) for path in DOCS}
    assert counted["README.md"] >= 3
    assert sum(counted.values()) >= 8


@pytest.mark.parametrize("doc", [p for p in DOCS if snippets(p)], ids=lambda p: p.name)
def test_snippets_run(
    doc: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCLEDGER_DB_URL", db_url)
    # tasks the docs register live as long as the test
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "note.txt").write_text("Fire doors close on their own.")
    namespace: dict[str, object] = {"__name__": "docs"}
    for line, source in snippets(doc):
        code = compile(source, f"{doc.name}:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)  # noqa: S307 - our own docs, that is the point
        if inspect.iscoroutine(result):
            asyncio.run(result)
    ledger = namespace.get("ledger")
    close = getattr(ledger, "close", None)
    if callable(close) and not inspect.iscoroutinefunction(close):
        close()
