"""Short reads on the pooled driver connection, for the statements a hot path runs per call.

A vector search over the ANN index spends about 0.5 ms in the index and, through the ORM
session and Core, over 1 ms more in its three short reads and their transaction; the same
statements on the driver connection cost a tenth of that (``bench/knn.py --ann``). So the
statements stay Core objects, written once, and are compiled here to the driver's SQL once
per shape.

SQLite only, where a transaction needs nothing set up in it (PostgreSQL names the workspace
of a confined engine in every transaction, see ``tenancy.install``). A driver error is
:class:`DriverReadFailed`: the caller answers through its full path instead, which raises
the error translated into a ``DocledgerError`` when it happens again.
"""

from __future__ import annotations

import functools
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine.interfaces import Dialect

from docledger.db import tenancy


class DriverReadFailed(Exception):
    """The driver refused a read (busy, closed, ...): take the full path."""


def usable(engine: Engine) -> bool:
    """Whether this engine's reads can run on the bare driver connection."""
    return engine.dialect.name == "sqlite" and not tenancy.enforced(engine)


#: a connection's remembered reads (``Reads.remembered``), kept with the connection
_MEMO = "docledger_driver_reads_memo"
#: the most remembered reads per connection before they are forgotten at once
MOST_REMEMBERED = 256


class Reads:
    """Reads inside one read transaction on the pooled driver connection."""

    def __init__(self, driver: Any, dialect: Dialect, memo: dict[Any, list[Any]]) -> None:
        self.driver, self.dialect, self._memo = driver, dialect, memo

    def run(self, statement: Any, params: dict[str, Any], ids: Sequence[Any] = ()) -> list[Any]:
        """All rows of a statement (see :func:`run`)."""
        return run(self.driver, self.dialect, statement, params, ids)

    def remembered(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        """The rows of a statement, read again only when the database changed since this
        connection last read them: a search's scope (its space, workspace and the
        extractions it leaves out) is the same from one query to the next, and reading it
        took a fifth of what a search adds to the index's time (``bench/knn.py --ann``)."""
        key = (statement, tuple(sorted(params.items())))
        rows = self._memo.get(key)
        if rows is None:
            rows = self.run(statement, params)
            if len(self._memo) >= MOST_REMEMBERED:
                self._memo.clear()
            self._memo[key] = rows
        return rows


@contextmanager
def reading(engine: Engine) -> Iterator[Reads]:
    """The pooled connection's driver connection inside a deferred (read) transaction, which
    gives the reads one snapshot; rolled back at the end, since nothing was written.

    What this connection remembers is kept while the snapshot shows the same database:
    ``PRAGMA data_version`` (read inside the transaction, so it names this snapshot) moves
    when any other connection commits, ``total_changes`` when this one writes."""
    try:
        pooled = engine.raw_connection()
    except Exception as exc:  # the pool's own errors are SQLAlchemy's: the full path says
        raise DriverReadFailed(str(exc)) from exc
    try:
        driver: Any = pooled.driver_connection
        try:
            driver.execute("BEGIN")
        except sqlite3.Error as exc:
            raise DriverReadFailed(str(exc)) from exc
        try:
            state = (driver.execute("PRAGMA data_version").fetchone()[0], driver.total_changes)
            memo = pooled.info.get(_MEMO)
            if memo is None or memo[0] != state:
                memo = pooled.info[_MEMO] = (state, {})
            yield Reads(driver, engine.dialect, memo[1])
        except sqlite3.Error as exc:
            raise DriverReadFailed(str(exc)) from exc
        finally:
            try:
                driver.execute("ROLLBACK")
            except sqlite3.Error:
                pooled.invalidate()  # in an unknown state: not back into the pool
    finally:
        pooled.close()


@functools.lru_cache(maxsize=256)
def compiled(dialect: Dialect, statement: Any, expanded: int = 0) -> tuple[str, tuple[str, ...]]:
    """The driver's SQL for a Core statement and its parameters' names in order. A statement
    with an expanding ``ids`` parameter is compiled for ``expanded`` values (``ids_1`` ...)."""
    if expanded:
        statement = statement.params(ids=[None] * expanded)
    done = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return str(done), tuple(done.positiontup or ())


def run(
    driver: Any, dialect: Dialect, statement: Any, params: dict[str, Any],
    ids: Sequence[Any] = (),
) -> list[Any]:  # fmt: skip
    """All rows of a statement, its parameters bound by name (``ids`` expanded) and ids as
    SQLite stores them (32 hex digits); ids come back in that form too."""
    sql, names = compiled(dialect, statement, len(ids))
    values = {**params, **{f"ids_{n}": v for n, v in enumerate(ids, start=1)}}
    bound = [_stored(values[name]) for name in names]
    return list(driver.execute(sql, bound).fetchall())


def _stored(value: Any) -> Any:
    return value.hex if isinstance(value, uuid.UUID) else value
