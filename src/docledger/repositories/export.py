"""Export records: their state as it moves pending -> running -> succeeded / partial /
failed, each format's outcome and files, and the audit trail every step appends to (in the
same transaction as the step)."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update

from docledger.db.types import utcnow
from docledger.errors import Conflict, InvalidInput
from docledger.ids import new_id
from docledger.models import Export as ExportRow
from docledger.models import ExportEvent as EventRow
from docledger.models import ExportFile as FileRow
from docledger.repositories.base import Repository, readonly, require_uuid
from docledger.repositories.blob import BlobRepository
from docledger.repositories.paging import page
from docledger.repositories.user import UserRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository, confine
from docledger.schemas.common import Page
from docledger.schemas.export import Export, ExportEvent, ExportFile
from docledger.storage.base import StoredBlob
from docledger.vocab import ExportStatus, values

ExportRef = uuid.UUID | str | Export


def export_id(ref: object) -> uuid.UUID:
    if isinstance(ref, Export):
        return ref.id
    return require_uuid(ref, "export id")  # type: ignore[arg-type]


class ExportRepository(Repository):
    """``ledger.exports`` reads; the service (``services/exports.py``) runs them."""

    def _actor(self, actor: str | uuid.UUID | None) -> tuple[uuid.UUID | None, str | None]:
        if actor is None:
            return None, None
        user = UserRepository(self.session).get(actor)
        return user.id, user.email

    def _row(self, ref: object, workspace: WorkspaceRef | None = None) -> ExportRow:
        key = export_id(ref)
        return confine(  # type: ignore[no-any-return]
            self.session, self.session.get(ExportRow, key), workspace, f"no export {key}"
        )

    def _event(
        self,
        export: uuid.UUID,
        action: str,
        *,
        fmt: str | None = None,
        actor: tuple[uuid.UUID | None, str | None] = (None, None),
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        self.session.execute(
            insert(EventRow),
            [
                {
                    "id": new_id(), "export_id": export, "action": action, "format": fmt,
                    "actor_id": actor[0], "actor": actor[1], "detail": dict(detail or {}),
                    "at": utcnow(),
                }
            ],
        )  # fmt: skip

    def _create(
        self,
        workspace_id: uuid.UUID,
        selection: Mapping[str, Any],
        formats: Sequence[str],
        options: Mapping[str, Any],
        versions: Mapping[str, str],
        actor: str | uuid.UUID | None,
        run_id: uuid.UUID | None,
    ) -> uuid.UUID:
        who = self._actor(actor)
        key = new_id()
        self.session.execute(
            insert(ExportRow),
            [
                {
                    "id": key, "workspace_id": workspace_id, "selection": dict(selection),
                    "formats": list(formats), "options": dict(options), "status": "pending",
                    "results": {f: {"status": "pending"} for f in formats}, "validation": {},
                    "exporter_version": _version_text(versions), "run_id": run_id,
                    "created_by": who[0], "actor": who[1], "created_at": utcnow(),
                }
            ],
        )  # fmt: skip
        detail = {
            "selection": dict(selection),
            "formats": list(formats),
            "versions": dict(versions),
        }
        self._event(key, "create", actor=who, detail=detail)
        return key

    def _start(
        self,
        key: uuid.UUID,
        action: str,
        actor: str | uuid.UUID | None,
        allowed: Collection[str],
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Compare and set: only from one of the ``allowed`` statuses, else Conflict (another
        worker or caller started it first)."""
        moved = self.session.execute(
            update(ExportRow)
            .where(ExportRow.id == key, ExportRow.status.in_(sorted(allowed)))
            .values(status="running", started_at=utcnow(), completed_at=None)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"export {key} was started by someone else")
        self._event(key, action, actor=self._actor(actor), detail=detail)

    def _record_format(
        self,
        key: uuid.UUID,
        fmt: str,
        result: dict[str, Any],
        files: Sequence[tuple[str, StoredBlob, str, int]],
        validation: dict[str, Any] | None,
        actor: str | uuid.UUID | None,
    ) -> None:
        """One format's outcome with its files (replacing what an earlier try of the same
        format wrote), in one transaction."""
        row = self.session.get(ExportRow, key, with_for_update=True)
        assert row is not None
        BlobRepository(self.session).create_many([(blob, media) for _, blob, media, _ in files])
        self.session.execute(delete(FileRow).where(FileRow.export_id == key, FileRow.format == fmt))
        # page images two formats ship are one file of the export, kept by the first
        taken = set(self.session.scalars(select(FileRow.name).where(FileRow.export_id == key)))
        files = [f for f in files if f[0] not in taken]
        if files:
            now = utcnow()
            self.session.execute(
                insert(FileRow),
                [
                    {
                        "id": new_id(), "export_id": key, "name": name, "format": fmt,
                        "sha256": blob.sha256, "size_bytes": blob.size_bytes, "records": records,
                        "media_type": media, "created_at": now,
                    }
                    for name, blob, media, records in files
                ],
            )  # fmt: skip
        results = {**row.results, fmt: result}
        checks = dict(row.validation)
        if validation is not None:
            checks[fmt] = validation
        self.session.execute(
            update(ExportRow).where(ExportRow.id == key).values(results=results, validation=checks)
        )
        action = "fail" if result["status"] == "failed" else "format"
        self._event(key, action, fmt=fmt, actor=self._actor(actor), detail=result)

    def _finish(self, key: uuid.UUID, actor: str | uuid.UUID | None) -> str:
        row = self.session.get(ExportRow, key, with_for_update=True)
        assert row is not None
        states = [row.results.get(f, {}).get("status", "pending") for f in row.formats]
        if all(s == "succeeded" for s in states):
            status = "succeeded"
        elif all(s == "failed" for s in states):
            status = "failed"
        else:
            status = "partial"
        errors = [
            f"{f}: {row.results[f]['error']}"
            for f in row.formats
            if row.results.get(f, {}).get("error")
        ]
        self.session.execute(
            update(ExportRow)
            .where(ExportRow.id == key)
            .values(status=status, completed_at=utcnow(), error="; ".join(errors) or None)
        )
        self._event(key, "finish", actor=self._actor(actor), detail={"status": status})
        return status

    # -- reads ------------------------------------------------------------------------------

    def _files(self, key: uuid.UUID) -> builtins.list[ExportFile]:
        rows = self.session.scalars(
            select(FileRow).where(FileRow.export_id == key).order_by(FileRow.format, FileRow.name)
        )
        return [ExportFile.model_validate(r) for r in rows]

    def _dto(self, row: ExportRow) -> Export:
        base = Export.model_validate(row)
        return base.model_copy(update={"files": self._files(row.id)})

    @readonly
    def get(self, export: ExportRef, *, workspace: WorkspaceRef | None = None) -> Export:
        """An export with each format's outcome and its files."""
        return self._dto(self._row(export, workspace))

    @readonly
    def list(
        self,
        *,
        status: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Page[Export]:
        """A workspace's exports, newest first (files are listed by ``get``)."""
        ws = WorkspaceRepository(self.session).get(workspace).id
        stmt = select(ExportRow).where(ExportRow.workspace_id == ws)
        if status is not None:
            if status not in values(ExportStatus):
                raise InvalidInput(f"unknown status {status!r}; one of {values(ExportStatus)}")
            stmt = stmt.where(ExportRow.status == status)
        keys = [(ExportRow.created_at, True), (ExportRow.id, True)]
        return page(self.session, stmt, keys, Export.model_validate, limit=limit, cursor=cursor)

    @readonly
    def history(
        self, export: ExportRef, *, workspace: WorkspaceRef | None = None
    ) -> builtins.list[ExportEvent]:
        """The audit trail, oldest first: who did what to the export, when."""
        row = self._row(export, workspace)
        rows = self.session.scalars(
            select(EventRow).where(EventRow.export_id == row.id).order_by(EventRow.at, EventRow.id)
        )
        return [ExportEvent.model_validate(r) for r in rows]

    def delete(self, export: ExportRef, *, workspace: WorkspaceRef | None = None) -> Export:
        """Delete the record, its files' rows and its history (the bytes go at the next
        ``gc`` unless something else holds them)."""
        row = self._row(export, workspace)
        gone = self._dto(row)
        self.session.execute(delete(ExportRow).where(ExportRow.id == row.id))
        return gone


def _version_text(versions: Mapping[str, str]) -> str:
    """``docledger 0.1.0; jsonl 1; coco 1`` cut to the column (the full map is in the
    create event)."""
    text = "; ".join(f"{k} {v}" for k, v in versions.items())
    return text if len(text) <= 50 else text[:47] + "..."
