"""``docledger verify`` and ``docledger gc``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from docledger.cli.context import console, err_console, state, styled
from docledger.services import maintenance


def verify() -> None:
    """Re-hash every blob the database names; exit 1 when any is missing or corrupt."""
    with state.ledger() as ledger:
        total = maintenance.count_blob_rows(ledger.engine)
        columns = (TextColumn("verifying"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("verify", total=total)
            report = maintenance.verify(
                ledger.engine, ledger.blobs, progress=lambda n: bar.advance(task, n)
            )
    for sha in report.missing:
        err_console.print(styled("missing:", "red", f" {sha}"), highlight=False)
    for sha in report.corrupt:
        err_console.print(styled("corrupt:", "red", f" {sha}"), highlight=False)
    console.print(
        f"checked {report.checked} blobs: {len(report.missing)} missing, "
        f"{len(report.corrupt)} corrupt"
    )
    if not report.ok:
        raise typer.Exit(1)


def gc(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, delete nothing")] = False,
    grace: Annotated[
        float, typer.Option(min=0, help="Leave anything younger than this many seconds")
    ] = maintenance.DEFAULT_GRACE_S,
) -> None:
    """Delete blobs no row references, orphan files and interrupted uploads."""
    with state.ledger() as ledger:
        report = maintenance.gc(ledger.engine, ledger.blobs, dry_run=dry_run, grace_s=grace)
    table = Table("", "count", title="gc (dry run)" if dry_run else "gc")
    table.add_row("temp files removed", str(report.temp_files))
    table.add_row("unreferenced blob rows", str(report.unreferenced_rows))
    table.add_row("blob files deleted", str(report.deleted_blobs))
    table.add_row("orphan files", str(report.orphan_files))
    table.add_row("bytes freed", f"{report.bytes_freed:,}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(verify)
    app.command()(gc)
