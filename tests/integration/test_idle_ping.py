"""Pooled PostgreSQL connections are checked only after sitting idle (db/idle_ping.py): no
round trip per transaction under load, and a connection the server dropped while it sat in
the pool is replaced before the caller sees it. SQLite has no server connection to lose."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import create_engine, text

from docledger import AsyncLedger, Ledger
from docledger.config import load_settings
from docledger.db import idle_ping


def _server_only(ledger: Ledger) -> None:
    if ledger.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server connection to ping or lose")


def _terminate_pooled(ledger: Ledger) -> int:
    """Kill, from another connection, every server process serving this ledger's database."""
    admin = create_engine(ledger.engine.url, poolclass=None, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    admin.dispose()
    return int(killed or 0)


def test_back_to_back_calls_send_no_ping(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    _server_only(ledger)
    pings = []
    real = ledger.engine.dialect.do_ping
    monkeypatch.setattr(ledger.engine.dialect, "do_ping", lambda c: pings.append(1) or real(c))
    for _ in range(20):
        ledger.workspaces.get("default")
    assert pings == []
    time.sleep(idle_ping.PING_AFTER_IDLE_S + 0.2)
    ledger.workspaces.get("default")
    assert pings == [1]  # idle long enough: checked once


def test_a_connection_dropped_while_idle_is_replaced_unseen(
    ledger: Ledger, db_url: str, blob_root: object
) -> None:
    _server_only(ledger)
    ledger.documents.create(b"before", external_key="a.txt")
    assert _terminate_pooled(ledger) >= 1
    time.sleep(idle_ping.PING_AFTER_IDLE_S + 0.2)
    assert ledger.documents.get("a.txt").external_key == "a.txt"
    ledger.documents.create(b"after", external_key="b.txt")
    assert len(ledger.documents.list().items) == 2

    async def twice() -> int:
        async with AsyncLedger.open(
            settings=load_settings(db_url=db_url, blob_root=str(blob_root))
        ) as aledger:
            await aledger.documents.get("a.txt")
            _terminate_pooled(ledger)
            await asyncio.sleep(idle_ping.PING_AFTER_IDLE_S + 0.2)
            return len((await aledger.documents.list()).items)

    assert asyncio.run(twice()) == 2
