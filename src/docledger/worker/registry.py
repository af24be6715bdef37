"""Task registration: ``@docledger.task("extract")`` puts a function in the registry that every
worker of this process consults."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, SessionTransaction

from docledger.db.dialect import full_text_catch_up
from docledger.errors import ConfigurationError, InvalidInput
from docledger.schemas.job import ClaimedJob

if TYPE_CHECKING:
    from docledger.ledger import Tx

TaskFn = Callable[["TaskContext"], Any]

_REGISTRY: dict[str, TaskFn] = {}


#: the job a task runs, as ``ctx.job`` (the name kept from when the queue had its own class)
JobInfo = ClaimedJob


class TaskContext:
    """What a task receives.

    ``session`` (and ``tx``, the repositories bound to it) is the transaction that also records
    the job's completion: whatever the task writes through it commits exactly once, together
    with the job, or not at all. The first use of either opens a SAVEPOINT for this job, so a
    task that raises loses only its own writes; tasks that never touch the database cost no
    database round trip at all.
    """

    def __init__(
        self,
        job: JobInfo,
        session: Session,
        worker_id: str,
        progress_sink: dict[uuid.UUID, int] | None = None,
        ledger: Any = None,
    ) -> None:
        self.job = job
        #: The worker's Ledger, for services that manage their own transactions (blob I/O,
        #: extraction). Their writes are not part of the job's transaction: use them for
        #: idempotent work, as the built-in tasks do.
        self.ledger = ledger
        self.worker_id = worker_id
        self._session = session
        self._savepoint: SessionTransaction | None = None
        self._progress = progress_sink if progress_sink is not None else {}

    @property
    def session(self) -> Session:
        if self._savepoint is None:
            self._savepoint = self._session.begin_nested()
        return self._session

    @property
    def tx(self) -> Tx:
        if self.ledger is None:
            raise ConfigurationError("this task context has no ledger to bind")
        return self.ledger.bind(self.session)  # type: ignore[no-any-return]

    def progress(self, percent: int) -> None:
        """Report progress (0..100); the worker's heartbeat records it."""
        if not 0 <= percent <= 100:
            raise InvalidInput("progress must be between 0 and 100")
        self._progress[self.job.id] = int(percent)

    def _finish(self, ok: bool) -> None:
        if self._savepoint is not None:
            if ok:
                self._savepoint.commit()
            else:
                self._savepoint.rollback()


def task(name: str) -> Callable[[TaskFn], TaskFn]:
    """Register a sync or async function as the task ``name``."""
    if not name or not isinstance(name, str):
        raise InvalidInput("a task needs a name")

    def register(fn: TaskFn) -> TaskFn:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not fn:
            raise InvalidInput(f"task {name!r} is already registered by {existing.__module__}")
        _REGISTRY[name] = fn
        return fn

    return register


def get_task(name: str) -> TaskFn | None:
    return _REGISTRY.get(name)


def registered() -> list[str]:
    return sorted(_REGISTRY)


@task("docledger.noop")
def _noop(ctx: TaskContext) -> None:
    """Does nothing: health checks and queue benchmarks."""


@task("docledger.extract")
def _extract(ctx: TaskContext) -> dict[str, Any]:
    """Extract one document (payload: document, optional extractor and params). Recording is
    idempotent, so a retry after a crash records nothing twice."""
    payload = ctx.job.payload
    if "document" not in payload:
        raise InvalidInput("docledger.extract needs a 'document' in its payload")
    (outcome,) = ctx.ledger.extractions.run(
        [payload["document"]],
        extractor=payload.get("extractor"),
        params=payload.get("params") or {},
    )
    if outcome.error:
        raise InvalidInput(f"extraction failed: {outcome.error}")
    return {
        "extraction": str(outcome.extraction_id) if outcome.extraction_id else None,
        "created": outcome.created,
        "segments": outcome.segments,
        "skipped": outcome.skipped,
    }


@task("docledger.embed")
def _embed(ctx: TaskContext) -> dict[str, Any]:
    """Embed every text segment a space lacks (payload: optional space)."""
    return {"embedded": ctx.ledger.search.embed_missing(ctx.job.payload.get("space", "hash-256"))}


@task("docledger.index_vectors")
def _index_vectors(ctx: TaskContext) -> dict[str, Any]:
    """Build or extend a space's approximate index beside an SQLite database (payload:
    optional space), off the path of the next search."""
    return {"indexed": ctx.ledger.search.build_index(ctx.job.payload.get("space", "hash-256"))}


@task("docledger.export")
def _export(ctx: TaskContext) -> dict[str, Any]:
    """Make an export created with ``background=True`` (payload: export, optional actor).
    A later attempt of the job (its first worker died, or failed) takes over the export that
    attempt left running; the queue hands a job to one worker at a time."""
    payload = ctx.job.payload
    if "export" not in payload:
        raise InvalidInput("docledger.export needs an 'export' in its payload")
    again = ctx.job.attempt > 1
    done = ctx.ledger.exports.resume(payload["export"], actor=payload.get("actor"), force=again)
    return {"export": str(done.id), "status": done.status, "files": len(done.files)}


@task("docledger.index_text")
def _index_text(ctx: TaskContext) -> dict[str, Any]:
    """Index the full text of every pending extraction (writes defer it), in the job's own
    transaction: after a bulk load, so the first text query does not pay for it."""
    return {"indexed": full_text_catch_up(ctx.session)}


@task("docledger.echo")
def _echo(ctx: TaskContext) -> dict[str, Any]:
    """Returns its payload as the job's result."""
    return dict(ctx.job.payload)
