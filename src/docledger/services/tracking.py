"""``ledger.runs``, ``ledger.model_versions`` and ``ledger.lineage``: the experiment-tracking
side.

A run is used as a context manager: it is ``running`` while the block runs, ``succeeded``
when it ends, ``failed`` (with the exception) when it raises. Each log call is its own short
transaction, so progress is visible while the run is still going.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, BinaryIO

from docledger.deprecation import deprecated_alias
from docledger.repositories.blob import BlobRepository
from docledger.repositories.lineage import EntityRef, LineageRepository, entity_key
from docledger.repositories.metric import MetricTriple
from docledger.repositories.model_version import ModelRepository
from docledger.repositories.run import RunRepository
from docledger.repositories.workspace import WorkspaceRef
from docledger.schemas.model_version import ModelVersion
from docledger.schemas.run import Run
from docledger.services.scope import Scope, Service, service
from docledger.services.staging import put_file


class RunHandle:
    """The run being recorded inside ``with ledger.runs.start(...) as run``."""

    def __init__(self, scope: Scope, run: Run) -> None:
        self._scope = scope
        self.run = run
        self.id = run.id

    def log(
        self,
        event: str,
        level: str = "info",
        data: dict[str, Any] | None = None,
        message: str | None = None,
    ) -> None:
        with self._scope.session() as session:
            RunRepository(session).log(self.id, event, level=level, data=data, message=message)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> int:
        with self._scope.session() as session:
            return RunRepository(session).log_metrics(self.id, metrics, step)

    def log_metrics_batch(self, points: Iterable[MetricTriple]) -> int:
        with self._scope.session() as session:
            return RunRepository(session).log_metrics_batch(self.id, list(points))

    def uses(self, *entities: EntityRef) -> None:
        with self._scope.session() as session:
            LineageRepository(session).link(self.id, "in", [entity_key(e) for e in entities])

    def produces(self, *entities: EntityRef) -> None:
        with self._scope.session() as session:
            LineageRepository(session).link(self.id, "out", [entity_key(e) for e in entities])


class RunService(Service, RunRepository):
    """``ledger.runs``: every RunRepository method, plus ``start`` (a run as a ``with``
    block, each log call its own short transaction so progress shows while it runs)."""

    @service
    @contextmanager
    def start(
        self,
        name: str,
        kind: str = "pipeline",
        *,
        params: dict[str, Any] | None = None,
        tags: Sequence[str] = (),
        parent: Run | RunHandle | uuid.UUID | str | None = None,
        workspace: str | uuid.UUID | None = None,
    ) -> Iterator[RunHandle]:
        parent_id = parent.id if isinstance(parent, Run | RunHandle) else parent
        with self._scope.session() as session:
            run = RunRepository(session).create(
                name, kind, params=params, tags=tags, parent=parent_id, workspace=workspace
            )
        handle = RunHandle(self._scope, run)
        try:
            yield handle
        except BaseException as exc:
            status = "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed"
            with self._scope.session() as session:
                RunRepository(session).finish(run.id, status, f"{type(exc).__name__}: {exc}")
            raise
        with self._scope.session() as session:
            RunRepository(session).finish(run.id, "succeeded")


class ModelService(Service, ModelRepository):
    """``ledger.model_versions``: the model registry. ``create`` stores the artifact, then adds
    version n+1; ``promote`` moves a version between stages."""

    @service
    def create(
        self,
        name: str,
        run: Run | RunHandle | uuid.UUID | str | None = None,
        *,
        artifact: str | os.PathLike[str] | bytes | BinaryIO | None = None,
        metrics: dict[str, Any] | None = None,
        description: str | None = None,
        stage: str = "none",
        workspace: WorkspaceRef | None = None,
    ) -> ModelVersion:
        """Register version n+1 of ``name`` in ``workspace`` (the run's when only a run is
        given, the default one when neither is); the artifact (a path, bytes or stream) is stored
        as a blob first, durably, then named by the version row."""
        run_id = run.id if isinstance(run, Run | RunHandle) else run
        # the artifact's bytes and the rows naming them, inside one blob write section
        with self._scope.writing_blobs():
            stored = (
                put_file(self._scope.blobs, artifact, "a model artifact")
                if artifact is not None
                else None
            )
            with self._scope.session() as session:
                if stored is not None:
                    BlobRepository(session).create_many([(stored, "application/octet-stream")])
                return ModelRepository(session).create_version(
                    name,
                    run=run_id,
                    artifact_sha256=stored.sha256 if stored is not None else None,
                    metrics=metrics,
                    description=description,
                    stage=stage,
                    workspace=workspace,
                )

    register = deprecated_alias(create, "register")
