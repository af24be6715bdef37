"""What every repository shares: a session, and the marker for read-only operations."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from docledger.errors import InvalidInput

F = TypeVar("F", bound=Callable[..., Any])
SelectT = TypeVar("SelectT", bound=Select[Any])

READONLY_ATTR = "__docledger_readonly__"


def readonly(fn: F) -> F:
    """Mark an operation as read-only, so an auto-commit call can use a deferred SQLite BEGIN."""
    setattr(fn, READONLY_ATTR, True)
    return fn


def as_uuid(value: uuid.UUID | str) -> uuid.UUID | None:
    """The UUID a reference spells, or None when it is not a UUID (a slug, an email...)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def require_uuid(value: uuid.UUID | str, what: str) -> uuid.UUID:
    parsed = as_uuid(value)
    if parsed is None:
        raise InvalidInput(f"{what}: {value!r} is not a UUID")
    return parsed


def is_number(value: object) -> bool:
    """A finite int or float, and not a bool (``True`` is an int to Python, not to users)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def check_limit(limit: object, *, most: int = 10_000, what: str = "limit") -> int:
    """A page size: a whole number from 1 to ``most``. Both dialects refuse the same values
    (PostgreSQL rejects a negative LIMIT, SQLite would read it as "no limit")."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= most:
        raise InvalidInput(f"{what} must be a whole number between 1 and {most}")
    return limit


def where_given(stmt: SelectT, *filters: tuple[Any, Any]) -> SelectT:
    """``stmt`` narrowed by ``column == value`` for each (column, value) whose value was given
    (not None): the optional equality filters of list queries, written once."""
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


class Repository:
    """Operations on one aggregate, inside the caller's transaction (never commits itself)."""

    def __init__(self, session: Session) -> None:
        self.session = session
