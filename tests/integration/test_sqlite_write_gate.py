"""Threads of one process take turns for SQLite's write lock (db.write_gate). SQLite only:
PostgreSQL has row locks and no database-wide writer, so there is nothing to compare on the
other dialect; the gate must be invisible there and on the async driver."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from docledger import AsyncLedger, LockTimeout
from docledger.config import load_settings
from docledger.db import write_gate
from docledger.db.session import session_scope
from tests.integration.sqlite_file import open_copy


def _gate(tmp_path: Path) -> write_gate.Gate:
    return write_gate.gate(str((tmp_path / "docledger.db").absolute()))


def test_concurrent_writers_all_land_and_the_gate_ends_free(
    tmp_path: Path, sqlite_template: Path
) -> None:
    errors: list[BaseException] = []
    with open_copy(tmp_path, sqlite_template) as ledger:

        def write(n: int) -> None:
            try:
                for i in range(20):
                    ledger.documents.create(f"{n}-{i}".encode(), external_key=f"{n}-{i}.txt")
                    ledger.jobs.enqueue("docledger.noop", {"n": n, "i": i})
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert ledger.documents.list(limit=1000).items.__len__() == 320
        assert (
            ledger.jobs.stats()["queued"] == 320 if isinstance(ledger.jobs.stats(), dict) else True
        )
        gate = _gate(tmp_path)
        assert gate.owner is None
        assert gate.acquire(0)  # free: nobody kept it
        gate.release()


def test_a_failed_begin_and_a_rollback_release_it(tmp_path: Path, sqlite_template: Path) -> None:
    """Another process holds the write lock past the busy timeout: LockTimeout, and the gate
    is free again for the next writer; a rolled-back transaction frees it too."""
    with open_copy(tmp_path, sqlite_template, sqlite_busy_timeout_ms=200) as ledger:
        other = sqlite3.connect(tmp_path / "docledger.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(LockTimeout):
                ledger.workspaces.create("blocked")
            assert _gate(tmp_path).owner is None
        finally:
            other.execute("ROLLBACK")
            other.close()
        with pytest.raises(RuntimeError), session_scope(ledger.engine) as session:
            session.connection()  # BEGIN IMMEDIATE: the gate is taken
            assert _gate(tmp_path).owner == threading.get_ident()
            raise RuntimeError("the caller gives up: rollback")
        assert _gate(tmp_path).owner is None
        assert ledger.workspaces.create("after").slug == "after"


def test_a_thread_that_holds_it_goes_straight_to_sqlite(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """A second write transaction in the thread that holds the first one is SQLite's to
    refuse (LockTimeout after busy_timeout), as without the gate: never a wait on itself."""
    with open_copy(tmp_path, sqlite_template, sqlite_busy_timeout_ms=200) as ledger:
        with session_scope(ledger.engine) as outer:
            outer.connection()
            with pytest.raises(LockTimeout):
                ledger.workspaces.create("inner")
            assert _gate(tmp_path).owner == threading.get_ident()
        assert _gate(tmp_path).owner is None
        assert [w.slug for w in ledger.workspaces.list().items if w.slug == "inner"] == []


def test_it_can_be_switched_off(tmp_path: Path, sqlite_template: Path) -> None:
    with (
        open_copy(tmp_path, sqlite_template, sqlite_write_gate=False) as ledger,
        session_scope(ledger.engine) as session,
    ):
        session.connection()
        assert _gate(tmp_path).owner is None
        assert write_gate.HELD not in session.connection().connection.info


@pytest.mark.asyncio
@pytest.mark.parametrize("gated", [True, False])
async def test_async_writes_take_their_turn_at_the_gate(
    tmp_path: Path, sqlite_template: Path, gated: bool
) -> None:
    """A write of the async surface waits for the gate another writer of the process holds
    (SQLite itself is free: aiosqlite alone would go straight in); reads never wait."""
    open_copy(tmp_path, sqlite_template).close()
    settings = load_settings(
        db_url=f"sqlite:///{tmp_path / 'docledger.db'}",
        blob_root=str(tmp_path / "blobs"),
        sqlite_write_gate=gated,
    )
    async with AsyncLedger.open(settings=settings) as aledger:
        await aledger.jobs.enqueue("docledger.noop")  # the engines are open
        gate = _gate(tmp_path)
        assert gate.acquire(0)
        try:
            write = asyncio.create_task(aledger.jobs.enqueue("docledger.noop", {"n": 1}))
            # a read goes on while the write waits (without the gate the write may already
            # be in: the two race)
            listed = await asyncio.wait_for(aledger.jobs.list(), 5)
            assert len(listed.items) in ((1,) if gated else (1, 2))
            await asyncio.sleep(0.3)
            assert write.done() is not gated
        finally:
            gate.release()
        job = await asyncio.wait_for(write, 10)
        assert job.payload == {"n": 1}
        assert len((await aledger.jobs.list()).items) == 2
