"""``docledger add / ls / show / cat / rm``: documents in and out of the store."""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from docledger.cli.context import console, err_console, state, styled, writable_path
from docledger.errors import InvalidInput
from docledger.schemas import IngestResult
from docledger.services.extraction import ExtractOutcome
from docledger.services.sources import expand_paths, present_keys, unreadable_prefixes

OUTCOMES = ("added", "new_version", "unchanged", "reverted", "failed")


def add(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to ingest")],
    workspace: Annotated[str | None, typer.Option("--workspace", "-w", help="Slug or id")] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Descend into folders")
    ] = False,
    include: Annotated[list[str] | None, typer.Option(help="Only keys matching this glob")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Skip keys matching this glob")] = None,
    then_extract: Annotated[
        bool, typer.Option("--extract", help="Then extract the new and changed documents")
    ] = False,
    sync: Annotated[
        bool,
        typer.Option(
            "--sync",
            help="Mirror the folders: mark documents whose file is gone as deleted (soft)",
        ),
    ] = False,
) -> None:
    """Ingest files: new documents, new versions of changed ones, nothing for unchanged ones.

    Keys are paths relative to each folder given (a file given directly is keyed by its name).
    With --sync the workspace mirrors the folders: a document whose file is no longer there
    leaves search and listings (its history stays; it returns with its file).
    Exits 1 when any file failed; the others are still stored.
    """
    sources = expand_paths(paths, recursive=recursive, include=include or (), exclude=exclude or ())
    results: list[IngestResult] = []
    removed: list[str] = []
    with state.ledger() as ledger:
        ledger.workspaces.get(workspace)
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("ingesting", total=len(sources))
            results = ledger.documents.create_many(
                sources, workspace=workspace, on_result=lambda _result: bar.advance(task)
            )
        if sync:
            removed = ledger.documents.mark_deleted(
                present_keys(sources),
                workspace=workspace,
                keep_prefixes=unreadable_prefixes(sources),
            )
    counts: Counter[str] = Counter(r.outcome for r in results)
    columns_shown = (*OUTCOMES, "removed") if sync else OUTCOMES
    summary = Table(*columns_shown, title=f"{len(results)} files")
    summary.add_row(
        *(str(counts.get(o, 0)) for o in OUTCOMES), *([str(len(removed))] if sync else [])
    )
    console.print(summary)
    for r in results:
        for warning in r.warnings:
            err_console.print(
                styled("warning:", "yellow", f" {r.external_key}: {warning}"), highlight=False
            )
    failed = [r for r in results if r.outcome == "failed"]
    for r in failed:
        err_console.print(styled("failed:", "red", f" {r.source}: {r.error}"), highlight=False)
    if then_extract:
        changed = [
            r.document_id
            for r in results
            if r.outcome in {"added", "new_version", "reverted"} and r.document_id
        ]
        with state.ledger() as ledger:
            outcomes = ledger.extractions.run(changed, workspace=workspace)
        extracted = [o for o in outcomes if o.created]
        console.print(
            f"extracted {len(extracted)} documents ({sum(o.segments for o in extracted)} segments)"
        )
        if report_failures(outcomes):
            raise typer.Exit(1)
    if failed:
        raise typer.Exit(1)


