"""Under PostgreSQL row-level security (``docledger db enable-rls``), each request runs on a
view of the store confined to its key's workspace, so the database itself keeps a request to
that workspace's rows whatever the code above does; without it (SQLite, or RLS off) every
request uses the store's ledger and the library's own ``workspace=`` confinement."""

from __future__ import annotations

import asyncio
import uuid

from docledger.db import tenancy
from docledger.ledger import AsyncLedger


class Tenants:
    def __init__(self, store: AsyncLedger, enforced: bool) -> None:
        self.store = store
        self.enforced = enforced
        self._views: dict[uuid.UUID, AsyncLedger] = {}
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, store: AsyncLedger) -> Tenants:
        async with store.engine.connect() as conn:
            enforced = await conn.run_sync(tenancy.enabled)
        return cls(store, bool(enforced))

    async def ledger(self, workspace: uuid.UUID) -> AsyncLedger:
        """The ledger a request of ``workspace`` runs on (a view kept per workspace: a few
        objects, no connections of its own)."""
        if not self.enforced:
            return self.store
        found = self._views.get(workspace)
        if found is not None:
            return found
        async with self._lock:
            found = self._views.get(workspace)
            if found is None:
                async with self.store.engine.connect() as conn:
                    who = await conn.run_sync(tenancy.tenant, workspace)
                found = self.store.confined_to(who)
                self._views[workspace] = found
        return found
