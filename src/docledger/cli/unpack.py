"""``docledger unpack``: a mail's attachments, or an archive's files, as documents of their
own."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from docledger.cli.context import console, state
from docledger.errors import InvalidInput
from docledger.services.archive_members import MEDIA_TYPES as ARCHIVES
from docledger.services.unpack import READERS

#: What ``--all`` unpacks: mail and archives.
UNPACKED = frozenset({*READERS, *ARCHIVES})
#: ``--all`` passes at most (archives inside archives, mail attached to mail).
MOST_PASSES = 5


def _unpackable(ledger: Any, workspace: str | None, done: set[Any]) -> list[Any]:
    """The workspace's mail and archive documents not unpacked yet by this command."""
    found, cursor = [], None
    while True:
        page = ledger.documents.list(workspace=workspace, limit=1000, cursor=cursor)
        found += [d.id for d in page.items if d.media_type in UNPACKED and d.id not in done]
        cursor = page.next_cursor
        if cursor is None:
            return found


def _unpack_one(
    ledger: Any, document: Any, workspace: str | None, table: Table, keep_going: bool
) -> None:
    """One document's rows; under ``--all`` an archive that cannot be read is a failed row,
    not the end of the run."""
    try:
        results = ledger.documents.unpack(document, workspace=workspace)
    except InvalidInput as exc:
        if not keep_going:
            raise
        table.add_row(str(document), "", "failed", "", "", str(exc))
        return
    for r in results:
        table.add_row(str(document), r.external_key or "", r.outcome, r.media_type or "",
                      str(r.size_bytes or ""), r.error or "")  # fmt: skip


def unpack(
    documents: Annotated[
        list[str] | None, typer.Argument(help="Mail, archive or office documents: ids or keys")
    ] = None,
    all_documents: Annotated[
        bool, typer.Option("--all", help="Every mail and archive, and those they hold")
    ] = False,
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
) -> None:
    """Add the files attached to mail documents (.eml, .mbox, Outlook .msg), or the files of
    archives (.zip, .tar, .tar.gz/.bz2/.xz, a .gz file), or the pictures and embedded files
    of office documents (Word, PowerPoint, Excel, OpenDocument), as documents of their own,
    keyed under the document they came from, with lineage from it (a re-run adds nothing; a
    file that cannot be read is a failed row). ``--all``: every mail and archive of the
    workspace (not office documents: name those), then those they held, up to five levels
    deep."""
    if not documents and not all_documents:
        raise InvalidInput("name mail or archive documents to unpack, or pass --all")
    table = Table("document", "file", "outcome", "type", "bytes", "problem")
    done: set[Any] = set()
    with state.ledger() as ledger:
        todo: list[Any] = list(documents or [])
        for _pass in range(MOST_PASSES if all_documents else 1):
            if all_documents:
                todo = _unpackable(ledger, workspace, done)
            for document in todo:
                done.add(document)
                _unpack_one(ledger, document, workspace, table, all_documents)
            if not todo:
                break
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(unpack)
