"""The async API runs the same repository code and gives the same results as the sync API."""

from __future__ import annotations

import pytest

from docledger import AsyncLedger, Conflict, Ledger, Tx


@pytest.mark.asyncio
async def test_async_and_sync_agree(db_url: str, dialect: str) -> None:
    async with AsyncLedger.open(db_url) as aledger:
        ws = await aledger.workspaces.create("async-ws", "Async")
        user = await aledger.users.create("b@example.org", preferences={"a": 1})
        await aledger.memberships.create(ws.id, user.id, "owner")
        with pytest.raises(Conflict):
            await aledger.users.create("b@example.org")
        async_view = (
            (await aledger.workspaces.list()).items,
            await aledger.users.get("b@example.org"),
            (await aledger.memberships.list(workspace="async-ws")).items,
        )

        # row calls open the sync engine services use only to write on SQLite, where a
        # write takes its turn at the process's write gate (db/write_gate.py)
        assert (aledger._sync is None) == (dialect == "postgresql")

        def both(tx: Tx) -> tuple[str, str]:
            return tx.workspaces.get("async-ws").slug, tx.users.get(user.id).email

        assert await aledger.run(both) == ("async-ws", "b@example.org")
        async with aledger.transaction() as atx:
            await atx.run(lambda tx: tx.users.set_preferences(user.id, {"b": 2}))

    with Ledger.open(db_url) as ledger:
        sync_view = (
            ledger.workspaces.list().items,
            ledger.users.get("b@example.org"),
            ledger.memberships.list(workspace="async-ws").items,
        )
    assert sync_view[0] == async_view[0]
    assert sync_view[2] == async_view[2]
    assert sync_view[1].preferences == {"a": 1, "b": 2}
    assert async_view[1].preferences == {"a": 1}


@pytest.mark.asyncio
async def test_async_open_can_be_awaited(db_url: str) -> None:
    aledger = await AsyncLedger.open(db_url)
    try:
        assert (await aledger.workspaces.get()).slug == "default"
    finally:
        await aledger.close()
