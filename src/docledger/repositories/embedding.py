"""Embedding spaces and vectors. Vectors are float32 little-endian bytes on both dialects;
a space's ``change_counter`` moves on every write so in-process caches know when to reload."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, literal_column, select, update
from sqlalchemy import exc as sa_exc

from docledger.db import vector_index
from docledger.db.dialect import ANALYZE_AFTER_ROWS, bulk_insert, in_values, upsert
from docledger.db.dialects import dialect_of
from docledger.db.types import utcnow
from docledger.errors import InvalidInput, NotFound
from docledger.ids import new_id, uuid7_hex_many
from docledger.models import Embedding as EmbeddingRow
from docledger.models import EmbeddingSpace as SpaceRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.base import Repository, as_uuid, check_limit, readonly, require_uuid
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository
from docledger.schemas.embedding import EmbeddingSpace
from docledger.vocab import EmbeddingMetric, values

if TYPE_CHECKING:
    import numpy as np


def to_vector(value: Any, dimensions: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    import numpy as np  # noqa: PLC0415 - numpy costs every process 50 ms to import

    try:
        vector = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"not a numeric vector: {exc}") from exc
    if vector.ndim != 1 or vector.shape[0] != dimensions:
        raise InvalidInput(f"vector has shape {vector.shape}, the space needs ({dimensions},)")
    if not np.isfinite(vector).all():
        raise InvalidInput("vector contains NaN or infinity")
    return vector


def to_matrix(values: list[Any], dimensions: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Many vectors checked at once (one array, one finiteness test); a batch that does not
    fit one (n, dimensions) array is checked vector by vector, for the message."""
    import numpy as np  # noqa: PLC0415

    try:
        matrix = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        matrix = None
    if (
        matrix is None
        or matrix.ndim != 2
        or matrix.shape[1] != dimensions
        or not np.isfinite(matrix).all()
    ):
        checked = [to_vector(v, dimensions) for v in values]  # raises with the reason
        return np.stack(checked) if checked else np.zeros((0, dimensions), dtype=np.float32)
    return matrix


def _uuid(value: Any) -> uuid.UUID:
    """A driver's id (32 hex digits on SQLite, a UUID from psycopg) as a UUID."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _driver(session: Any, table: Table, column: str) -> Any:
    """The column's bind processor (identity where the driver takes the value as it is)."""
    dialect = session.get_bind().dialect
    processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return processor or (lambda value: value)


#: Segment ids looked up per statement.
LOOKUP_CHUNK = 10_000
FRESH_COLUMNS = (
    "id", "workspace_id", "space_id", "segment_id", "external_ref", "created_at", "seq", "vector"
)  # fmt: skip
_TABLE = cast("Table", EmbeddingRow.__table__)
#: ``_store`` hands the bulk writer every column already in the driver's form
ENCODED = FRESH_COLUMNS
#: Core, not ORM: a plain executemany by id, no ORM bulk-update bookkeeping
_REPLACE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("eid"))
    .values(vector=bindparam("vec"), external_ref=bindparam("ref"), seq=bindparam("seq"))
)


