"""The public entry points: :class:`Ledger` (sync) and :class:`AsyncLedger` (async).

One surface, three ways to reach it, with the same names, arguments and results:

- ``ledger.documents.create(...)``: the call runs in a transaction of its own;
- ``with ledger.transaction() as tx: tx.documents.create(...)``: several calls, one
  transaction (all commit, or none does);
- ``await aledger.documents.create(...)``, and ``async with aledger.transaction() as atx``.

Every method is written once, sync, in a repository (rows of one aggregate) or a service
(services/scope.py says which is which); surface/registry.py names the class behind each
attribute, and the generated surface/auto.py and surface/aio.py spell every method out so
editors and mypy see them.
"""

from __future__ import annotations

import threading
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from docledger.config import Settings, load_settings
from docledger.db import tenancy
from docledger.db.engine import create_async_engine_from, create_sync_engine
from docledger.db.session import async_session_scope, session_scope
from docledger.repositories import (
    AnnotationRepository,
    DatasetRepository,
    EmbeddingRepository,
    JobRepository,
    MembershipRepository,
    PageImageRepository,
    SegmentRepository,
    UserRepository,
    WorkspaceRepository,
)
from docledger.repositories.api_key import ApiKeyRepository
from docledger.repositories.conversation import ConversationRepository
from docledger.repositories.lease import LeaseRepository
from docledger.repositories.lineage import LineageRepository
from docledger.services import schema
from docledger.services.exports import ExportService
from docledger.services.extraction import ExtractionService
from docledger.services.findings import FindingService
from docledger.services.ingest import DocumentService
from docledger.services.scope import Scope, Shared
from docledger.services.search import SearchService
from docledger.services.tracking import ModelService, RunService
from docledger.services.upkeep import MaintenanceService
from docledger.storage import BlobStore, open_blob_store
from docledger.surface import aio, auto
from docledger.surface.registry import build

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

T = TypeVar("T")
P = TypeVar("P")


class _Part(Generic[P]):
    """``tx.X``: the surface class over the transaction, built on first use and kept."""

    def __init__(self, cls: type[P]) -> None:
        self.cls = cls

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    def __get__(self, tx: Tx, owner: type[Any] | None = None) -> P:
        part = cast(P, build(self.cls, tx._scope))
        tx.__dict__[self.name] = part  # an instance attribute from now on: built once
        return part


class Tx:
    """The surface bound to one open transaction: ``tx.X`` is the class itself over it."""

    def __init__(self, scope: Scope) -> None:
        assert scope.bound is not None
        self.session: Session = scope.bound
        self._scope = scope

    workspaces = _Part(WorkspaceRepository)
    users = _Part(UserRepository)
    memberships = _Part(MembershipRepository)
    api_keys = _Part(ApiKeyRepository)
    documents = _Part(DocumentService)
    page_images = _Part(PageImageRepository)
    extractions = _Part(ExtractionService)
    segments = _Part(SegmentRepository)
    embeddings = _Part(EmbeddingRepository)
    search = _Part(SearchService)
    annotations = _Part(AnnotationRepository)
    datasets = _Part(DatasetRepository)
    jobs = _Part(JobRepository)
    leases = _Part(LeaseRepository)
    runs = _Part(RunService)
    model_versions = _Part(ModelService)
    findings = _Part(FindingService)
    conversations = _Part(ConversationRepository)
    exports = _Part(ExportService)
    lineage = _Part(LineageRepository)
    maintenance = _Part(MaintenanceService)

    @property
    def models(self) -> ModelService:
        """Deprecated: ``model_versions`` (``docledger.models`` is the ORM package)."""
        _warn_models()
        return self.model_versions


def _warn_models() -> None:
    warnings.warn(
        "ledger.models is deprecated and goes away in the next release: use ledger.model_versions",
        DeprecationWarning,
        stacklevel=3,
    )