def ls(
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
    status: Annotated[str | None, typer.Option(help="uploaded, processing, ...")] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    cursor: Annotated[str | None, typer.Option(help="From a previous page's footer")] = None,
) -> None:
    """List documents, newest first."""
    with state.ledger() as ledger:
        page = ledger.documents.list(
            workspace=workspace, status=status, tag=tag, limit=limit, cursor=cursor
        )
    table = Table("id", "key", "type", "status", "updated")
    for doc in page.items:
        table.add_row(
            str(doc.id),
            doc.external_key,
            doc.media_type or "",
            doc.status,
            doc.updated_at.isoformat(timespec="seconds"),
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


def show(
    document: Annotated[str, typer.Argument(help="Document id or external key")],
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Show a document and its versions."""
    with state.ledger() as ledger:
        detail = ledger.documents.detail(document, workspace=workspace)
    if as_json:
        console.print_json(detail.model_dump_json())
        return
    console.print(styled(detail.external_key, "bold", f"  {detail.id}"))
    console.print(
        f"status {detail.status}  type {detail.media_type}  tags {json.dumps(detail.tags)}"
    )
    table = Table("version", "sha256", "bytes", "pages", "filename", "created")
    for v in detail.versions:
        table.add_row(
            str(v.version_number),
            v.sha256[:16],
            f"{v.size_bytes:,}",
            "" if v.page_count is None else str(v.page_count),
            v.original_filename or "",
            v.created_at.isoformat(timespec="seconds"),
        )
    console.print(table)


def cat(
    document: Annotated[str, typer.Argument(help="Document id or external key")],
    version: Annotated[int | None, typer.Option(help="Version number (default: newest)")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file")] = None,
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
) -> None:
    """Write a document version's bytes to stdout or a file."""
    if output is not None:
        writable_path(output, "-o")
    with (
        state.ledger() as ledger,
        ledger.documents.open(document, version, workspace=workspace) as src,
    ):
        if output is None:
            shutil.copyfileobj(src, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:  # a temp file renamed at the end: a corrupt blob leaves no half-written output
            temp = output.with_name(f".{output.name}.part")
            try:
                with temp.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                temp.replace(output)
            finally:
                temp.unlink(missing_ok=True)


def rm(
    document: Annotated[str, typer.Argument(help="Document id or external key")],
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
) -> None:
    """Delete a document with its versions and everything derived (blobs are freed by gc)."""
    with state.ledger() as ledger:
        doc = ledger.documents.delete(document, workspace=workspace)
    console.print(f"deleted {doc.external_key} ({doc.id}); run `docledger gc` to free its blobs")


def extract(
    documents: Annotated[list[str] | None, typer.Argument(help="Document ids or keys")] = None,
    all_documents: Annotated[bool, typer.Option("--all", help="Every document")] = False,
    extractor: Annotated[
        str | None, typer.Option(help="text, json, pdf or a plugin's name; default: by media type")
    ] = None,
    params: Annotated[str, typer.Option(help="JSON params, e.g. chunk_size")] = "{}",
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
) -> None:
    """Extract segments from documents' current versions (a re-run records nothing new)."""
    if not documents and not all_documents:
        raise InvalidInput("name documents to extract, or pass --all")
    try:
        options = json.loads(params)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--params is not JSON: {exc}") from exc
    with state.ledger() as ledger:
        refs: list[Any] = (
            list(ledger.extractions.document_ids(workspace=workspace))
            if all_documents
            else list(documents or [])
        )
        columns = (TextColumn("extracting"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("extract", total=len(refs))
            outcomes = ledger.extractions.run(
                refs,
                extractor=extractor,
                params=options,
                workspace=workspace,
                on_result=lambda _o: bar.advance(task),
            )
    table = Table("document", "extractor", "segments", "new", "problem")
    for o in outcomes:
        table.add_row(
            o.document,
            o.extractor or "",
            str(o.segments),
            "yes" if o.created else "no",
            "failed" if o.error else (f"skipped: {o.skipped}" if o.skipped else ""),
        )
    console.print(table)
    counts = Counter(
        "failed" if o.error else "skipped" if o.skipped else "new" if o.created else "unchanged"
        for o in outcomes
    )
    console.print(
        ", ".join(f"{counts.get(n, 0)} {n}" for n in ("new", "unchanged", "skipped", "failed"))
    )
    if report_failures(outcomes):
        raise typer.Exit(1)


def report_failures(outcomes: list[ExtractOutcome]) -> bool:
    """One line on stderr per document that failed; True when any did."""
    failed = [o for o in outcomes if o.error]
    for o in failed:
        err_console.print(
            styled("extract failed:", "red", f" {o.document}: {o.error}"), highlight=False
        )
    return bool(failed)


importer = typer.Typer(help="Import other tools' output.", no_args_is_help=True)


@importer.command("elements")
def import_elements(
    file: Annotated[Path, typer.Argument(help="Unstructured or Docling JSON")],
    document: Annotated[str, typer.Option(help="Document id or key it belongs to")],
    fmt: Annotated[str, typer.Option("--format", help="auto, unstructured or docling")] = "auto",
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
) -> None:
    """Record a tool's elements of a document's current version as an extraction."""
    if not file.is_file():
        raise InvalidInput(f"no such file: {file}")
    with state.ledger() as ledger:
        outcome = ledger.extractions.import_elements(
            document, file.read_bytes(), fmt=fmt, workspace=workspace
        )
    state_text = "recorded" if outcome.created else "already recorded"
    console.print(
        f"{outcome.document}: {outcome.segments} segments from {outcome.extractor} "
        f"({state_text}, extraction {outcome.extraction_id})"
    )


def embed(
    space: Annotated[
        str, typer.Option(help="Embedding space: hash-256 (built-in), minilm-384 (minilm extra)")
    ] = "hash-256",
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Only this workspace (default: all)")
    ] = None,
) -> None:
    """Embed every extracted text segment the space lacks, with the space's built-in model."""
    with state.ledger() as ledger:
        columns = (TextColumn("embedding"), BarColumn(), TextColumn("{task.completed} segments"))
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("embed", total=None)
            done = ledger.search.embed_missing(
                space, progress=lambda n: bar.advance(task, n), workspace=workspace
            )
    console.print(f"embedded {done} segments into {space}")


def index(
    space: Annotated[str, typer.Option(help="Embedding space")] = "hash-256",
) -> None:
    """Build (or extend) the space's approximate vector index beside an SQLite database."""
    with state.ledger() as ledger:
        columns = (TextColumn("indexing"), BarColumn(), TextColumn("{task.completed} vectors"))
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("index", total=None)
            held = ledger.search.build_index(space, progress=lambda n: bar.advance(task, n))
    if held:
        console.print(f"the index of {space} holds {held} vectors")
    else:
        console.print(f"{space}: the database searches it itself (no index file to build)")


def search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    k: Annotated[int, typer.Option("--k", min=1, max=1000)] = 10,
    mode: Annotated[
        str, typer.Option(help="vector, text (full-text) or hybrid (both, fused)")
    ] = "hybrid",
    space: Annotated[str, typer.Option(help="Embedding space")] = "hash-256",
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(help="Only these segment kinds (default: chunk, record, zone, evidence)"),
    ] = None,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="Also search superseded versions")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Hits as JSON lines (with boxes)")
    ] = False,
) -> None:
    """Search the current versions' passages: score, document, page, snippet."""
    if mode not in {"vector", "text", "hybrid"}:
        raise InvalidInput(f"--mode is vector, text or hybrid, not {mode!r}")
    scope: dict[str, Any] = {
        "k": k,
        "workspace": workspace,
        "kinds": kind,
        "include_superseded": all_versions,
    }
    with state.ledger() as ledger:
        if mode == "text":
            hits = ledger.search.text(query, **scope)
        elif mode == "vector":
            hits = ledger.search.vector(query, space=space, **scope)
        else:
            hits = ledger.search.hybrid(query, space=space, **scope)
    if as_json:
        for hit in hits:
            print(hit.model_dump_json())
        return
    table = Table("score", "document", "page", "kind", "snippet")
    for hit in hits:
        snippet = " ".join((hit.text or "").split())[:90]
        table.add_row(
            f"{hit.score:.3f}",
            hit.external_key,
            "" if hit.page_number is None else str(hit.page_number),
            hit.kind,
            snippet,
        )
    console.print(table)


