"""Sync and async engines built from one Settings object.

SQLite: every connection gets the PRAGMAs (WAL, busy_timeout, foreign_keys, synchronous), and
docledger issues BEGIN itself instead of letting the driver do it lazily. Write transactions use
``BEGIN IMMEDIATE``: taking the write lock up front makes a competing writer wait for
``busy_timeout`` rather than fail at once with "database is locked" when it upgrades a read
transaction. Read-only scopes use a plain deferred ``BEGIN`` so readers never queue behind writers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import QueuePool

from docledger.config import Settings
from docledger.errors import ConfigurationError, MissingDependency

if TYPE_CHECKING:  # the async machinery is imported by the first async engine, not at startup
    from sqlalchemy.ext.asyncio import AsyncEngine

SQLITE_BEGIN_OPTION = "docledger_sqlite_begin"


def _sqlite_pragmas(settings: Settings) -> list[tuple[str, str]]:
    pragmas = [
        ("journal_mode", settings.sqlite_journal_mode),
        ("busy_timeout", str(settings.sqlite_busy_timeout_ms)),
        ("foreign_keys", "ON"),
        ("synchronous", settings.sqlite_synchronous),
        ("cache_size", str(-settings.sqlite_cache_size_kib)),
        ("temp_store", "MEMORY"),
    ]
    pragmas.extend(settings.sqlite_pragmas.items())
    return pragmas


def _ensure_sqlite_dir(url: URL, settings: Settings) -> None:
    """Create the default data folder when missing; a folder named by the user's own URL
    must exist (a typo must not create directories under /)."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    parent = Path(database).expanduser().parent
    if settings.db_url is not None:
        if not parent.is_dir():
            raise ConfigurationError(
                f"the folder {parent} for the SQLite database does not exist: create it first"
            )
        return
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"DOCLEDGER_DB_URL: cannot create the folder {parent} for the SQLite database: {exc}"
        ) from exc


def _install_sqlite_hooks(engine: Engine, settings: Settings) -> None:
    pragmas = _sqlite_pragmas(settings)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for name, value in pragmas:
                cursor.execute(f"PRAGMA {name}={value}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql("BEGIN" if mode == "DEFERRED" else f"BEGIN {mode}")


def _pg_connect_args(settings: Settings) -> dict[str, Any]:
    options = [f"-c lock_timeout={settings.lock_timeout_ms}"]
    if settings.statement_timeout_ms:
        options.append(f"-c statement_timeout={settings.statement_timeout_ms}")
    return {
        "connect_timeout": settings.connect_timeout_s,
        "options": " ".join(options),
        "application_name": "docledger",
    }


def _engine_kwargs(settings: Settings, *, is_async: bool = False) -> dict[str, Any]:
    if settings.dialect_name == "sqlite" and is_async:
        return {"echo": settings.echo_sql}  # aiosqlite: SQLAlchemy's async queue pool
    if settings.dialect_name == "sqlite":
        # Pooled: a connection is used by one thread at a time (checkout), but opening one per
        # transaction cost ~2.5 ms (connect, PRAGMAs, and a WAL checkpoint when the last one
        # closes), more than a 250-segment insert itself. Workers and other processes each
        # build their own engine, so nothing is shared across a fork.
        return {
            "poolclass": QueuePool,
            "pool_size": settings.pool_size,
            "max_overflow": settings.pool_max_overflow,
            "pool_timeout": settings.pool_timeout_s,
            "connect_args": {"check_same_thread": False},
            "echo": settings.echo_sql,
        }
    return {
        "echo": settings.echo_sql,
        "pool_size": settings.pool_size,
        "max_overflow": settings.pool_max_overflow,
        "pool_pre_ping": settings.pool_pre_ping,
        "pool_recycle": settings.pool_recycle_s,
        "pool_timeout": settings.pool_timeout_s,
        "connect_args": _pg_connect_args(settings),
    }


def create_sync_engine(settings: Settings) -> Engine:
    url = settings.sync_url
    if settings.dialect_name == "sqlite":
        _ensure_sqlite_dir(url, settings)
    try:
        engine = create_engine(url, **_engine_kwargs(settings))
    except ImportError as exc:
        raise MissingDependency(
            f"the driver for {url.drivername} is not installed: pip install 'docledger[postgres]'"
        ) from exc
    if settings.dialect_name == "sqlite":
        _install_sqlite_hooks(engine, settings)
    return engine


def create_async_engine_from(settings: Settings) -> AsyncEngine:
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415 - see above

    url = settings.async_url
    if settings.dialect_name == "sqlite":
        _ensure_sqlite_dir(url, settings)
    try:
        engine = create_async_engine(url, **_engine_kwargs(settings, is_async=True))
    except ImportError as exc:
        raise MissingDependency(
            f"the async driver for {url.drivername} is not installed: "
            "pip install 'docledger[postgres]'"
        ) from exc
    if settings.dialect_name == "sqlite":
        _install_sqlite_hooks(engine.sync_engine, settings)
    return engine
