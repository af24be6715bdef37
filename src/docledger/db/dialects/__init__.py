"""One object per database dialect, chosen by the bind's dialect name (see base.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from docledger.db.dialects.base import Capabilities, Dialect
from docledger.db.dialects.postgresql import PostgresDialect
from docledger.db.dialects.sqlite import SQLiteDialect

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

_DIALECTS: dict[str, Dialect] = {"sqlite": SQLiteDialect(), "postgresql": PostgresDialect()}


def dialect_of(bind: Session | Connection | Engine | AsyncEngine) -> Dialect:
    """The dialect object of a session's, connection's or (sync or async) engine's database."""
    engine_or_conn = bind.get_bind() if isinstance(bind, Session) else bind
    return _DIALECTS[engine_or_conn.dialect.name]


def dialect_named(name: str) -> Dialect:
    """The dialect object of a URL's backend name (before any engine exists)."""
    return _DIALECTS[name]


__all__ = ["Capabilities", "Dialect", "dialect_named", "dialect_of"]
