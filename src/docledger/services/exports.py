"""``ledger.exports``: run an export format by format, each streamed from the database into a
file and from the file into the blob store, every step recorded; resume what failed,
reproduce what succeeded, hand the files back, and read a Label Studio export in.

Each format is one pass (two for COCO) over the selection in its own read transaction, so a
format that fails (a bug in a plugin, a page without a size) costs only itself: the others are
written, the export ends ``partial`` and ``resume`` runs what is missing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from docledger import formats as registry
from docledger.errors import InvalidInput, NotFound
from docledger.formats.base import ExportFormat
from docledger.formats.labelstudio import parse
from docledger.models import ExportFile as FileRow
from docledger.models import Run as RunRow
from docledger.repositories.export import ExportRef, ExportRepository
from docledger.repositories.job import JobRepository
from docledger.repositories.lineage import LineageRepository
from docledger.repositories.run import RunRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository
from docledger.schemas.export import Export, LabelStudioImport, Reproduction
from docledger.services.export_source import Plan, resolve
from docledger.services.export_writing import Progress, failed_result, write_format
from docledger.services.label_studio import import_regions
from docledger.services.scope import Service, service
from docledger.services.staging import put_file

log = logging.getLogger(__name__)

#: options every format understands; others are passed through to the formats as given
OPTION_TYPES: dict[str, type] = {"dpi": int, "image_prefix": str, "validate": str, "images": bool}


def _docledger_version() -> str:
    try:
        return metadata.version("docledger")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def _options(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("options is a mapping")
    out = dict(value)
    for name, kind in OPTION_TYPES.items():
        value = out.get(name)
        if name in out and (
            not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))
        ):
            raise InvalidInput(f"option {name} is a {kind.__name__}")
    if out.get("validate", "count") not in {"count", "full"}:
        raise InvalidInput("option validate is 'count' or 'full'")
    if "dpi" in out and not 18 <= out["dpi"] <= 1200:
        raise InvalidInput("option dpi lies between 18 and 1200")
    try:
        json.dumps(out, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"options must be JSON: {exc}") from exc
    return out


def _selection_of(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored (pinned) selection as a selection again: the dataset by id."""
    out = {k: v for k, v in stored.items() if k != "document_ids"}
    if isinstance(out.get("dataset"), dict):
        out["dataset"] = str(out["dataset"]["id"])
    if isinstance(out.get("model"), dict):
        out["model"] = f"{out['model']['name']}@{out['model']['version']}"
    if stored.get("document_ids"):
        out["documents"] = list(stored["document_ids"])
    return out


#: the task that makes an export created with ``background=True``
EXPORT_TASK = "docledger.export"
#: the statuses an export may start from, per action (checked again as it starts, so two
#: workers given the same export cannot both make it)
RUNNABLE = {"start": frozenset({"pending"}), "resume": frozenset({"partial", "failed"})}
#: what ``resume(force=True)`` takes over besides: an export whose maker died while running
#: (a killed process, a worker whose job lease expired)
ABANDONED = frozenset({"running"})


def _runnable(action: str, force: bool) -> frozenset[str]:
    return RUNNABLE[action] | ABANDONED if force else RUNNABLE[action]


