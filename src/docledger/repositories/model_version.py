"""The model registry: numbered versions per name, stages, one production version per name."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, insert, select, update

from docledger.db.types import utcnow
from docledger.errors import InvalidInput, NotFound
from docledger.ids import new_id
from docledger.models import Blob as BlobRow
from docledger.models import ModelVersion as ModelRow
from docledger.repositories.base import Repository, readonly, require_uuid, where_given
from docledger.repositories.lineage import LineageRepository
from docledger.repositories.paging import page
from docledger.repositories.run import RunRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository
from docledger.schemas.common import Page
from docledger.schemas.model_version import ModelVersion
from docledger.vocab import ModelStage, values


def _in_scope(ws: uuid.UUID | None) -> Any:
    """The rows numbered together with a model of workspace ``ws`` (None: store-wide)."""
    return ModelRow.workspace_id.is_(None) if ws is None else ModelRow.workspace_id == ws


class ModelRepository(Repository):
    """Names are numbered per workspace (models stored before 0020 without a run belong to
    no workspace and are numbered apart).
    ``workspace=`` picks the scope; without it a name must be registered in one scope only,
    so a look-up never silently picks another workspace's model."""

    def create_version(
        self,
        name: str,
        *,
        run: uuid.UUID | str | None = None,
        artifact_sha256: str | None = None,
        metrics: dict[str, Any] | None = None,
        description: str | None = None,
        stage: str = "none",
        workspace: WorkspaceRef | None = None,
    ) -> ModelVersion:
        """Add version n+1 of ``name`` in ``workspace`` (the run's when only a run is given,
        the default one when neither is) whose artifact is already a stored blob (``create``
        stores a file or bytes first). The run, if given, gets a lineage edge to the new
        version."""
        if not isinstance(name, str) or not name or len(name) > 200:
            raise InvalidInput("a model needs a name of 1..200 characters")
        if stage not in values(ModelStage):
            raise InvalidInput(f"unknown stage {stage!r}")
        if metrics is not None and not isinstance(metrics, Mapping):
            raise InvalidInput("a model's metrics are a mapping")
        run_id = require_uuid(run, "run id") if run is not None else None
        ws: uuid.UUID | None = None
        if run_id is not None:
            ws = RunRepository(self.session).get(run_id).workspace_id
        if workspace is not None or ws is None:
            mine = WorkspaceRepository(self.session).get(workspace).id
            if run_id is not None and ws not in (None, mine):
                raise NotFound(f"no run {run_id}")  # another workspace's run: as if absent
            ws = mine
        if artifact_sha256 is not None and self.session.get(BlobRow, artifact_sha256) is None:
            raise NotFound(f"no stored blob {artifact_sha256}")
        latest = self.session.scalar(
            select(func.max(ModelRow.version)).where(ModelRow.name == name, _in_scope(ws))
        )
        now = utcnow()
        if stage == "production":
            self._demote_production(name, ws)
        version_id = new_id()
        row = {
            "id": version_id,
            "workspace_id": ws,
            "name": name,
            "version": (latest or 0) + 1,
            "run_id": run_id,
            "artifact_sha256": artifact_sha256,
            "stage": stage,
            "metrics": dict(metrics or {}),
            "description": description,
            "created_at": now,
            "stage_changed_at": now,
        }
        self.session.execute(insert(ModelRow), [row])  # a racing register gets Conflict
        if run_id is not None:
            LineageRepository(self.session).link(run_id, "out", [("model_version", version_id)])
        return ModelVersion.model_validate(row)

    def _demote_production(self, name: str, ws: uuid.UUID | None) -> None:
        self.session.execute(
            update(ModelRow)
            .where(ModelRow.name == name, _in_scope(ws), ModelRow.stage == "production")
            .values(stage="archived", stage_changed_at=utcnow())
        )

    def promote(
        self, name: str, version: int, stage: str, *, workspace: WorkspaceRef | None = None
    ) -> ModelVersion:
        """Move a version to a stage. Promoting to production archives the current production
        version of the same name and workspace in the same transaction; the partial unique
        index makes a concurrent second promotion fail with Conflict instead of leaving two."""
        if stage not in values(ModelStage):
            raise InvalidInput(f"unknown stage {stage!r}")
        row = self._row(name, version=version, workspace=workspace)
        if stage == "production" and row.stage != "production":
            self._demote_production(name, row.workspace_id)
        self.session.execute(
            update(ModelRow)
            .where(ModelRow.id == row.id)
            .values(stage=stage, stage_changed_at=utcnow())
        )
        self.session.expire(row)
        return ModelVersion.model_validate(self.session.get(ModelRow, row.id))

    def _row(
        self,
        name: str,
        *,
        version: int | None = None,
        stage: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> ModelRow:
        if not isinstance(name, str):
            raise InvalidInput("a model's name is text")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise InvalidInput(f"a model version is a whole number, not {version!r}")
        if stage is not None and stage not in values(ModelStage):
            raise InvalidInput(f"unknown stage {stage!r}")
        stmt = where_given(
            select(ModelRow).where(ModelRow.name == name),
            (ModelRow.version, version),
            (ModelRow.stage, stage),
        )
        what = f"{name} v{version}" if version else f"{name} ({stage or 'any stage'})"
        if workspace is not None:
            stmt = stmt.where(
                ModelRow.workspace_id == WorkspaceRepository(self.session).get(workspace).id
            )
        else:
            scopes = self.session.execute(
                select(ModelRow.workspace_id).where(ModelRow.name == name).distinct().limit(2)
            ).all()
            if len(scopes) > 1:
                raise InvalidInput(
                    f"model {name!r} is registered in more than one workspace: pass workspace="
                )
        found = self.session.scalars(stmt.order_by(ModelRow.version.desc()).limit(1)).first()
        if found is None:
            raise NotFound(f"no model {what}")
        return found

    @readonly
    def get(
        self,
        name: str,
        *,
        version: int | None = None,
        stage: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> ModelVersion:
        """A version by number, the one in a stage (``stage="production"``), or the newest."""
        return ModelVersion.model_validate(
            self._row(name, version=version, stage=stage, workspace=workspace)
        )

    @readonly
    def list(
        self,
        name: str | None = None,
        *,
        workspace: WorkspaceRef | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[ModelVersion]:
        """Model versions by name and version, every version of ``name`` when given; one
        workspace's models when given (every model otherwise)."""
        stmt = where_given(select(ModelRow), (ModelRow.name, name))
        if workspace is not None:
            ws = WorkspaceRepository(self.session).get(workspace).id
            stmt = stmt.where(ModelRow.workspace_id == ws)
        keys = [(ModelRow.name, False), (ModelRow.version, False), (ModelRow.id, False)]
        return page(
            self.session, stmt, keys, ModelVersion.model_validate, limit=limit, cursor=cursor
        )


__all__ = ["ModelRepository"]
