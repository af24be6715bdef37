"""``ledger.runs``, ``ledger.models`` and ``ledger.lineage``: the experiment-tracking side.

A run is used as a context manager: it is ``running`` while the block runs, ``succeeded``
when it ends, ``failed`` (with the exception) when it raises. Each log call is its own short
transaction, so progress is visible while the run is still going.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, BinaryIO

from sqlalchemy import Engine

from docledger.db.blob_guard import blob_guard
from docledger.db.dialect import insert_ignore
from docledger.db.session import session_scope
from docledger.db.types import utcnow
from docledger.errors import InvalidInput
from docledger.models import Blob as BlobRow
from docledger.repositories.model_version import ModelRepository
from docledger.repositories.run import MetricTriple, RunRepository
from docledger.schemas import Document, DocumentVersion
from docledger.schemas.annotation import Annotation, Dataset
from docledger.schemas.run import LineageNode, ModelVersion, Run
from docledger.services.facade import Facade

#: How DTOs name themselves in lineage edges.
ENTITY_TYPES: dict[type, str] = {
    Document: "document",
    DocumentVersion: "version",
    Annotation: "annotation",
    Dataset: "dataset",
    ModelVersion: "model_version",
    Run: "run",
}

EntityRef = tuple[str, str | uuid.UUID] | Any


def entity_key(entity: EntityRef) -> tuple[str, str]:
    """(entity_type, entity_id) of a DTO, or of an explicit ``(type, id)`` pair."""
    if isinstance(entity, tuple) and len(entity) == 2:
        return str(entity[0]), str(entity[1])
    for cls, name in ENTITY_TYPES.items():
        if isinstance(entity, cls):
            return name, str(entity.id)  # type: ignore[attr-defined]
    raise InvalidInput(f"cannot name {type(entity).__name__} in lineage: pass (type, id)")


class RunHandle:
    """The run being recorded inside ``with ledger.runs.start(...) as run``."""

    def __init__(self, engine: Engine, run: Run) -> None:
        self._engine = engine
        self.run = run
        self.id = run.id

    def _repo_call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with session_scope(self._engine) as session:
            return getattr(RunRepository(session), method)(*args, **kwargs)

    def log(
        self,
        event: str,
        level: str = "info",
        data: dict[str, Any] | None = None,
        message: str | None = None,
    ) -> None:
        self._repo_call("log", self.id, event, level=level, data=data, message=message)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> int:
        return int(self._repo_call("log_metrics", self.id, metrics, step))

    def log_metrics_batch(self, points: Iterable[MetricTriple]) -> int:
        return int(self._repo_call("log_metrics_batch", self.id, list(points)))

    def uses(self, *entities: EntityRef) -> None:
        self._repo_call("link", self.id, "in", [entity_key(e) for e in entities])

    def produces(self, *entities: EntityRef) -> None:
        self._repo_call("link", self.id, "out", [entity_key(e) for e in entities])


class RunService(Facade):
    """``ledger.runs``: ``start`` plus every RunRepository method."""

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
        with session_scope(self._engine) as session:
            run = RunRepository(session).create(
                name, kind, params=params, tags=tags, parent=parent_id, workspace=workspace
            )
        handle = RunHandle(self._engine, run)
        try:
            yield handle
        except BaseException as exc:
            status = "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed"
            with session_scope(self._engine) as session:
                RunRepository(session).finish(run.id, status, f"{type(exc).__name__}: {exc}")
            raise
        with session_scope(self._engine) as session:
            RunRepository(session).finish(run.id, "succeeded")


class ModelService(Facade):
    """``ledger.models``: ``register`` (storing the artifact) plus every ModelRepository
    method."""

    def register(
        self,
        name: str,
        run: Run | RunHandle | uuid.UUID | str | None = None,
        *,
        artifact: str | os.PathLike[str] | bytes | BinaryIO | None = None,
        metrics: dict[str, Any] | None = None,
        description: str | None = None,
        stage: str = "none",
    ) -> ModelVersion:
        """Register version n+1 of ``name``; the artifact (a path, bytes or stream) is stored
        as a blob first, durably, then named by the version row."""
        run_id = run.id if isinstance(run, Run | RunHandle) else run
        # the artifact's bytes and the rows naming them, inside one blob write section
        with blob_guard(self._engine).writing():
            stored = self._put(artifact) if artifact is not None else None
            with session_scope(self._engine) as session:
                if stored is not None:
                    insert_ignore(
                        session,
                        BlobRow,
                        [
                            {
                                "sha256": stored.sha256,
                                "size_bytes": stored.size_bytes,
                                "media_type": "application/octet-stream",
                                "storage_uri": stored.storage_uri,
                                "created_at": utcnow(),
                            }
                        ],
                        conflict=["sha256"],
                    )
                return ModelRepository(session).register(
                    name,
                    run=run_id,
                    artifact_sha256=stored.sha256 if stored is not None else None,
                    metrics=metrics,
                    description=description,
                    stage=stage,
                )

    def _put(self, artifact: str | os.PathLike[str] | bytes | BinaryIO) -> Any:
        if isinstance(artifact, bytes | bytearray):
            return self._store.put_bytes(bytes(artifact))
        if isinstance(artifact, str | os.PathLike):
            if not os.path.isfile(artifact):
                raise InvalidInput(f"model artifact {os.fspath(artifact)} is not a file")
            with open(artifact, "rb") as handle:
                return self._store.put_stream(handle)
        if isinstance(artifact, io.IOBase) or hasattr(artifact, "read"):
            return self._store.put_stream(artifact)
        raise InvalidInput("a model artifact is a path, bytes or a binary stream")


class LineageService:
    """``ledger.lineage.upstream(model)`` / ``downstream(document)`` over DTOs or (type, id)."""

    def __init__(self, repository: Any) -> None:
        self._repository = repository

    def upstream(self, entity: EntityRef, max_depth: int = 50) -> list[LineageNode]:
        kind, key = entity_key(entity)
        return list(self._repository.upstream(kind, key, max_depth))

    def downstream(self, entity: EntityRef, max_depth: int = 50) -> list[LineageNode]:
        kind, key = entity_key(entity)
        return list(self._repository.downstream(kind, key, max_depth))
