"""SQLite's side: FTS5 for text, JSON1 for lists, executemany for bulk rows, polling workers.

Every connection gets the PRAGMAs (WAL, busy_timeout, foreign_keys, synchronous), and docledger
issues BEGIN itself instead of letting the driver do it lazily. Write transactions use
``BEGIN IMMEDIATE``: taking the write lock up front makes a competing writer wait for
``busy_timeout`` rather than fail at once with "database is locked" when it upgrades a read
transaction. Read-only scopes use a plain deferred ``BEGIN`` so readers never queue behind writers.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import (
    URL,
    Connection,
    Engine,
    String,
    Table,
    Uuid,
    bindparam,
    event,
    exists,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.pool import QueuePool

from docledger.config import Settings
from docledger.db import checkpointer, write_gate
from docledger.db.dialects.base import Capabilities, Dialect
from docledger.errors import ConfigurationError

SQLITE_BEGIN_OPTION = "docledger_sqlite_begin"


def _sqlite_pragmas(settings: Settings) -> list[tuple[str, str]]:
    pragmas = [
        ("journal_mode", settings.sqlite_journal_mode),
        ("busy_timeout", str(settings.sqlite_busy_timeout_ms)),
        ("foreign_keys", "ON"),
        ("synchronous", settings.sqlite_synchronous),
        ("cache_size", str(-settings.sqlite_cache_size_kib)),
        ("temp_store", "MEMORY"),
        # Reads through a memory map: a hit look-up in a large store went from pread's
        # 0.29 ms to 0.05 ms (the cap is the SQLite build's; pages stay shared page cache).
        ("mmap_size", str(settings.sqlite_mmap_size_mib * 1024 * 1024)),
    ]
    if _background_checkpoints(settings):
        pragmas.append(("wal_autocheckpoint", str(checkpointer.BACKSTOP_PAGES)))
    pragmas.extend(settings.sqlite_pragmas.items())
    return pragmas


def _background_checkpoints(settings: Settings) -> bool:
    return settings.sqlite_checkpoint == "background" and settings.sqlite_journal_mode == "WAL"


def _ensure_sqlite_dir(url: URL, settings: Settings) -> None:
    """Create the default data folder when missing; a folder named by the user's own URL
    must exist (a typo must not create directories under /)."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    parent = Path(database).expanduser().parent
    if settings.db_url is not None:
        if not parent.is_dir():
            raise ConfigurationError(
                f"the folder {parent} for the SQLite database does not exist: create it first"
            )
        return
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"DOCLEDGER_DB_URL: cannot create the folder {parent} for the SQLite database: {exc}"
        ) from exc


def _install_sqlite_hooks(engine: Engine, settings: Settings) -> None:
    pragmas = _sqlite_pragmas(settings)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for name, value in pragmas:
                cursor.execute(f"PRAGMA {name}={value}")
        finally:
            cursor.close()

    path = _gated_path(engine, settings)
    if path is not None:
        write_gate.install(engine)
    timeout_s = settings.sqlite_busy_timeout_ms / 1000

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")
        if mode == "DEFERRED":
            conn.exec_driver_sql("BEGIN")
            return
        info = conn.connection.info
        if path is None or not write_gate.enter(info, path, timeout_s):
            conn.exec_driver_sql(f"BEGIN {mode}")
            return
        try:
            conn.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            write_gate.leave(info)
            raise


def _gated_path(engine: Engine, settings: Settings) -> str | None:
    """The database file whose in-process writers take turns (write_gate), None for none:
    an in-memory database, the async driver, or ``DOCLEDGER_SQLITE_WRITE_GATE=off``."""
    database = engine.url.database
    if (
        not settings.sqlite_write_gate
        or engine.dialect.driver != "pysqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")
    ):
        return None
    return str(Path(database).expanduser().absolute())


_DIALECT = sqlite.dialect()
#: json_each is built in from SQLite 3.38 (earlier builds may lack it)
_JSON_EACH = sqlite3.sqlite_version_info >= (3, 38)


