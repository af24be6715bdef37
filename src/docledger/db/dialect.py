"""The functions repositories call where SQLite and PostgreSQL differ.

Each asks ``dialect_of(bind)`` (db/dialects/) for its database's object, which writes the SQL
that differs; nothing here or in the repositories looks at a dialect's name. Optional features
(FTS5, sqlite-vec, pgvector) are detected once per database and cached.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    Uuid,
    bindparam,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import DeclarativeBase, Session

from docledger.db.dialects import Capabilities, dialect_of
from docledger.db.tenancy import enforced

#: Rows per INSERT statement on the multi-row VALUES path. SQLite's default host-parameter limit
#: is 32766, PostgreSQL's 65535; chunking keeps every statement well under both.
MAX_PARAMS_PER_STATEMENT = 30_000


def _table(target: type[DeclarativeBase] | Table) -> Table:
    if isinstance(target, Table):
        return target
    table = target.__table__
    assert isinstance(table, Table)
    return table


def dialect_insert(session: Session | Connection, target: type[DeclarativeBase] | Table) -> Any:
    """The dialect's INSERT construct (both support ON CONFLICT and RETURNING)."""
    return dialect_of(session).insert(_table(target))


def chunks(
    rows: Sequence[Mapping[str, Any]], columns: int
) -> Iterable[Sequence[Mapping[str, Any]]]:
    size = max(1, MAX_PARAMS_PER_STATEMENT // max(1, columns))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def insert_ignore(
    session: Session,
    target: type[DeclarativeBase] | Table,
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str] | None = None,
) -> None:
    """Insert rows, skipping any that collide with an existing unique key.

    ``ON CONFLICT DO NOTHING`` makes a re-run of the same input a no-op on both dialects, which
    is what idempotent ingest and enqueue are built on. The rows go as one executemany, which
    SQLAlchemy batches into multi-row INSERTs ("insertmanyvalues") with one cached compile.
    """
    if not rows:
        return
    stmt = dialect_insert(session, target).on_conflict_do_nothing(
        index_elements=list(conflict) if conflict else None
    )
    session.execute(stmt, list(rows))


def upsert(
    session: Session,
    target: type[DeclarativeBase] | Table,
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
    update: Sequence[str],
    returning: Sequence[str] = (),
) -> list[Any]:
    """Insert rows or update ``update`` columns of the existing ones, in set-based statements."""
    if not rows:
        return []
    table = _table(target)
    out: list[Any] = []
    for part in chunks(rows, len(rows[0])):
        stmt = dialect_insert(session, table).values(list(part))
        if update:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(conflict),
                set_={name: stmt.excluded[name] for name in update},
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
        if returning:
            stmt = stmt.returning(*(table.c[name] for name in returning))
            out.extend(session.execute(stmt).all())
        else:
            session.execute(stmt)
    return out


def bulk_insert(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]],
    columns: Sequence[str] | None = None,
    *,
    encoded: Collection[str] = (),
) -> int:
    """Append many rows at the driver's own speed, inside the session's transaction.

    PostgreSQL gets ``COPY ... FROM STDIN``; SQLite gets ``sqlite3``'s C-level executemany.
    ``rows`` are mappings, or tuples in the order of ``columns``. Values first go through each
    column's own bind processor, so they are stored exactly as an ORM or Core insert would
    store them (UTC timestamps, UUIDs, JSON); a value repeated from the previous row (a run id,
    one timestamp for a whole batch) is converted once. For append-only tables with no
    conflicts to resolve (metrics, segments, events): a duplicate key fails the transaction.
    ``encoded`` names columns whose values the caller already converted to the driver's form
    (serialised JSON, or a constant converted once with ``driver_value``).
    """
    if not rows:
        return 0
    conn = session.connection()
    dialect = conn.dialect
    if columns is None:
        first = rows[0]
        assert isinstance(first, Mapping)
        names = list(first.keys())
        mappings: Sequence[Mapping[str, Any]] = rows  # type: ignore[assignment]
        tuples: Sequence[Sequence[Any]] = [[row[name] for name in names] for row in mappings]
    else:
        names = list(columns)
        tuples = rows  # type: ignore[assignment]
    processors = [
        None
        if name in encoded
        else table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in names
    ]
    # values already in the driver's form (``encoded`` or plain types) go through untouched
    converted = tuples if all(p is None for p in processors) else _convert(tuples, processors)
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    target = dialect.identifier_preparer.format_table(table)
    driver_error = dialect.loaded_dbapi.Error
    statement = f"bulk write into {target}"
    try:
        statement = dialect_of(conn).write_rows(conn, target, quoted, len(names), converted)
    except driver_error as exc:
        # Wrapped like any SQLAlchemy statement error, so session scopes translate it.
        raise sa_exc.DBAPIError.instance(
            statement, None, exc, driver_error, hide_parameters=True, dialect=dialect
        ) from exc
    return len(rows)


