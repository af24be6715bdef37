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
import threading
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from docledger.db import vector_index
from docledger.db.dialect import (
    full_text_candidates,
    full_text_catch_up,
    full_text_pending,
    full_text_postings,
)
from docledger.errors import InvalidInput, StorageFull
from docledger.repositories.base import check_limit
from docledger.repositories.embedding import EmbeddingRepository, to_vector
from docledger.repositories.run import RunRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository
from docledger.schemas.embedding import SearchHit
from docledger.services import ranking
from docledger.services.scope import Scope, Service, service
from docledger.services.search_scope import (
    build_hits,
    by_rare_terms,
    embedding_lineage,
    excluded_extractions,
    hit_details,
    space_and_workspace,
    uuid_of,
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # numpy costs every process 50 ms to import: loaded on first vector use
    from docledger.services.embedders import Embedder, Embedders
    from docledger.services.vector_matrix import VectorMatrix

DEFAULT_SPACE = "hash-256"
RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al.)
#: HNSW candidate list per query (pgvector's default is 40); measured recall@10 in bench/knn.py
EF_SEARCH = 100
#: What search returns unless ``kinds=`` says otherwise: the passages extractors build for
#: retrieval (one hit per passage; pages, blocks and lines hold the same text again).
SEARCH_KINDS = ("chunk", "record", "zone", "evidence")
#: What ``embed`` embeds: the kinds search returns by default.
EMBED_KINDS = list(SEARCH_KINDS)
#: Candidates the dialect's ranker hands over when a query has only common words.
TEXT_DEPTH = 100
#: A term held by more segments (in the search's scope) than this is common: it still
#: counts in the score, but does not bring candidates (its segments are too many to rank).
COMMON = 100


class _SearchState:
    """What a ledger's searches share across calls: vector matrices, loaded embedders, what
    is known of pgvector."""

    def __init__(self) -> None:
        self.matrices: dict[uuid.UUID, VectorMatrix] = {}
        self.lock = threading.Lock()
        self.embedders: Embedders | None = None
        self.pgvector: str | bool | None = False  # False: not asked yet; None: not there
        self.indexed_spaces: set[uuid.UUID] = set()


