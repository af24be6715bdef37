"""The embedding half of ``ledger.search``: spaces, their embedders, the embedding of the
segments a space lacks, and what a ledger's searches share across calls (search.py builds on
it)."""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docledger.db.dialects import dialect_of
from docledger.errors import InvalidInput
from docledger.repositories.embedding import EmbeddingRepository
from docledger.repositories.run import RunRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository
from docledger.services.scope import Scope, Service, service
from docledger.services.search_scope import (
    embedding_lineage,
    latest_counters,
    space_only,
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # numpy costs every process 50 ms to import: loaded on first vector use
    from docledger.services.embedders import Embedder, Embedders
    from docledger.services.vector_files import VectorFiles
    from docledger.services.vector_matrix import VectorMatrix


DEFAULT_SPACE = "hash-256"
#: What search returns unless ``kinds=`` says otherwise: the passages extractors build for
#: retrieval (one hit per passage; pages, blocks and lines hold the same text again).
SEARCH_KINDS = ("chunk", "record", "zone", "evidence")
#: What ``embed`` embeds: the kinds search returns by default.
EMBED_KINDS = list(SEARCH_KINDS)


class SearchState:
    """What a ledger's searches share across calls: vector matrices, loaded embedders, what
    is known of pgvector."""

    def __init__(self) -> None:
        self.matrices: dict[uuid.UUID, VectorMatrix] = {}
        self.lock = threading.Lock()
        self.embedders: Embedders | None = None
        self.pgvector: str | bool | None = False  # False: not asked yet; None: not there
        self.indexed_spaces: set[uuid.UUID] = set()
        #: per space: its files and the meta.json they were checked against (stat signature)
        self.files: dict[uuid.UUID, tuple[VectorFiles, tuple[int, ...] | None]] = {}
        #: per database URL: (vector folder root, database file), worked out once
        self.folders: dict[Any, tuple[Path | None, Path]] = {}


class SpaceService(Service):
    """Spaces and embedding, shared by the search methods (``SearchService``)."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope)
        self._state: SearchState = scope.shared.cache.setdefault("search", SearchState())

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
                    self._maintain(space)
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

    def _files(self, session: Any, space: Any) -> VectorFiles | None:
        """The space's vector files at the snapshot's counters (caught up when behind); None
        where the database is not a file (PostgreSQL, in-memory SQLite)."""
        conn = session.connection()
        where = self._state.folders.get(conn.engine.url)
        if where is None:
            root = dialect_of(conn).vector_folder(conn.engine.url)
            where = self._state.folders[conn.engine.url] = (
                root,
                Path(str(conn.engine.url.database)),
            )
        if where[0] is None:
            return None
        files, folder, inode = self._known_files(where, space)
        if files is not None:
            return files
        try:
            return self._read_files(session, space, folder, inode)
        except OSError as exc:  # a read-only or full disk must not take search down
            log.warning("vector files of space %s unusable (%s): searching from the database",
                        space.id, exc)  # fmt: skip
            return None

    def _known_files(
        self, where: tuple[Path | None, Path], space: Any
    ) -> tuple[VectorFiles | None, Path, int]:
        """The files this process already opened, when they are still the space as this
        snapshot sees it (else None, with the folder and database inode to read them by)."""
        from docledger.services import vector_files as vf  # noqa: PLC0415

        root, database = where
        assert root is not None
        folder = vf.folder_of(root, space.id)
        inode = vf.database_inode(database)
        signature = vf.meta_signature(folder)
        with self._state.lock:
            cached, seen = self._state.files.get(space.id, (None, None))
        # meta.json looked at each time: an index another process built is used at once,
        # and one it replaced is let go; read again only when the file is not the one seen
        if (
            cached is not None
            and vf.matches(cached.meta, space, inode)
            and (
                (signature is not None and signature == seen) or vf.Meta.read(folder) == cached.meta
            )
        ):
            if signature != seen:
                with self._state.lock:
                    self._state.files[space.id] = (cached, signature)
            return cached, folder, inode
        return None, folder, inode

    def _read_files(self, session: Any, space: Any, folder: Path, inode: int) -> VectorFiles | None:
        from docledger.services import vector_catchup as vc  # noqa: PLC0415
        from docledger.services import vector_files as vf  # noqa: PLC0415

        rebuild = False
        for _attempt in range(3):
            meta = vf.Meta.read(folder)
            if rebuild:
                meta = vc.catch_up(session, folder, space, inode, rebuild=True)
            elif meta is not None and vf.ahead(meta, space, inode):
                # another process caught up past this snapshot: newer files serve it, unless
                # they are ahead of the database itself (another store's): then rebuild
                with self._scope.session(readonly=True) as fresh:
                    latest = latest_counters(fresh, space)
                    if vf.ahead(meta, latest, inode):
                        meta = vc.catch_up(fresh, folder, latest, inode, rebuild=True)
            elif meta is None or not vf.matches(meta, space, inode):
                meta = vc.catch_up(session, folder, space, inode)
            try:
                files = vf.VectorFiles.open(folder, meta)
            except FileNotFoundError:
                continue  # compacted or rebuilt meanwhile: read the new state
            except ValueError as exc:  # cut short or garbled: the database has it all
                log.warning("vector files of space %s damaged (%s): rebuilding", space.id, exc)
                rebuild = True
                continue
            with self._state.lock:
                self._state.files[space.id] = (files, None)
            return files
        log.warning("the vector files of space %s keep changing: searching from the database",
                    space.id)  # fmt: skip
        return None

    @service
    def build_index(self, space: str = DEFAULT_SPACE, progress: Any = None) -> int:
        """Build (or extend by the vectors added since) the space's approximate index in the
        files beside an SQLite database, whatever the space's size; returns the vectors it
        holds. ``embed`` does this by itself once a space holds 50,000 vectors; a space
        written with ``embeddings.upsert`` gets it here (or ``docledger index``). Searches
        stay exact, and correct, while vectors wait outside the index. PostgreSQL: pgvector
        builds its own index (``docledger db pgvector``); this returns 0 there."""
        return self._maintain(space, minimum=0, progress=progress)

    def _maintain(self, space: str, minimum: int | None = None, progress: Any = None) -> int:
        from docledger.services import vector_ann  # noqa: PLC0415
        from docledger.services import vector_catchup as vc  # noqa: PLC0415
        from docledger.services import vector_files as vf  # noqa: PLC0415

        with self._scope.session(readonly=True) as session:
            conn = session.connection()
            if dialect_of(conn).vector_folder(conn.engine.url) is None:
                return 0  # the database indexes vectors itself (or keeps them in memory)
            sp = space_only(session, space)
            files = self._files(session, sp)
            if files is None:
                return 0
            if not vector_ann.needs_build(
                files.meta, vector_ann.MIN_ROWS if minimum is None else minimum
            ):
                return files.meta.indexed if files.meta.index else 0
            with vc.writing(files.folder):
                meta = vf.Meta.read(files.folder)
                if meta is None or not vf.same_store(meta, sp, files.meta.database):
                    return 0  # rebuilt under us: the next search or build starts over
                if meta != files.meta:  # another process caught up meanwhile: build on that
                    files = vf.VectorFiles.open(files.folder, meta)
                state = vector_ann.build(files, progress)
            with self._state.lock:
                self._state.files.pop(sp.id, None)
            return state.indexed - (int(files.dead.sum()) if files.dead is not None else 0)
