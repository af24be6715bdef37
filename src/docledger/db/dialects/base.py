"""What differs between the databases docledger runs on, as one object per dialect.

``db/dialect.py`` holds the functions repositories call; each asks ``dialect_of(bind)`` for the
object of its database and lets it write the SQL that differs. Adding a dialect is one module
here that fills these methods in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import URL, Connection, Engine, Table, Uuid, bindparam
from sqlalchemy.orm import Session

from docledger.config import Settings


@dataclass(frozen=True)
class Capabilities:
    """Optional features of one database, detected once (``db.dialect.capabilities``)."""

    dialect: str
    server_version: str
    fts5: bool
    sqlite_vec: bool
    pgvector_available: bool
    pgvector_installed: bool
    json_functions: bool


class Dialect:
    """One database's SQL where it differs from the other's."""

    name: ClassVar[str]
    #: one statement can change rows and log them (``WITH done AS (UPDATE ...) INSERT``)
    writable_ctes: ClassVar[bool]
    #: idle workers can be woken by the database (LISTEN/NOTIFY) instead of polling
    wakes_workers: ClassVar[bool]
    #: session-level advisory locks exist (else the blob guard locks a file beside the database)
    advisory_locks: ClassVar[bool]
    #: the database itself can hold an ANN index (pgvector); see docledger.db.vector_index
    vector_index: ClassVar[bool] = False

    def vector_folder(self, url: URL) -> Path | None:
        """Where a space's vectors and ANN index live in files beside the database (the
        embedded default), or None where the database serves vector search itself."""
        return None

    def prepare_url(self, url: URL, settings: Settings) -> None:
        """Check (or create) what the URL needs before the first connection."""

    def engine_options(self, settings: Settings, *, is_async: bool) -> dict[str, Any]:
        """Keyword arguments of ``create_engine``: pool and driver connect arguments."""
        raise NotImplementedError

    def configure_engine(self, engine: Engine, settings: Settings) -> None:
        """Install per-connection hooks on a new (sync, or an async one's sync) engine."""

    def readonly_options(self) -> dict[str, Any]:
        """Execution options of a read-only transaction (none unless the dialect needs some)."""
        return {}

    def insert(self, table: Table) -> Any:
        """The INSERT construct with ON CONFLICT and RETURNING."""
        raise NotImplementedError

    def write_rows(
        self, conn: Connection, table: str, columns: str, count: int, rows: Sequence[Any]
    ) -> str:
        """Append ``rows`` (already in the driver's form) at the driver's own speed; returns
        the statement used (for error messages)."""
        raise NotImplementedError

    def load_rows(
        self, conn: Connection, table: str, columns: str, count: int, rows: Iterable[Any]
    ) -> str:
        """Append a whole table's rows (in the driver's form, streamed) in as few statements
        as the driver allows; returns the statement used (for error messages)."""
        raise NotImplementedError

    def stage(self, conn: Connection, table: str, stage: str) -> None:
        """A temporary table shaped like ``table`` (no constraints), for a merge."""
        raise NotImplementedError

    def defer_foreign_keys(self, conn: Connection) -> None:
        """Check foreign keys at commit where the database can (rows of a table that refer to
        each other then load in any order)."""

    def reset_sequence(self, conn: Connection, table: str, column: str) -> None:
        """Move an integer key's generator past the largest key (after explicit keys)."""

    def in_values(self, column: Any, values: Sequence[Any]) -> Any:
        """``column IN (values)`` for look-ups by many keys."""
        raise NotImplementedError

    def match(self, words: Sequence[tuple[str, bool]]) -> tuple[str, str, str]:
        """(FROM clause, match condition, query text) of "any of these terms"."""
        raise NotImplementedError

    def rank(self) -> str:
        """ORDER BY text of the full-text index's own ranker, best first."""
        raise NotImplementedError

    def not_among(self, column: str, name: str, ids: Sequence[Any]) -> tuple[str, Any]:
        """(SQL text, bound parameter) of ``column NOT IN ids`` for raw SQL. Here a list
        expanded into one parameter per id; the dialects pass the ids as one parameter, which
        a search's thousands of left-out extractions need (binding each cost more than the
        search)."""
        return f"{column} NOT IN :{name}", bindparam(name, list(ids), type_=Uuid(), expanding=True)

    def best_matches(self) -> tuple[str, str]:
        """(FROM clause, ORDER BY text) joining ``s`` (segments) to ``m``: the ``:over`` best
        matches of ``:q`` in the whole index by its own ranker, found before any scope is
        applied (ranking every match of a common word joined to its segment cost twice as
        much as ranking the index alone)."""
        raise NotImplementedError

    def full_text_catch_up(self, conn: Connection, analyze_after: int) -> int:
        raise NotImplementedError

    def full_text_load(self, conn: Connection, analyze_after: int) -> int:
        """Index what a bulk load (``docledger load``) left pending; by default a catch-up."""
        return self.full_text_catch_up(conn, analyze_after)

    def full_text_drift(self, conn: Connection, waiting: str) -> tuple[int, int]:
        raise NotImplementedError

    def full_text_rebuild(self, conn: Connection) -> None:
        raise NotImplementedError

    def json_array_contains(self, column: Any, value: str) -> Any:
        raise NotImplementedError

    def refresh_statistics(self, conn: Connection, tables: Sequence[str]) -> None:
        raise NotImplementedError

    def statistics_behind(self, conn: Connection, table: str, written: int) -> bool:
        """Whether ``written`` new rows leave the planner's idea of ``table`` far behind
        (where the planner needs one: PostgreSQL)."""
        return False

    def skip_commit_flush(self, session: Session) -> None:
        """Let this transaction's commit return before the log is flushed (where it waits)."""

    def notify_jobs(self, session: Session, channel: str, queues: Sequence[str]) -> None:
        """Wake idle workers of these queues, where the database can."""

    def commit_counter(self, conn: Connection) -> Callable[[], object]:
        """A cheap reading that changes whenever another connection commits (the polling
        worker's wake-up), taken outside any transaction."""
        raise NotImplementedError(f"{self.name} wakes its workers instead")

    def listen(
        self, url: URL, channel: str, wake: threading.Event, stopping: threading.Event
    ) -> None:
        """Set ``wake`` on every notification on ``channel`` until ``stopping`` is set."""
        raise NotImplementedError(f"{self.name} has no notifications: workers poll")

    def detect(self, conn: Connection) -> Capabilities:
        """The optional features this database has."""
        raise NotImplementedError
