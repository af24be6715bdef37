"""What a worker reports: its counts, the error that stops it, a task's result as JSON, a failure
in one line, and whether an error means the database went away."""

from __future__ import annotations

import os
import socket
import threading
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exc as sa_exc

from docledger.errors import DatabaseUnavailable, DocledgerError

#: What a lost or restarted database looks like from here: translated errors, driver errors
#: SQLAlchemy did not translate (a session left in a failed state after the connection
#: dropped mid-task: PendingRollbackError), and socket errors.
DATABASE_TROUBLE = (DocledgerError, sa_exc.SQLAlchemyError, OSError)


class WorkerCrashed(DocledgerError):
    """A worker thread met an error it cannot carry on from; the worker stopped."""


@dataclass
class WorkerStats:
    succeeded: int = 0
    failed: int = 0
    lost: int = 0
    released: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def connection_lost(exc: BaseException, session: Any) -> bool:
    """Whether ``exc`` (or what caused it) is the database connection going away, rather
    than a task's own error or a constraint: then a batch is abandoned, not failed."""
    if session is not None:
        try:
            if session.connection().invalidated:
                return True
        except sa_exc.SQLAlchemyError:
            pass  # a failed transaction: the cause chain below decides
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DatabaseUnavailable | sa_exc.InterfaceError):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


async def awaited(awaitable: Any) -> Any:
    return await awaitable


def as_result(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    return {"value": value}


def describe(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    return "".join(lines).strip()[:4000]
