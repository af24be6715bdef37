"""A connection pool that hands connections out first come, first served.

SQLAlchemy's QueuePool wakes one waiter when a connection comes back, but the thread that
returned it can take it again before the woken one runs (barging). Under load — 100 client
threads over 10 connections — that starves some clients for as long as the load lasts: in
bench/load.py one call waited 20 s while the median was 39 ms. Here every checkout first
takes a slot from a gate that hands a returned slot directly to the longest waiter, so a
client waits for the clients ahead of it and no longer.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from sqlalchemy import exc
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool


class FairGate:
    """A counting semaphore whose waiters are served in arrival order (slots are handed
    over on release, never left for whoever asks next)."""

    def __init__(self, slots: int) -> None:
        self._lock = threading.Lock()
        self._free = slots
        self._waiters: deque[threading.Event] = deque()

    def acquire(self, timeout: float | None) -> bool:
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._lock:
            if turn.is_set():  # handed a slot just as the wait ran out
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()  # the slot goes to the longest waiter
            else:
                self._free += 1

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiters)


class FairQueuePool(QueuePool):
    """QueuePool behind a FairGate of pool_size + max_overflow slots."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        overflow = self._max_overflow
        self._gate = FairGate(self._pool.maxsize + overflow) if overflow >= 0 else None
        self._inside = threading.local()  # QueuePool._do_get calls itself: one slot a checkout

    def _do_get(self) -> ConnectionPoolEntry:
        if self._gate is None or getattr(self._inside, "held", False):
            return super()._do_get()
        if not self._gate.acquire(self._timeout):
            raise exc.TimeoutError(
                f"QueuePool limit of size {self.size()} overflow {self._max_overflow} reached, "
                f"connection timed out, timeout {self._timeout:0.2f}",
                code="3o7r",
            )
        self._inside.held = True
        try:
            return super()._do_get()
        except BaseException:
            self._gate.release()
            raise
        finally:
            self._inside.held = False

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        try:
            super()._do_return_conn(record)
        finally:
            if self._gate is not None:
                self._gate.release()