def driver_value(session: Session, table: Table, column: str, value: Any) -> Any:
    """``value`` as the column's bind processor hands it to the driver (for ``encoded``)."""
    dialect = session.get_bind().dialect
    processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return value if processor is None else processor(value)


def _convert(rows: Sequence[Sequence[Any]], processors: list[Any]) -> list[tuple[Any, ...]]:
    """Apply the bind processors column by column, converting a value once while it repeats."""
    columns: list[list[Any]] = []
    for index, proc in enumerate(processors):
        values_ = [row[index] for row in rows]
        if proc is not None:
            out: list[Any] = []
            last: Any = object()
            last_out: Any = None
            for value in values_:
                if value is not last:
                    last, last_out = value, proc(value)
                out.append(last_out)
            values_ = out
        columns.append(values_)
    return list(zip(*columns, strict=True))


def in_values(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN (values)`` for look-ups by many keys.

    On PostgreSQL it is ``column = ANY(:array)``: one bind parameter instead of hundreds, so
    the statement text (and its server-side plan) is the same for every batch and the driver
    does not re-parse a long query each time.
    """
    return dialect_of(session).in_values(column, values)


_TOKEN = re.compile(r"\w+", re.UNICODE)
#: How many of the index's best matches are joined to the scope per candidate wanted.
BEST_OVERFETCH = 4


def _scope_sql(
    session: Session,
    workspace_id: Any,
    kinds: Sequence[str] | None,
    excluded: Sequence[Any],
    documents: Sequence[Any] | None,
) -> tuple[str, list[Any]]:
    """The WHERE conditions over ``s`` (segments) that scope a full-text query, and their
    bound parameters (expanding lists; an empty list adds no condition)."""
    binds: list[Any] = [bindparam("ws", workspace_id, type_=Uuid())]
    clauses = ["s.workspace_id = :ws"]
    if kinds:
        binds.append(bindparam("kinds", list(kinds), expanding=True))
        clauses.append("s.kind IN :kinds")
    if excluded:
        clause, bound = dialect_of(session).not_among("s.extraction_id", "excluded", excluded)
        binds.append(bound)
        clauses.append(clause)
    if documents:
        binds.append(bindparam("documents", list(documents), type_=Uuid(), expanding=True))
        clauses.append(
            "s.version_id IN (SELECT dv.id FROM document_versions dv "
            "WHERE dv.document_id IN :documents)"
        )
    return " AND ".join(clauses), binds


def _match(session: Session, words: Sequence[tuple[str, bool]]) -> tuple[str, str, str]:
    """(FROM clause, match condition, query text) of "any of these terms" per dialect."""
    return dialect_of(session).match(words)


def full_text_postings(
    session: Session,
    query_terms: Sequence[tuple[str, bool]],
    *,
    scope: Mapping[str, Any],
    limit: int,
) -> list[list[tuple[Any, str | None]]]:
    """Per term, (segment id, content hash) of up to ``limit`` segments within the scope
    holding it (a word, or a prefix): the same rows on both dialects, in no particular order.
    One statement for all terms. Terms are words (``\\w+``), never FTS syntax."""
    out: list[list[tuple[Any, str | None]]] = [[] for _ in query_terms]
    usable = [n for n, (t, _) in enumerate(query_terms) if t and _TOKEN.fullmatch(t)]
    if not usable:
        return out
    where, binds = _scope_sql(session, **scope)
    parts: list[str] = []
    params: dict[str, Any] = {"n": limit}
    for n in usable:
        source, match, query = _match(session, [query_terms[n]])
        params[f"q{n}"] = query
        parts.append(
            f"SELECT * FROM (SELECT {n} AS term, s.id, s.content_hash FROM {source} "
            f"WHERE {match.replace(':q', f':q{n}')} AND {where} LIMIT :n) AS t{n}"
        )
    stmt = text(" UNION ALL ".join(parts)).bindparams(*binds, **params)
    for term, sid, digest in session.execute(stmt):
        out[int(term)].append((sid, digest))
    return out


def full_text_candidates(
    session: Session,
    query_terms: Sequence[tuple[str, bool]],
    *,
    scope: Mapping[str, Any],
    limit: int,
) -> list[tuple[Any, str | None, str | None]]:
    """(id, text, content hash) of the best ``limit`` segments matching any term within the
    scope, by the dialect's own ranker (FTS5 bm25 / ts_rank): the fallback when every term
    is common. The text comes with the id: ranking needs it, and a second read of the same
    rows by id was an eighth of a text search (``bench/server.py``)."""
    words = [(t, p) for t, p in query_terms if t and _TOKEN.fullmatch(t)]
    if not words:
        return []
    where, binds = _scope_sql(session, **scope)
    source, match, query = _match(session, words)
    dialect = dialect_of(session)
    columns = "s.id, s.text, s.content_hash"
    # the index's best few first, then the scope: the same rows as the full query whenever
    # ``limit`` of those lie in the scope (a scope holding few of the matches falls back)
    best, order = dialect.best_matches()
    stmt = text(
        f"SELECT {columns} FROM {best} WHERE {where} ORDER BY {order}, s.id LIMIT :n"
    ).bindparams(*binds, q=query, n=limit, over=limit * BEST_OVERFETCH)
    found = [(row[0], row[1], row[2]) for row in session.execute(stmt)]
    if len(found) == limit:
        return found
    stmt = text(
        f"SELECT {columns} FROM {source} WHERE {match} AND {where} "
        f"ORDER BY {dialect.rank()}, s.id LIMIT :n"
    ).bindparams(*binds, q=query, n=limit)
    return [(row[0], row[1], row[2]) for row in session.execute(stmt)]


def full_text_defer(session: Session, extraction_ids: Any) -> None:
    """Note extractions (one id or a list) whose segments the full-text index does not hold
    yet (migration 0011): writes never index text themselves; ``full_text_catch_up`` does,
    in bulk."""
    ids = extraction_ids if isinstance(extraction_ids, list) else [extraction_ids]
    if not ids:
        return
    session.execute(
        text("INSERT INTO fts_pending (extraction_id) VALUES (:e)").bindparams(
            bindparam("e", type_=Uuid())
        ),
        [{"e": e} for e in ids],
    )


def full_text_pending(session: Session) -> bool:
    """Whether the full-text index has extractions to catch up."""
    return session.execute(text("SELECT 1 FROM fts_pending LIMIT 1")).first() is not None


def full_text_catch_up(session: Session) -> int:
    """Index the segments of every pending extraction in one statement; returns the rows
    indexed. SQLite holds the database's write lock, so the pending set cannot change under
    it, and rows FTS5 already holds are skipped (an edited row queues its extraction again).
    On PostgreSQL the pending rows are taken by ``DELETE ... RETURNING``: a concurrent
    catch-up waits on their row locks and then finds them gone, and ``ON CONFLICT`` covers a
    row the update trigger indexed first."""
    return dialect_of(session).full_text_catch_up(session.connection(), ANALYZE_AFTER_ROWS)


def full_text_load(session: Session) -> int:
    """``full_text_catch_up`` after a bulk load (an empty index is built after the rows)."""
    return dialect_of(session).full_text_load(session.connection(), ANALYZE_AFTER_ROWS)


def full_text_drift(session: Session) -> tuple[int, int]:
    """(segments the index should hold and does not, index entries with no segment), leaving
    out the extractions still waiting for their catch-up."""
    waiting = "s.extraction_id NOT IN (SELECT extraction_id FROM fts_pending)"
    return dialect_of(session).full_text_drift(session.connection(), waiting)


def full_text_rebuild(session: Session) -> None:
    """Rebuild the full-text index from the segments (what ``verify --repair`` does)."""
    conn = session.connection()
    dialect_of(conn).full_text_rebuild(conn)
    conn.exec_driver_sql("DELETE FROM fts_pending")


def json_array_contains(session: Session, column: Any, value: str) -> Any:
    """SQL for "the JSON list in ``column`` contains ``value``" (JSONB ``@>`` / ``json_each``)."""
    return dialect_of(session).json_array_contains(column, value)


#: Rows a bulk write must add before it refreshes planner statistics itself.
ANALYZE_AFTER_ROWS = 1000


def refresh_statistics(engine: Engine, tables: Sequence[str]) -> None:
    """Refresh planner statistics after a bulk write.

    PostgreSQL plans from statistics that autovacuum refreshes only about a minute later: right
    after a bulk load into a young table it believes the table is nearly empty and picks
    sequential scans for the next batch's set-based look-ups (measured: a re-ingest of 10,000
    files ran 3.5x slower). ANALYZE of the touched tables costs milliseconds. SQLite gets
    ``PRAGMA optimize``, which analyses only what needs it.
    """
    from docledger.db.session import translated_errors  # noqa: PLC0415 - session imports us

    with translated_errors(), engine.begin() as conn:
        dialect_of(conn).refresh_statistics(conn, tables)


def skip_commit_flush(session: Session) -> None:
    """Let this transaction's commit return before its WAL is flushed (PostgreSQL
    ``synchronous_commit = off`` for this transaction only).

    Only for writes whose loss in a server crash is harmless: a lost claim leaves its jobs
    queued. WAL is sequential, so a later durable commit (a task's completion) flushes every
    earlier record with it. SQLite needs nothing: in WAL mode with ``synchronous=NORMAL`` its
    commits do not wait for fsync anyway.
    """
    dialect_of(session).skip_commit_flush(session)


def writable_ctes(session: Session) -> bool:
    """Whether one statement can both change rows and log them (data-modifying CTEs, as in
    ``WITH done AS (UPDATE ... RETURNING) INSERT ...``): PostgreSQL, not SQLite, and not
    under row-level security (``tenancy.enforced``)."""
    return dialect_of(session).writable_ctes and not enforced(session.get_bind())


#: PostgreSQL channel workers LISTEN on; the payload is the queue name.
JOBS_CHANNEL = "docledger_jobs"


def notify_jobs(session: Session, queues: Iterable[str]) -> None:
    """Wake idle workers: NOTIFY on PostgreSQL (delivered at commit, so never before the jobs
    are visible); nothing on SQLite, whose workers poll adaptively."""
    dialect_of(session).notify_jobs(session, JOBS_CHANNEL, sorted(set(queues)))


_capabilities: dict[str, Capabilities] = {}


def capabilities(engine: Engine) -> Capabilities:
    """Detect optional features once per database URL."""
    key = engine.url.render_as_string(hide_password=False)
    cached = _capabilities.get(key)
    if cached is not None:
        return cached
    from docledger.db.session import translated_errors  # noqa: PLC0415 - session imports us

    with translated_errors(), engine.connect() as conn:
        caps = dialect_of(conn).detect(conn)
        conn.rollback()
    _capabilities[key] = caps
    return caps


def table_row_counts(conn: Connection, tables: Iterable[str]) -> dict[str, int]:
    """Exact row count per table in one round trip."""
    names = list(tables)
    if not names:
        return {}
    union = " UNION ALL ".join(f"SELECT '{name}' AS t, count(*) AS n FROM {name}" for name in names)
    return {str(t): int(n) for t, n in conn.exec_driver_sql(union)}
