"""Vector search: exact over an in-process matrix, or through pgvector's HNSW index.

Exact path (SQLite, PostgreSQL without pgvector, ``exact=True``), filter first, then scan:
the filter (workspace, documents, kinds, labels, pages) selects the candidate segments in SQL,
and only their vectors are scored, so a filtered query returns k results whenever k segments
match (post-filtering ANN indexes return fewer). The matrix is loaded once per space and
reloaded only when the space's ``change_counter`` has moved.

Index path (PostgreSQL with pgvector, see ``docledger.db.vector_index``): the space's HNSW
index with the filter in the same query and an iterative scan. An approximate index can still
come back with fewer than k rows under a very selective filter; then the exact path answers,
so a filtered query returns k rows whenever k rows match, on every path.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from docledger.db import vector_index
from docledger.db.dialect import (
    full_text_catch_up,
    full_text_pending,
)
from docledger.errors import InvalidInput, StorageFull
from docledger.repositories.base import check_limit
from docledger.repositories.conversation import ConversationRef, ConversationRepository
from docledger.repositories.embedding import to_vector
from docledger.repositories.finding_kinds import check_unit
from docledger.repositories.workspace import WorkspaceRef
from docledger.schemas.embedding import SearchHit
from docledger.services import ranking, search_driver
from docledger.services.scope import service
from docledger.services.search_scope import (
    build_hits,
    excluded_extractions,
    hit_details,
    matchable,
    ranked_text,
    space_and_workspace,
)
from docledger.services.search_space import DEFAULT_SPACE, SEARCH_KINDS, SpaceService

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # numpy costs every process 50 ms to import: loaded on first vector use
    pass

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al.)
#: HNSW candidate list per query (pgvector's default is 40); measured recall@10 in bench/knn.py
EF_SEARCH = 100


class SearchService(SpaceService):
    """``ledger.search``: vector, text and hybrid search over segments, and the embedding of
    segments a space lacks. Services all (they load models and matrices, and embed in
    batches that commit one by one)."""

    @service
    def vector(
        self,
        query: str | Sequence[float],
        *,
        k: int = 10,
        space: str = DEFAULT_SPACE,
        workspace: WorkspaceRef | None = None,
        documents: Sequence[uuid.UUID] | None = None,
        kinds: Sequence[str] | None = None,
        labels: Sequence[str] | None = None,
        pages: tuple[int, int] | None = None,
        exact: bool = False,
        ef_search: int = EF_SEARCH,
        include_superseded: bool = False,
        min_score: float | None = None,
        log: ConversationRef | None = None,
    ) -> list[SearchHit]:
        """Top-k segments by similarity to a text (embedded by the space's model) or a vector.

        Only each document's current version (its newest successful extraction per
        extractor) is searched unless ``include_superseded``; documents a folder sync
        removed are never searched. ``kinds`` defaults to ``SEARCH_KINDS``.
        ``exact=True`` skips the approximate index where there is one. ``min_score`` keeps
        the hits at least that similar (still k whenever k pass). ``log=conversation``
        records the query and its hits in that conversation (``conversations.log_query``).
        """
        threshold = check_unit(min_score, "min_score") if min_score is not None else None
        hits = self._nearest(
            query,
            k,
            space,
            workspace,
            documents,
            kinds,
            labels,
            pages,
            exact,
            ef_search,
            include_superseded,
        )
        hits = [h for h in hits if threshold is None or h.score >= threshold]
        self._log(log, query, hits, "vector", workspace)
        return hits

    def _nearest(
        self,
        query: str | Sequence[float],
        k: int,
        space: str,
        workspace: WorkspaceRef | None,
        documents: Sequence[uuid.UUID] | None,
        kinds: Sequence[str] | None,
        labels: Sequence[str] | None,
        pages: tuple[int, int] | None,
        exact: bool,
        ef_search: int,
        include_superseded: bool,
    ) -> list[SearchHit]:
        kinds, any_kind = matchable(SEARCH_KINDS if kinds is None else kinds)
        labels, any_label = (None, True) if labels is None else matchable(labels)
        check_limit(k, what="k")
        if ef_search < 1:
            raise InvalidInput("ef_search must be at least 1")
        if any_kind and any_label:
            filters = {"documents": documents, "kinds": kinds, "labels": labels, "pages": pages}
            quick = search_driver.nearest(
                self, query, k, space, workspace, filters, exact, ef_search, include_superseded
            )
            if quick is not None:
                return quick
        with self._scope.session(readonly=True) as session:
            sp, workspace_id = space_and_workspace(session, space, workspace)
            q = self._query_vector(sp, query)
            if not (any_kind and any_label):
                return []  # the query and the names were checked: nothing can match
            excluded = excluded_extractions(session, workspace_id, include_superseded)
            pgvector = None if exact else self._pgvector_version(session)
            if pgvector is not None and self._has_index(session, sp.id):
                found = vector_index.nearest(
                    session,
                    sp,
                    q,
                    k,
                    ef_search,
                    pgvector,
                    workspace_id,
                    documents,
                    kinds,
                    labels,
                    pages,
                    excluded,
                )
                if len(found) == k:
                    return self._hits(session, found)
            files = self._files(session, sp)
            if files is not None:
                return self._hits(session, self._from_files(files, q, k, ef_search, exact, {
                    "workspace_id": workspace_id, "documents": documents, "kinds": kinds,
                    "labels": labels, "pages": pages, "excluded": excluded,
                }))  # fmt: skip
            matrix = self._matrix(session, sp)
            selected = matrix.mask(workspace_id, documents, kinds, labels, pages, excluded)
            return self._hits(session, matrix.top(q, k, selected))

    def _query_vector(self, sp: Any, query: str | Sequence[float]) -> Any:
        """A text embedded by the space's model, or a vector checked against the space."""
        if isinstance(query, str):
            return self.embedders.for_model(sp.model, sp.dimensions).embed([query])[0]
        return to_vector(query, sp.dimensions)

    @staticmethod
    def _from_files(
        files: Any, q: Any, k: int, ef: int, exact: bool, mask_args: dict[str, Any]
    ) -> list[tuple[uuid.UUID, float]]:
        """Through the ANN index where the space has one and the filter leaves enough rows
        for it, else exactly over just the matching rows."""
        from docledger.services import vector_ann  # noqa: PLC0415

        found = None if exact else vector_ann.nearest(files, q, k, ef, mask_args)
        if found is None:
            rows = files.candidates(mask_args)
            found = (
                files.top(q, k, files.mask(**mask_args))
                if rows is None
                else files.top_rows(q, k, rows)
            )
        return found

    def _has_index(self, session: Any, space_id: uuid.UUID) -> bool:
        """Spaces get their HNSW index once they hold enough vectors; until then (and above
        pgvector's dimension limit) the exact path serves them. Remembered once seen."""
        if space_id in self._state.indexed_spaces:
            return True
        if vector_index.has_index(session.connection(), space_id):
            self._state.indexed_spaces.add(space_id)
            return True
        return False

    def _pgvector_version(self, session: Any) -> str | None:
        """Asked once per service: enabling pgvector later needs a new ledger to be seen."""
        if self._state.pgvector is False:
            self._state.pgvector = vector_index.version(session.connection())
        return self._state.pgvector if isinstance(self._state.pgvector, str) else None

    @service
    def catch_up(self) -> int:
        """Index the segments still pending in the full-text index (writes defer it, see
        migration 0011); returns the rows indexed. A read-only check first, so a query with
        nothing pending takes no write lock. Text and hybrid queries call this first, so they
        always see every committed segment; call it (or run the ``docledger.index_text``
        task) after a bulk load to keep that cost off the first query."""
        with self._scope.session(readonly=True) as session:
            if not full_text_pending(session):
                return 0
        with self._scope.session() as session:
            return full_text_catch_up(session)

    @service
    def text(
        self,
        query: str,
        *,
        k: int = 10,
        workspace: WorkspaceRef | None = None,
        kinds: Sequence[str] | None = None,
        documents: Sequence[uuid.UUID] | None = None,
        include_superseded: bool = False,
        log: ConversationRef | None = None,
    ) -> list[SearchHit]:
        """Full-text search over segment text (any word), best first.

        The index finds the candidates (prefix matches of the query's stems); they are
        ranked by BM25 computed here, so both dialects order a store the same way
        (``docledger.services.ranking``). Same scope and ``log`` rules as ``vector``.
        """
        hits = self._words(query, k, workspace, kinds, documents, include_superseded)
        self._log(log, query, hits, "text", workspace)
        return hits

    def _words(
        self,
        query: str,
        k: int,
        workspace: WorkspaceRef | None,
        kinds: Sequence[str] | None,
        documents: Sequence[uuid.UUID] | None,
        include_superseded: bool,
    ) -> list[SearchHit]:
        check_limit(k, what="k")
        if not isinstance(query, str):
            raise InvalidInput("a text query is a string")
        kinds, any_kind = matchable(SEARCH_KINDS if kinds is None else kinds)
        wanted = ranking.terms(query)
        if not wanted or not any_kind:
            return []
        for attempt in (1, 2):
            with self._scope.session(readonly=True) as session:
                # one transaction in the common case: the pending check and the search
                if attempt == 2 or not full_text_pending(session):
                    return ranked_text(
                        session, wanted, k, workspace, kinds, documents, include_superseded
                    )
            try:
                self.catch_up()  # index what writes left pending, then search
            except StorageFull:
                # a full disk must not take reads down: search what is indexed; the writes
                # that wait are indexed by the first search after space is freed
                log.warning("full-text catch-up skipped: the database's disk is full")
        raise AssertionError("unreachable")  # pragma: no cover

    @service
    def hybrid(
        self,
        query: str,
        *,
        k: int = 10,
        space: str = DEFAULT_SPACE,
        vector: Sequence[float] | None = None,
        workspace: WorkspaceRef | None = None,
        kinds: Sequence[str] | None = None,
        documents: Sequence[uuid.UUID] | None = None,
        include_superseded: bool = False,
        fusion: str = "relative",
        text_weight: float = 0.5,
        min_score: float | None = None,
        log: ConversationRef | None = None,
    ) -> list[SearchHit]:
        """Vector and full-text results fused into one ranking. ``vector`` is the query
        embedded by the caller's own model (any space); without it the space's built-in
        model embeds ``query``.

        ``fusion="relative"`` (default): each list's scores scaled to 0..1 (best = 1, worst
        of its top = 0) and summed with weights ``text_weight`` and ``1 - text_weight``, so a
        passage far ahead in one list stays ahead unless the other list disagrees strongly.
        ``fusion="rrf"``: reciprocal rank fusion (sum of 1/(60 + rank)), which ignores score
        gaps. On the planted-fact corpus (bench/extraction.py) RRF let a weak embedder pull
        the right passage out of the top 10 for 13% of the questions; relative fusion 0%.

        ``min_score`` is a threshold on the *vector similarity*: only passages at least that
        similar to the query are ranked (the text score reorders them), k of them whenever k
        pass. ``log`` as in ``vector``.
        """
        threshold = check_unit(min_score, "min_score") if min_score is not None else None
        if fusion not in {"relative", "rrf"}:
            raise InvalidInput("fusion is 'relative' or 'rrf'")
        if not isinstance(text_weight, int | float) or not 0.0 <= float(text_weight) <= 1.0:
            raise InvalidInput("text_weight is a number from 0 to 1")
        check_limit(k, what="k")
        depth = min(10_000, max(k * 5, 50))
        # text first: it names a missing workspace before the space is looked up
        words = self._words(query, depth, workspace, kinds, documents, include_superseded)
        similar = self._nearest(
            query if vector is None else vector,
            depth,
            space,
            workspace,
            documents,
            kinds,
            None,
            None,
            False,
            EF_SEARCH,
            include_superseded,
        )
        if threshold is not None:
            similar = [h for h in similar if h.score >= threshold]
            passing = {h.segment_id for h in similar}
            words = [h for h in words if h.segment_id in passing]
        lists = [(words, float(text_weight)), (similar, 1.0 - float(text_weight))]
        fused: dict[uuid.UUID, float] = {}
        first: dict[uuid.UUID, SearchHit] = {}
        for hits, weight in lists:
            if not hits:
                continue
            high, low = hits[0].score, min(h.score for h in hits)
            for rank, hit in enumerate(hits, start=1):
                if fusion == "rrf":
                    part = 1.0 / (RRF_K + rank)
                else:
                    part = weight * ((hit.score - low) / (high - low) if high > low else 1.0)
                fused[hit.segment_id] = fused.get(hit.segment_id, 0.0) + part
                first.setdefault(hit.segment_id, hit)
        order = sorted(
            fused,
            key=lambda sid: (
                -fused[sid],
                first[sid].external_key,
                first[sid].page_number or 0,
                first[sid].text or "",
                str(sid),
            ),
        )[:k]
        hits = [first[sid].model_copy(update={"score": fused[sid]}) for sid in order]
        self._log(log, query, hits, "hybrid", workspace)
        return hits

    def _log(
        self,
        log: ConversationRef | None,
        query: str | Sequence[float],
        hits: list[SearchHit],
        mode: str,
        workspace: WorkspaceRef | None,
    ) -> None:
        if log is None:
            return
        text_ = query if isinstance(query, str) else f"(a {len(query)}-dimension vector)"
        with self._scope.session() as session:
            ConversationRepository(session).log_query(
                log, text_, hits, mode=mode, workspace=workspace
            )

    def _hits(self, session: Any, chosen: list[tuple[uuid.UUID, float]]) -> list[SearchHit]:
        """Details of the chosen segments in one Core query (no ORM objects: at k=10 the ORM
        machinery cost more than the query)."""
        return build_hits(chosen, hit_details(session, [sid for sid, _ in chosen]))
