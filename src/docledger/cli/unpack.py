"""``docledger unpack``: a mail's attachments, or an archive's files, as documents of their
own."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from docledger.cli.context import console, state


def unpack(
    documents: Annotated[
        list[str], typer.Argument(help="Mail or archive documents: ids or external keys")
    ],
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
) -> None:
    """Add the files attached to mail documents (.eml, .mbox, Outlook .msg), or the files of
    archives (.zip, .tar, .tar.gz/.bz2/.xz, a .gz file), as documents of their own, keyed
    under the mail or archive, with lineage from it (a re-run adds nothing; a file that
    cannot be read is a failed row)."""
    table = Table("document", "file", "outcome", "type", "bytes")
    with state.ledger() as ledger:
        for document in documents:
            for result in ledger.documents.unpack(document, workspace=workspace):
                table.add_row(document, result.external_key or "", result.outcome,
                              result.media_type or "", str(result.size_bytes or ""))  # fmt: skip
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(unpack)
