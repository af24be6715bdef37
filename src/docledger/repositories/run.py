"""Runs, their events and metrics, and the lineage edges between runs and entities."""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, exists, func, insert, literal, not_, select, update

from docledger.db.dialect import bulk_insert, driver_value, insert_ignore
from docledger.db.types import utcnow
from docledger.errors import InvalidInput, InvalidTransition, NotFound
from docledger.ids import new_id
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Extraction as ExtractionRow
from docledger.models import LineageEdge as EdgeRow
from docledger.models import MetricChunk as ChunkRow
from docledger.models import Run as RunRow
from docledger.models import RunEvent as RunEventRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.base import (
    Repository,
    as_uuid,
    check_limit,
    is_number,
    readonly,
    require_uuid,
    where_given,
)
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository, confine
from docledger.schemas.run import LineageEdge, LineageNode, MetricPoint, Run, RunEvent
from docledger.vocab import EntityType, LogLevel, RunKind, values

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
FINAL = ("succeeded", "failed", "cancelled")
MAX_DEPTH = 50
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


#: (child type, child column, parent column, parent type): lineage the schema records.
_STRUCTURE = (
    ("version", VersionRow.id, VersionRow.document_id, "document"),
    ("extraction", ExtractionRow.id, ExtractionRow.version_id, "version"),
    ("segment", SegmentRow.id, SegmentRow.extraction_id, "extraction"),
)


def structural(
    session: Any, entity_type: str, entity_id: str, *, up: bool
) -> builtins.list[tuple[str, str]]:
    """The entity's parents (``up``) or children in the schema's own links. Children stop at
    extractions: an extraction's segments are its content, not things made from it."""
    key = as_uuid(entity_id)
    if key is None:
        return []
    out: builtins.list[tuple[str, str]] = []
    for child, child_col, parent_col, parent in _STRUCTURE:
        if up and entity_type == child:
            out += [
                (parent, str(p))
                for p in session.scalars(select(parent_col).where(child_col == key))
            ]
        elif not up and entity_type == parent and child != "segment":
            out += [
                (child, str(c)) for c in session.scalars(select(child_col).where(parent_col == key))
            ]
    return out


def _entity_models() -> dict[str, Any]:
    import docledger.models as m  # noqa: PLC0415

    return {
        "blob": m.Blob,
        "document": m.Document,
        "version": m.DocumentVersion,
        "extraction": m.Extraction,
        "segment": m.Segment,
        "embedding_space": m.EmbeddingSpace,
        "annotation": m.Annotation,
        "dataset": m.Dataset,
        "run": m.Run,
        "model_version": m.ModelVersion,
        "export": m.Export,
        "finding": m.Finding,
        "conversation": m.Conversation,
        "message": m.Message,
    }


