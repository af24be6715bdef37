"""Workspaces."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from docledger.db.dialect import insert_ignore
from docledger.db.tenancy import default_workspace
from docledger.db.types import utcnow
from docledger.errors import InvalidInput, NotFound
from docledger.ids import new_id
from docledger.models import Run as RunRow
from docledger.models import Workspace as WorkspaceRow
from docledger.repositories.base import Repository, as_uuid, readonly, require_uuid
from docledger.repositories.paging import page
from docledger.schemas import Workspace, WorkspaceCreate, validate
from docledger.schemas.common import Page

DEFAULT_SLUG = "default"

WorkspaceRef = uuid.UUID | str


def confine(session: Any, row: Any, workspace: WorkspaceRef | None, missing: str) -> Any:
    """``row`` when it exists and lies in ``workspace`` (any workspace when None), else
    NotFound with the same message either way: a row of another workspace is answered exactly
    like one that does not exist, so ids do not leak across tenants."""
    if row is None:
        raise NotFound(missing)
    if workspace is not None and row.workspace_id != WorkspaceRepository(session).get(workspace).id:
        raise NotFound(missing)
    return row


def version_in(session: Any, version_id: Any, workspace: WorkspaceRef | None) -> Any:
    """The version row with this id, confined to ``workspace`` (see ``confine``)."""
    from docledger.models import DocumentVersion  # noqa: PLC0415 - models import the base

    return confine(
        session,
        session.get(DocumentVersion, version_id),
        workspace,
        f"no document version {version_id}",
    )


class WorkspaceRepository(Repository):
    def _rows(self, items: Iterable[WorkspaceCreate | Mapping[str, Any]]) -> list[dict[str, Any]]:
        now = utcnow()
        rows = []
        for item in items:
            data = validate(WorkspaceCreate, item)
            rows.append(
                {
                    "id": new_id(),
                    "slug": data.slug,
                    "name": data.name or data.slug,
                    "settings": data.settings,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        return rows

    def create_many(self, items: Iterable[WorkspaceCreate | Mapping[str, Any]]) -> list[Workspace]:
        """Create workspaces; an existing slug raises Conflict and nothing is written."""
        rows = self._rows(items)
        if rows:
            self.session.execute(insert(WorkspaceRow), rows)
        return [Workspace.model_validate(row) for row in rows]

    def create(
        self, slug: str, name: str | None = None, settings: dict[str, Any] | None = None
    ) -> Workspace:
        return self.create_many([{"slug": slug, "name": name, "settings": settings or {}}])[0]

    def ensure(self, slug: str, name: str | None = None) -> Workspace:
        """The workspace with this slug, created if missing (safe under concurrency)."""
        rows = self._rows([{"slug": slug, "name": name}])
        insert_ignore(self.session, WorkspaceRow, rows, conflict=["slug"])
        return self.get(slug)

    def _bound(self) -> uuid.UUID | None:
        """The workspace this ledger was opened for: the only one it may address."""
        bound = default_workspace(self.session.get_bind())
        return uuid.UUID(bound) if bound is not None else None

    def _row(self, ref: WorkspaceRef | None) -> WorkspaceRow:
        bound = self._bound()
        if ref is None:
            ref = bound or DEFAULT_SLUG
        key = as_uuid(ref)
        stmt = select(WorkspaceRow).where(
            WorkspaceRow.id == key if key is not None else WorkspaceRow.slug == str(ref)
        )
        row = self.session.scalars(stmt).one_or_none()
        if row is None or (bound is not None and row.id != bound):
            raise NotFound(f"no workspace {ref!s}")
        return row

    @readonly
    def get(self, ref: WorkspaceRef | None = None) -> Workspace:
        """A workspace by id or slug; None means the default workspace."""
        return Workspace.model_validate(self._row(ref))

    @readonly
    def list(self, *, limit: int = 100, cursor: str | None = None) -> Page[Workspace]:
        """Workspaces by slug."""
        keys = [(WorkspaceRow.slug, False), (WorkspaceRow.id, False)]
        bound = self._bound()
        query = select(WorkspaceRow)
        if bound is not None:
            query = query.where(WorkspaceRow.id == bound)
        return page(
            self.session,
            query,
            keys,
            Workspace.model_validate,
            limit=limit,
            cursor=cursor,
        )

    def update(
        self,
        ref: WorkspaceRef,
        *,
        name: str | None = None,
        settings: dict[str, Any] | None = None,
        merge: bool = True,
    ) -> Workspace:
        """Rename, or change settings (merged into the existing ones unless merge=False)."""
        row = self._row(ref)
        values: dict[str, Any] = {"updated_at": utcnow()}
        if name is not None:
            if not name.strip():
                raise InvalidInput("workspace name must not be empty")
            values["name"] = name.strip()
        if settings is not None:
            values["settings"] = {**row.settings, **settings} if merge else settings
        self.session.execute(update(WorkspaceRow).where(WorkspaceRow.id == row.id).values(values))
        self.session.expire(row)
        return Workspace.model_validate(self._row(row.id))

    def delete(self, ref: WorkspaceRef) -> None:
        """Delete a workspace and, by cascade, everything in it. The default one stays."""
        row = self._row(ref)
        if row.slug == DEFAULT_SLUG:
            raise InvalidInput("the default workspace cannot be deleted")
        self.session.execute(delete(WorkspaceRow).where(WorkspaceRow.id == row.id))


def run_in(session: Session, run_id: uuid.UUID | str, workspace: WorkspaceRef | None) -> uuid.UUID:
    """The run's id, checked to exist in ``workspace`` when one is given."""
    key = require_uuid(run_id, "run id")
    if workspace is not None:
        confine(session, session.get(RunRow, key), workspace, f"no run {run_id}")
    return key
