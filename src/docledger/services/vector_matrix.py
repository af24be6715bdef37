"""The exact path's in-process matrix of one embedding space, with the filter columns beside it.

Segments never change after they are recorded (kind, label, page and version are fixed), so
the columns a search filters on are loaded once with the vectors and the filter becomes a numpy
mask: no SQL round trip returning every candidate id, which at 100,000 vectors costs more than
the scan itself. Anything that adds, replaces or removes a vector moves the space's
``change_counter`` (upserts in the repository, deletes by trigger, migration 0008), and a
matrix whose counter differs from the database's is rebuilt in the reading transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from docledger.models import DocumentVersion as VersionRow
from docledger.models import Embedding as EmbeddingRow
from docledger.models import Segment as SegmentRow

F32 = np.dtype[np.float32]
#: Above this share of matching rows, scoring everything and masking beats gathering rows.
GATHER_BELOW = 0.3


def isin(column: np.ndarray[Any, Any], codes: np.ndarray[Any, Any], size: int) -> Any:
    """``np.isin`` for small integer codes: one comparison for one code, else a lookup table
    (both several times faster than a sort over a million rows)."""
    if len(codes) == 1:
        return column == codes[0]
    if len(codes) == 0:
        return np.zeros(len(column), dtype=np.bool_)
    table = np.zeros(size, dtype=np.bool_)  # every code of the column is below size
    table[codes] = True
    return table[column]


@dataclass
class Codes:
    """A column of hashable values as small integers (fast equality and ``isin``)."""

    values: dict[Hashable, int] = field(default_factory=dict)

    def encode(self, column: Sequence[Hashable]) -> np.ndarray[Any, np.dtype[np.int32]]:
        return np.fromiter(
            (self.values.setdefault(v, len(self.values)) for v in column),
            dtype=np.int32,
            count=len(column),
        )

    def lookup(self, wanted: Sequence[Hashable]) -> np.ndarray[Any, np.dtype[np.int32]]:
        return np.array([self.values[v] for v in wanted if v in self.values], dtype=np.int32)


@dataclass
class VectorMatrix:
    counter: int
    metric: str
    ids: list[uuid.UUID]
    vectors: np.ndarray[Any, F32]  # unit rows for cosine; raw rows otherwise
    sq_norms: np.ndarray[Any, F32]  # squared row norms (l2 only)
    columns: dict[str, np.ndarray[Any, np.dtype[np.int32]]]
    codes: dict[str, Codes]

    @classmethod
    def load(cls, session: Session, space_id: uuid.UUID, counter: int, metric: str) -> VectorMatrix:
        rows = session.execute(
            select(
                EmbeddingRow.segment_id,
                EmbeddingRow.vector,
                SegmentRow.workspace_id,
                VersionRow.document_id,
                SegmentRow.kind,
                SegmentRow.label,
                SegmentRow.page_number,
                SegmentRow.extraction_id,
            )
            .join(SegmentRow, SegmentRow.id == EmbeddingRow.segment_id)
            .join(VersionRow, VersionRow.id == SegmentRow.version_id)
            .where(EmbeddingRow.space_id == space_id, EmbeddingRow.vector.is_not(None))
        ).all()
        count = len(rows)
        packed = b"".join(r[1] or b"" for r in rows)
        vectors: np.ndarray[Any, F32] = (
            np.frombuffer(packed, dtype="<f4").reshape(count, -1).copy()
            if rows
            else np.zeros((0, 1), dtype=np.float32)
        )
        sq_norms = np.einsum("ij,ij->i", vectors, vectors).astype(np.float32)
        if metric == "cosine":
            norms = np.sqrt(sq_norms)
            vectors /= np.where(norms > 0, norms, 1.0)[:, None]
        names = ((2, "workspace"), (3, "document"), (4, "kind"), (5, "label"), (7, "extraction"))
        codes = {name: Codes() for _, name in names}
        columns = {name: codes[name].encode([r[n] for r in rows]) for n, name in names}
        columns["page"] = np.fromiter(
            (-1 if r[6] is None else r[6] for r in rows), dtype=np.int32, count=count
        )
        return cls(counter, metric, [r[0] for r in rows], vectors, sq_norms, columns, codes)

    def mask(
        self,
        workspace_id: uuid.UUID,
        documents: Sequence[uuid.UUID] | None = None,
        kinds: Sequence[str] | None = None,
        labels: Sequence[str] | None = None,
        pages: tuple[int, int] | None = None,
        excluded: Sequence[uuid.UUID] = (),
        rows: np.ndarray[Any, Any] | None = None,
    ) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Rows within the filter (of ``rows`` only, when given: an index's candidates); rows
        of ``excluded`` extractions never."""

        def column(name: str) -> np.ndarray[Any, Any]:
            return self.columns[name] if rows is None else self.columns[name][rows]

        def within(name: str, wanted: Sequence[Hashable]) -> Any:
            codes = self.codes[name]
            return isin(column(name), codes.lookup(list(wanted)), len(codes.values))

        selected = within("workspace", [workspace_id])
        for name, values in (("document", documents), ("kind", kinds), ("label", labels)):
            if values:
                selected &= within(name, values)
        if pages:
            page = column("page")
            selected &= (page >= pages[0]) & (page <= pages[1])
        if excluded:
            selected &= ~within("extraction", excluded)
        return np.asarray(selected, dtype=np.bool_)

    def _scores(self, rows: np.ndarray[Any, F32], sq: np.ndarray[Any, F32], q: Any) -> Any:
        if self.metric in ("cosine", "ip"):  # cosine rows and query are unit length
            return rows @ q
        # l2: rank by -(|x|^2 - 2 x.q), and report the true negative distance
        return 2.0 * (rows @ q) - sq

    def top(
        self, query: np.ndarray[Any, F32], k: int, selected: np.ndarray[Any, np.dtype[np.bool_]]
    ) -> list[tuple[uuid.UUID, float]]:
        """The best k selected rows, best first, as (segment id, score)."""
        matching = int(selected.sum())
        if matching == 0:
            return []
        if matching < GATHER_BELOW * len(self.ids):
            return self.top_rows(query, k, np.flatnonzero(selected))
        return self._best(query, k, None, selected, matching)

    def top_rows(
        self, query: np.ndarray[Any, F32], k: int, rows: np.ndarray[Any, Any]
    ) -> list[tuple[uuid.UUID, float]]:
        """The best k of these rows (an index's candidates, a filter's rows)."""
        if len(rows) == 0:
            return []
        return self._best(query, k, np.asarray(rows), None, len(rows))

    def _best(
        self,
        query: np.ndarray[Any, F32],
        k: int,
        rows: np.ndarray[Any, Any] | None,
        selected: np.ndarray[Any, np.dtype[np.bool_]] | None,
        matching: int,
    ) -> list[tuple[uuid.UUID, float]]:
        q = query.astype(np.float32)
        if self.metric == "cosine":
            q = q / (float(np.linalg.norm(q)) or 1.0)
        if rows is not None:
            # a document's rows are usually written together: a run of consecutive rows is
            # scored in place (a view of the mapped file) instead of gathered into a copy
            run = len(rows) > 1 and bool(np.all(np.diff(rows) == 1))
            picked = self.vectors[rows[0] : rows[-1] + 1] if run else self.vectors[rows]
            scores = self._scores(picked, self._sq(rows), q)
        else:
            scores = self._scores(self.vectors, self._sq(None), q)
            if selected is not None and matching < len(self.ids):
                scores[~selected] = -np.inf
        top = min(k, matching)
        np.negative(scores, out=scores)  # argpartition finds the smallest
        best = np.argpartition(scores, top - 1)[:top] if top < len(scores) else np.arange(top)
        best = best[np.argsort(scores[best], kind="stable")]
        np.negative(scores, out=scores)
        chosen = best if rows is None else rows[best]
        q_sq = float(q @ q)
        out = []
        for position, row in zip(best, chosen, strict=True):
            score = float(scores[position])
            if self.metric == "l2":
                score = -float(np.sqrt(max(q_sq - score, 0.0)))
            out.append((self.ids[int(row)], score))
        return out

    def _sq(self, rows: np.ndarray[Any, Any] | None) -> np.ndarray[Any, F32]:
        """Squared row norms (l2 only)."""
        return self.sq_norms if rows is None else self.sq_norms[rows]
