"""``docledger annotate / history / datasets / runs / models / lineage``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from docledger.cli.context import console, state, styled, writable_path
from docledger.errors import InvalidInput, MissingDependency
from docledger.schemas.common import every

datasets = typer.Typer(help="Frozen training-set snapshots.", no_args_is_help=True)
runs = typer.Typer(help="Pipeline, training and evaluation runs.", no_args_is_help=True)
models = typer.Typer(help="The model registry.", no_args_is_help=True)


def _json(text: str, option: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{option} is not JSON: {exc}") from exc


def annotate(
    target_type: Annotated[str, typer.Argument(help="document, version or segment")],
    target_id: Annotated[str, typer.Argument(help="Id of the target")],
    kind: Annotated[str, typer.Argument(help="label, correction, bbox, span, ...")],
    value: Annotated[str, typer.Option(help='JSON object, e.g. \'{"label": "invoice"}\'')],
    status: Annotated[str, typer.Option(help="draft, submitted, approved, rejected")] = "draft",
    actor: Annotated[
        str | None, typer.Option("--actor", "--author", help="Who made it: user email or id")
    ] = None,
) -> None:
    """Create an annotation (its history starts with this change)."""
    with state.ledger() as ledger:
        note = ledger.annotations.create(
            target_type, target_id, kind, _json(value, "--value"), status=status, actor=actor
        )
    console.print(f"{note.id} {note.kind} {note.status} revision {note.revision}")


def history(annotation_id: Annotated[str, typer.Argument()]) -> None:
    """Every change of an annotation, oldest first."""
    with state.ledger() as ledger:
        events = ledger.annotations.history(annotation_id)
    table = Table("at", "action", "rev", "actor", "before", "after")
    for e in events:
        table.add_row(
            e.at.isoformat(timespec="seconds"),
            e.action,
            str(e.revision),
            e.actor or "",
            json.dumps(e.before) if e.before else "",
            json.dumps(e.after) if e.after else "",
        )
    console.print(table)


@datasets.command("snapshot")
def datasets_snapshot(
    name: Annotated[str, typer.Argument()],
    filter_json: Annotated[
        str, typer.Option("--filter", help="JSON: kind, kinds, label, document_ids")
    ] = "{}",
) -> None:
    """Freeze the approved annotations matching the filter (same content: same version)."""
    with state.ledger() as ledger:
        ds = ledger.datasets.snapshot(name, _json(filter_json, "--filter"))
    console.print(f"{ds.name} v{ds.version}: {ds.item_count} items, sha256 {ds.content_hash}")


@datasets.command("ls")
def datasets_ls() -> None:
    """List dataset versions."""
    with state.ledger() as ledger:
        rows = list(every(ledger.datasets.list, limit=1000))
    table = Table("name", "version", "items", "hash", "created")
    for d in rows:
        table.add_row(
            d.name,
            str(d.version),
            str(d.item_count),
            d.content_hash[:16],
            d.created_at.isoformat(timespec="seconds"),
        )
    console.print(table)


@datasets.command("show")
def datasets_show(
    name: Annotated[str, typer.Argument()], version: Annotated[int | None, typer.Option()] = None
) -> None:
    """A dataset version's items."""
    with state.ledger() as ledger:
        ds = ledger.datasets.get(name, version)
        items = ledger.datasets.items(name, version)
    console.print(f"{ds.name} v{ds.version} ({ds.item_count} items)")
    table = Table("#", "kind", "target", "value")
    for i in items:
        table.add_row(str(i.ordinal), i.kind, f"{i.target_type}:{i.target_id}", json.dumps(i.value))
    console.print(table)


