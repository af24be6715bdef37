"""The public entry points: :class:`Ledger` (sync) and :class:`AsyncLedger` (async).

Each repository method is written once against a sync Session. A ledger attribute such as
``ledger.workspaces`` is a proxy: every call runs in its own transaction (commit on success,
rollback and translated error on failure). ``with ledger.transaction() as tx:`` groups several
calls into one transaction. The async ledger runs the very same methods through
``AsyncSession.run_sync``; no repository code exists twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from docledger.config import Settings, load_settings
from docledger.db.engine import create_async_engine_from, create_sync_engine
from docledger.db.session import async_session_scope, session_scope
from docledger.repositories import REPOSITORIES, Repository
from docledger.repositories.base import READONLY_ATTR
from docledger.services import schema
from docledger.services.extraction import ExtractionService
from docledger.services.ingest import DocumentService
from docledger.services.search import SearchService
from docledger.services.tracking import LineageService, ModelService, RunService
from docledger.storage import BlobStore, open_blob_store

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from docledger.repositories import (
        AnnotationRepository,
        DatasetRepository,
        DocumentRepository,
        EmbeddingRepository,
        ExtractionRepository,
        JobRepository,
        MembershipRepository,
        SegmentRepository,
        UserRepository,
        WorkspaceRepository,
    )

R = TypeVar("R", bound=Repository)
T = TypeVar("T")


class Tx:
    """Repositories bound to one open transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._repos: dict[str, Repository] = {}

    def __getattr__(self, name: str) -> Any:
        cls = REPOSITORIES.get(name)
        if cls is None:
            raise AttributeError(name)
        repo = self._repos.get(name)
        if repo is None:
            repo = self._repos[name] = cls(self.session)
        return repo

    if TYPE_CHECKING:
        workspaces: WorkspaceRepository
        users: UserRepository
        memberships: MembershipRepository
        documents: DocumentRepository
        jobs: JobRepository
        annotations: AnnotationRepository
        datasets: DatasetRepository
        extractions: ExtractionRepository
        segments: SegmentRepository
        embeddings: EmbeddingRepository


def _is_readonly(cls: type[Repository], method: str) -> bool:
    return bool(getattr(getattr(cls, method, None), READONLY_ATTR, False))


class _AutoCommit(Generic[R]):
    """Calls a repository method in a transaction of its own."""

    def __init__(self, engine: Engine, cls: type[R]) -> None:
        self._engine = engine
        self._cls = cls

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_") or not callable(getattr(self._cls, method, None)):
            raise AttributeError(method)
        ro = _is_readonly(self._cls, method)

        def call(*args: Any, **kwargs: Any) -> Any:
            with session_scope(self._engine, readonly=ro) as session:
                return getattr(self._cls(session), method)(*args, **kwargs)

        call.__name__ = method
        call.__doc__ = getattr(self._cls, method).__doc__
        return call


class _AsyncAutoCommit(Generic[R]):
    """The async twin: the same sync method, run through ``AsyncSession.run_sync``."""

    def __init__(self, engine: AsyncEngine, cls: type[R]) -> None:
        self._engine = engine
        self._cls = cls

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        if method.startswith("_") or not callable(getattr(self._cls, method, None)):
            raise AttributeError(method)
        ro = _is_readonly(self._cls, method)
        cls = self._cls

        async def call(*args: Any, **kwargs: Any) -> Any:
            async with async_session_scope(self._engine, readonly=ro) as session:
                return await session.run_sync(
                    lambda sync_session: getattr(cls(sync_session), method)(*args, **kwargs)
                )

        call.__name__ = method
        return call


class Ledger:
    """A docledger store: a database (SQLite file or PostgreSQL) and, later, its blob store."""

    def __init__(self, settings: Settings, engine: Engine, blobs: BlobStore | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.blobs = blobs if blobs is not None else open_blob_store(settings)
        self.documents = DocumentService(
            engine, self.blobs, _AutoCommit(engine, REPOSITORIES["documents"])
        )
        self.runs = RunService(engine, None, _AutoCommit(engine, REPOSITORIES["runs"]))
        self.models = ModelService(engine, self.blobs, _AutoCommit(engine, REPOSITORIES["models"]))
        self.lineage = LineageService(_AutoCommit(engine, REPOSITORIES["runs"]))
        self.search = SearchService(engine)
        self.extractions = ExtractionService(
            engine, self.blobs, _AutoCommit(engine, REPOSITORIES["extractions"])
        )

    @classmethod
    def open(cls, url: str | None = None, *, settings: Settings | None = None) -> Ledger:
        """Open a store. A brand-new database is created at the current schema; an older one
        raises MigrationRequired (run ``docledger db upgrade``)."""
        settings = settings or load_settings(db_url=url)
        blobs = open_blob_store(settings)
        engine = create_sync_engine(settings)
        try:
            schema.ensure_ready(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(settings, engine, blobs)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Tx]:
        """Several operations, one transaction: all of them commit, or none does."""
        with session_scope(self.engine, readonly=readonly) as session:
            yield Tx(session)

    def __getattr__(self, name: str) -> Any:
        cls = REPOSITORIES.get(name)
        if cls is None:
            raise AttributeError(name)
        return _AutoCommit(self.engine, cls)

    if TYPE_CHECKING:
        workspaces: WorkspaceRepository
        users: UserRepository
        memberships: MembershipRepository
        jobs: JobRepository
        annotations: AnnotationRepository
        datasets: DatasetRepository
        segments: SegmentRepository
        embeddings: EmbeddingRepository


class AsyncLedger:
    """The async API: ``async with AsyncLedger.open() as ledger: await ledger.users.get(...)``."""

    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None, *, settings: Settings | None = None) -> _AsyncOpener:
        return _AsyncOpener(settings or load_settings(db_url=url))

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_AsyncTx]:
        async with async_session_scope(self.engine) as session:
            yield _AsyncTx(session)

    async def run(self, fn: Callable[[Tx], T], *, readonly: bool = False) -> T:
        """Run a sync function over bound repositories in one transaction."""
        async with async_session_scope(self.engine, readonly=readonly) as session:
            return await session.run_sync(lambda sync_session: fn(Tx(sync_session)))

    def __getattr__(self, name: str) -> Any:
        cls = REPOSITORIES.get(name)
        if cls is None:
            raise AttributeError(name)
        return _AsyncAutoCommit(self.engine, cls)


class _AsyncTx:
    """Inside ``async with ledger.transaction() as tx``: ``await tx.run(lambda t: ...)``."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def run(self, fn: Callable[[Tx], T]) -> T:
        return cast(T, await self._session.run_sync(lambda s: fn(Tx(s))))


class _AsyncOpener:
    """Lets ``AsyncLedger.open()`` be awaited or used with ``async with``."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._ledger: AsyncLedger | None = None

    async def _open(self) -> AsyncLedger:
        engine = create_async_engine_from(self._settings)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(schema.ensure_ready)
        except BaseException:
            await engine.dispose()
            raise
        return AsyncLedger(self._settings, engine)

    def __await__(self) -> Any:
        return self._open().__await__()

    async def __aenter__(self) -> AsyncLedger:
        self._ledger = await self._open()
        return self._ledger

    async def __aexit__(self, *exc: object) -> None:
        if self._ledger is not None:
            await self._ledger.close()
