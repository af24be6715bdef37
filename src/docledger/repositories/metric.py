"""A run's metrics: points appended in bulk as chunk rows, read back as series, latest values,
best runs and comparisons."""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, func, select

from docledger.db.dialect import bulk_insert, driver_value
from docledger.db.types import utcnow
from docledger.errors import InvalidInput
from docledger.models import MetricChunk as ChunkRow
from docledger.models import Run as RunRow
from docledger.repositories.base import (
    Repository,
    check_limit,
    readonly,
    require_uuid,
)
from docledger.repositories.workspace import WorkspaceRef, run_in
from docledger.schemas.run import MetricPoint

CHUNKS: Table = ChunkRow.__table__  # type: ignore[assignment]
CHUNK_COLUMNS = (
    "run_id",
    "key",
    "n_points",
    "first_step",
    "last_step",
    "last_value",
    "min_value",
    "max_value",
    "points",
    "at",
)
#: steps are stored as 64-bit integers; JSON keeps them exact below 2**53
MAX_STEP = 2**53

#: (key, value, step) triples, or (key, value) with step 0.
MetricTriple = tuple[str, float, int] | tuple[str, float]


def _step(point: Sequence[Any]) -> Any:
    return point[2] if len(point) > 2 else 0


def _check_types(batch: Sequence[Any]) -> None:
    """Values are numbers and steps whole numbers, by type: numpy would turn "0.5" into 0.5,
    True into 1.0 and step 1.7 into 1 without a word. One set per column, not a check per
    point (a million points cost milliseconds)."""
    import numpy as np  # noqa: PLC0415

    shapes = {len(p) if isinstance(p, tuple | list) else -1 for p in batch}
    if not shapes <= {2, 3}:
        raise InvalidInput("a metric point is (key, value) or (key, value, step)")
    for kind in {type(p[1]) for p in batch}:
        if kind is bool or not issubclass(kind, int | float | np.integer | np.floating):
            raise InvalidInput(f"metric values are numbers, not {kind.__name__}")
    for kind in {type(_step(p)) for p in batch}:
        if kind is bool or not issubclass(kind, int | float | np.integer | np.floating):
            raise InvalidInput(f"metric steps are whole numbers, not {kind.__name__}")
        if issubclass(kind, float | np.floating):
            bad = [s for p in batch if isinstance(s := _step(p), float | np.floating)]
            if any(not float(s).is_integer() for s in bad):
                raise InvalidInput("metric steps are whole numbers")


def _chunks(names: Sequence[str], steps: list[int], values_: list[float]) -> list[list[Any]]:
    """One chunk row (without run id and time) per key, its points in logged order.

    Plain Python over lists: most calls log one point per key, where numpy's per-call overhead
    would cost more than the work.
    """
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        group = groups.get(name)
        if group is None:
            groups[name] = group = []
        group.append(index)
    rows: list[list[Any]] = []
    for name, group in groups.items():
        if len(group) == 1:  # one point per key per call, a training loop's usual way
            step, value = steps[group[0]], values_[group[0]]
            # what json.dumps writes: repr is the shortest round-tripping float text
            rows.append([name, 1, step, step, value, value, value, f"[[{step},{value!r}]]"])
            continue
        ss = [steps[i] for i in group]
        vs = [values_[i] for i in group]
        last_step = max(ss)
        # the latest value is the one logged last at the highest step
        last = len(ss) - 1 - ss[::-1].index(last_step)
        pairs = json.dumps(list(zip(ss, vs, strict=True)), separators=(",", ":"))
        rows.append([name, len(ss), min(ss), last_step, vs[last], min(vs), max(vs), pairs])
    return rows