class Ledger:
    """A docledger store: a database (SQLite file or PostgreSQL) and its blob store."""

    def __init__(self, settings: Settings, engine: Engine, blobs: BlobStore | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.blobs = blobs if blobs is not None else open_blob_store(settings)
        self._owns_engine = True
        self._shared = Shared()
        scope = Scope(engine, self.blobs, self._shared)
        self.workspaces = auto.Workspaces(scope)
        self.users = auto.Users(scope)
        self.memberships = auto.Memberships(scope)
        self.api_keys = auto.ApiKeys(scope)
        self.documents = auto.Documents(scope)
        self.page_images = auto.PageImages(scope)
        self.extractions = auto.Extractions(scope)
        self.segments = auto.Segments(scope)
        self.embeddings = auto.Embeddings(scope)
        self.search = auto.Search(scope)
        self.annotations = auto.Annotations(scope)
        self.datasets = auto.Datasets(scope)
        self.jobs = auto.Jobs(scope)
        self.leases = auto.Leases(scope)
        self.runs = auto.Runs(scope)
        self.model_versions = auto.ModelVersions(scope)
        self.findings = auto.Findings(scope)
        self.conversations = auto.Conversations(scope)
        self.exports = auto.Exports(scope)
        self.lineage = auto.Lineage(scope)
        self.maintenance = auto.Maintenance(scope)

    @property
    def models(self) -> auto.ModelVersions:
        """Deprecated: ``model_versions`` (``docledger.models`` is the ORM package)."""
        _warn_models()
        return self.model_versions

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        workspace: str | uuid.UUID | None = None,
    ) -> Ledger:
        """Open a store. A brand-new database is created at the current schema; an older one
        raises MigrationRequired (run ``docledger db upgrade``). ``workspace`` (slug or id)
        opens it for one tenant: calls reach that workspace only, and under row-level security
        (``docledger db enable-rls``) every transaction is confined to it by PostgreSQL."""
        settings = settings or load_settings(db_url=url)
        blobs = open_blob_store(settings)
        engine = create_sync_engine(settings)
        try:
            schema.ensure_ready(engine)
            if workspace is not None:
                engine = tenancy.confine(engine, workspace)
        except BaseException:
            engine.dispose()
            raise
        return cls(settings, engine, blobs)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def confined_to(self, who: tenancy.Tenant) -> Ledger:
        """This ledger for one workspace (``who`` from ``tenancy.tenant``), sharing its
        connection pool; as ``AsyncLedger.confined_to``. A view closes nothing."""
        view = Ledger(self.settings, tenancy.view(self.engine, who), self.blobs)
        view._owns_engine = False
        return view

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def bind(self, session: Session) -> Tx:
        """The transaction surface over a session the caller holds (a task's job
        transaction): writes commit with it."""
        return Tx(Scope(self.engine, self.blobs, self._shared, session=session))

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Tx]:
        """Several operations, one transaction: all of them commit, or none does. Blob bytes
        written inside stay safe from ``gc`` until it ends."""
        with ExitStack() as stack, session_scope(self.engine, readonly=readonly) as session:
            yield Tx(Scope(self.engine, self.blobs, self._shared, session=session, stack=stack))


class AsyncLedger:
    """The async API: ``async with AsyncLedger.open() as ledger: await ledger.users.get(...)``.

    Row operations run through ``run_sync`` on an async engine; services (blob bytes, models,
    commits in steps) run the same sync code in a worker thread, on a sync engine this ledger
    opens the first time one is called."""

    def __init__(
        self, settings: Settings, engine: AsyncEngine, tenant: tenancy.Tenant | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self._tenant = tenant
        self._shared = Shared()
        self.blobs = open_blob_store(settings)
        self._sync: Engine | None = None
        self._sync_lock = threading.Lock()
        self._owns_engines = True
        make = self._scope
        self.workspaces = aio.AsyncWorkspaces(make, engine)
        self.users = aio.AsyncUsers(make, engine)
        self.memberships = aio.AsyncMemberships(make, engine)
        self.api_keys = aio.AsyncApiKeys(make, engine)
        self.documents = aio.AsyncDocuments(make, engine)
        self.page_images = aio.AsyncPageImages(make, engine)
        self.extractions = aio.AsyncExtractions(make, engine)
        self.segments = aio.AsyncSegments(make, engine)
        self.embeddings = aio.AsyncEmbeddings(make, engine)
        self.search = aio.AsyncSearch(make, engine)
        self.annotations = aio.AsyncAnnotations(make, engine)
        self.datasets = aio.AsyncDatasets(make, engine)
        self.jobs = aio.AsyncJobs(make, engine)
        self.leases = aio.AsyncLeases(make, engine)
        self.runs = aio.AsyncRuns(make, engine)
        self.model_versions = aio.AsyncModelVersions(make, engine)
        self.findings = aio.AsyncFindings(make, engine)
        self.conversations = aio.AsyncConversations(make, engine)
        self.exports = aio.AsyncExports(make, engine)
        self.lineage = aio.AsyncLineage(make, engine)
        self.maintenance = aio.AsyncMaintenance(make, engine)

    @property
    def models(self) -> aio.AsyncModelVersions:
        """Deprecated: ``model_versions``."""
        _warn_models()
        return self.model_versions

    def _scope(self) -> Scope:
        """The scope services run in: a sync engine, opened when the first service runs."""
        with self._sync_lock:
            if self._sync is None:
                self._sync = create_sync_engine(self.settings)
                if self._tenant is not None:
                    self._sync = tenancy.confined(self._sync, self._tenant)
            engine = self._sync
        return Scope(engine, self.blobs, self._shared)

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        workspace: str | uuid.UUID | None = None,
    ) -> _AsyncOpener:
        """Open a store (awaited, or ``async with``); ``workspace`` as in ``Ledger.open``."""
        return _AsyncOpener(settings or load_settings(db_url=url), workspace)

    async def close(self) -> None:
        if not self._owns_engines:
            return
        await self.engine.dispose()
        if self._sync is not None:
            self._sync.dispose()

    def confined_to(self, who: tenancy.Tenant) -> AsyncLedger:
        """This ledger for one workspace (``who`` from ``tenancy.tenant``), sharing its
        connection pools: under row-level security every transaction of the view is confined
        to that workspace by PostgreSQL. A view closes nothing; its parent owns the pools."""
        engine = self.engine.execution_options(**tenancy.options(who))
        tenancy.install(engine.sync_engine, who)
        confined = AsyncLedger(self.settings, engine, who)
        confined.blobs = self.blobs
        confined._sync = tenancy.view(self._scope().engine, who)
        confined._owns_engines = False
        return confined

    @asynccontextmanager
    async def transaction(self, *, readonly: bool = False) -> AsyncIterator[AsyncTx]:
        """Several awaited operations, one transaction. Inside it every operation, services
        included, runs through ``run_sync`` on the transaction's connection."""
        with ExitStack() as stack:
            async with async_session_scope(self.engine, readonly=readonly) as session:

                def scope() -> Scope:
                    base = self._scope()  # the sync engine only once a service needs it
                    return Scope(base.engine, base.blobs, self._shared, stack=stack)

                yield AsyncTx(scope, self.engine, session)

    async def run(self, fn: Callable[[Tx], T], *, readonly: bool = False) -> T:
        """Run a sync function over the transaction surface, in one transaction."""
        async with self.transaction(readonly=readonly) as atx:
            return await atx.run(fn)


