"""Pessimistic disconnect handling that costs no round trip under load.

SQLAlchemy's ``pool_pre_ping`` pings the server on every checkout: one round trip per
transaction, 0.15 ms of a 2.7 ms chat turn on PostgreSQL here. A connection that was in use
a moment ago is almost surely alive; the ones that go stale are those left idle while a
server restarted or a firewall dropped them. So only a connection idle for longer than
``PING_AFTER_IDLE_S`` is pinged, and one that fails the ping is replaced before the caller
sees it (the pool's own retry on ``DisconnectionError``). A server that dies within that
second fails the next statement instead, which rolls back like any error and makes the pool
drop every connection it holds.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import exc as sa_exc

PING_AFTER_IDLE_S = 1.0
_LAST_USED = "docledger_last_used"


def install(engine: Engine) -> None:
    pool = engine.pool

    def used(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_LAST_USED)
        if last is not None and time.monotonic() - last < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa_exc.DisconnectionError(f"stale pooled connection: {exc}") from exc
        record.info[_LAST_USED] = time.monotonic()

    event.listen(pool, "connect", used)
    event.listen(pool, "checkin", used)
    event.listen(pool, "checkout", check)