@runs.command("ls")
def runs_ls(
    kind: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """List runs, newest first."""
    with state.ledger() as ledger:
        rows = ledger.runs.list(kind=kind, status=status, limit=limit).items
    table = Table("id", "kind", "name", "status", "started", "finished")
    for r in rows:
        table.add_row(
            str(r.id),
            r.kind,
            r.name,
            r.status,
            r.started_at.isoformat(timespec="seconds") if r.started_at else "",
            r.finished_at.isoformat(timespec="seconds") if r.finished_at else "",
        )
    console.print(table)


@runs.command("show")
def runs_show(run_id: Annotated[str, typer.Argument()]) -> None:
    """A run with its params, events, latest metrics and lineage edges."""
    with state.ledger() as ledger:
        run = ledger.runs.get(run_id)
        events = ledger.runs.events(run_id)
        latest = ledger.runs.latest_metrics(run_id)
        edges = ledger.lineage.edges(run_id)
    console.print(styled(run.name, "bold", f" {run.kind} {run.status} {run.id}"))
    console.print_json(
        json.dumps({"params": run.params, "tags": run.tags, "metrics": latest, "error": run.error})
    )
    for e in events:
        console.print(
            f"{e.at.isoformat(timespec='seconds')} {e.level} {e.event} "
            f"{e.message or ''} {json.dumps(e.data) if e.data else ''}"
        )
    for edge in edges:
        console.print(f"{edge.direction:>3} {edge.entity_type} {edge.entity_id}")


@runs.command("reap")
def runs_reap(
    idle: Annotated[
        float, typer.Option(min=0, help="Seconds without a start, event or metric")
    ] = 3600.0,
) -> None:
    """Mark runs that a killed process left 'running' as failed."""
    with state.ledger() as ledger:
        reaped = ledger.runs.reap(idle_s=idle)
    for run in reaped:
        console.print(f"reaped {run.id} {run.name}")
    console.print(f"{len(reaped)} runs reaped")


@runs.command("metrics")
def runs_metrics(
    run_id: Annotated[str, typer.Argument()],
    key: Annotated[list[str] | None, typer.Option(help="Only these keys (repeat)")] = None,
    plot: Annotated[Path | None, typer.Option(help="Draw the curves into this PNG file")] = None,
) -> None:
    """Metric series of a run (step, value per key), as tables or drawn with --plot."""
    if plot is not None:
        writable_path(plot, "--plot")
    with state.ledger() as ledger:
        ledger.runs.get(run_id)  # an unknown run is an error, not an empty plot
        keys = key or sorted(ledger.runs.latest_metrics(run_id))
        series = {k: ledger.runs.metric_series(run_id, k) for k in keys}
    if plot is not None:
        _plot(series, plot, run_id)
        console.print(f"wrote {plot}")
        return
    for k, points in series.items():
        table = Table("step", "value", title=k)
        for p in points:
            table.add_row(str(p.step), f"{p.value:.6g}")
        console.print(table)


def _plot(series: dict[str, Any], path: Path, title: str) -> None:
    try:
        import matplotlib  # noqa: PLC0415 - optional extra

        matplotlib.use("Agg")
        from matplotlib import pyplot  # noqa: PLC0415
    except ImportError as exc:
        raise MissingDependency("--plot needs matplotlib: pip install 'docledger[plot]'") from exc
    figure, axes = pyplot.subplots(figsize=(8, 4.5))
    for k, points in series.items():
        axes.plot([p.step for p in points], [p.value for p in points], label=k)
    axes.set_xlabel("step")
    axes.set_title(f"run {title}")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


@models.command("ls")
def models_ls(
    name: Annotated[str | None, typer.Argument()] = None,
    workspace: Annotated[str | None, typer.Option("--workspace", "-w", help="Slug or id")] = None,
) -> None:
    """List model versions (one workspace's with --workspace)."""
    with state.ledger() as ledger:
        rows = list(every(ledger.model_versions.list, name=name, workspace=workspace, limit=1000))
        slugs = {w.id: w.slug for w in every(ledger.workspaces.list, limit=1000)}
    table = Table("workspace", "name", "version", "stage", "run", "artifact", "metrics")
    for m in rows:
        table.add_row(
            slugs.get(m.workspace_id, "") if m.workspace_id else "(store-wide)",
            m.name,
            str(m.version),
            m.stage,
            str(m.run_id or ""),
            (m.artifact_sha256 or "")[:16],
            json.dumps(m.metrics),
        )
    console.print(table)


@models.command("register")
def models_register(
    name: Annotated[str, typer.Argument()],
    artifact: Annotated[str | None, typer.Option(help="Path of the model file")] = None,
    run: Annotated[str | None, typer.Option(help="Run that produced it")] = None,
    metrics: Annotated[str, typer.Option(help="JSON object")] = "{}",
    workspace: Annotated[str | None, typer.Option("--workspace", "-w", help="Slug or id")] = None,
) -> None:
    """Register version n+1 of a model (the artifact is stored as a blob); names are
    numbered per workspace (the run's, or the default one when neither is given)."""
    with state.ledger() as ledger:
        m = ledger.model_versions.create(
            name,
            run,
            artifact=artifact,
            metrics=_json(metrics, "--metrics"),
            workspace=workspace,
        )
    console.print(f"{m.name} v{m.version} ({m.id})")


@models.command("promote")
def models_promote(
    name: Annotated[str, typer.Argument()],
    version: Annotated[int, typer.Argument()],
    stage: Annotated[str, typer.Argument(help="none, staging, production, archived")],
    workspace: Annotated[str | None, typer.Option("--workspace", "-w", help="Slug or id")] = None,
) -> None:
    """Move a version to a stage (production archives the previous production version of
    the same name and workspace)."""
    with state.ledger() as ledger:
        m = ledger.model_versions.promote(name, version, stage, workspace=workspace)
    console.print(f"{m.name} v{m.version} is {m.stage}")


def lineage(
    entity_type: Annotated[str, typer.Argument(help="document, version, dataset, ...")],
    entity_id: Annotated[str, typer.Argument()],
    down: Annotated[bool, typer.Option("--down", help="What was made from it")] = False,
) -> None:
    """What an entity was made from (or, with --down, what was made from it)."""
    with state.ledger() as ledger:
        nodes = (ledger.lineage.downstream if down else ledger.lineage.upstream)(
            (entity_type, entity_id)
        )
    tree = Tree(f"{entity_type} {entity_id} ({'downstream' if down else 'upstream'})")
    branches = {0: tree}
    for node in nodes:
        parent = branches.get(node.depth - 1, tree)
        label = Text(f"{node.entity_type} {node.entity_id}")
        if node.via_run_id is not None:
            label.append(f" via run {node.via_run_id}", style="dim")
        branches[node.depth] = parent.add(label)
    console.print(tree)


def register(app: typer.Typer) -> None:
    app.command()(annotate)
    app.command()(history)
    app.command()(lineage)
    app.add_typer(datasets, name="datasets")
    app.add_typer(runs, name="runs")
    app.add_typer(models, name="models")