class EmbeddingRepository(Repository):
    def create_space(
        self, name: str, model: str, dimensions: int, metric: str = "cosine"
    ) -> EmbeddingSpace:
        """A new space (one model, dimension and metric); an existing name is returned when it
        matches, and refused when it does not (re-embedding with a new model = a new space)."""
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
            raise InvalidInput("a space needs a name of 1..200 characters")
        if not isinstance(model, str) or not 1 <= len(model) <= 200:
            raise InvalidInput("a space names its model in 1..200 characters")
        if metric not in values(EmbeddingMetric):
            raise InvalidInput(f"unknown metric {metric!r}")
        if isinstance(dimensions, bool) or not isinstance(dimensions, int):
            raise InvalidInput("dimensions is a whole number")
        if not 1 <= dimensions <= 16000:
            raise InvalidInput("dimensions must be between 1 and 16000")
        existing = self.session.scalars(select(SpaceRow).where(SpaceRow.name == name)).first()
        if existing is not None:
            if (existing.model, existing.dimensions, existing.metric) != (
                model,
                dimensions,
                metric,
            ):
                raise InvalidInput(
                    f"space {name!r} exists with model {existing.model}, "
                    f"{existing.dimensions} dims, {existing.metric}"
                )
            return EmbeddingSpace.model_validate(existing)
        space_id = new_id()
        row = {
            "id": space_id,
            "name": name,
            "model": model,
            "dimensions": dimensions,
            "metric": metric,
            "change_counter": 0,
            "removal_counter": 0,
            "meta": {},
            "created_at": utcnow(),
        }
        self.session.add(SpaceRow(**row))
        self.session.flush()
        return EmbeddingSpace.model_validate(row)

    def _space(self, space: str | uuid.UUID) -> SpaceRow:
        key = as_uuid(space)
        stmt = select(SpaceRow).where(SpaceRow.id == key if key else SpaceRow.name == str(space))
        row = self.session.scalars(stmt).first()
        if row is None:
            raise NotFound(f"no embedding space {space}")
        return row

    @readonly
    def space(self, space: str | uuid.UUID) -> EmbeddingSpace:
        return EmbeddingSpace.model_validate(self._space(space))

    def _segments(
        self, keys: list[uuid.UUID | str]
    ) -> tuple[list[uuid.UUID], list[Any], dict[Any, Any]]:
        """(ids, the same ids in the driver's form, {driver id: driver workspace id}).

        Rows come back untyped (``literal_column``): a hundred thousand ids turned into UUID
        objects and back cost more than writing the vectors."""
        ids = [require_uuid(k, "segment id") for k in keys]
        to_driver = _driver(self.session, SegmentRow.__table__, "id")  # type: ignore[arg-type]
        drv = [to_driver(i) for i in ids]
        found: dict[Any, Any] = {}
        for start in range(0, len(ids), LOOKUP_CHUNK):  # drivers cap bind parameters
            part = ids[start : start + LOOKUP_CHUNK]
            found.update(
                self.session.execute(
                    select(literal_column("id"), literal_column("workspace_id"))
                    .select_from(SegmentRow.__table__)
                    .where(in_values(self.session, SegmentRow.id, part))
                ).all()
            )
        missing = [str(i) for i, d in zip(ids, drv, strict=True) if d not in found]
        if missing:
            raise NotFound(
                f"no segment {missing[0]}" + (f" (+{len(missing) - 1})" if len(missing) > 1 else "")
            )
        return ids, drv, found

    def _store(
        self,
        sp: SpaceRow,
        segments: tuple[list[uuid.UUID], list[Any], dict[Any, Any]],
        blobs: list[bytes | None],
        refs: list[str | None],
    ) -> None:
        """``blobs`` are float32 little-endian vectors (None in ``external_ref`` mode, where
        ``refs`` hold the pointers).

        The space's counter moves first and every row written carries the new value (``seq``),
        so the vector files beside an SQLite database read only what changed; replacing a
        vector also moves ``removal_counter`` (the files drop the old row)."""
        ids, drv, found = segments
        now = utcnow()
        existing = self._existing(sp.id, ids)
        seq = self.session.execute(
            update(SpaceRow)
            .where(SpaceRow.id == sp.id)
            .values(
                change_counter=SpaceRow.change_counter + 1,
                removal_counter=SpaceRow.removal_counter + (1 if existing else 0),
            )
            .returning(SpaceRow.change_counter)
        ).scalar_one()
        space = _driver(self.session, _TABLE, "space_id")(sp.id)
        stamp = _driver(self.session, _TABLE, "created_at")(now)
        new = [i for i, d in enumerate(drv) if d not in existing]
        keys = uuid7_hex_many(len(new))  # in the driver's form: no UUID object per row
        fresh = [
            (key, found[drv[i]], space, drv[i], refs[i], stamp, seq, blobs[i])
            for key, i in zip(keys, new, strict=True)
        ]
        again = [
            {"eid": _uuid(existing[d]), "vec": blob, "ref": ref, "seq": seq}
            for d, ref, blob in zip(drv, refs, blobs, strict=True)
            if d in existing
        ]
        try:
            # new rows at the driver's speed, replaced vectors as one executemany; a row a
            # concurrent writer added meanwhile (PostgreSQL) sends the batch down the
            # conflict-resolving path instead
            with self.session.begin_nested():
                bulk_insert(self.session, _TABLE, fresh, FRESH_COLUMNS, encoded=ENCODED)
                if again:
                    self.session.execute(_REPLACE, again)
        except sa_exc.IntegrityError:
            rows = [
                {
                    "id": new_id(),
                    "workspace_id": _uuid(found[d]),
                    "space_id": sp.id,
                    "segment_id": sid,
                    "external_ref": ref,
                    "created_at": now,
                    "seq": seq,
                    "vector": blob,
                }
                for sid, d, ref, blob in zip(ids, drv, refs, blobs, strict=True)
            ]
            upsert(
                self.session,
                EmbeddingRow,
                rows,
                conflict=["segment_id", "space_id"],
                update=["vector", "external_ref", "seq"],
            )
            # rows another writer added meanwhile were replaced: the files rescan the space
            self.session.execute(
                update(SpaceRow)
                .where(SpaceRow.id == sp.id)
                .values(removal_counter=SpaceRow.removal_counter + 1)
            )
        conn = self.session.connection()
        copies = vector_index.present(conn)
        if copies:
            import numpy as np  # noqa: PLC0415

            kept = [(i, b) for i, b in zip(ids, blobs, strict=True) if b is not None]
            stale = [i for i, b in zip(ids, blobs, strict=True) if b is None]
            vector_index.write(
                conn,
                sp.id,
                [i for i, _ in kept],
                [np.frombuffer(b, dtype="<f4") for _, b in kept],
                sp.dimensions,
                sp.metric,
            )
            vector_index.remove(conn, sp.id, stale)
        self._refresh_statistics(len(fresh), copies)

    def _refresh_statistics(self, written: int, copies: bool) -> None:
        """After a load that outgrows what the planner believes of the tables a vector
        search joins, analyse them now, last in this transaction (ANALYZE counts the rows
        it inserted). Measured at 100,000 x 384 on pgvector right after one upsert: the
        planner took the never-analysed tables for nearly empty and sorted every row instead
        of walking the HNSW index, 908 ms a query instead of 3.4 ms, until autovacuum got
        round to them."""
        if written < ANALYZE_AFTER_ROWS:
            return
        conn = self.session.connection()
        if dialect_of(conn).statistics_behind(conn, "embeddings", written):
            tables = ["document_versions", "segments", "embeddings"]
            dialect_of(conn).refresh_statistics(
                conn, [*tables, vector_index.TABLE] if copies else tables
            )

    def _existing(self, space_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[Any, Any]:
        """{driver segment id: driver embedding id} of the segments that already have a
        vector here."""
        found: dict[Any, Any] = {}
        for start in range(0, len(ids), LOOKUP_CHUNK):
            part = ids[start : start + LOOKUP_CHUNK]
            found.update(
                self.session.execute(
                    select(literal_column("segment_id"), literal_column("id"))
                    .select_from(_TABLE)
                    .where(
                        EmbeddingRow.space_id == space_id,
                        in_values(self.session, EmbeddingRow.segment_id, part),
                    )
                ).all()
            )
        return found

    def upsert(self, space: str | uuid.UUID, vectors: Mapping[uuid.UUID | str, Any]) -> int:
        """Store one vector per segment in the space (replacing an older one), in bulk.

        Every vector is checked (dimension, NaN, infinity) before anything is written.
        """
        sp = self._space(space)
        segments = self._segments(list(vectors))
        width = sp.dimensions * 4
        packed = to_matrix(list(vectors.values()), sp.dimensions).astype("<f4").tobytes()
        blobs: list[bytes | None] = [
            packed[n * width : (n + 1) * width] for n in range(len(segments[0]))
        ]
        self._store(sp, segments, blobs, [None] * len(blobs))
        return len(blobs)

    def upsert_refs(self, space: str | uuid.UUID, refs: Mapping[uuid.UUID | str, str]) -> int:
        """``external_ref`` mode: record only where each vector lives (a Qdrant point id, a
        FAISS row) for teams that keep vectors in another store; such rows are not searchable
        here."""
        sp = self._space(space)
        for ref in refs.values():
            if not isinstance(ref, str) or not ref.strip() or len(ref) > 300:
                raise InvalidInput("an external reference is a non-empty string of <= 300 chars")
        segments = self._segments(list(refs))
        self._store(sp, segments, [None] * len(refs), list(refs.values()))
        return len(refs)

    @readonly
    def missing_segments(
        self,
        space: str | uuid.UUID,
        kinds: list[str],
        limit: int = 10_000,
        *,
        workspace: WorkspaceRef | None = None,
    ) -> list[tuple[uuid.UUID, str]]:
        """(segment id, text) of segments of these kinds with text and no vector in the space
        (of one workspace when given, else of all)."""
        check_limit(limit, most=100_000)
        sp = self._space(space)
        have = select(EmbeddingRow.segment_id).where(EmbeddingRow.space_id == sp.id)
        stmt = (
            select(SegmentRow.id, SegmentRow.text)
            .where(
                SegmentRow.kind.in_(kinds), SegmentRow.text.is_not(None), SegmentRow.id.not_in(have)
            )
            .order_by(SegmentRow.id)
            .limit(limit)
        )
        if workspace is not None:
            ws = WorkspaceRepository(self.session).get(workspace)
            stmt = stmt.where(SegmentRow.workspace_id == ws.id)
        return [(i, t or "") for i, t in self.session.execute(stmt)]
