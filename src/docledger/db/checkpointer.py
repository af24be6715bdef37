"""SQLite WAL checkpoints on a thread of their own, not inside somebody's commit.

SQLite's default checkpoints inline: the commit that takes the WAL past ``wal_autocheckpoint``
pages copies the WAL into the database and fsyncs it, so one unlucky caller pays 5-16 ms for
everyone (the tail of ``conversations.log_query``). Here each engine gets a daemon thread that
wakes on commits, lets a burst land (``settle_s``, but never more than ``max_delay_s`` under
a steady stream of commits), then runs ``PRAGMA wal_checkpoint(PASSIVE)``
on a connection of its own. PASSIVE never waits for readers or writers and never blocks them;
frames it cannot copy yet are copied next time. The inline checkpoint stays as a backstop at a
much larger WAL (``BACKSTOP_PAGES``), should the thread ever fall behind.

The thread ends after ``idle_s`` without commits and starts again on the next one, so an idle
process holds no extra thread. ``engine.dispose()`` stops it and closes its connection before
returning: a restore that replaces the file then finds no connection left on it. A fork waits
for a running checkpoint (``os.register_at_fork``) so a child never inherits SQLite's mutexes
mid-checkpoint; the child starts a thread of its own on its first commit.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

#: the inline checkpoint a connection keeps as a backstop (pages of 4 KiB: 64 MiB of WAL)
BACKSTOP_PAGES = 16_000

_all: weakref.WeakSet[Checkpointer] = weakref.WeakSet()
_by_engine: weakref.WeakKeyDictionary[Engine, Checkpointer] = weakref.WeakKeyDictionary()
#: connections a forked child inherited mid-life: never closed there (SQLite forbids using a
#: connection across fork, closing included), only kept from the garbage collector
_orphans: list[sqlite3.Connection] = []


class Checkpointer:
    """One engine's checkpoint thread; ``notify`` after each commit."""

    def __init__(
        self,
        database: str,
        *,
        busy_timeout_ms: int,
        settle_s: float = 0.1,
        max_delay_s: float = 1.0,
        idle_s: float = 5.0,
    ) -> None:
        self.database = database
        self.busy_timeout_ms = busy_timeout_ms
        self.settle_s = settle_s
        self.max_delay_s = max_delay_s
        self.idle_s = idle_s
        self.checkpoints = 0  # how many ran (tests and `doctor` read these)
        self.frames_copied = 0
        self._lock = threading.Lock()  # guards the fields below
        self._run = threading.Lock()  # held while a checkpoint runs (fork waits on it)
        self._wake = threading.Condition(self._lock)
        self._last_commit = 0.0
        self._first_pending = 0.0  # the oldest commit not yet checkpointed
        self._pending = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        _all.add(self)

    def notify(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._last_commit = time.monotonic()
            was_pending = self._pending
            if not was_pending:
                self._first_pending = self._last_commit
            self._pending = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="docledger-wal-checkpoint", daemon=True
                )
                self._thread.start()
            elif not was_pending:
                # only an idle thread needs waking: a pending one wakes at its own deadline and
                # reads the newest commit time then (no wake-up per commit under a stream)
                self._wake.notify()

    def stop(self) -> None:
        """Stop the thread and close its connection; a later commit starts it again."""
        with self._lock:
            self._stopping = True
            thread = self._thread
            self._wake.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._lock, self._run:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._thread = None
            self._stopping = False
            self._pending = False

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._stopping:
                    now = time.monotonic()
                    quiet = now - self._last_commit
                    waited = now - self._first_pending
                    if self._pending and (quiet >= self.settle_s or waited >= self.max_delay_s):
                        self._pending = False
                        break
                    if not self._pending and quiet >= self.idle_s:
                        self._thread = None  # idle: the next commit starts a new thread
                        self._close_locked()
                        return
                    if self._pending:
                        wait = min(self.settle_s - quiet, self.max_delay_s - waited)
                    else:
                        wait = self.idle_s - quiet
                    self._wake.wait(max(wait, 0.001))
                else:
                    return
            self._checkpoint()

    def _close_locked(self) -> None:
        with self._run:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _checkpoint(self) -> None:
        with self._run:
            try:
                if self._conn is None:
                    if not Path(self.database).exists():
                        return
                    self._conn = sqlite3.connect(
                        self.database, check_same_thread=False, isolation_level=None
                    )
                    self._conn.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
                row = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error:
                # A busy or vanished database: the next commit tries again, and the inline
                # backstop bounds the WAL meanwhile. Never an error for the committer.
                return
            self.checkpoints += 1
            if row is not None and row[2] is not None and row[2] > 0:
                self.frames_copied += int(row[2])

    # fork safety -------------------------------------------------------------------------
    def _before_fork(self) -> None:
        self._lock.acquire()
        self._run.acquire()

    def _after_fork_parent(self) -> None:
        self._run.release()
        self._lock.release()

    def _after_fork_child(self) -> None:
        if self._conn is not None:
            _orphans.append(self._conn)
            self._conn = None
        self._thread = None  # threads do not survive a fork
        self._pending = False
        self._run.release()
        self._lock.release()


def _before_fork() -> None:
    for one in list(_all):
        one._before_fork()


def _after_parent() -> None:
    for one in list(_all):
        one._after_fork_parent()


def _after_child() -> None:
    for one in list(_all):
        one._after_fork_child()


os.register_at_fork(before=_before_fork, after_in_parent=_after_parent, after_in_child=_after_child)


def install(engine: Engine, database: str, *, busy_timeout_ms: int) -> Checkpointer:
    """Attach a checkpointer to ``engine``: commits wake it, ``dispose`` stops it."""
    checkpointer = Checkpointer(database, busy_timeout_ms=busy_timeout_ms)

    @event.listens_for(engine, "commit")
    def _on_commit(_conn: Any) -> None:
        checkpointer.notify()

    @event.listens_for(engine, "engine_disposed")
    def _on_dispose(_engine: Any) -> None:
        checkpointer.stop()

    _by_engine[engine] = checkpointer
    return checkpointer


def of(engine: Engine) -> Checkpointer | None:
    """The engine's checkpointer, if it has one (SQLite files with background checkpoints)."""
    return _by_engine.get(engine)
