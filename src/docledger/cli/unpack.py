"""``docledger unpack``: a mail's attachments as documents of their own."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from docledger.cli.context import console, state


def unpack(
    documents: Annotated[list[str], typer.Argument(help="Mail documents: ids or external keys")],
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
) -> None:
    """Add the files attached to mail documents (.eml, Outlook .msg) as documents of their
    own, keyed under the mail, with lineage from it (a re-run adds nothing)."""
    table = Table("mail", "attachment", "outcome", "type", "bytes")
    with state.ledger() as ledger:
        for document in documents:
            for result in ledger.documents.unpack(document, workspace=workspace):
                table.add_row(document, result.external_key or "", result.outcome,
                              result.media_type or "", str(result.size_bytes or ""))  # fmt: skip
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(unpack)
