"""``docledger export FORMAT...`` and ``docledger exports ...``: make an export with a
progress bar, list and inspect them with their audit trail, resume, reproduce, download, and
read a Label Studio export back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from docledger.cli.context import console, err_console, state
from docledger.errors import InvalidInput
from docledger.schemas.export import Export

exports = typer.Typer(help="Exports, their files and their audit trail.", no_args_is_help=True)

Workspace = Annotated[str | None, typer.Option(help="Workspace slug or id (default: default)")]
Actor = Annotated[str | None, typer.Option(help="Who did it: user email or id")]
LISTS = {"documents", "kinds", "labels", "status", "finding_kinds", "finding_status"}
NUMBERS = {"min_confidence", "max_confidence"}


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{what} {item!r} is not KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def selection_of(dataset: str | None, filters: list[str] | None) -> dict[str, Any]:
    """``--dataset`` and ``--filter KEY=VALUE`` as a selection: lists comma-separated,
    confidences as numbers, ``annotated=true``."""
    chosen: dict[str, Any] = {}
    for key, value in _pairs(filters, "--filter").items():
        if key in LISTS:
            chosen[key] = [v.strip() for v in value.split(",") if v.strip()]
        elif key in NUMBERS:
            try:
                chosen[key] = float(value)
            except ValueError as exc:
                raise InvalidInput(f"--filter {key} is a number, not {value!r}") from exc
        elif key == "annotated":
            chosen[key] = value.lower() in {"1", "true", "yes"}
        else:
            chosen[key] = value
    if dataset is not None:
        chosen["dataset"] = dataset
    return chosen


def _option_values(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in _pairs(items, "--option").items():
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _summary(done: Export) -> None:
    table = Table("format", "status", "records", "failed", "seconds", "error")
    for name in done.formats:
        result = done.results.get(name, {})
        table.add_row(
            name,
            str(result.get("status", "")),
            str(result.get("records", "")),
            str(result.get("failed_count", "") or ""),
            str(result.get("seconds", "")),
            Text(str(result.get("error") or "")),
        )
    console.print(table)
    files = Table("file", "format", "records", "bytes", "sha256")
    for f in done.files:
        files.add_row(Text(f.name), f.format, str(f.records), str(f.size_bytes), f.sha256[:16])
    console.print(files)
    console.print(f"export {done.id}: {done.status}", markup=False)


def _with_progress(run: Any) -> Export:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def advance(fmt: str, records: int) -> None:
            if fmt not in tasks:
                tasks[fmt] = bar.add_task(fmt, total=None)
            bar.advance(tasks[fmt], records)

        done: Export = run(advance)
    return done


def export_command(
    formats: Annotated[list[str], typer.Argument(help="jsonl, csv, review-csv, coco, ...")],
    dataset: Annotated[str | None, typer.Option(help="a dataset: NAME or NAME@VERSION")] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="KEY=VALUE: documents, kinds, labels, status (comma lists), "
            "min_confidence, max_confidence, extractor, annotated=true",
        ),
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE format options: dpi, image_prefix")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="also copy the files here")
    ] = None,
    workspace: Workspace = None,
    actor: Actor = None,
    background: Annotated[
        bool, typer.Option("--background", help="enqueue it: a worker makes it (see jobs)")
    ] = False,
) -> None:
    """Export a dataset version or a filtered selection in one or more formats."""
    selection = selection_of(dataset, filter_)
    options = _option_values(option)
    if background and output is not None:
        raise typer.BadParameter("--output needs the finished export: not with --background")
    with state.ledger() as ledger:
        if background:
            pending = ledger.exports.create(
                selection, formats, options=options, actor=actor, workspace=workspace,
                background=True,
            )  # fmt: skip
            console.print(
                f"export {pending.id} is pending: a worker makes it "
                f"(docledger exports show {pending.id})",
                markup=False,
            )
            return
        done = _with_progress(
            lambda progress: ledger.exports.create(
                selection,
                formats,
                options=options,
                actor=actor,
                workspace=workspace,
                progress=progress,
            )
        )
        if output is not None:
            ledger.exports.download(done.id, output, workspace=workspace)
    _summary(done)
    if output is not None:
        console.print(f"files in {output}", markup=False)
    if done.status != "succeeded":
        raise typer.Exit(1)


@exports.command("ls")
def exports_ls(
    workspace: Workspace = None,
    status: Annotated[str | None, typer.Option(help="succeeded, partial, failed, ...")] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 50,
) -> None:
    """List exports, newest first."""
    with state.ledger() as ledger:
        found = ledger.exports.list(status=status, limit=limit, workspace=workspace)
    table = Table("created", "status", "formats", "actor", "selection")
    table.add_column("id", no_wrap=True)
    for e in found.items:
        table.add_row(
            e.created_at.isoformat(timespec="seconds"),
            e.status,
            ", ".join(e.formats),
            e.actor or "",
            Text(json.dumps(e.selection, ensure_ascii=False)),
            str(e.id),
        )
    console.print(table)


@exports.command("show")
def exports_show(export_id: Annotated[str, typer.Argument()], workspace: Workspace = None) -> None:
    """An export's formats, files and audit trail."""
    with state.ledger() as ledger:
        done = ledger.exports.get(export_id, workspace=workspace)
        history = ledger.exports.history(export_id, workspace=workspace)
    console.print(json.dumps(done.selection, ensure_ascii=False), markup=False)
    _summary(done)
    table = Table("at", "action", "format", "actor", "detail")
    for e in history:
        table.add_row(
            e.at.isoformat(timespec="seconds"),
            e.action,
            e.format or "",
            e.actor or "",
            Text(json.dumps(e.detail, ensure_ascii=False)[:120]),
        )
    console.print(table)


