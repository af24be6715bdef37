"""Embedding spaces and vectors. Vectors are float32 little-endian bytes on both dialects;
a space's ``change_counter`` moves on every write so in-process caches know when to reload."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy import exc as sa_exc

from docledger.db import vector_index
from docledger.db.dialect import bulk_insert, in_values, upsert
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


#: Segment ids looked up per statement.
LOOKUP_CHUNK = 10_000
FRESH_COLUMNS = (
    "id", "workspace_id", "space_id", "segment_id", "external_ref", "created_at", "seq", "vector"
)  # fmt: skip
_TABLE = cast("Table", EmbeddingRow.__table__)
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

    def _segments(self, keys: list[uuid.UUID | str]) -> tuple[list[uuid.UUID], dict[Any, Any]]:
        ids = [require_uuid(k, "segment id") for k in keys]
        found: dict[Any, Any] = {}
        for start in range(0, len(ids), LOOKUP_CHUNK):  # drivers cap bind parameters
            part = ids[start : start + LOOKUP_CHUNK]
            found.update(
                self.session.execute(
                    select(SegmentRow.id, SegmentRow.workspace_id).where(
                        in_values(self.session, SegmentRow.id, part)
                    )
                ).all()
            )
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise NotFound(
                f"no segment {missing[0]}" + (f" (+{len(missing) - 1})" if len(missing) > 1 else "")
            )
        return ids, found

    def _store(
        self, sp: SpaceRow, ids: list[uuid.UUID], found: dict[Any, Any], values: list[Any]
    ) -> None:
        """``values`` are float32 vectors, or pointer strings in ``external_ref`` mode.

        The space's counter moves first and every row written carries the new value (``seq``),
        so the vector files beside an SQLite database read only what changed; replacing a
        vector also moves ``removal_counter`` (the files drop the old row)."""
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
        blobs = [None if isinstance(v, str) else v.astype("<f4").tobytes() for v in values]
        refs = [v if isinstance(v, str) else None for v in values]
        new = [i for i, sid in enumerate(ids) if sid not in existing]
        keys = uuid7_hex_many(len(new))  # in the driver's form: no UUID object per row
        fresh = [
            (key, found[ids[i]], sp.id, ids[i], refs[i], now, seq, blobs[i])
            for key, i in zip(keys, new, strict=True)
        ]
        again = [
            {"eid": existing[sid], "vec": blob, "ref": ref, "seq": seq}
            for sid, ref, blob in zip(ids, refs, blobs, strict=True)
            if sid in existing
        ]
        try:
            # new rows at the driver's speed, replaced vectors as one executemany; a row a
            # concurrent writer added meanwhile (PostgreSQL) sends the batch down the
            # conflict-resolving path instead
            with self.session.begin_nested():
                bulk_insert(self.session, _TABLE, fresh, FRESH_COLUMNS, encoded=("id",))
                if again:
                    self.session.execute(_REPLACE, again)
        except sa_exc.IntegrityError:
            rows = [
                {
                    "id": new_id(),
                    "workspace_id": found[sid],
                    "space_id": sp.id,
                    "segment_id": sid,
                    "external_ref": ref,
                    "created_at": now,
                    "seq": seq,
                    "vector": blob,
                }
                for sid, ref, blob in zip(ids, refs, blobs, strict=True)
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
        if vector_index.present(conn):
            pairs = [(i, v) for i, v in zip(ids, values, strict=True) if not isinstance(v, str)]
            stale = [i for i, v in zip(ids, values, strict=True) if isinstance(v, str)]
            vector_index.write(
                conn, sp.id, [i for i, _ in pairs], [v for _, v in pairs], sp.dimensions, sp.metric
            )
            vector_index.remove(conn, sp.id, stale)

    def _existing(self, space_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[Any, Any]:
        """{segment id: embedding id} of the segments that already have a vector here."""
        found: dict[Any, Any] = {}
        for start in range(0, len(ids), LOOKUP_CHUNK):
            part = ids[start : start + LOOKUP_CHUNK]
            found.update(
                self.session.execute(
                    select(EmbeddingRow.segment_id, EmbeddingRow.id).where(
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
        ids, found = self._segments(list(vectors))
        values = [to_vector(vec, sp.dimensions) for vec in vectors.values()]
        self._store(sp, ids, found, values)
        return len(ids)

    def upsert_refs(self, space: str | uuid.UUID, refs: Mapping[uuid.UUID | str, str]) -> int:
        """``external_ref`` mode: record only where each vector lives (a Qdrant point id, a
        FAISS row) for teams that keep vectors in another store; such rows are not searchable
        here."""
        sp = self._space(space)
        for ref in refs.values():
            if not isinstance(ref, str) or not ref.strip() or len(ref) > 300:
                raise InvalidInput("an external reference is a non-empty string of <= 300 chars")
        ids, found = self._segments(list(refs))
        self._store(sp, ids, found, list(refs.values()))
        return len(ids)

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
