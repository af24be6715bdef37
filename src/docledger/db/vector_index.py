"""pgvector on PostgreSQL: a ``vec_embeddings`` side table and one HNSW index per space.

The portable float32 bytes in ``embeddings.vector`` stay the source of truth (the exact path,
exports and SQLite read them); when the server has the ``vector`` extension, each vector is
also written, in the same transaction, as a pgvector value into ``vec_embeddings``. Spaces of
different dimensions share that one column: each space gets a partial expression index
``USING hnsw ((vec::vector(D)) <ops>) WHERE space_id = '<id>'``, the form pgvector documents
for mixed dimensions. The space id is written into the SQL as a literal, never a parameter,
because a generic plan cannot use a partial index whose predicate is a parameter.

The extension is optional and installing it may need privileges docledger lacks, so enabling
runs in a savepoint and failing leaves the exact path in charge.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from docledger.db.dialects import dialect_of
from docledger.db.dialects.postgresql import copy_rows, insert_batches
from docledger.db.tenancy import enforced

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

TABLE = "vec_embeddings"
#: pgvector's HNSW limit for the ``vector`` type; larger spaces use the exact path.
HNSW_MAX_DIMENSIONS = 2000
#: metric -> (operator class, distance operator)
OPERATORS = {
    "cosine": ("vector_cosine_ops", "<=>"),
    "ip": ("vector_ip_ops", "<#>"),
    "l2": ("vector_l2_ops", "<->"),
}
BACKFILL_BATCH = 2000
#: A space gets its HNSW index once it holds this many vectors (exact search below that).
INDEX_MIN_ROWS = 1000
#: A filter the planner expects to keep fewer rows than this is answered by scoring them
#: all (the SQLite index's threshold too): 100,000 x 384, a 1% filter, the index's filtered
#: scan reached recall@10 0.89 in 20 ms at p50 (bench/knn_pgvector.py)
EXACT_BELOW = 20_000
#: maintenance_work_mem for an index build, at least (pgvector builds in memory: 64 MB took
#: 3.7x longer at 100,000 x 384) ...
BUILD_MEMORY_MIB = 512
#: ... and what the graph needs where that is more (bytes per vector beyond the floats:
#: measured 2,365 bytes a 384-dimension vector, the notice pgvector prints when the graph
#: outgrows the memory; past it the build goes on at the speed of single inserts) ...
GRAPH_BYTES = 850
#: ... up to this (the build's memory is the server's: a 1M x 384 space asks ~2.6 GB)
BUILD_MEMORY_MAX_MIB = 4096

_CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "space_id uuid NOT NULL, segment_id uuid NOT NULL, vec vector NOT NULL, "
    "PRIMARY KEY (space_id, segment_id), "
    "FOREIGN KEY (segment_id, space_id) REFERENCES embeddings (segment_id, space_id) "
    "ON DELETE CASCADE)"
)


def version(conn: Connection) -> str | None:
    """The installed pgvector version, when this database keeps pgvector copies."""
    if not present(conn):
        return None
    found = conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))
    return str(found.scalar())


def session_settings(pgvector_version: str, ef_search: int) -> list[str]:
    """Per-transaction settings of an index scan: a wider candidate list than the default 40
    (recall), and pgvector >= 0.8's iterative scan, which keeps walking the graph while a
    filter rejects candidates instead of returning fewer than k rows."""
    settings = [f"SET LOCAL hnsw.ef_search = {int(ef_search)}"]
    major, minor = (int(part) for part in pgvector_version.split(".")[:2])
    if (major, minor) >= (0, 8):
        settings.append("SET LOCAL hnsw.iterative_scan = strict_order")
    return settings


def present(conn: Connection) -> bool:
    """Whether this database keeps pgvector copies (asked live: another process may have
    enabled it since this one started)."""
    if not dialect_of(conn).vector_index:
        return False
    return bool(conn.execute(text(f"SELECT to_regclass('{TABLE}') IS NOT NULL")).scalar())


def enable(conn: Connection) -> bool:
    """Install the extension, the side table, the copies and the per-space indexes.

    Idempotent. Returns False (and changes nothing) where the extension is not available or
    cannot be created by this role.
    """
    if not dialect_of(conn).vector_index:
        return False
    available = conn.execute(
        text("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
    ).scalar()
    if not available:
        return False
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    except Exception as exc:  # privileges differ between servers; the exact path still works
        logger.warning("pgvector is available but could not be installed: %s", exc)
        return False
    conn.execute(text(_CREATE_TABLE))
    backfill(conn)
    spaces = conn.execute(text("SELECT id, dimensions, metric FROM embedding_spaces")).all()
    for space_id, dims, metric in spaces:
        ensure_space_index(conn, _uuid(space_id), int(dims), str(metric))
    return True


def disable(conn: Connection) -> None:
    """Drop the copies and their indexes; the extension stays (other schemas may use it)."""
    conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))


def index_name(space_id: uuid.UUID) -> str:
    return f"vec_hnsw_{space_id.hex}"


def indexed(dimensions: int) -> bool:
    return dimensions <= HNSW_MAX_DIMENSIONS


def create_space_index(conn: Connection, space_id: uuid.UUID, dimensions: int, metric: str) -> None:
    """The HNSW index of one space (none above pgvector's dimension limit)."""
    if not indexed(dimensions):
        return
    ops, _ = OPERATORS[metric]
    conn.execute(
        text(
            f"CREATE INDEX IF NOT EXISTS {index_name(space_id)} ON {TABLE} "
            f"USING hnsw ((vec::vector({int(dimensions)})) {ops}) "
            f"WHERE space_id = '{space_id}'"
        )
    )


def literal(vector: np.ndarray[Any, np.dtype[np.float32]]) -> str:
    """pgvector's text form. Nine significant digits read back bit-identical for float32, in
    38% less text than Python's float repr and 2.3x faster (measured)."""
    values = cast("list[float]", vector.tolist())  # numpy's stubs disagree across releases
    return "[" + ",".join(["%.9g" % value for value in values]) + "]"  # noqa: UP031


def has_index(conn: Connection, space_id: uuid.UUID) -> bool:
    found = conn.execute(text(f"SELECT to_regclass('{index_name(space_id)}') IS NOT NULL"))
    return bool(found.scalar())


def ensure_space_index(conn: Connection, space_id: uuid.UUID, dimensions: int, metric: str) -> bool:
    """Build a space's HNSW index once it holds INDEX_MIN_ROWS vectors; returns whether the
    space has one.

    Built after a load, not maintained from the first row: inserting 100,000 x 384 vectors
    into a live index ran at ~600 vectors/s here, while building it over the loaded rows took
    16 s (with 512 MB; 60 s with the default 64 MB). A space with fewer vectors is
    searched exactly. The build takes a SHARE lock on ``vec_embeddings`` until commit:
    searches go on, other vector writes wait.
    """
    if not indexed(dimensions):
        return False
    if has_index(conn, space_id):
        return True
    if enforced(conn):  # a tenant owns no table: the owner builds it (docledger db pgvector)
        return False
    count = int(
        conn.execute(text(f"SELECT count(*) FROM {TABLE} WHERE space_id = '{space_id}'")).scalar()
        or 0
    )
    if count < INDEX_MIN_ROWS:
        return False
    memory = build_memory_mib(count, dimensions)
    conn.execute(text(f"SET LOCAL maintenance_work_mem = '{memory}MB'"))
    create_space_index(conn, space_id, dimensions, metric)
    return True


def build_memory_mib(rows: int, dimensions: int) -> int:
    """Room for the whole graph of a space of ``rows`` vectors (with a fifth to spare for the
    rows written while it builds), within BUILD_MEMORY_MIB..BUILD_MEMORY_MAX_MIB."""
    need = rows * (dimensions * 4 + GRAPH_BYTES) * 1.2 / 2**20
    return int(min(max(need, BUILD_MEMORY_MIB), BUILD_MEMORY_MAX_MIB))


def write(
    conn: Connection,
    space_id: uuid.UUID,
    segment_ids: Sequence[uuid.UUID],
    vectors: Sequence[np.ndarray[Any, np.dtype[np.float32]]],
    dimensions: int,
    metric: str,
    *,
    build_index: bool = True,
) -> None:
    """Replace the pgvector copies of these segments' vectors in one space (COPY), then build
    the space's index if this load brought it to INDEX_MIN_ROWS."""
    if not segment_ids:
        return
    remove(conn, space_id, segment_ids)
    rows = (
        (space_id, segment_id, literal(vector))
        for segment_id, vector in zip(segment_ids, vectors, strict=True)
    )
    if enforced(conn):  # no COPY under row-level security
        insert_batches(conn, TABLE, "space_id, segment_id, vec", 3, rows)
    else:
        copy_rows(conn, f"COPY {TABLE} (space_id, segment_id, vec) FROM STDIN", rows)
    if build_index:
        ensure_space_index(conn, space_id, dimensions, metric)


def backfill(conn: Connection) -> int:
    """Copy every stored vector that has no pgvector copy yet."""
    import numpy as np  # noqa: PLC0415 - numpy costs every process 50 ms to import

    done = 0
    while True:
        rows = conn.execute(
            text(
                f"SELECT e.space_id, e.segment_id, e.vector, sp.dimensions, sp.metric "
                "FROM embeddings e JOIN embedding_spaces sp ON sp.id = e.space_id "
                f"WHERE e.vector IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {TABLE} v "
                "WHERE v.space_id = e.space_id AND v.segment_id = e.segment_id) "
                f"LIMIT {BACKFILL_BATCH}"
            )
        ).all()
        if not rows:
            return done
        by_space: dict[uuid.UUID, tuple[list[uuid.UUID], list[Any]]] = {}
        shape: dict[uuid.UUID, tuple[int, str]] = {}
        for space_id, segment_id, blob, dims, metric in rows:
            key = _uuid(space_id)
            ids, vecs = by_space.setdefault(key, ([], []))
            shape[key] = (int(dims), str(metric))
            ids.append(_uuid(segment_id))
            vecs.append(np.frombuffer(bytes(blob), dtype="<f4"))
        for space_id, (ids, vecs) in by_space.items():
            # indexes are built once at the end (enable), not after the first batch
            write(conn, space_id, ids, vecs, *shape[space_id], build_index=False)
        done += len(rows)


def search_sql(space_id: uuid.UUID, dimensions: int, metric: str, filters: str, limit: int) -> str:
    """Top-``limit`` (segment id, distance) of one space through its HNSW index.

    ``filters`` is extra SQL over ``s`` (segments) and ``dv`` (document versions) with bound
    parameters; the query vector is the parameter ``:q``.
    """
    _, op = OPERATORS[metric]
    dims = int(dimensions)
    return (
        f"SELECT v.segment_id, v.vec::vector({dims}) {op} CAST(:q AS vector({dims})) AS distance "
        f"{_matching(space_id, filters)} "
        f"ORDER BY v.vec::vector({dims}) {op} CAST(:q AS vector({dims})) LIMIT {int(limit)}"
    )


def _matching(space_id: uuid.UUID, filters: str) -> str:
    """FROM and WHERE of a space's rows within ``filters`` (SQL over ``v``, ``s``, ``dv``)."""
    return (
        f"FROM {TABLE} v JOIN segments s ON s.id = v.segment_id "
        "JOIN document_versions dv ON dv.id = s.version_id "
        f"WHERE v.space_id = '{space_id}' {filters}"
    )


def exact_sql(space_id: uuid.UUID, dimensions: int, metric: str, filters: str, limit: int) -> str:
    """``search_sql`` scoring every matching row instead of walking the index: the subquery
    with ``OFFSET 0`` keeps the planner from ordering by the index."""
    _, op = OPERATORS[metric]
    dims = int(dimensions)
    return (
        "SELECT segment_id, distance FROM (SELECT v.segment_id, "
        f"v.vec::vector({dims}) {op} CAST(:q AS vector({dims})) AS distance "
        f"{_matching(space_id, filters)} OFFSET 0) AS c "
        f"ORDER BY distance LIMIT {int(limit)}"
    )


def estimated_rows(session: Session, space_id: uuid.UUID, filters: str, params: Any) -> float:
    """The planner's estimate of a space's rows within the filters (a plan, not a count:
    a millisecond whatever the size)."""
    plan = session.execute(
        text(f"EXPLAIN (FORMAT JSON) SELECT 1 {_matching(space_id, filters)}"), params
    ).scalar()
    found: Any = json.loads(plan) if isinstance(plan, str) else plan
    return float(found[0]["Plan"]["Plan Rows"])


def similarity(metric: str, distance: float) -> float:
    """pgvector's distance as the exact path's score (higher is better)."""
    if metric == "cosine":
        return 1.0 - distance
    return -distance  # <#> is the negative inner product; l2 scores are negative distances


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def remove(conn: Connection, space_id: uuid.UUID, segment_ids: Sequence[uuid.UUID]) -> None:
    if segment_ids:
        conn.execute(
            text(f"DELETE FROM {TABLE} WHERE space_id = :space AND segment_id = ANY(:ids)"),
            {"space": space_id, "ids": list(segment_ids)},
        )


def nearest(
    session: Session,
    sp: Any,
    q: np.ndarray[Any, np.dtype[np.float32]],
    k: int,
    ef_search: int,
    pgvector: str,
    workspace_id: uuid.UUID,
    documents: Sequence[uuid.UUID] | None,
    kinds: Sequence[str] | None,
    labels: Sequence[str] | None,
    pages: tuple[int, int] | None,
    excluded: Sequence[uuid.UUID],
) -> list[tuple[uuid.UUID, float]]:
    """The k nearest of a space's vectors through its HNSW index, the search's filters applied
    during the index scan (pgvector >= 0.8 keeps scanning until k pass, see session_settings);
    exactly over the matching rows where the planner expects a document, label or page filter
    to keep few of them."""
    filters = ["AND s.workspace_id = :ws"]
    if excluded:
        filters.append("AND NOT (s.extraction_id = ANY(:excluded))")
    params: dict[str, Any] = {"ws": workspace_id, "q": literal(q)}
    if documents:
        filters.append("AND dv.document_id = ANY(:documents)")
        params["documents"] = list(documents)
    if kinds:
        filters.append("AND s.kind = ANY(:kinds)")
        params["kinds"] = list(kinds)
    if labels:
        filters.append("AND s.label = ANY(:labels)")
        params["labels"] = list(labels)
    if excluded:
        params["excluded"] = list(excluded)
    if pages:
        filters.append("AND s.page_number BETWEEN :page_from AND :page_to")
        params["page_from"], params["page_to"] = pages
    where = " ".join(filters)
    if (documents or labels or pages) and (
        estimated_rows(session, sp.id, where, params) < EXACT_BELOW
    ):
        sql = exact_sql(sp.id, sp.dimensions, sp.metric, where, k)
    else:
        for setting in session_settings(pgvector, max(ef_search, k)):
            session.execute(text(setting))
        sql = search_sql(sp.id, sp.dimensions, sp.metric, where, k)
    return [
        (
            sid if isinstance(sid, uuid.UUID) else uuid.UUID(str(sid)),
            similarity(sp.metric, float(distance)),
        )
        for sid, distance in session.execute(text(sql), params)
    ]
