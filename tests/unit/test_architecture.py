"""The layers import downwards only, and docs/architecture.md's table names what exists."""

from __future__ import annotations

import ast
import importlib
import re
import sys
import warnings
from pathlib import Path

import pytest
import typer.main

from docledger.cli.app import app
from docledger.db.base import Base
from docledger.surface.registry import SURFACE

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "docledger"

#: each top-level module or package of docledger and its rank: it may import equal or lower
RANKS = {
    "errors": 0,
    "vocab": 0,
    "ids": 0,
    "config": 0,
    "deprecation": 0,
    "db": 1,
    "storage": 1,
    "models": 2,
    "schemas": 3,
    "bbox": 3,
    "repositories": 4,
    "extractors": 4,
    "formats": 4,
    "services": 5,
    "migrations": 5,
    "surface": 6,
    "ledger": 7,
    "worker": 8,
    "queue": 8,
    "cli": 9,
    "devserver": 9,
    "server": 9,
    "__init__": 9,
}
#: packages of one rank that must not import each other either
INDEPENDENT = [
    ("db", "storage"),
    ("repositories", "extractors"),
    ("repositories", "formats"),
    ("extractors", "formats"),
]


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "docledger":
            names = [f"docledger.{alias.name}" for alias in node.names]  # from docledger import x
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n == "docledger" or n.startswith("docledger.")]
    return found


def test_every_module_has_a_layer() -> None:
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    parts = {p for p in parts if not p.startswith((".", "_")) or p == "__init__"} - {"py"}
    assert parts - {"__pycache__"} <= set(RANKS), parts - set(RANKS)


def test_imports_point_downwards() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        here = relative.parts[0].removesuffix(".py")
        for line, target in _imports(path):
            there = _part(target)
            if there == here:
                continue
            pair = {here, there}
            if RANKS[there] > RANKS[here] or any(pair == set(p) for p in INDEPENDENT):
                wrong.append(f"{relative}:{line} imports {target} ({here} -> {there})")
    assert wrong == []


ROW = re.compile(r"^\| (\w+) \|(.*)\|$", re.M)
PAIR = re.compile(r"`([\w/]+\.py)` `(\w+)`")


def _rows() -> dict[str, list[str]]:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = doc[doc.index("| table | model |") :]
    return {
        m.group(1): [cell.strip() for cell in m.group(2).split("|")]
        for m in ROW.finditer(table)
        if m.group(1) != "table"
    }


def _named(cell: str) -> object:
    """The object a ``path.py`` ``Name`` cell points at (it must exist)."""
    match = PAIR.fullmatch(cell)
    assert match is not None, cell
    module = "docledger." + match.group(1).removesuffix(".py").replace("/", ".")
    return getattr(importlib.import_module(module), match.group(2))


def _commands() -> set[str]:
    out: set[str] = set()

    def walk(group: object, prefix: str) -> None:
        for name, command in getattr(group, "commands", {}).items():
            out.add(f"{prefix} {name}")
            walk(command, f"{prefix} {name}")

    walk(typer.main.get_command(app), "docledger")
    return out


def test_the_architecture_table_covers_every_table_and_names_what_exists() -> None:
    rows = _rows()
    assert set(rows) == set(Base.metadata.tables)
    commands = _commands()
    for table, (model, dto, repo, attr, service, cli, tests) in rows.items():
        model_cls = _named(model)
        assert model_cls.__tablename__ == table, table  # type: ignore[attr-defined]
        for cell in (dto, repo, service):
            if cell != "—":
                _named(cell)
        if repo != "—" and attr != "—":
            name = attr.strip("`").removeprefix("ledger.")
            assert name in SURFACE, attr
        if cli != "—":
            assert cli.strip("`") in commands, cli
        assert (ROOT / tests.strip("`")).is_file(), tests


def test_the_api_reference_lists_every_surface_class() -> None:
    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    for cls in SURFACE.values():
        assert f"::: {cls.__module__}.{cls.__name__}\n" in reference, cls.__name__


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("docledger.queue", "docledger.worker", "task"),
        ("docledger.queue.worker", "docledger.worker", "Worker"),
        ("docledger.queue.pool", "docledger.worker.pool", "run_pool"),
        ("docledger.queue.registry", "docledger.worker.registry", "TaskContext"),
    ],
)
def test_the_old_queue_modules_still_import_and_warn(old: str, new: str, name: str) -> None:
    for module in [m for m in sys.modules if m.startswith("docledger.queue")]:
        del sys.modules[module]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        moved = importlib.import_module(old)
    said = [str(w.message) for w in caught if w.category is DeprecationWarning]
    assert any(message.endswith(f"import {new}") for message in said), said
    assert getattr(moved, name) is getattr(importlib.import_module(new), name)


#: generated from surface/registry.py (surface/generate.py): long by design, never edited by hand
GENERATED = {"surface/auto.py", "surface/aio.py"}
#: a module longer than this is two subjects (issue 14: "no module should need more than ~400")
MAX_LINES = 420


def test_no_hand_written_module_holds_more_than_one_subject() -> None:
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
        and str(path.relative_to(PACKAGE)) not in GENERATED
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
