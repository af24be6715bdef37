"""Transaction scopes: commit on success, roll back on any error, translate driver errors."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from docledger.db.dialects import dialect_of
from docledger.db.errors import translate
from docledger.errors import DatabaseUnavailable, DocledgerError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession


_READONLY: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _bind(engine: Engine | Connection, readonly: bool) -> Engine | Connection:
    options = dialect_of(engine).readonly_options() if readonly else {}
    if not options:
        return engine
    if isinstance(engine, Engine):  # an option engine per read cost a search 0.2 ms
        found = _READONLY.get(engine)
        if found is None:
            found = _READONLY[engine] = engine.execution_options(**options)
        return found
    return engine.execution_options(**options)


def _reraise(exc: sa_exc.StatementError) -> None:
    if isinstance(exc.orig, DocledgerError):  # raised by one of our types while binding
        raise exc.orig from exc
    if not isinstance(exc, sa_exc.DBAPIError):
        return
    translated = translate(exc)
    if translated is not None:
        raise translated from exc
    if isinstance(exc, sa_exc.OperationalError) and exc.connection_invalidated:
        raise DatabaseUnavailable(f"lost the database connection: {exc.orig}") from exc


@contextmanager
def translated_errors() -> Iterator[None]:
    """Raise driver errors met inside the block as DocledgerError subclasses."""
    try:
        yield
    except sa_exc.StatementError as exc:
        _reraise(exc)
        raise


@contextmanager
def session_scope(engine: Engine | Connection, *, readonly: bool = False) -> Iterator[Session]:
    """One transaction. Nothing is left half-written: any exception rolls everything back.
    Bound to an engine, it checks a pooled connection out for the transaction; bound to a
    connection the caller holds (a worker's claim loop), it runs on that connection."""
    session = Session(bind=_bind(engine, readonly), expire_on_commit=False, autoflush=True)
    try:
        yield session
        session.commit()
    except sa_exc.StatementError as exc:
        session.rollback()
        _reraise(exc)
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@asynccontextmanager
async def async_session_scope(
    engine: AsyncEngine, *, readonly: bool = False
) -> AsyncIterator[AsyncSession]:
    """The async twin of :func:`session_scope`; operations inside run through ``run_sync``."""
    from sqlalchemy.ext.asyncio import AsyncSession  # noqa: PLC0415 - async only when used

    options = dialect_of(engine).readonly_options() if readonly else {}
    bind = engine.execution_options(**options) if options else engine
    session = AsyncSession(bind=bind, expire_on_commit=False, autoflush=True)
    try:
        yield session
        await session.commit()
    except sa_exc.StatementError as exc:
        await session.rollback()
        _reraise(exc)
        raise
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()
