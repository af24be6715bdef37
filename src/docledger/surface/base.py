"""How a surface call runs; the generated classes (auto.py, aio.py) only name the methods.

Sync, own transaction: a ``rows`` method opens one transaction (read-only ones a deferred
SQLite BEGIN) and runs on the repository built over it; a ``service`` method gets the scope and
opens what it needs itself. Async: ``rows`` methods run through ``AsyncSession.run_sync`` on the
async engine on PostgreSQL; on SQLite they run on the sync engine in a thread instead: a write
then takes its turn at the write gate with every thread's, and a read costs one thread hop
where aiosqlite makes one per driver call (a server's authenticated request: 322 -> 531 per
second with reads moved); ``service`` methods (blob
bytes, models, commits in steps) run the very same sync code in a worker thread, so neither
file I/O nor a model blocks the event loop. Inside an async transaction every method runs
through ``run_sync`` on the caller's session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from docledger.db import write_gate
from docledger.db.session import async_session_scope, session_scope
from docledger.db.tenancy import default_workspace
from docledger.services.scope import Scope, Service, is_service
from docledger.surface.registry import build, readonly

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from docledger.repositories.lineage import EntityRef
    from docledger.repositories.metric import MetricTriple
    from docledger.schemas.run import Run
    from docledger.services.tracking import RunHandle


def _confined(kwargs: dict[str, Any], bind: Any) -> dict[str, Any]:
    """A call that names no workspace runs in the one its ledger was opened for, if any: a
    ledger opened with ``workspace="a"`` addresses nothing outside it, ids included."""
    if "workspace" in kwargs and kwargs["workspace"] is None:
        bound = default_workspace(bind)
        if bound is not None:
            kwargs["workspace"] = bound
    return kwargs


def _own_transaction(
    cls: type[Any], scope: Scope, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    fn = getattr(cls, name)
    with session_scope(scope.engine, readonly=readonly(fn)) as session:
        return getattr(build(cls, scope, session), name)(*args, **kwargs)


class AutoSurface:
    """``ledger.X``: every call in a transaction of its own."""

    _cls: ClassVar[type[Any]]

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def _run(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self._cls, name)
        kwargs = _confined(kwargs, self._scope.engine)
        if is_service(fn):
            return getattr(build(self._cls, self._scope), name)(*args, **kwargs)
        return _own_transaction(self._cls, self._scope, name, args, kwargs)


class AsyncSurface:
    """``aledger.X`` (each call its own transaction) or ``atx.X`` (the caller's)."""

    _cls: ClassVar[type[Any]]

    def __init__(
        self,
        scope: Callable[[], Scope],
        engine: AsyncEngine,
        session: AsyncSession | None = None,
    ) -> None:
        self._sync_scope = scope  # the sync engine a thread needs, made on first use
        self._engine = engine
        self._session = session

    async def _run(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self._cls, name)
        kwargs = _confined(kwargs, self._engine)
        if self._session is not None:
            return await self._in_session(self._session, name, args, kwargs)
        if is_service(fn):
            scope = self._sync_scope()
            return await asyncio.to_thread(
                lambda: getattr(build(self._cls, scope), name)(*args, **kwargs)
            )
        if self._engine.dialect.name == "sqlite":
            scope = self._sync_scope()
            if readonly(fn) or write_gate.installed(scope.engine):  # see the module's docstring
                return await asyncio.to_thread(
                    _own_transaction, self._cls, scope, name, args, kwargs
                )
        async with async_session_scope(self._engine, readonly=readonly(fn)) as session:
            return await self._in_session(session, name, args, kwargs)

    async def _in_session(
        self, session: AsyncSession, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        # a plain repository needs only the session: no sync engine is opened for it
        scope = self._sync_scope() if issubclass(self._cls, Service) else None

        def call(sync_session: Any) -> Any:
            target = (
                self._cls(sync_session) if scope is None else build(self._cls, scope, sync_session)
            )
            return getattr(target, name)(*args, **kwargs)

        return await session.run_sync(call)

    def _context(self, name: str, /, *args: Any, **kwargs: Any) -> AsyncRunContext:
        return AsyncRunContext(self, name, args, kwargs)

    async def _call_sync(self, fn: Callable[[], Any]) -> Any:
        """Run a sync callable the way this surface runs services."""
        if self._session is not None:
            return await self._session.run_sync(lambda _session: fn())
        return await asyncio.to_thread(fn)


class AsyncRunContext:
    """``async with aledger.runs.start(...) as run``: the sync context manager, entered and
    left the way the surface runs services, its handle's calls awaited."""

    def __init__(
        self, surface: AsyncSurface, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self._surface = surface
        self._name = name
        self._args = args
        self._kwargs = kwargs
        self._manager: AbstractContextManager[RunHandle] | None = None

    async def __aenter__(self) -> AsyncRunHandle:
        surface = self._surface

        def enter(scope: Scope) -> RunHandle:
            manager = getattr(build(surface._cls, scope), self._name)(*self._args, **self._kwargs)
            self._manager = manager
            return manager.__enter__()  # type: ignore[no-any-return]

        base = surface._sync_scope()
        if surface._session is not None:
            handle = await surface._session.run_sync(lambda s: enter(base.with_session(s)))
        else:
            handle = await asyncio.to_thread(enter, base)
        return AsyncRunHandle(surface, handle)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        manager = self._manager
        assert manager is not None
        return await self._surface._call_sync(  # type: ignore[no-any-return]
            lambda: manager.__exit__(exc_type, exc, tb)
        )


class AsyncRunHandle:
    """The async twin of RunHandle: the same calls, awaited."""

    def __init__(self, surface: AsyncSurface, handle: RunHandle) -> None:
        self._surface = surface
        self._handle = handle
        self.run: Run = handle.run
        self.id = handle.id

    async def log(
        self,
        event: str,
        level: str = "info",
        data: dict[str, Any] | None = None,
        message: str | None = None,
    ) -> None:
        await self._surface._call_sync(lambda: self._handle.log(event, level, data, message))

    async def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> int:
        return int(await self._surface._call_sync(lambda: self._handle.log_metrics(metrics, step)))

    async def log_metrics_batch(self, points: Iterable[MetricTriple]) -> int:
        batch = list(points)
        return int(await self._surface._call_sync(lambda: self._handle.log_metrics_batch(batch)))

    async def uses(self, *entities: EntityRef) -> None:
        await self._surface._call_sync(lambda: self._handle.uses(*entities))

    async def produces(self, *entities: EntityRef) -> None:
        await self._surface._call_sync(lambda: self._handle.produces(*entities))
