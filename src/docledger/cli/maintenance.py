"""``docledger verify``, ``gc``, ``backup``, ``restore``, ``dump``, ``load`` and ``move``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from docledger.cli.context import console, err_console, state, styled
from docledger.config import load_settings
from docledger.errors import InvalidInput
from docledger.ledger import Ledger
from docledger.services.load import LoadReport, read_manifest
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


def backup(
    dest: Annotated[
        str,
        typer.Argument(help="a folder or s3://bucket/prefix (an earlier backup there is updated)"),
    ],
) -> None:
    """Back the whole store up into a folder while it keeps running: the database at one
    moment, the blobs it names (only new ones when the folder holds an earlier backup), and
    a manifest of row counts and blob hashes."""
    with state.ledger() as ledger:
        total = ledger.maintenance.count_blobs()
        columns = (TextColumn("backing up"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("backup", total=total)
            report = ledger.maintenance.backup(dest, progress=lambda n: bar.advance(task, n))
    console.print(
        f"backed up {sum(report.rows.values())} rows of {len(report.rows)} tables (schema "
        f"{report.revision}) and {report.blobs} blobs ({report.blobs_copied} new, "
        f"{report.bytes_copied:,} bytes) into {report.dest} in {report.seconds:.1f}s",
        markup=False,
    )


def restore(
    source: Annotated[str, typer.Argument(help="a backup folder or s3://bucket/prefix")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace what the target store holds")
    ] = False,
) -> None:
    """Restore a backup into this (empty) store; the whole backup is checked first."""
    with state.ledger() as ledger:
        columns = (TextColumn("restoring"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("restore", total=None)
            report = ledger.maintenance.restore(
                source, force=force, progress=lambda n: bar.advance(task, n)
            )
    console.print(
        f"restored {sum(report.rows.values())} rows (schema {report.revision}) and "
        f"{report.blobs} blobs ({report.blobs_copied} copied) from {report.source}",
        markup=False,
    )
    for problem in report.problems:
        err_console.print(styled("problem:", "red", f" {problem}"), highlight=False)
    if report.problems:
        raise typer.Exit(1)


def _rows_bar(label: str) -> Progress:
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("rows"))
    return Progress(*columns, console=err_console, transient=True)


def dump(
    dest: Annotated[Path, typer.Argument(help="a new (or empty) folder")],
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", "-w", help="Only this workspace (slug or id)"),
    ] = None,
) -> None:
    """Write the store (or one workspace) as portable files: one JSONL file per table, the
    blobs, a manifest. `docledger load` reads it into SQLite or PostgreSQL alike."""
    with state.ledger() as ledger, _rows_bar("dumping") as bar:
        task = bar.add_task("dump", total=None)
        report = ledger.maintenance.dump(
            dest, workspace=workspace, progress=lambda n: bar.advance(task, n)
        )
    console.print(
        f"dumped {sum(report.rows.values())} rows of {len(report.rows)} tables (schema "
        f"{report.revision}) and {report.blobs} blobs into {report.dest} in "
        f"{report.seconds:.1f}s",
        markup=False,
    )


def _print_load(report: LoadReport, verb: str) -> None:
    console.print(
        f"{verb} {sum(report.inserted.values())} rows ({report.skipped} already there) and "
        f"{report.blobs} blobs ({report.blobs_copied} copied) from {report.source} in "
        f"{report.seconds:.1f}s",
        markup=False,
    )


def load(
    source: Annotated[Path, typer.Argument(help="a folder written by docledger dump")],
) -> None:
    """Load a dump into this store. Ids are kept; rows already here are left as they are and
    other workspaces are not touched. A damaged dump changes nothing."""
    with state.ledger() as ledger, _rows_bar("loading") as bar:
        task = bar.add_task("load", total=_dump_rows(source))
        report = ledger.maintenance.load(source, progress=lambda n: bar.advance(task, n))
    _print_load(report, "loaded")


def _dump_rows(source: Path) -> int | None:
    try:
        return sum(int(t["rows"]) for t in read_manifest(source)["tables"].values())
    except (InvalidInput, KeyError, TypeError, ValueError):
        return None  # load itself says what is wrong


def move(
    to: Annotated[str, typer.Option("--to", help="the target store's database URL")],
    to_blobs: Annotated[
        str | None,
        typer.Option(
            "--to-blobs", help="the target's blob folder or s3:// root (default: this store's)"
        ),
    ] = None,
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", "-w", help="Only this workspace (slug or id)"),
    ] = None,
) -> None:
    """Copy this store (or one workspace) into another database, SQLite or PostgreSQL: same
    ids, same vectors; the target's full-text and vector indexes are built."""
    settings = state.settings()
    # validated like --db (model_copy would take a bad URL as it is)
    target_settings = load_settings(
        **{
            **settings.model_dump(),
            "db_url": to,
            "blob_root": to_blobs or settings.resolved_blob_root,
        }
    )
    with state.ledger() as ledger, Ledger.open(settings=target_settings) as target:
        # a workspace's share of the rows is known only as they are picked
        total = None if workspace else sum(ledger.maintenance.row_counts().values())
        with _rows_bar("moving") as bar:
            task = bar.add_task("move", total=total)
            report = ledger.maintenance.move(
                target, workspace=workspace, progress=lambda n: bar.advance(task, n)
            )
    _print_load(report, "moved")


def register(app: typer.Typer) -> None:
    app.command()(verify)
    app.command()(gc)
    app.command()(backup)
    app.command()(restore)
    app.command()(dump)
    app.command()(load)
    app.command()(move)