def _stored_json(type_: Any, values: Sequence[Any]) -> str:
    """The values as the column stores them (a UUID as 32 hex digits), as one JSON array for
    ``json_each``."""
    processor = type_.dialect_impl(_DIALECT).bind_processor(_DIALECT)
    return json.dumps([processor(v) for v in values] if processor is not None else list(values))


class SQLiteDialect(Dialect):
    name: ClassVar[str] = "sqlite"
    writable_ctes: ClassVar[bool] = False
    wakes_workers: ClassVar[bool] = False
    advisory_locks: ClassVar[bool] = False

    def prepare_url(self, url: URL, settings: Settings) -> None:
        _ensure_sqlite_dir(url, settings)

    def vector_folder(self, url: URL) -> Path | None:
        """``<database>.vectors/`` beside a database file (docledger.services.vector_files);
        an in-memory database keeps its vectors in memory."""
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return Path(database).expanduser().absolute().with_name(Path(database).name + ".vectors")

    def engine_options(self, settings: Settings, *, is_async: bool) -> dict[str, Any]:
        if is_async:
            return {"echo": settings.echo_sql}  # aiosqlite: SQLAlchemy's async queue pool
        # Pooled: a connection is used by one thread at a time (checkout), but opening one per
        # transaction cost ~2.5 ms (connect, PRAGMAs, and a WAL checkpoint when the last one
        # closes), more than a 250-segment insert itself. Workers and other processes each
        # build their own engine, so nothing is shared across a fork.
        return {
            "poolclass": QueuePool,
            "pool_size": settings.pool_size,
            "max_overflow": settings.pool_max_overflow,
            "pool_timeout": settings.pool_timeout_s,
            "connect_args": {"check_same_thread": False},
            "echo": settings.echo_sql,
        }

    def configure_engine(self, engine: Engine, settings: Settings) -> None:
        _install_sqlite_hooks(engine, settings)
        database = engine.url.database
        if (
            _background_checkpoints(settings)
            and database
            and database != ":memory:"
            and not database.startswith("file:")
        ):
            checkpointer.install(
                engine,
                str(Path(database).expanduser().absolute()),
                busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            )

    def readonly_options(self) -> dict[str, Any]:
        """A deferred BEGIN: a read takes no write lock (writes begin IMMEDIATE, see the
        module docstring, so they never deadlock upgrading a read lock)."""
        return {SQLITE_BEGIN_OPTION: "DEFERRED"}

    def insert(self, table: Table) -> Any:
        return sqlite.insert(table)

    def write_rows(
        self, conn: Connection, table: str, columns: str, count: int, rows: Sequence[Any]
    ) -> str:
        return self.load_rows(conn, table, columns, count, rows)

    def load_rows(
        self, conn: Connection, table: str, columns: str, count: int, rows: Iterable[Any]
    ) -> str:
        marks = ", ".join("?" for _ in range(count))
        statement = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        # The DBAPI connection: sqlite3's own, or SQLAlchemy's sync-looking adapter over
        # aiosqlite under the async engine; both have a cursor with executemany (sqlite3's
        # consumes an iterator as it goes: a whole table never sits in memory).
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(statement, rows)  # type: ignore[arg-type]
        finally:
            cursor.close()
        return statement

    def stage(self, conn: Connection, table: str, stage: str) -> None:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{stage}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {stage} AS SELECT * FROM {table} WHERE 0")

    def defer_foreign_keys(self, conn: Connection) -> None:
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # until this transaction ends

    def in_values(self, column: Any, values: Sequence[Any]) -> Any:
        """``column IN (SELECT value FROM json_each(:array))``: one bind parameter holding the
        keys in their stored form, where an IN list compiles one parameter per key (at 10,000
        ids that compilation cost more than the look-up)."""
        if not _JSON_EACH:
            return column.in_(list(values))
        keys = bindparam(None, _stored_json(column.type, values), type_=String)
        return column.in_(select(literal_column("value")).select_from(func.json_each(keys)))

    def not_among(self, column: str, name: str, ids: Sequence[Any]) -> tuple[str, Any]:
        if not _JSON_EACH:
            return super().not_among(column, name, ids)
        keys = bindparam(name, _stored_json(Uuid(), ids), type_=String)
        return f"{column} NOT IN (SELECT value FROM json_each(:{name}))", keys

    def match(self, words: Sequence[tuple[str, bool]]) -> tuple[str, str, str]:
        return (  # CROSS JOIN: SQLite keeps the index first (else it scans every segment)
            "fts_segments CROSS JOIN segments s ON s.rowid = fts_segments.rowid",
            "fts_segments MATCH :q",
            " OR ".join(f'"{t}"*' if p else f'"{t}"' for t, p in words),
        )

    def rank(self) -> str:
        return "bm25(fts_segments)"

    def best_matches(self) -> tuple[str, str]:
        return (
            "(SELECT rowid AS k, bm25(fts_segments) AS r FROM fts_segments "
            "WHERE fts_segments MATCH :q ORDER BY r LIMIT :over) AS m "
            "CROSS JOIN segments s ON s.rowid = m.k",
            "m.r",
        )

    def full_text_catch_up(self, conn: Connection, analyze_after: int) -> int:
        """SQLite holds the database's write lock, so the pending set cannot change under it;
        rows FTS5 already holds (its docsize) are skipped (an edited row queues its
        extraction again)."""
        if conn.exec_driver_sql("SELECT 1 FROM fts_pending LIMIT 1").first() is None:
            return 0
        indexed = conn.exec_driver_sql(
            "INSERT INTO fts_segments (rowid, text) SELECT s.rowid, s.text "
            "FROM fts_pending p JOIN segments s ON s.extraction_id = p.extraction_id "
            "WHERE NOT EXISTS (SELECT 1 FROM fts_segments_docsize d WHERE d.id = s.rowid)"
        ).rowcount
        conn.exec_driver_sql("DELETE FROM fts_pending")
        return int(indexed or 0)

    def full_text_drift(self, conn: Connection, waiting: str) -> tuple[int, int]:
        missing = conn.exec_driver_sql(
            "SELECT count(*) FROM segments s WHERE " + waiting + " AND NOT EXISTS "
            "(SELECT 1 FROM fts_segments_docsize d WHERE d.id = s.rowid)"
        ).scalar()
        extra = conn.exec_driver_sql(
            "SELECT count(*) FROM fts_segments_docsize d WHERE NOT EXISTS "
            "(SELECT 1 FROM segments s WHERE s.rowid = d.id)"
        ).scalar()
        return int(missing or 0), int(extra or 0)

    def full_text_rebuild(self, conn: Connection) -> None:
        conn.exec_driver_sql("INSERT INTO fts_segments (fts_segments) VALUES ('rebuild')")

    def json_array_contains(self, column: Any, value: str) -> Any:
        each = func.json_each(column).table_valued("value").alias("each")
        return exists(select(literal(1)).select_from(each).where(each.c.value == value))

    def refresh_statistics(self, conn: Connection, tables: Sequence[str]) -> None:
        conn.exec_driver_sql("PRAGMA optimize")  # analyses only what needs it

    def commit_counter(self, conn: Connection) -> Callable[[], object]:
        """``PRAGMA data_version``: it changes when any other connection commits, costs no lock
        and microseconds. Read on the driver connection, outside any transaction (through
        SQLAlchemy it would begin one, and BEGIN IMMEDIATE takes the write lock)."""
        raw: Any = conn.connection.driver_connection
        return lambda: raw.execute("PRAGMA data_version").fetchone()

    def detect(self, conn: Connection) -> Capabilities:
        version = str(conn.exec_driver_sql("select sqlite_version()").scalar())
        options = {str(row[0]) for row in conn.exec_driver_sql("PRAGMA compile_options")}
        try:
            conn.exec_driver_sql("select json('{}')")
            json_ok = True
        except Exception:
            json_ok = False
        raw = conn.connection.dbapi_connection
        try:
            import sqlite_vec as _sqlite_vec  # noqa: PLC0415 - optional

            raw.enable_load_extension(True)  # type: ignore[union-attr]
            _sqlite_vec.load(raw)
            vec = True
        except Exception:
            vec = False
        return Capabilities("sqlite", version, "ENABLE_FTS5" in options, vec, False, False, json_ok)
