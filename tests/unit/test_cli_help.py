"""Command help reads as prose: Rich keeps every line break of a help text, so the wrapped
lines of a docstring must be joined within each paragraph before Typer renders them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import typer

from docledger.cli.app import app


def _commands(group: typer.Typer) -> Iterator[Any]:
    yield from group.registered_commands
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            yield from _commands(sub.typer_instance)


def test_every_command_has_help_without_a_line_break_inside_a_paragraph() -> None:
    commands = list(_commands(app))
    assert len(commands) > 60
    for command in commands:
        assert command.help, command.callback
        assert not re.search(r"(?<!\n)\n(?!\n)", command.help), command.help
