"""Sync and async engines built from one Settings object.

What differs per database (pool, connect arguments, PRAGMAs, who issues BEGIN) is the dialect
object's business (``docledger.db.dialects``); this module only asks it and wraps the driver's
missing-module error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine

from docledger.config import Settings
from docledger.db.dialects import dialect_named
from docledger.errors import MissingDependency

if TYPE_CHECKING:  # the async machinery is imported by the first async engine, not at startup
    from sqlalchemy.ext.asyncio import AsyncEngine


def create_sync_engine(settings: Settings) -> Engine:
    url = settings.sync_url
    dialect = dialect_named(settings.dialect_name)
    dialect.prepare_url(url, settings)
    try:
        engine = create_engine(url, **dialect.engine_options(settings, is_async=False))
    except ImportError as exc:
        raise MissingDependency(
            f"the driver for {url.drivername} is not installed: pip install 'docledger[postgres]'"
        ) from exc
    dialect.configure_engine(engine, settings)
    return engine


def create_async_engine_from(settings: Settings) -> AsyncEngine:
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415 - see above

    url = settings.async_url
    dialect = dialect_named(settings.dialect_name)
    dialect.prepare_url(url, settings)
    try:
        engine = create_async_engine(url, **dialect.engine_options(settings, is_async=True))
    except ImportError as exc:
        raise MissingDependency(
            f"the async driver for {url.drivername} is not installed: "
            "pip install 'docledger[postgres]'"
        ) from exc
    dialect.configure_engine(engine.sync_engine, settings)
    return engine
