"""PostgreSQL's side: tsvector for text, JSONB for lists, COPY for bulk rows, arrays for
many-key look-ups, data-modifying CTEs, and LISTEN/NOTIFY to wake workers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from sqlalchemy import (
    ARRAY,
    URL,
    Connection,
    Engine,
    Table,
    Uuid,
    any_,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.util import await_only

from docledger.config import Settings
from docledger.db import idle_ping
from docledger.db.dialects.base import Capabilities, Dialect
from docledger.db.fair_pool import FairQueuePool
from docledger.db.tenancy import enforced

log = logging.getLogger(__name__)


def _pg_connect_args(settings: Settings) -> dict[str, Any]:
    options = [f"-c lock_timeout={settings.lock_timeout_ms}"]
    if settings.statement_timeout_ms:
        options.append(f"-c statement_timeout={settings.statement_timeout_ms}")
    return {
        "connect_timeout": settings.connect_timeout_s,
        "options": " ".join(options),
        "application_name": "docledger",
    }


def copy_rows(conn: Connection, statement: str, rows: Iterable[Sequence[Any]]) -> None:
    """``COPY ... FROM STDIN`` through psycopg's C row encoder, on the connection of a sync
    engine or of an async one (inside ``run_sync``, where the driver connection is psycopg's
    AsyncConnection and its COPY a coroutine awaited from this greenlet)."""
    raw: Any = conn.connection.driver_connection
    if conn.dialect.is_async:
        await_only(_copy_async(raw, statement, rows))
        return
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


async def _copy_async(raw: Any, statement: str, rows: Iterable[Sequence[Any]]) -> None:
    async with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            await copy.write_row(row)


#: up to this many rows go as one pipelined executemany of a one-row INSERT: COPY costs two
#: round trips (start, end) and its protocol set-up, which dominates a handful of rows (a chat
#: turn's ten citations); a multi-row INSERT has too many parameters for psycopg to cache its
#: parsing or prepare it, while the one-row statement is parsed once and prepared
SMALL_BATCH = 64


def insert_rows(
    conn: Connection, statement: str, params: Sequence[Any], *, many: bool = False
) -> None:
    """One statement with its parameters, or (``many``) a one-row statement per row in
    ``params``, which psycopg sends as one pipeline."""
    raw: Any = conn.connection.driver_connection
    if conn.dialect.is_async:
        await_only(_insert_async(raw, statement, params, many))
        return
    with raw.cursor() as cursor:
        (cursor.executemany if many else cursor.execute)(statement, params)


async def _insert_async(raw: Any, statement: str, params: Sequence[Any], many: bool) -> None:
    async with raw.cursor() as cursor:
        await (cursor.executemany if many else cursor.execute)(statement, params)


def insert_batches(
    conn: Connection, table: str, columns: str, count: int, rows: Iterable[Sequence[Any]]
) -> str:
    """Multi-row INSERTs, for a transaction under row-level security: PostgreSQL refuses COPY
    FROM there ("not supported with row-level security"). Batches stay under the protocol's
    65,535 parameters."""
    per = max(1, min(1000, 65_000 // count))
    one = "(" + ", ".join(["%s"] * count) + ")"
    statement = f"INSERT INTO {table} ({columns}) VALUES "
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == per:
            insert_rows(conn, statement + ", ".join([one] * per), [v for r in batch for v in r])
            batch = []
    if batch:
        insert_rows(conn, statement + ", ".join([one] * len(batch)), [v for r in batch for v in r])
    return statement


#: maintenance_work_mem of an index built after a bulk load
BULK_INDEX_MEMORY = "512MB"


class PostgresDialect(Dialect):
    name: ClassVar[str] = "postgresql"
    vector_index: ClassVar[bool] = True

    def engine_options(self, settings: Settings, *, is_async: bool) -> dict[str, Any]:
        return {
            "echo": settings.echo_sql,
            # first come, first served under load (sync engines; asyncio has its own queue)
            **({} if is_async else {"poolclass": FairQueuePool}),
            "pool_size": settings.pool_size,
            "max_overflow": settings.pool_max_overflow,
            "pool_pre_ping": False,  # idle_ping: only connections left idle (configure_engine)
            "pool_recycle": settings.pool_recycle_s,
            "pool_timeout": settings.pool_timeout_s,
            "connect_args": _pg_connect_args(settings),
        }

    def configure_engine(self, engine: Engine, settings: Settings) -> None:
        if settings.pool_pre_ping:
            idle_ping.install(engine)

    writable_ctes: ClassVar[bool] = True
    wakes_workers: ClassVar[bool] = True
    advisory_locks: ClassVar[bool] = True

    def insert(self, table: Table) -> Any:
        return postgresql.insert(table)

    def write_rows(
        self, conn: Connection, table: str, columns: str, count: int, rows: Sequence[Any]
    ) -> str:
        if enforced(conn):
            return insert_batches(conn, table, columns, count, rows)
        if len(rows) <= SMALL_BATCH:
            statement = (
                f"INSERT INTO {table} ({columns}) VALUES (" + ", ".join(["%s"] * count) + ")"
            )
            insert_rows(conn, statement, rows, many=True)
            return statement
        statement = f"COPY {table} ({columns}) FROM STDIN"
        copy_rows(conn, statement, rows)
        return statement

    def load_rows(
        self, conn: Connection, table: str, columns: str, count: int, rows: Iterable[Any]
    ) -> str:
        """One COPY for the whole table: foreign keys are checked at the end of the statement,
        so rows that refer to each other (parent segments, merged findings) load in any
        order."""
        if enforced(conn):
            return insert_batches(conn, table, columns, count, rows)
        statement = f"COPY {table} ({columns}) FROM STDIN"
        copy_rows(conn, statement, rows)
        return statement

    def stage(self, conn: Connection, table: str, stage: str) -> None:
        conn.exec_driver_sql(f"CREATE TEMP TABLE {stage} (LIKE {table}) ON COMMIT DROP")

    def reset_sequence(self, conn: Connection, table: str, column: str) -> None:
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"coalesce(max({column}), 1), max({column}) IS NOT NULL) FROM {table}"
        )

    def in_values(self, column: Any, values: Sequence[Any]) -> Any:
        """``column = ANY(:array)``: one bind parameter instead of hundreds, so the statement
        text (and its server-side plan) is the same for every batch."""
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))

    def not_among(self, column: str, name: str, ids: Sequence[Any]) -> tuple[str, Any]:
        return f"NOT ({column} = ANY(:{name}))", bindparam(name, list(ids), type_=ARRAY(Uuid()))

    def match(self, words: Sequence[tuple[str, bool]]) -> tuple[str, str, str]:
        return (
            "fts_segments f JOIN segments s ON s.id = f.segment_id",
            "f.tsv @@ to_tsquery('simple', :q)",
            " | ".join(f"{t}:*" if p else t for t, p in words),
        )

    def rank(self) -> str:
        return "ts_rank(f.tsv, to_tsquery('simple', :q)) DESC"

    def best_matches(self) -> tuple[str, str]:
        return (
            "(SELECT segment_id AS k, ts_rank(tsv, to_tsquery('simple', :q)) AS r "
            "FROM fts_segments WHERE tsv @@ to_tsquery('simple', :q) "
            "ORDER BY r DESC LIMIT :over) AS m JOIN segments s ON s.id = m.k",
            "m.r DESC",
        )

    def full_text_catch_up(self, conn: Connection, analyze_after: int) -> int:
        """The pending rows are taken by ``DELETE ... RETURNING``: a concurrent catch-up waits
        on their row locks and then finds them gone, and ``ON CONFLICT`` covers a row the
        update trigger indexed first."""
        indexed = conn.exec_driver_sql(
            "WITH done AS (DELETE FROM fts_pending RETURNING extraction_id) "
            "INSERT INTO fts_segments (segment_id, tsv) "
            "SELECT s.id, to_tsvector('simple', coalesce(s.text, '')) "
            "FROM segments s JOIN done d ON s.extraction_id = d.extraction_id "
            "ON CONFLICT (segment_id) DO NOTHING"
        ).rowcount
        if (indexed or 0) >= analyze_after and not enforced(conn):  # a tenant owns no index
            # A bulk catch-up leaves its entries in the GIN index's pending list, which every
            # query then scans, and the planner costs the index so high that it scans the
            # table instead (measured: 6.6 ms for a one-row term on 13,000 segments, against
            # 0.18 ms once the list is merged and the tables analysed).
            conn.exec_driver_sql("SELECT gin_clean_pending_list('fts_segments_tsv')")
            conn.exec_driver_sql("ANALYZE fts_segments")
            conn.exec_driver_sql("ANALYZE segments")
        return int(indexed or 0)

    def full_text_load(self, conn: Connection, analyze_after: int) -> int:
        """Index a bulk load. Into an empty index it is built once after the rows are in:
        inserting 1,000,000 rows into the live GIN index took 21 s here, a GIN build over
        them is a fraction of that. The index is gone until this transaction commits, so
        text searches on this store wait for the load (a load fills a new store)."""
        if conn.exec_driver_sql("SELECT 1 FROM fts_segments LIMIT 1").first() is not None:
            return self.full_text_catch_up(conn, analyze_after)
        conn.exec_driver_sql("DROP INDEX IF EXISTS fts_segments_tsv")
        # the foreign key too: checked once over the table when re-added, not row by row
        keys = conn.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'fts_segments'::regclass AND contype = 'f'"
        ).all()
        for name, _ in keys:
            conn.exec_driver_sql(f'ALTER TABLE fts_segments DROP CONSTRAINT "{name}"')
        indexed = conn.exec_driver_sql(
            "WITH done AS (DELETE FROM fts_pending RETURNING extraction_id) "
            "INSERT INTO fts_segments (segment_id, tsv) "
            "SELECT s.id, to_tsvector('simple', coalesce(s.text, '')) "
            "FROM segments s JOIN done d ON s.extraction_id = d.extraction_id"
        ).rowcount
        conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{BULK_INDEX_MEMORY}'")
        conn.exec_driver_sql("CREATE INDEX fts_segments_tsv ON fts_segments USING gin (tsv)")
        for name, definition in keys:
            conn.exec_driver_sql(f'ALTER TABLE fts_segments ADD CONSTRAINT "{name}" {definition}')
        return int(indexed or 0)

    def full_text_drift(self, conn: Connection, waiting: str) -> tuple[int, int]:
        missing = conn.exec_driver_sql(
            "SELECT count(*) FROM segments s WHERE " + waiting + " AND NOT EXISTS "
            "(SELECT 1 FROM fts_segments f WHERE f.segment_id = s.id)"
        ).scalar()
        extra = conn.exec_driver_sql(
            "SELECT count(*) FROM fts_segments f WHERE NOT EXISTS "
            "(SELECT 1 FROM segments s WHERE s.id = f.segment_id)"
        ).scalar()
        return int(missing or 0), int(extra or 0)

    def full_text_rebuild(self, conn: Connection) -> None:
        conn.exec_driver_sql("DELETE FROM fts_segments")
        conn.exec_driver_sql(
            "INSERT INTO fts_segments (segment_id, tsv) "
            "SELECT s.id, to_tsvector('simple', coalesce(s.text, '')) FROM segments s"
        )

    def json_array_contains(self, column: Any, value: str) -> Any:
        return column.op("@>")(func.jsonb_build_array(value))

    def refresh_statistics(self, conn: Connection, tables: Sequence[str]) -> None:
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")

    def statistics_behind(self, conn: Connection, table: str, written: int) -> bool:
        # autovacuum's own rule (a tenth of the table changed), applied now rather than a
        # minute later; never analysed (-1) counts as behind
        estimate = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
        ).scalar()
        return estimate is not None and (estimate < 0 or written > 0.1 * estimate)

    def skip_commit_flush(self, session: Session) -> None:
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))

    def notify_jobs(self, session: Session, channel: str, queues: Sequence[str]) -> None:
        for queue in queues:
            session.execute(select(func.pg_notify(channel, queue)))

    def listen(
        self, url: URL, channel: str, wake: threading.Event, stopping: threading.Event
    ) -> None:
        """Block on LISTEN on a connection of its own; reconnect after a failure (the
        workers poll meanwhile)."""
        import psycopg  # noqa: PLC0415 - the driver, loaded by the engine already

        target = url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not stopping.is_set():
            try:
                with psycopg.connect(target, autocommit=True) as conn:
                    conn.execute(f"LISTEN {channel}")
                    while not stopping.is_set():
                        for _note in conn.notifies(timeout=1.0, stop_after=1):
                            wake.set()
            except psycopg.Error as exc:
                log.warning("LISTEN connection failed (%s); polling meanwhile", exc)
                stopping.wait(1.0)

    def detect(self, conn: Connection) -> Capabilities:
        version = str(conn.execute(text("show server_version")).scalar())
        available = bool(
            conn.execute(
                text("select count(*) from pg_available_extensions where name = 'vector'")
            ).scalar()
        )
        installed = bool(
            conn.execute(
                text("select count(*) from pg_extension where extname = 'vector'")
            ).scalar()
        )
        return Capabilities("postgresql", version, True, False, available, installed, True)
