"""A vector search over an SQLite store's vector files, its reads on the driver connection.

The same steps as ``SearchService._nearest`` on its files path (space and workspace, the
extractions left out, the ranking, the hits' details), with the statements it uses, but
without the ORM session and Core's per-statement work: at 1,000,000 vectors those cost more
than the index search itself (``bench/knn.py --ann``). It answers only when everything is
already known to this process; otherwise (first search of a space, files behind the
database, a missing space or workspace, a driver error, a caller's transaction) it returns
None and the full path answers, catching up, naming what is missing, raising translated
errors, and priming what the next search needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from docledger.db import driver_reads
from docledger.repositories.workspace import WorkspaceRef
from docledger.schemas.embedding import SearchHit
from docledger.services.search_scope import (
    Space,
    build_hits,
    details_statement,
    excluded_statement,
    space_of,
    space_query,
    uuid_of,
)

if TYPE_CHECKING:
    from docledger.services.search import SearchService
    from docledger.services.vector_files import VectorFiles

#: hits' details read per statement (the full path reads them the same way)
DETAILS_PER_READ = 500


def nearest(
    service: SearchService,
    query: str | Sequence[float],
    k: int,
    space: str,
    workspace: WorkspaceRef | None,
    filters: dict[str, Any],
    exact: bool,
    ef_search: int,
    include_superseded: bool,
) -> list[SearchHit] | None:
    """The top k, or None when the full path must answer. ``filters``: documents, kinds,
    labels and pages as the vector files' mask takes them; kinds and labels already
    stripped of values no row can hold (``matchable``), and not emptied by it."""
    scope = service._scope
    engine = scope.engine
    if scope.in_transaction or not driver_reads.usable(engine):
        return None
    where = service._state.folders.get(engine.url)
    if where is None or where[0] is None:
        return None
    try:
        with driver_reads.reading(engine) as reads:
            known = _known(service, reads, where, space, workspace)
            if known is None:
                return None
            sp, workspace_id, files = known
            q = service._query_vector(sp, query)
            excluded = [
                uuid_of(row[0])
                for row in reads.remembered(
                    excluded_statement(include_superseded), {"ws": workspace_id}
                )
            ]
            found = service._from_files(
                files, q, k, ef_search, exact,
                {"workspace_id": workspace_id, **filters, "excluded": excluded},
            )  # fmt: skip
            details: dict[uuid.UUID, Any] = {}
            for part in range(0, len(found), DETAILS_PER_READ):
                ids = [sid for sid, _ in found[part : part + DETAILS_PER_READ]]
                for row in reads.run(details_statement(), {}, ids):
                    details[uuid_of(row[0])] = row
            return build_hits(found, details)
    except driver_reads.DriverReadFailed:
        return None


def _known(
    service: SearchService,
    reads: driver_reads.Reads,
    where: tuple[Any, Any],
    space: str,
    workspace: WorkspaceRef | None,
) -> tuple[Space, uuid.UUID, VectorFiles] | None:
    """The space, the workspace id and the space's files, when all three are known and the
    files are the space as this transaction sees it."""
    stmt, params = space_query(space, workspace)
    rows = reads.remembered(stmt, params)
    if not rows:
        return None
    sp, workspace_id = space_of(rows[0])
    if workspace_id is None:
        return None
    files = service._known_files(where, sp)[0]
    return None if files is None else (sp, workspace_id, files)
