"""The fair gate in front of PostgreSQL's connection pool serves waiters in arrival order
(bench/load.py measured a client starved for 20 s by the plain QueuePool)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import create_engine, exc, text

from docledger.db.fair_pool import FairGate, FairQueuePool


def _wait_for(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.001)
    assert condition()  # type: ignore[operator]


def test_waiters_are_served_in_arrival_order() -> None:
    gate = FairGate(1)
    assert gate.acquire(1.0)
    order: list[str] = []

    def client(name: str) -> None:
        assert gate.acquire(5.0)
        order.append(name)
        gate.release()

    threads = []
    for i, name in enumerate("abcde"):
        thread = threading.Thread(target=client, args=(name,))
        thread.start()
        threads.append(thread)
        _wait_for(lambda i=i: gate.waiting == i + 1)  # queued before the next arrives
    gate.release()
    for thread in threads:
        thread.join(5)
    assert order == list("abcde")


def test_a_waiter_that_times_out_leaves_the_queue() -> None:
    gate = FairGate(1)
    assert gate.acquire(None)
    assert not gate.acquire(0.05)
    assert gate.waiting == 0
    gate.release()
    assert gate.acquire(0.05)  # the slot came back to the gate, not to the gone waiter


def test_the_pool_times_out_when_every_slot_is_held() -> None:
    engine = create_engine(
        "sqlite://", poolclass=FairQueuePool, pool_size=1, max_overflow=0, pool_timeout=0.1
    )
    held = engine.connect()
    try:
        try:
            engine.connect()
        except exc.TimeoutError:
            pass
        else:
            raise AssertionError("a second connection was handed out")
    finally:
        held.close()
    with engine.connect() as conn:  # returned: available again
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