class ExportService(Service, ExportRepository):
    def _get(self, export: ExportRef, workspace: WorkspaceRef | None = None) -> Export:
        with self._scope.session(readonly=True) as session:
            return ExportRepository(session).get(export, workspace=workspace)

    @service
    def create(
        self,
        selection: Mapping[str, Any] | None = None,
        formats: Sequence[str] | str = ("jsonl",),
        *,
        options: Mapping[str, Any] | None = None,
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
        progress: Progress | None = None,
        background: bool = False,
    ) -> Export:
        """Export a selection (``{"dataset": "name@3"}``, or filters such as ``documents``,
        ``kinds``, ``labels``, ``status``, ``min_confidence``) in one or more formats
        (``docledger.formats.available()``). Returns the finished export: ``succeeded``,
        ``partial`` (some formats or pages could not be written: see ``results``; ``resume``
        finishes it) or ``failed``. Bad selections and unknown formats are refused before
        anything is written.

        ``background=True`` returns the export ``pending`` at once, with a
        ``docledger.export`` job enqueued in the same transaction; a worker makes it (a
        dataset selection is pinned to its version now; a filter reads the data as it is
        when the worker runs)."""
        chosen = registry.get(list(formats) if not isinstance(formats, str) else formats)
        opts = _options(options)
        with self._scope.session(readonly=True) as session:
            ws = WorkspaceRepository(session).get(workspace).id
            if actor is not None:
                ExportRepository(session)._actor(actor)
            plan = resolve(session, ws, selection)
        versions = {"docledger": _docledger_version()} | {f.name: f.version for f in chosen}
        with self._scope.session() as session:
            run = (
                RunRepository(session)
                .create(
                    "export", "export", params={"formats": [f.name for f in chosen]}, workspace=ws
                )
                .id
            )
            LineageRepository(session).link(run, "in", plan.inputs(), workspace=ws)
            key = ExportRepository(session)._create(
                ws, plan.pinned(), [f.name for f in chosen], opts, versions, actor, run
            )
            if background:
                payload = {"export": str(key)} | ({"actor": str(actor)} if actor else {})
                JobRepository(session).enqueue(
                    EXPORT_TASK, payload, workspace=ws, idempotency_key=f"export:{key}"
                )
        if background:
            return self._get(key)
        return self._run(key, plan, chosen, opts, actor, "start", progress)

    def _run(
        self,
        key: uuid.UUID,
        plan: Plan,
        chosen: Sequence[ExportFormat],
        opts: Mapping[str, Any],
        actor: str | uuid.UUID | None,
        action: str,
        progress: Progress | None,
        force: bool = False,
    ) -> Export:
        allowed = _runnable(action, force)
        with self._scope.session() as session:
            detail = {"forced": True} if force else None
            ExportRepository(session)._start(key, action, actor, allowed, detail)
        for fmt in chosen:
            try:
                self._format(key, plan, fmt, opts, actor, progress)
            except BaseException as exc:
                # an error no format catches (a full disk, the database gone, Ctrl-C): the
                # export is finished with what it has and this format failed, never left
                # ``running``; ``resume`` redoes the rest; the error still reaches the caller
                self._abandon(key, fmt, exc, actor)
                raise
        return self._complete(key, actor)

    def _format(
        self,
        key: uuid.UUID,
        plan: Plan,
        fmt: ExportFormat,
        opts: Mapping[str, Any],
        actor: str | uuid.UUID | None,
        progress: Progress | None,
    ) -> None:
        result, files, checks = write_format(self._scope, plan, fmt, opts, progress)
        try:
            with self._scope.writing_blobs():
                stored = [
                    (name, put_file(self._scope.blobs, meta["path"], "an export file"),
                     meta["media_type"], meta["records"])
                    for name, meta in files
                ]  # fmt: skip
                with self._scope.session() as session:
                    ExportRepository(session)._record_format(
                        key, fmt.name, result, stored, checks, actor
                    )
        finally:
            for _, meta in files:
                shutil.rmtree(meta["folder"], ignore_errors=True)

    def _abandon(
        self, key: uuid.UUID, fmt: ExportFormat, exc: BaseException, actor: str | uuid.UUID | None
    ) -> None:
        failed = failed_result(fmt, exc)
        try:
            with self._scope.session() as session:
                ExportRepository(session)._record_format(key, fmt.name, failed, [], None, actor)
            self._complete(key, actor)
        except Exception:  # the store itself failed: resume(force=True) takes it over later
            log.warning("export %s could not be marked finished; it stays running", key)

    def _complete(self, key: uuid.UUID, actor: str | uuid.UUID | None) -> Export:
        with self._scope.session() as session:
            status = ExportRepository(session)._finish(key, actor)
            row = ExportRepository(session)._row(key)
            run = None if row.run_id is None else session.get(RunRow, row.run_id)
            if run is not None:
                LineageRepository(session).link(run.id, "out", [("export", key)])
                if run.status == "running":  # a resumed export's run finished the first time
                    RunRepository(session).finish(
                        run.id, "failed" if status == "failed" else "succeeded"
                    )
        return self._get(key)

    @service
    def resume(
        self,
        export: ExportRef,
        *,
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
        progress: Progress | None = None,
        force: bool = False,
    ) -> Export:
        """Run again every format of a partial or failed export that did not succeed (their
        earlier files are replaced); the formats that succeeded are left as they are. A
        ``pending`` export (``create(background=True)``) is made whole: what its job does.

        ``force=True`` also takes over a ``running`` export, for when what was making it is
        gone (a killed process; the export job does it when the queue hands it over again
        after its first worker's lease ran out). Forcing an export that is really being
        made makes it twice; the files of the last run are kept."""
        with self._scope.session(readonly=True) as session:
            row = ExportRepository(session)._row(export, workspace)
            action = "start" if row.status == "pending" else "resume"
            if row.status not in _runnable(action, force):
                raise InvalidInput(
                    f"export {row.id} is {row.status}: only a pending, partial or failed one "
                    "resumes"
                    + (
                        ""
                        if force or row.status not in ABANDONED
                        else " (force=True takes over one whose maker was killed)"
                    )
                )
            key, ws = row.id, row.workspace_id
            todo = [f for f in row.formats if row.results.get(f, {}).get("status") != "succeeded"]
            opts, stored = dict(row.options), dict(row.selection)
            plan = resolve(session, ws, _selection_of(stored))
        known = registry.available()
        missing = [f for f in todo if f not in known]
        if missing:
            raise InvalidInput(f"format(s) {missing} are not installed: cannot resume")
        todo_formats = [known[f] for f in todo]
        return self._run(key, plan, todo_formats, opts, actor, action, progress, force)

    @service
    def reproduce(
        self,
        export: ExportRef,
        *,
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Reproduction:
        """Make the export again from what it recorded (the same pinned dataset version or
        filters, formats and options) and compare the files byte for byte (by hash)."""
        original = self._get(export, workspace)
        again = self.create(
            _selection_of(original.selection),
            original.formats,
            options=original.options,
            actor=actor,
            workspace=original.workspace_id,
        )
        before = {f.name: f.sha256 for f in original.files}
        after = {f.name: f.sha256 for f in again.files}
        same = {name: before.get(name) == after.get(name) for name in sorted(before | after)}
        identical = bool(same) and all(same.values())
        with self._scope.session() as session:
            repo = ExportRepository(session)
            repo._event(
                again.id, "reproduce", actor=repo._actor(actor),
                detail={"original": str(original.id), "identical": identical, "files": same},
            )  # fmt: skip
        return Reproduction(original=original.id, export=again, identical=identical, files=same)

    @service
    def open_file(
        self, export: ExportRef, name: str, *, workspace: WorkspaceRef | None = None
    ) -> BinaryIO:
        """A file of the export as a binary stream (verified against its hash as read)."""
        with self._scope.session(readonly=True) as session:
            row = ExportRepository(session)._row(export, workspace)
            sha = session.scalar(
                select(FileRow.sha256).where(FileRow.export_id == row.id, FileRow.name == name)
            )
        if sha is None:
            raise NotFound(f"export {row.id} has no file {name!r}")
        return self._scope.blobs.open(sha)

    @service
    def download(
        self,
        export: ExportRef,
        dest: str | os.PathLike[str],
        *,
        workspace: WorkspaceRef | None = None,
    ) -> list[Path]:
        """Copy the export's files under ``dest`` (created if needed), streamed; returns the
        paths written."""
        found = self._get(export, workspace)
        root = Path(dest)
        if root.exists() and not root.is_dir():
            raise InvalidInput(f"{root} is not a folder")
        written = []
        for item in found.files:
            target = root / item.name
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            with self._scope.blobs.open(item.sha256) as src, open(partial, "wb") as out:
                shutil.copyfileobj(src, out, 1024 * 1024)
            os.replace(partial, target)
            written.append(target)
        return written

    @service
    def import_label_studio(
        self,
        data: str | os.PathLike[str] | bytes,
        *,
        status: str | None = None,
        actor: str | uuid.UUID | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> LabelStudioImport:
        """Record the labelled rectangles of a Label Studio JSON export as annotations: a
        region on a segment (its id is the segment's, as docledger exports them) becomes a
        ``label`` annotation, plus a ``bbox`` one when it was moved; a region drawn in Label
        Studio becomes a ``bbox`` annotation on the page's version. Annotations that already
        say the same are left alone, so importing twice changes nothing. All or nothing."""
        if isinstance(data, str | os.PathLike) and not isinstance(data, bytes):
            if not os.path.isfile(data):
                raise InvalidInput(f"{os.fspath(data)} is not a file")
            data = Path(data).read_bytes()
        regions = parse(data)
        with self._scope.session() as session:
            return import_regions(session, regions, status, actor, workspace)


__all__ = ["ExportService"]