@exports.command("resume")
def exports_resume(
    export_id: Annotated[str, typer.Argument()],
    workspace: Workspace = None,
    actor: Actor = None,
    force: Annotated[
        bool, typer.Option("--force", help="also take over a running export whose maker died")
    ] = False,
) -> None:
    """Finish a partial or failed export (only the formats that did not succeed run)."""
    with state.ledger() as ledger:
        done = _with_progress(
            lambda progress: ledger.exports.resume(
                export_id, actor=actor, workspace=workspace, progress=progress, force=force
            )
        )
    _summary(done)
    if done.status != "succeeded":
        raise typer.Exit(1)


@exports.command("reproduce")
def exports_reproduce(
    export_id: Annotated[str, typer.Argument()], workspace: Workspace = None, actor: Actor = None
) -> None:
    """Make the export again and say whether every file came out byte for byte the same."""
    with state.ledger() as ledger:
        again = ledger.exports.reproduce(export_id, actor=actor, workspace=workspace)
    for name, same in again.files.items():
        console.print(f"{'same' if same else 'DIFFERENT'}  {name}", markup=False)
    console.print(f"new export {again.export.id}: identical={again.identical}", markup=False)
    if not again.identical:
        raise typer.Exit(1)


@exports.command("download")
def exports_download(
    export_id: Annotated[str, typer.Argument()],
    output: Annotated[Path, typer.Option("--output", "-o", help="folder to write into")] = Path(),
    workspace: Workspace = None,
) -> None:
    """Copy an export's files into a folder."""
    with state.ledger() as ledger:
        written = ledger.exports.download(export_id, output, workspace=workspace)
    for path in written:
        console.print(str(path), markup=False)


@exports.command("import-label-studio")
def exports_import_label_studio(
    path: Annotated[Path, typer.Argument(help="a Label Studio JSON export")],
    status: Annotated[str | None, typer.Option(help="status of the new annotations")] = None,
    workspace: Workspace = None,
    actor: Actor = None,
) -> None:
    """Record a Label Studio export's labelled rectangles as annotations."""
    with state.ledger() as ledger:
        result = ledger.exports.import_label_studio(
            path, status=status, actor=actor, workspace=workspace
        )
    console.print(
        f"{result.created} created, {result.unchanged} unchanged, {result.unmatched} unmatched"
    )


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
    app.add_typer(exports, name="exports")