def render(
    document: Annotated[str, typer.Argument(help="Document id or external key")],
    page: Annotated[
        list[int] | None, typer.Option("--page", "-p", help="Page number (default: all)")
    ] = None,
    dpi: Annotated[
        int, typer.Option(min=18, max=1200, help="Pixels per inch (PDF; images keep their size)")
    ] = 144,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Also write the PNGs into this folder")
    ] = None,
    password: Annotated[str | None, typer.Option(help="Password of an encrypted PDF")] = None,
    workspace: Annotated[str | None, typer.Option("--workspace", "-w")] = None,
) -> None:
    """Render a PDF's pages (or an image's, upright and flattened) to PNG images, kept as
    blobs beside the document."""
    with state.ledger() as ledger:
        images = ledger.documents.render(
            document, pages=page, dpi=dpi, password=password, workspace=workspace
        )
        table = Table("page", "dpi", "pixels", "sha256", "file")
        for image in images:
            target = ""
            if output is not None:
                output.mkdir(parents=True, exist_ok=True)
                path = output / f"page-{image.page_number:04d}-{image.dpi}dpi.png"
                with ledger.blobs.open(image.sha256) as src, path.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                target = str(path)
            table.add_row(
                str(image.page_number),
                str(image.dpi),
                f"{image.width}x{image.height}",
                image.sha256[:16],
                target,
            )
    console.print(table)


def register(app: typer.Typer) -> None:
    for command in (add, ls, show, cat, rm, extract, embed, index, search, render):
        app.command()(command)
    app.add_typer(importer, name="import")