class SearchService(Service):
    """``ledger.search``: vector, text and hybrid search over segments, and the embedding of
    segments a space lacks. Services all (they load models and matrices, and embed in
    batches that commit one by one)."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope)
        self._state: _SearchState = scope.shared.cache.setdefault("search", _SearchState())

    @property
    def embedders(self) -> Embedders:
        if self._state.embedders is None:
            from docledger.services.embedders import Embedders  # noqa: PLC0415

            self._state.embedders = Embedders()
        return self._state.embedders

    @service
    def embedder(self, space: str = DEFAULT_SPACE) -> Embedder:
        """The built-in model behind a space, loaded once per ledger (to embed a query or a
        text the way the space's vectors were made)."""
        found = self.embedders.for_space(space)
        if found is None:
            raise InvalidInput(
                f"{space!r} is not a built-in space ({', '.join(self.embedders.spaces)})"
            )
        return found

    @service
    def ensure_space(self, space: str = DEFAULT_SPACE) -> Any:
        """A built-in embedder's space, created on first use."""
        embedder = self.embedders.for_space(space)
        if embedder is None:
            raise InvalidInput(
                f"{space!r} is not a built-in space ({', '.join(self.embedders.spaces)})"
            )
        with self._scope.session() as session:
            return EmbeddingRepository(session).create_space(
                space, embedder.model, embedder.dimensions, "cosine"
            )

    @service
    def embed_missing(
        self,
        space: str = DEFAULT_SPACE,
        batch: int = 1000,
        progress: Any = None,
        *,
        workspace: WorkspaceRef | None = None,
    ) -> int:
        """Embed every text segment the space lacks (of one workspace when given, else of
        every workspace), with the space's own (built-in) model; built-in spaces are created
        on first use. Each batch commits on its own, so an interrupted run resumes where it
        stopped."""
        if workspace is not None:
            with self._scope.session(readonly=True) as session:
                WorkspaceRepository(session).get(workspace)  # unknown: fail before any work
        if self.embedders.for_space(space) is not None:
            self.ensure_space(space)
        with self._scope.session(readonly=True) as session:
            sp = EmbeddingRepository(session).space(space)
        embedder = self.embedders.for_model(sp.model, sp.dimensions)
        done = 0
        run_id: uuid.UUID | None = None
        while True:
            with self._scope.session(readonly=True) as session:
                todo = EmbeddingRepository(session).missing_segments(
                    space, EMBED_KINDS, batch, workspace=workspace
                )
            if not todo:
                if run_id is not None:
                    with self._scope.session() as session:
                        RunRepository(session).finish(run_id)
                return done
            vectors = embedder.embed([text for _, text in todo])
            with self._scope.session() as session:
                EmbeddingRepository(session).upsert(
                    space, {sid: vectors[n] for n, (sid, _) in enumerate(todo)}
                )
                run_id = embedding_lineage(
                    session, run_id, sp.id, [sid for sid, _ in todo], workspace
                )
            done += len(todo)
            if progress is not None:
                progress(len(todo))

    def _matrix(self, session: Any, space: Any) -> VectorMatrix:
        with self._state.lock:
            cached = self._state.matrices.get(space.id)
        if cached is not None and cached.counter == space.change_counter:
            return cached
        from docledger.services.vector_matrix import VectorMatrix  # noqa: PLC0415

        built = VectorMatrix.load(session, space.id, space.change_counter, space.metric)
        with self._state.lock:
            self._state.matrices[space.id] = built
        return built

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
    ) -> list[SearchHit]:
        """Top-k segments by similarity to a text (embedded by the space's model) or a vector.

        Only each document's current version (its newest successful extraction per
        extractor) is searched unless ``include_superseded``; documents a folder sync
        removed are never searched. ``kinds`` defaults to ``SEARCH_KINDS``.
        ``exact=True`` skips the approximate index where there is one.
        """
        kinds = SEARCH_KINDS if kinds is None else kinds
        check_limit(k, what="k")
        if ef_search < 1:
            raise InvalidInput("ef_search must be at least 1")
        with self._scope.session(readonly=True) as session:
            sp, workspace_id = space_and_workspace(session, space, workspace)
            q = (
                self.embedders.for_model(sp.model, sp.dimensions).embed([query])[0]
                if isinstance(query, str)
                else to_vector(query, sp.dimensions)
            )
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
            matrix = self._matrix(session, sp)
            selected = matrix.mask(workspace_id, documents, kinds, labels, pages, excluded)
            return self._hits(session, matrix.top(q, k, selected))

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
    ) -> list[SearchHit]:
        """Full-text search over segment text (any word), best first.

        The index finds the candidates (prefix matches of the query's stems); they are
        ranked by BM25 computed here, so both dialects order a store the same way
        (``docledger.services.ranking``). Same scope rules as ``vector``.
        """
        check_limit(k, what="k")
        if not isinstance(query, str):
            raise InvalidInput("a text query is a string")
        kinds = SEARCH_KINDS if kinds is None else kinds
        wanted = ranking.terms(query)
        if not wanted:
            return []
        for attempt in (1, 2):
            with self._scope.session(readonly=True) as session:
                # one transaction in the common case: the pending check and the search
                if attempt == 2 or not full_text_pending(session):
                    return self._ranked(
                        session, wanted, k, workspace, kinds, documents, include_superseded
                    )
            try:
                self.catch_up()  # index what writes left pending, then search
            except StorageFull:
                # a full disk must not take reads down: search what is indexed; the writes
                # that wait are indexed by the first search after space is freed
                log.warning("full-text catch-up skipped: the database's disk is full")
        raise AssertionError("unreachable")  # pragma: no cover

    def _ranked(
        self,
        session: Any,
        wanted: list[tuple[str, bool]],
        k: int,
        workspace: WorkspaceRef | None,
        kinds: Sequence[str],
        documents: Sequence[uuid.UUID] | None,
        include_superseded: bool,
    ) -> list[SearchHit]:
        """Candidates from the index, ranked by BM25 (see ``text``)."""
        ws = WorkspaceRepository(session).get(workspace)
        scope = {
            "workspace_id": ws.id,
            "kinds": list(kinds),
            "excluded": excluded_extractions(session, ws.id, include_superseded),
            "documents": list(documents) if documents else None,
        }
        postings = full_text_postings(session, wanted, scope=scope, limit=COMMON + 1)
        rare = [rows for rows in postings if len(rows) <= COMMON]
        if any(rare):
            chosen = by_rare_terms(rare)
        else:  # only common words: the dialect's own ranker picks the candidates
            chosen = full_text_candidates(
                session, wanted, scope=scope, limit=max(k * 10, TEXT_DEPTH)
            )
        details = hit_details(session, chosen)
        order = [key for key in (uuid_of(i) for i in chosen) if key in details]
        scores = ranking.bm25(
            wanted, [details[key][7] or "" for key in order], df=[len(rows) for rows in postings]
        )
        ranked = sorted(
            ((key, score) for key, score in zip(order, scores, strict=True) if score > 0),
            key=lambda hit: (
                -hit[1],
                details[hit[0]][7] or "",
                details[hit[0]][11] or "",
                str(hit[0]),
            ),
        )
        return build_hits(ranked[:k], details)

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
        """
        if fusion not in {"relative", "rrf"}:
            raise InvalidInput("fusion is 'relative' or 'rrf'")
        if not isinstance(text_weight, int | float) or not 0.0 <= float(text_weight) <= 1.0:
            raise InvalidInput("text_weight is a number from 0 to 1")
        check_limit(k, what="k")
        depth = min(10_000, max(k * 5, 50))
        scope: dict[str, Any] = {
            "workspace": workspace,
            "kinds": kinds,
            "documents": documents,
            "include_superseded": include_superseded,
        }
        lists = [
            (self.text(query, k=depth, **scope), float(text_weight)),
            (
                self.vector(query if vector is None else vector, k=depth, space=space, **scope),
                1.0 - float(text_weight),
            ),
        ]
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
        return [first[sid].model_copy(update={"score": fused[sid]}) for sid in order]

    def _hits(self, session: Any, chosen: list[tuple[uuid.UUID, float]]) -> list[SearchHit]:
        """Details of the chosen segments in one Core query (no ORM objects: at k=10 the ORM
        machinery cost more than the query)."""
        return build_hits(chosen, hit_details(session, [sid for sid, _ in chosen]))
