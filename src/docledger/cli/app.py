"""Root of the ``docledger`` command: global options, sub-apps and error reporting."""

from __future__ import annotations

import inspect
import sys
from typing import Annotated

import typer

from docledger.cli import db as db_cli
from docledger.cli import documents as documents_cli
from docledger.cli import exports as exports_cli
from docledger.cli import findings as findings_cli
from docledger.cli import inspect as inspect_cli
from docledger.cli import jobs as jobs_cli
from docledger.cli import maintenance as maintenance_cli
from docledger.cli import people as people_cli
from docledger.cli import server as server_cli
from docledger.cli import tracking as tracking_cli
from docledger.cli import unpack as unpack_cli
from docledger.cli.context import err_console, state, styled
from docledger.errors import DocledgerError

app = typer.Typer(
    name="docledger",
    help="The persistence layer for document-AI pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (default: DOCLEDGER_DB_URL or the SQLite file)."),
    ] = None,
) -> None:
    """docledger: documents, versions, extractions, annotations, jobs and runs in one store."""
    state.db_url = db
    state._settings = None


app.add_typer(db_cli.app, name="db")
app.add_typer(people_cli.workspaces, name="workspaces")
app.add_typer(people_cli.users, name="users")
inspect_cli.register(app)
documents_cli.register(app)
unpack_cli.register(app)
maintenance_cli.register(app)
jobs_cli.register(app)
tracking_cli.register(app)
findings_cli.register(app)
exports_cli.register(app)
server_cli.register(app)


def _one_line_paragraphs(text: str) -> str:
    """A docstring's wrapped lines joined within each paragraph: Rich help keeps every line
    break, so a sentence wrapped at 100 columns in the source broke mid-sentence on screen."""
    return "\n\n".join(" ".join(part.split()) for part in inspect.cleandoc(text).split("\n\n"))


def _plain_help(group: typer.Typer) -> None:
    for command in group.registered_commands:
        doc = command.help or (command.callback.__doc__ if command.callback else None)
        if doc:
            command.help = _one_line_paragraphs(doc)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _plain_help(sub.typer_instance)


_plain_help(app)


def main() -> None:
    """Console-script entry point: DocledgerErrors become one red line and exit code 1."""
    try:
        app()
    except DocledgerError as exc:
        err_console.print(styled("error:", "red", f" {type(exc).__name__}: {exc}"), highlight=False)
        sys.exit(1)
    except OSError as exc:  # a file the command was told to read or write
        where = f": {exc.filename}" if exc.filename else ""
        err_console.print(
            styled("error:", "red", f" {exc.strerror or exc}{where}"), highlight=False
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
