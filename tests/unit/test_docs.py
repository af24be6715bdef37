"""Docs are tested: the ER diagram matches the models, and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main

from docledger.cli.app import app
from docledger.services.erd import mermaid

ROOT = Path(__file__).resolve().parents[2]


def test_schema_doc_embeds_the_current_diagram() -> None:
    doc = (ROOT / "docs" / "schema.md").read_text()
    assert f"```mermaid\n{mermaid()}```" in doc, (
        "docs/schema.md is stale: regenerate the block with `python -m docledger.services.erd`"
    )


def _commands(group: Any, prefix: str = "docledger") -> list[tuple[str, Any]]:
    out = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        out.append((path, command))
        if hasattr(command, "commands"):
            out.extend(_commands(command, path))
    return out


def test_every_command_has_help_and_is_in_the_cli_docs() -> None:
    group = typer.main.get_command(app)
    doc = (ROOT / "docs" / "cli.md").read_text()
    commands = _commands(group)
    assert len(commands) > 10
    for path, command in commands:
        assert (command.help or "").strip(), f"{path} has no help"
        assert f"`{path}" in doc, f"{path} is not documented in docs/cli.md"
