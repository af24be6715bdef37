"""WAL checkpoints on the engine's own thread (SQLite only: PostgreSQL has no WAL a client
checkpoints, so there is nothing to compare on the other dialect)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from docledger import Ledger
from docledger.config import load_settings
from docledger.db import checkpointer
from tests.integration.sqlite_file import open_copy

THREAD = "docledger-wal-checkpoint"


def _fill(ledger: Ledger, count: int, prefix: str = "w") -> None:
    for i in range(count):
        ledger.workspaces.create(f"{prefix}{i}", "x", settings={"pad": "x" * 2000})


def _wait(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD]


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def test_commits_are_checkpointed_by_the_thread(tmp_path: Path, sqlite_template: Path) -> None:
    with open_copy(tmp_path, sqlite_template) as ledger:
        worker = checkpointer.of(ledger.engine)
        assert worker is not None
        _fill(ledger, 200)
        assert _wait(lambda: worker.frames_copied > 0), "the thread copied no WAL frames"
        # A connection's own inline checkpoint is only the backstop, far above SQLite's 1,000.
        with ledger.engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        assert pages == checkpointer.BACKSTOP_PAGES
        assert ledger.workspaces.get("w199").settings == {"pad": "x" * 2000}


def test_close_stops_the_thread_and_leaves_no_wal(tmp_path: Path, sqlite_template: Path) -> None:
    ledger = open_copy(tmp_path, sqlite_template)
    _fill(ledger, 50)
    assert _wait(lambda: bool(_threads()))
    ledger.close()
    assert not _threads(), "engine.dispose() left the checkpoint thread running"
    worker = checkpointer.of(ledger.engine)
    assert worker is not None
    assert worker._conn is None
    assert not (tmp_path / "docledger.db-wal").exists()


def test_thread_ends_when_idle_and_comes_back(tmp_path: Path, sqlite_template: Path) -> None:
    with open_copy(tmp_path, sqlite_template) as ledger:
        worker = checkpointer.of(ledger.engine)
        assert worker is not None
        worker.idle_s = 0.3
        _fill(ledger, 5)
        assert _wait(lambda: worker.checkpoints > 0)
        assert _wait(lambda: worker._thread is None), "an idle thread did not end"
        before = worker.checkpoints
        _fill(ledger, 5, prefix="again")
        assert _wait(lambda: worker.checkpoints > before), "a new commit started no thread"


def test_inline_setting_keeps_sqlites_default(tmp_path: Path, sqlite_template: Path) -> None:
    with open_copy(tmp_path, sqlite_template, sqlite_checkpoint="inline") as ledger:
        assert checkpointer.of(ledger.engine) is None
        _fill(ledger, 5)
        with ledger.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        assert not _threads() or all(not t.is_alive() for t in _threads())


def test_memory_database_has_no_thread(tmp_path: Path) -> None:
    with Ledger.open(
        settings=load_settings(db_url="sqlite://", blob_root=str(tmp_path / "b"))
    ) as ledger:
        assert checkpointer.of(ledger.engine) is None


def test_mmap_is_applied(tmp_path: Path, sqlite_template: Path) -> None:
    with open_copy(tmp_path, sqlite_template, sqlite_mmap_size_mib=64) as ledger:
        with ledger.engine.connect() as conn:
            size = conn.exec_driver_sql("PRAGMA mmap_size").scalar()
        assert size == 64 * 1024 * 1024


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_during_checkpoints_gives_a_working_child(
    tmp_path: Path, sqlite_template: Path
) -> None:
    with open_copy(tmp_path, sqlite_template) as ledger:
        worker = checkpointer.of(ledger.engine)
        assert worker is not None
        stop = threading.Event()

        def writer() -> None:
            i = 0
            while not stop.is_set():
                ledger.workspaces.create(f"p{i}", "y", settings={"pad": "y" * 1000})
                i += 1

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            assert _wait(lambda: worker.checkpoints > 0)
            # No transaction of the parent may be in flight at the fork: SQLite keeps its locks
            # per process, so a child inherits a sibling's open write as its own and waits on
            # it forever. The writes stop; the checkpoint thread, pending on the last of them,
            # is what the fork meets (the at-fork handler waits for a running checkpoint).
            stop.set()
            thread.join()
            assert worker._thread is not None
            pid = os.fork()
            if pid == 0:  # the child: its own engine, its own checkpointer, real commits
                code = 1
                try:
                    child = open_copy(tmp_path, sqlite_template)
                    _fill(child, 30, prefix="child")
                    mine = checkpointer.of(child.engine)
                    ok = mine is not None and _wait(lambda: mine.checkpoints > 0)
                    child.close()
                    code = 0 if ok else 2
                except BaseException as exc:  # reported to the parent through a file
                    (tmp_path / "child-error.txt").write_text(repr(exc))
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
        finally:
            stop.set()
            thread.join()
        error = tmp_path / "child-error.txt"
        assert os.waitstatus_to_exitcode(status) == 0, error.exists() and error.read_text()
        assert ledger.workspaces.get("child29").slug == "child29"
        assert _integrity(tmp_path / "docledger.db") == "ok"
