"""Writing one export format: the selection streamed through the format into files in a
private folder, and the files checked, before anything is stored."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from docledger.errors import DocledgerError, InvalidInput
from docledger.formats.base import ExportFormat, Record, Sink
from docledger.services.export_pages import PageImages
from docledger.services.export_records import READERS
from docledger.services.export_source import Plan
from docledger.services.scope import Scope

log = logging.getLogger("docledger.services.exports")

#: called with (format, records written since the last call) as an export goes
Progress = Callable[[str, int], None]


def failed_result(fmt: ExportFormat, exc: BaseException) -> dict[str, Any]:
    """A format's result when it failed: our own errors say what went wrong as they are,
    anything else with its type (a plugin's RuntimeError, an interrupt)."""
    message = str(exc) if isinstance(exc, DocledgerError) else f"{type(exc).__name__}: {exc}"
    return {"status": "failed", "error": message or type(exc).__name__, "version": fmt.version}


def write_format(
    scope: Scope,
    plan: Plan,
    fmt: ExportFormat,
    opts: Mapping[str, Any],
    progress: Progress | None,
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]], dict[str, Any] | None]:
    """Write one format into a private folder: (result, files, validation). A format that
    fails costs only itself: its error is the result, its folder is removed."""
    folder = Path(tempfile.mkdtemp(prefix="docledger-export-"))
    sink = Sink(folder, fmt.name, PageImages(scope) if opts.get("images") else None)
    started = time.perf_counter()
    reader = READERS.get(fmt.source)

    def records() -> Iterator[Record]:
        assert reader is not None
        with scope.session(readonly=True) as session:
            done = 0
            for record in reader(session, plan):
                yield record
                done += 1
                if progress is not None and done % 1000 == 0:
                    progress(fmt.name, 1000)
            if progress is not None and done % 1000:
                progress(fmt.name, done % 1000)

    try:
        if reader is None:
            raise InvalidInput(f"format {fmt.name} reads {fmt.source!r}, not segments or findings")
        fmt.write(records, sink, opts)
    except Exception as exc:
        sink.close()
        shutil.rmtree(folder, ignore_errors=True)
        log.debug("export format %s failed", fmt.name, exc_info=True)
        return failed_result(fmt, exc), [], None
    except BaseException:  # an interrupt: nothing of this format is kept, and it goes on up
        sink.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    sink.close()
    files = [(name, {**meta, "folder": folder}) for name, meta in sorted(sink.files.items())]
    result: dict[str, Any] = {
        "status": "partial" if sink.failed_count else "succeeded",
        "version": fmt.version,
        "records": sum(meta["records"] for _, meta in files),
        "files": [name for name, _ in files],
        "failed": sink.failed,
        "failed_count": sink.failed_count,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if sink.failed_count:
        result["error"] = f"{sink.failed_count} record(s) could not be written"
    if not files:
        shutil.rmtree(folder, ignore_errors=True)
    return result, files, check_files(files, opts.get("validate") == "full")


def check_files(files: list[tuple[str, dict[str, Any]]], full: bool) -> dict[str, Any]:
    """What the export checks itself in every file it wrote: JSON lines are counted against
    the records; with ``validate="full"`` each line is parsed and every JSON document too
    (which holds the document in memory: off by default, so memory stays flat)."""
    out: dict[str, Any] = {"ok": True, "files": {}}
    for name, meta in files:
        path: Path = meta["path"]
        entry: dict[str, Any] = {"bytes": path.stat().st_size, "records": meta["records"]}
        try:
            if name.endswith(".jsonl"):
                with open(path, encoding="utf-8") as handle:
                    if full:
                        lines = sum(1 for line in handle if json.loads(line) is not None)
                    else:
                        lines = sum(1 for _ in handle)
                entry["lines"] = lines
                entry["ok"] = lines == meta["records"]
            elif name.endswith(".json") and full:  # parsing holds the document in memory
                with open(path, encoding="utf-8") as handle:
                    json.load(handle)
                entry["ok"] = True
                entry["parsed"] = True
            else:
                entry["ok"] = True
        except ValueError as exc:
            entry["ok"] = False
            entry["error"] = str(exc)
        out["files"][name] = entry
        out["ok"] = out["ok"] and entry["ok"]
    return out