class RunRepository(Repository):
    def _run(self, run_id: uuid.UUID | str, workspace: WorkspaceRef | None) -> uuid.UUID:
        """The run's id, checked to exist in ``workspace`` when one is given."""
        key = require_uuid(run_id, "run id")
        if workspace is not None:
            confine(self.session, self.session.get(RunRow, key), workspace, f"no run {run_id}")
        return key

    def _missing_entities(self, rows: Sequence[Mapping[str, Any]]) -> builtins.list[str]:
        """The entities among ``rows`` that do not exist: lineage names real rows only."""
        models = _entity_models()
        wanted: dict[str, set[str]] = {}
        for row in rows:
            wanted.setdefault(row["entity_type"], set()).add(row["entity_id"])
        missing: builtins.list[str] = []
        for kind, refs in wanted.items():
            model = models[kind]
            column = model.sha256 if kind == "blob" else model.id
            canon = {ref: ref if kind == "blob" else as_uuid(ref) for ref in refs}
            keys = sorted({c for c in canon.values() if c is not None}, key=str)
            found = {
                v
                for part in range(0, len(keys), 500)
                for v in self.session.scalars(
                    select(column).where(column.in_(keys[part : part + 500]))
                )
            }
            missing += [f"{kind} {r}" for r, c in canon.items() if c is None or c not in found]
        return sorted(missing)

    def create(
        self,
        name: str,
        kind: str = "pipeline",
        *,
        params: dict[str, Any] | None = None,
        tags: Sequence[str] = (),
        parent: uuid.UUID | str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Run:
        if kind not in values(RunKind):
            raise InvalidInput(f"unknown run kind {kind!r}; one of {values(RunKind)}")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("a run needs a name")
        if params is not None and not isinstance(params, Mapping):
            raise InvalidInput("run params are a JSON object")
        if isinstance(tags, str) or not all(isinstance(t, str) and t for t in tags):
            raise InvalidInput("tags are a list of non-empty strings")
        parent_id = require_uuid(parent, "parent run id") if parent is not None else None
        if parent_id is not None and self.session.get(RunRow, parent_id) is None:
            raise NotFound(f"no run {parent_id}")
        ws = WorkspaceRepository(self.session).get(workspace)
        now = utcnow()
        row = {
            "id": new_id(),
            "workspace_id": ws.id,
            "kind": kind,
            "name": name,
            "status": "running",
            "params": dict(params or {}),
            "tags": list(tags),
            "parent_run_id": parent_id,
            "error": None,
            "started_at": now,
            "finished_at": None,
            "created_at": now,
        }
        self.session.execute(insert(RunRow), [row])
        return Run.model_validate(row)

    def finish(
        self,
        run_id: uuid.UUID | str,
        status: str = "succeeded",
        error: str | None = None,
        *,
        workspace: WorkspaceRef | None = None,
    ) -> Run:
        """Close a running run (succeeded, failed or cancelled) and record its end time."""
        if status not in FINAL:
            raise InvalidInput(f"a run finishes as one of {FINAL}")
        key = self._run(run_id, workspace)
        result = self.session.execute(
            update(RunRow)
            .where(RunRow.id == key, RunRow.status == "running")
            .values(status=status, error=error, finished_at=utcnow())
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            current = self.get(key)
            raise InvalidTransition(f"run {key} is {current.status}, cannot become {status}")
        return self.get(key)

    def reap(self, *, idle_s: float = 3600.0) -> builtins.list[Run]:
        """Close the runs a killed process left ``running``: those with no sign of life (start,
        event or metric) for ``idle_s`` seconds become ``failed`` with the reason. A live
        run that logs now and then is never taken."""
        if not is_number(idle_s) or not 0 <= idle_s <= 10**9:
            raise InvalidInput("idle_s is a number of seconds, 0 or more")
        cutoff = utcnow() - timedelta(seconds=idle_s)
        recent_event = exists().where(RunEventRow.run_id == RunRow.id, RunEventRow.at > cutoff)
        recent_metric = exists().where(ChunkRow.run_id == RunRow.id, ChunkRow.at > cutoff)
        idle = select(RunRow.id).where(
            RunRow.status == "running",
            RunRow.started_at <= cutoff,
            not_(recent_event),
            not_(recent_metric),
        )
        ids = list(self.session.scalars(idle))
        reason = f"reaped: no activity for {idle_s:g} s (its process was probably killed)"
        for part in range(0, len(ids), 500):
            self.session.execute(
                update(RunRow)
                .where(RunRow.id.in_(ids[part : part + 500]), RunRow.status == "running")
                .values(status="failed", error=reason, finished_at=utcnow())
            )
        if not ids:
            return []
        reaped = self.session.scalars(
            select(RunRow).where(RunRow.id.in_(ids)).order_by(RunRow.created_at, RunRow.id)
        )
        return [Run.model_validate(r) for r in reaped]

    @readonly
    def get(self, run_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None) -> Run:
        row = self.session.get(RunRow, require_uuid(run_id, "run id"))
        return Run.model_validate(confine(self.session, row, workspace, f"no run {run_id}"))

    @readonly
    def list(
        self,
        *,
        kind: str | None = None,
        status: str | None = None,
        parent: uuid.UUID | str | None = None,
        limit: int = 100,
        workspace: WorkspaceRef | None = None,
    ) -> Sequence[Run]:
        """Newest first; every workspace's runs unless one is given."""
        check_limit(limit)
        stmt = select(RunRow).order_by(RunRow.created_at.desc(), RunRow.id.desc()).limit(limit)
        stmt = where_given(stmt, (RunRow.kind, kind), (RunRow.status, status))
        if workspace is not None:
            stmt = stmt.where(
                RunRow.workspace_id == WorkspaceRepository(self.session).get(workspace).id
            )
        if parent is not None:
            stmt = stmt.where(RunRow.parent_run_id == require_uuid(parent, "parent run id"))
        return [Run.model_validate(r) for r in self.session.scalars(stmt)]

    # -- events and metrics --------------------------------------------------------------
    def log(
        self,
        run_id: uuid.UUID | str,
        event: str,
        *,
        level: str = "info",
        message: str | None = None,
        data: dict[str, Any] | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> None:
        if level not in values(LogLevel):
            raise InvalidInput(f"unknown level {level!r}")
        if not isinstance(event, str) or not event:
            raise InvalidInput("an event is a non-empty name")
        if data is not None and not isinstance(data, Mapping):
            raise InvalidInput("run event data is a JSON object")
        key = self._run(run_id, workspace)
        self.session.execute(
            insert(RunEventRow),
            [
                {
                    "id": new_id(),
                    "run_id": key,
                    "level": level,
                    "event": event,
                    "message": message,
                    "data": dict(data or {}),
                    "at": utcnow(),
                }
            ],
        )

    @readonly
    def events(
        self, run_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None
    ) -> builtins.list[RunEvent]:
        stmt = select(RunEventRow).where(RunEventRow.run_id == self._run(run_id, workspace))
        return [
            RunEvent.model_validate(e)
            for e in self.session.scalars(stmt.order_by(RunEventRow.at, RunEventRow.id))
        ]

    def log_metrics_batch(
        self,
        run_id: uuid.UUID | str,
        points: Iterable[MetricTriple],
        *,
        workspace: WorkspaceRef | None = None,
    ) -> int:
        """Append metric points at bulk speed (COPY on PostgreSQL, executemany on SQLite). NaN
        and infinities are refused: they poison every later aggregate."""
        key = self._run(run_id, workspace)
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
        run = self._run(run_id, workspace)
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
            .where(ChunkRow.run_id == self._run(run_id, workspace))
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

    # -- lineage ---------------------------------------------------------------------------
    def link(
        self,
        run_id: uuid.UUID | str,
        direction: str,
        entities: Iterable[tuple[str, str | uuid.UUID]],
        *,
        workspace: WorkspaceRef | None = None,
    ) -> int:
        """Record that a run consumed (``in``) or produced (``out``) entities. Idempotent.
        Every entity must exist (lineage to nothing is a typo, not a fact)."""
        if direction not in {"in", "out"}:
            raise InvalidInput("direction is 'in' or 'out'")
        key = require_uuid(run_id, "run id")
        confine(self.session, self.session.get(RunRow, key), workspace, f"no run {run_id}")
        now = utcnow()
        rows = []
        for pair in entities:
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise InvalidInput(f"an entity is an (entity_type, id) pair, not {pair!r}")
            entity_type, entity_id = pair
            if not isinstance(entity_type, str) or entity_type not in values(EntityType):
                raise InvalidInput(f"unknown entity type {entity_type!r}")
            rows.append(
                {
                    "id": new_id(),
                    "run_id": key,
                    "direction": direction,
                    "entity_type": entity_type,
                    "entity_id": str(entity_id)
                    if entity_type == "blob"
                    else str(as_uuid(entity_id) or entity_id),
                    "created_at": now,
                }
            )
        missing = self._missing_entities(rows)
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise NotFound(f"lineage names entities that do not exist: {shown}")
        insert_ignore(
            self.session,
            EdgeRow,
            rows,
            conflict=["run_id", "direction", "entity_type", "entity_id"],
        )
        return len(rows)

    @readonly
    def edges(
        self, run_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None
    ) -> builtins.list[LineageEdge]:
        stmt = select(EdgeRow).where(EdgeRow.run_id == self._run(run_id, workspace))
        return [
            LineageEdge.model_validate(e)
            for e in self.session.scalars(stmt.order_by(EdgeRow.direction, EdgeRow.entity_type))
        ]

    @readonly
    def upstream(
        self, entity_type: str, entity_id: str | uuid.UUID, max_depth: int = MAX_DEPTH
    ) -> builtins.list[LineageNode]:
        """Everything the entity was made from: the inputs of the runs that produced it, then
        the inputs of the runs that produced those, ... (one recursive query per start), and
        what the schema records itself: a version's document, an extraction's version, a
        segment's extraction. Those links are exact per entity, where a run over a batch of
        files would make every file of the batch an input of each output."""
        return self._closure(entity_type, str(entity_id), max_depth, up=True)

    @readonly
    def downstream(
        self, entity_type: str, entity_id: str | uuid.UUID, max_depth: int = MAX_DEPTH
    ) -> builtins.list[LineageNode]:
        """Everything made from the entity: what must be rebuilt if it changes (a document's
        versions and their extractions included)."""
        return self._closure(entity_type, str(entity_id), max_depth, up=False)

    def _closure(
        self, entity_type: str, entity_id: str, max_depth: int, *, up: bool
    ) -> builtins.list[LineageNode]:
        if entity_type not in values(EntityType):
            raise InvalidInput(f"unknown entity type {entity_type!r}")
        start = (entity_type, entity_id)
        found: dict[tuple[str, str], LineageNode] = {}
        walked: set[tuple[str, str]] = set()
        todo: list[tuple[tuple[str, str], int]] = [(start, 0)]
        while todo:
            (kind, key), depth = todo.pop()
            if (kind, key) in walked or depth >= max_depth:
                continue
            walked.add((kind, key))
            reached = self._walk(
                kind,
                key,
                produced_by="out" if up else "in",
                consumed="in" if up else "out",
                max_depth=max_depth - depth,
            )
            linked = [
                LineageNode(entity_type=t, entity_id=i, via_run_id=None, depth=1)
                for t, i in structural(self.session, kind, key, up=up)
            ]
            for node in [*reached, *linked]:
                ref = (node.entity_type, node.entity_id)
                total = node.depth + depth
                if ref == start or total > max_depth:
                    continue
                if ref not in found or found[ref].depth > total:
                    found[ref] = node.model_copy(update={"depth": total})
                    todo.append((ref, total))
        return sorted(found.values(), key=lambda n: (n.depth, n.entity_type, n.entity_id))

    def _walk(
        self, entity_type: str, entity_id: str, *, produced_by: str, consumed: str, max_depth: int
    ) -> builtins.list[LineageNode]:
        start = EdgeRow.__table__.alias("start")
        hop = EdgeRow.__table__.alias("hop")
        seed = (
            select(hop.c.entity_type, hop.c.entity_id, hop.c.run_id, literal(1).label("depth"))
            .select_from(start.join(hop, hop.c.run_id == start.c.run_id))
            .where(
                start.c.direction == produced_by,
                start.c.entity_type == entity_type,
                start.c.entity_id == entity_id,
                hop.c.direction == consumed,
            )
        )
        walk = seed.cte("walk", recursive=True)
        nxt_start = EdgeRow.__table__.alias("nxt_start")
        nxt_hop = EdgeRow.__table__.alias("nxt_hop")
        step = (
            select(
                nxt_hop.c.entity_type,
                nxt_hop.c.entity_id,
                nxt_hop.c.run_id,
                (walk.c.depth + 1).label("depth"),
            )
            .select_from(
                walk.join(
                    nxt_start,
                    (nxt_start.c.entity_type == walk.c.entity_type)
                    & (nxt_start.c.entity_id == walk.c.entity_id)
                    & (nxt_start.c.direction == produced_by),
                ).join(
                    nxt_hop,
                    (nxt_hop.c.run_id == nxt_start.c.run_id) & (nxt_hop.c.direction == consumed),
                )
            )
            .where(walk.c.depth < max_depth)
        )
        walk = walk.union(step)  # UNION (not ALL): a cycle or diamond cannot loop forever
        stmt = (
            select(
                walk.c.entity_type,
                walk.c.entity_id,
                walk.c.run_id,
                func.min(walk.c.depth).label("depth"),
            )
            .group_by(walk.c.entity_type, walk.c.entity_id, walk.c.run_id)
            .order_by("depth", walk.c.entity_type, walk.c.entity_id)
        )
        return [
            LineageNode(entity_type=t, entity_id=i, via_run_id=r, depth=d)
            for t, i, r, d in self.session.execute(stmt)
        ]
