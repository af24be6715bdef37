"""In-process turn-taking for SQLite writers: one gate per database file.

SQLite lets one writer in at a time and makes the others wait in its busy handler, which
polls: a waiter sleeps 1, 2, 5, 10 ... up to 100 ms between tries, so waiting writers are
served in no order at all. With many threads writing (the HTTP server's request threads, a
worker's ``--concurrency``) the thread that just committed writes again and again while the
others sleep: in bench/write_gate.py, 50 threads on SQLite alone saw a p50 of 12 ms and a
p99 of 1.7 s, and a longer burst pushes the unlucky ones past ``busy_timeout`` into
LockTimeout. Here the threads of one process wait on a lock before ``BEGIN IMMEDIATE`` and
the next one is woken the moment the writer before it commits or rolls back: the p99 fell to
0.37 s, for about 15% less throughput at 50 threads (the same at 8). SQLite's busy handler
still arbitrates between processes.

The gate is taken only for write transactions of the threaded driver (pysqlite; aiosqlite
runs its statements from the event loop, which must never block: so the async surface sends
each write call of its own to a thread on the gated engine, see ``installed``), released
after the driver's commit or rollback (the pool's reset on return is a rollback too), and a thread
that already holds it goes straight to SQLite, so nested writers behave as they did without
it. A forked child starts with fresh gates.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

from sqlalchemy import Engine, event

from docledger.errors import LockTimeout

#: connection ``info`` key: the gate this connection's open write transaction holds
HELD = "docledger_write_gate"


class Gate:
    """A lock and the thread that holds it. A plain lock, not a strictly first-come one
    (``fair_pool.FairGate``): with 8 and 50 writer threads the strict order cost 10-20% of
    the throughput for the same tail (bench/write_gate.py)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.owner: int | None = None

    def acquire(self, timeout: float | None) -> bool:
        return self._lock.acquire(timeout=-1 if timeout is None else timeout)

    def release(self) -> None:
        self._lock.release()


_gates: dict[str, Gate] = {}
_guard = threading.Lock()
#: dialects of gated engines (an engine's option views share its dialect, and so the gate)
_installed: weakref.WeakSet[Any] = weakref.WeakSet()


def gate(path: str) -> Gate:
    with _guard:
        found = _gates.get(path)
        if found is None:
            found = _gates[path] = Gate()
        return found


def _forget_all() -> None:
    global _guard  # noqa: PLW0603 - the parent's lock may have been held by another thread
    _guard = threading.Lock()
    _gates.clear()


os.register_at_fork(after_in_child=_forget_all)


def enter(info: dict[str, Any], path: str, timeout_s: float) -> bool:
    """Wait for the gate before a write transaction begins on the connection whose ``info``
    this is. False: this thread holds it already (SQLite decides, as without a gate)."""
    turn = gate(path)
    me = threading.get_ident()
    if turn.owner == me:
        return False
    if not turn.acquire(timeout_s):
        raise LockTimeout(
            f"the SQLite database stayed locked by other writers of this process for "
            f"{timeout_s:g} s (busy_timeout)"
        )
    turn.owner = me
    info[HELD] = turn
    return True


def leave(info: dict[str, Any] | None) -> None:
    """After the connection's transaction ended (or its BEGIN failed)."""
    turn = None if info is None else info.pop(HELD, None)
    if turn is not None:
        turn.owner = None
        turn.release()


def _info(connection: Any) -> dict[str, Any] | None:
    try:
        return connection.info  # type: ignore[no-any-return]
    except (AttributeError, NotImplementedError):  # the engine's first-connect probe
        return None


def install(engine: Engine) -> None:
    """Release the gate after the driver's commit and rollback of ``engine``'s connections
    (the ``begin`` listener in the SQLite dialect takes it)."""
    _installed.add(engine.dialect)
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            leave(_info(dbapi_connection))

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            leave(_info(dbapi_connection))

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    # a connection dropped in a transaction ends it without a rollback call
    def dropped(_dbapi: Any, record: Any, *_: Any) -> None:
        leave(record.info)

    event.listen(engine, "invalidate", dropped)
    event.listen(engine, "close", dropped)


def installed(engine: Engine) -> bool:
    """Whether ``engine``'s write transactions take the gate: the async surface then sends
    its SQLite writes through this engine, so they take their turn with the threads'."""
    return engine.dialect in _installed