class AsyncTx:
    """Inside ``async with aledger.transaction() as atx``: ``await atx.X.method(...)``, or
    ``await atx.run(lambda tx: ...)`` for a stretch of sync code."""

    def __init__(
        self, scope: Callable[[], Scope], engine: AsyncEngine, session: AsyncSession
    ) -> None:
        self._make = scope
        self._session = session
        self.workspaces = aio.AsyncWorkspaces(scope, engine, session)
        self.users = aio.AsyncUsers(scope, engine, session)
        self.memberships = aio.AsyncMemberships(scope, engine, session)
        self.api_keys = aio.AsyncApiKeys(scope, engine, session)
        self.documents = aio.AsyncDocuments(scope, engine, session)
        self.page_images = aio.AsyncPageImages(scope, engine, session)
        self.extractions = aio.AsyncExtractions(scope, engine, session)
        self.segments = aio.AsyncSegments(scope, engine, session)
        self.embeddings = aio.AsyncEmbeddings(scope, engine, session)
        self.search = aio.AsyncSearch(scope, engine, session)
        self.annotations = aio.AsyncAnnotations(scope, engine, session)
        self.datasets = aio.AsyncDatasets(scope, engine, session)
        self.jobs = aio.AsyncJobs(scope, engine, session)
        self.leases = aio.AsyncLeases(scope, engine, session)
        self.runs = aio.AsyncRuns(scope, engine, session)
        self.model_versions = aio.AsyncModelVersions(scope, engine, session)
        self.findings = aio.AsyncFindings(scope, engine, session)
        self.conversations = aio.AsyncConversations(scope, engine, session)
        self.exports = aio.AsyncExports(scope, engine, session)
        self.lineage = aio.AsyncLineage(scope, engine, session)
        self.maintenance = aio.AsyncMaintenance(scope, engine, session)

    @property
    def models(self) -> aio.AsyncModelVersions:
        """Deprecated: ``model_versions``."""
        _warn_models()
        return self.model_versions

    async def run(self, fn: Callable[[Tx], T]) -> T:
        scope = self._make()
        return cast(T, await self._session.run_sync(lambda s: fn(Tx(scope.with_session(s)))))


class _AsyncOpener:
    """Lets ``AsyncLedger.open()`` be awaited or used with ``async with``."""

    def __init__(self, settings: Settings, workspace: str | uuid.UUID | None = None) -> None:
        self._settings = settings
        self._workspace = workspace
        self._ledger: AsyncLedger | None = None

    async def _open(self) -> AsyncLedger:
        engine = create_async_engine_from(self._settings)
        who = None
        try:
            async with engine.begin() as conn:
                await conn.run_sync(schema.ensure_ready)
            if self._workspace is not None:
                async with engine.connect() as conn:
                    who = await conn.run_sync(tenancy.tenant, self._workspace)
                tenancy.install(engine.sync_engine, who)
                engine = engine.execution_options(**tenancy.options(who))
        except BaseException:
            await engine.dispose()
            raise
        return AsyncLedger(self._settings, engine, who)

    def __await__(self) -> Any:
        return self._open().__await__()

    async def __aenter__(self) -> AsyncLedger:
        self._ledger = await self._open()
        return self._ledger

    async def __aexit__(self, *exc: object) -> None:
        if self._ledger is not None:
            await self._ledger.close()
