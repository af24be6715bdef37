"""Driver errors that are not constraint violations: lock timeouts and unreachable servers."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from docledger import DatabaseUnavailable, Ledger, LockTimeout, load_settings
from docledger.db.engine import create_sync_engine
from docledger.db.session import session_scope


def test_lock_timeout_is_translated(db_url: str, dialect: str) -> None:
    settings = load_settings(db_url=db_url, sqlite_busy_timeout_ms=200, lock_timeout_ms=200)
    with Ledger.open(settings=settings) as ledger:
        ledger.users.create("locked@example.org")
        holder = create_sync_engine(settings)
        held = threading.Event()
        release = threading.Event()

        def hold_lock() -> None:
            with session_scope(holder) as s:
                s.execute(text("UPDATE users SET name = 'holder'"))
                held.set()
                release.wait(10)

        thread = threading.Thread(target=hold_lock)
        thread.start()
        try:
            assert held.wait(10)
            with pytest.raises(LockTimeout):
                ledger.users.set_preferences("locked@example.org", {"x": 1})
        finally:
            release.set()
            thread.join()
            holder.dispose()
        assert ledger.users.get("locked@example.org").preferences == {}
        assert ledger.users.get("locked@example.org").name == "holder"


def test_unreachable_postgres_is_a_clear_error() -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    with pytest.raises(DatabaseUnavailable):
        Ledger.open("postgresql://nobody@127.0.0.1:1/nothing")


def test_unopenable_sqlite_path_is_a_clear_error(tmp_path: object) -> None:
    from pathlib import Path  # noqa: PLC0415

    blocker = Path(str(tmp_path)) / "file"
    blocker.write_text("not a folder")
    from docledger import ConfigurationError  # noqa: PLC0415

    with pytest.raises((ConfigurationError, DatabaseUnavailable)):
        Ledger.open(f"sqlite:///{blocker}/sub/x.db")