class MetricRepository(Repository):
    """A run's metrics: append-only points kept as one chunk row per key and call."""

    def log_metrics_batch(
        self,
        run_id: uuid.UUID | str,
        points: Iterable[MetricTriple],
        *,
        workspace: WorkspaceRef | None = None,
    ) -> int:
        """Append metric points at bulk speed (COPY on PostgreSQL, executemany on SQLite). NaN
        and infinities are refused: they poison every later aggregate."""
        key = run_in(self.session, run_id, workspace)
        batch = points if isinstance(points, list) else list(points)
        if not batch:
            return 0
        import numpy as np  # noqa: PLC0415 - numpy costs every process 50 ms to import

        # One pass per column instead of per-point Python checks: names are checked once per
        # distinct key, values and steps by numpy.
        _check_types(batch)
        names = [point[0] for point in batch]
        for name in set(names):
            if not isinstance(name, str) or not name or len(name) > 250 or "\x00" in name:
                raise InvalidInput(f"invalid metric key {name!r}")
        try:
            values = np.fromiter((point[1] for point in batch), dtype=np.float64, count=len(batch))
            steps = np.fromiter(
                (_step(point) for point in batch),
                dtype=np.int64,
                count=len(batch),
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInput(f"metric values and steps must be numbers: {exc}") from exc
        finite = np.isfinite(values)
        if not finite.all():
            bad = int(np.flatnonzero(~finite)[0])
            raise InvalidInput(
                f"metric {names[bad]} at step {int(steps[bad])} is not finite: {values[bad]}"
            )
        if int(steps.min()) < -MAX_STEP or int(steps.max()) > MAX_STEP:  # abs() overflows at -2**63
            raise InvalidInput(f"metric steps must be within +-{MAX_STEP}")
        # the run id and timestamp are the same on every row: converted once, not per chunk
        run_value = driver_value(self.session, CHUNKS, "run_id", key)
        at_value = driver_value(self.session, CHUNKS, "at", utcnow())
        rows = _chunks(names, steps.tolist(), values.tolist())
        for row in rows:
            row[:0] = (run_value,)
            row.append(at_value)
        # points arrive as JSON text already; the numbers are Python ints and floats (tolist)
        bulk_insert(self.session, CHUNKS, rows, CHUNK_COLUMNS, encoded=("run_id", "at", "points"))
        return len(batch)

    def log_metrics(
        self,
        run_id: uuid.UUID | str,
        metrics: Mapping[str, float],
        step: int = 0,
        *,
        workspace: WorkspaceRef | None = None,
    ) -> int:
        if not isinstance(metrics, Mapping):
            raise InvalidInput("metrics is a mapping of key to number")
        return self.log_metrics_batch(
            run_id, [(k, v, step) for k, v in metrics.items()], workspace=workspace
        )

    @readonly
    def metric_series(
        self, run_id: uuid.UUID | str, key: str, *, workspace: WorkspaceRef | None = None
    ) -> builtins.list[MetricPoint]:
        """Every point of one key, by step; points logged at the same step keep their order."""
        run = run_in(self.session, run_id, workspace)
        stmt = (
            select(ChunkRow.points, ChunkRow.at)
            .where(ChunkRow.run_id == run, ChunkRow.key == key)
            .order_by(ChunkRow.id)
        )
        logged = [
            (step, value, at) for points, at in self.session.execute(stmt) for step, value in points
        ]
        logged.sort(key=lambda point: point[0])  # stable: logged order within a step
        return [
            MetricPoint(run_id=run, key=key, step=step, value=float(value), at=at)
            for step, value, at in logged
        ]

    @readonly
    def latest_metrics(
        self, run_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None
    ) -> dict[str, float]:
        """The value at the highest step, per key (the one logged last when a step repeats)."""
        rank = func.row_number().over(
            partition_by=ChunkRow.key, order_by=(ChunkRow.last_step.desc(), ChunkRow.id.desc())
        )
        ranked = (
            select(ChunkRow.key, ChunkRow.last_value, rank.label("rank"))
            .where(ChunkRow.run_id == run_in(self.session, run_id, workspace))
            .subquery()
        )
        stmt = select(ranked.c.key, ranked.c.last_value).where(ranked.c.rank == 1)
        return {k: float(v) for k, v in self.session.execute(stmt.order_by(ranked.c.key))}

    @readonly
    def best(
        self, key: str, *, mode: str = "min", kind: str | None = None, limit: int = 10
    ) -> builtins.list[tuple[uuid.UUID, float]]:
        """Runs ranked by their best value of ``key`` (min for losses, max for scores)."""
        if mode not in {"min", "max"}:
            raise InvalidInput("mode is 'min' or 'max'")
        check_limit(limit)
        agg = func.min(ChunkRow.min_value) if mode == "min" else func.max(ChunkRow.max_value)
        stmt = select(ChunkRow.run_id, agg.label("best")).where(ChunkRow.key == key)
        if kind is not None:
            stmt = stmt.join(RunRow, RunRow.id == ChunkRow.run_id).where(RunRow.kind == kind)
        stmt = stmt.group_by(ChunkRow.run_id)
        stmt = stmt.order_by(agg.asc() if mode == "min" else agg.desc()).limit(limit)
        return [(run, float(value)) for run, value in self.session.execute(stmt)]

    @readonly
    def compare(self, run_ids: Sequence[uuid.UUID | str]) -> dict[uuid.UUID, dict[str, float]]:
        """Latest metrics of several runs side by side."""
        return {require_uuid(r, "run id"): self.latest_metrics(r) for r in run_ids}
