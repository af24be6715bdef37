"""``docledger verify`` and ``docledger gc``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from docledger.cli.context import console, err_console, state, styled
from docledger.services.maintenance import DEFAULT_GRACE_S


def verify(
    repair: Annotated[
        bool, typer.Option("--repair", help="Fix what the store itself can fix")
    ] = False,
) -> None:
    """Re-hash every blob the database names and check the rows agree with each other
    (current versions, segment hashes, vectors, full-text index, stray files); exit 1 when
    anything is wrong (and, with --repair, was not fixed)."""
    with state.ledger() as ledger:
        total = ledger.maintenance.count_blobs()
        columns = (TextColumn("verifying"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("verify", total=total)
            report = ledger.maintenance.verify_blobs(progress=lambda n: bar.advance(task, n))
        findings = ledger.maintenance.check(repair=repair)
    for sha in report.missing:
        err_console.print(styled("missing:", "red", f" {sha}"), highlight=False)
    for sha in report.corrupt:
        err_console.print(styled("corrupt:", "red", f" {sha}"), highlight=False)
    console.print(
        f"checked {report.checked} blobs: {len(report.missing)} missing, "
        f"{len(report.corrupt)} corrupt"
    )
    broken = False
    for finding in findings:
        if not finding.count:
            continue
        label = "repaired:" if finding.repaired else "problem:"
        style = "green" if finding.repaired else "red"
        shown = ", ".join(finding.examples)
        err_console.print(
            styled(label, style, f" {finding.count} {finding.check} ({shown}); {finding.hint}"),
            highlight=False,
        )
        # stray files are garbage for gc, not damage
        broken |= not finding.repaired and finding.check != "blob files no row names"
    if not findings or all(not f.count for f in findings):
        console.print("rows agree with each other: no problems found")
    if not report.ok or broken:
        raise typer.Exit(1)


def gc(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, delete nothing")] = False,
    grace: Annotated[
        float, typer.Option(min=0, help="Leave anything younger than this many seconds")
    ] = DEFAULT_GRACE_S,
) -> None:
    """Delete blobs no row references, orphan files and interrupted uploads."""
    with state.ledger() as ledger:
        report = ledger.maintenance.gc(dry_run=dry_run, grace_s=grace)
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
