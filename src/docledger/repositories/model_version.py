"""The model registry: numbered versions per name, stages, one production version per name."""

from __future__ import annotations

import uuid
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
from docledger.schemas.common import Page
from docledger.schemas.model_version import ModelVersion
from docledger.vocab import ModelStage, values


class ModelRepository(Repository):
    def create_version(
        self,
        name: str,
        *,
        run: uuid.UUID | str | None = None,
        artifact_sha256: str | None = None,
        metrics: dict[str, Any] | None = None,
        description: str | None = None,
        stage: str = "none",
    ) -> ModelVersion:
        """Add version n+1 of ``name`` whose artifact is already a stored blob (``create``
        stores a file or bytes first). The run, if given, gets a lineage
        edge to the new version."""
        if not name or len(name) > 200:
            raise InvalidInput("a model needs a name of 1..200 characters")
        if stage not in values(ModelStage):
            raise InvalidInput(f"unknown stage {stage!r}")
        run_id = require_uuid(run, "run id") if run is not None else None
        workspace_id = None
        if run_id is not None:
            workspace_id = RunRepository(self.session).get(run_id).workspace_id
        if artifact_sha256 is not None and self.session.get(BlobRow, artifact_sha256) is None:
            raise NotFound(f"no stored blob {artifact_sha256}")
        latest = self.session.scalar(
            select(func.max(ModelRow.version)).where(ModelRow.name == name)
        )
        now = utcnow()
        if stage == "production":
            self._demote_production(name)
        version_id = new_id()
        row = {
            "id": version_id,
            "workspace_id": workspace_id,
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

    def _demote_production(self, name: str) -> None:
        self.session.execute(
            update(ModelRow)
            .where(ModelRow.name == name, ModelRow.stage == "production")
            .values(stage="archived", stage_changed_at=utcnow())
        )

    def promote(self, name: str, version: int, stage: str) -> ModelVersion:
        """Move a version to a stage. Promoting to production archives the current production
        version in the same transaction; the partial unique index makes a concurrent second
        promotion fail with Conflict instead of leaving two."""
        if stage not in values(ModelStage):
            raise InvalidInput(f"unknown stage {stage!r}")
        row = self._row(name, version=version)
        if stage == "production" and row.stage != "production":
            self._demote_production(name)
        self.session.execute(
            update(ModelRow)
            .where(ModelRow.id == row.id)
            .values(stage=stage, stage_changed_at=utcnow())
        )
        self.session.expire(row)
        return ModelVersion.model_validate(self._row(name, version=version))

    def _row(self, name: str, *, version: int | None = None, stage: str | None = None) -> ModelRow:
        stmt = where_given(
            select(ModelRow).where(ModelRow.name == name),
            (ModelRow.version, version),
            (ModelRow.stage, stage),
        )
        found = self.session.scalars(stmt.order_by(ModelRow.version.desc()).limit(1)).first()
        if found is None:
            what = f"{name} v{version}" if version else f"{name} ({stage or 'any stage'})"
            raise NotFound(f"no model {what}")
        return found

    @readonly
    def get(
        self, name: str, *, version: int | None = None, stage: str | None = None
    ) -> ModelVersion:
        """A version by number, the one in a stage (``stage="production"``), or the newest."""
        return ModelVersion.model_validate(self._row(name, version=version, stage=stage))

    @readonly
    def list(
        self, name: str | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> Page[ModelVersion]:
        """Model versions by name and version, every version of ``name`` when given."""
        stmt = where_given(select(ModelRow), (ModelRow.name, name))
        keys = [(ModelRow.name, False), (ModelRow.version, False), (ModelRow.id, False)]
        return page(
            self.session, stmt, keys, ModelVersion.model_validate, limit=limit, cursor=cursor
        )


__all__ = ["ModelRepository"]
