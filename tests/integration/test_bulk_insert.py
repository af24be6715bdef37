"""The bulk path (COPY on PostgreSQL, executemany on SQLite) stores exactly what an ordinary
insert stores: awkward text, JSON, NULLs, UTC timestamps and UUIDs round-trip unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from docledger import Ledger
from docledger import models as m
from docledger.db.dialect import bulk_insert
from docledger.db.session import session_scope
from docledger.errors import Conflict
from docledger.ids import new_id


def test_bulk_insert_round_trips_awkward_values(ledger: Ledger) -> None:
    with ledger.runs.start("r", "pipeline") as run:
        pass
    tricky = "tab\there\nnew line \\ backslash \\N not null, 'quote' \"dq\" é"
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    rows = [
        {
            "id": new_id(),
            "run_id": run.id,
            "level": "info",
            "event": f"e{i}",
            "message": tricky if i % 2 else None,
            "data": {"text": tricky, "n": i, "nested": [1, None, {"a": "\t"}]},
            "at": at + timedelta(seconds=i),
        }
        for i in range(50)
    ]
    with session_scope(ledger.engine) as session:
        assert bulk_insert(session, m.RunEvent.__table__, rows) == 50  # type: ignore[arg-type]
    events = ledger.runs.events(run.id)
    assert [e.event for e in events] == [f"e{i}" for i in range(50)]
    for i, e in enumerate(events):
        assert e.message == (tricky if i % 2 else None)
        assert e.data == {"text": tricky, "n": i, "nested": [1, None, {"a": "\t"}]}
        assert e.at == at + timedelta(seconds=i)
        assert e.id == rows[i]["id"]


def test_bulk_insert_is_part_of_the_transaction(ledger: Ledger) -> None:
    with ledger.runs.start("r", "pipeline") as run:
        pass
    row = {
        "id": new_id(),
        "run_id": run.id,
        "level": "info",
        "event": "dup",
        "message": None,
        "data": {},
        "at": datetime.now(UTC),
    }
    with pytest.raises(Conflict), session_scope(ledger.engine) as session:
        bulk_insert(session, m.RunEvent.__table__, [row, dict(row)])  # type: ignore[arg-type]
    assert ledger.runs.events(run.id) == []
