"""Lineage: edges between runs and the entities they used and produced, walked upstream or
downstream together with the links the schema records itself."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, literal, or_, select

from docledger.db.dialect import insert_ignore
from docledger.db.types import utcnow
from docledger.errors import InvalidInput, NotFound
from docledger.ids import new_id
from docledger.models import LineageEdge as EdgeRow
from docledger.models import Run as RunRow
from docledger.repositories.base import (
    Repository,
    as_uuid,
    readonly,
    require_uuid,
)
from docledger.repositories.lineage_entities import entity_models, owning_workspaces, structural
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository, confine, run_in
from docledger.schemas import Document, DocumentVersion
from docledger.schemas.annotation import Annotation
from docledger.schemas.dataset import Dataset
from docledger.schemas.extraction import Extraction, Segment
from docledger.schemas.finding import Finding, FindingOutput
from docledger.schemas.lineage import LineageEdge, LineageNode
from docledger.schemas.model_version import ModelVersion
from docledger.schemas.run import Run
from docledger.vocab import EntityType, values

MAX_DEPTH = 50

#: How DTOs name themselves in lineage edges.
ENTITY_TYPES: dict[type, str] = {
    Document: "document",
    DocumentVersion: "version",
    Annotation: "annotation",
    Dataset: "dataset",
    ModelVersion: "model_version",
    Run: "run",
    Finding: "finding",
    FindingOutput: "finding_output",
    Extraction: "extraction",
    Segment: "segment",
}

#: a DTO, or an explicit ``(entity_type, id)`` pair
EntityRef = tuple[str, str | uuid.UUID] | Any


def entity_key(entity: EntityRef) -> tuple[str, str]:
    """(entity_type, entity_id) of a DTO, or of an explicit ``(type, id)`` pair."""
    if isinstance(entity, tuple | list) and len(entity) == 2:
        return str(entity[0]), str(entity[1])
    for cls, name in ENTITY_TYPES.items():
        if isinstance(entity, cls):
            return name, str(getattr(entity, "id"))  # noqa: B009 - the DTOs all have one
    raise InvalidInput(
        f"an entity is a DTO or an (entity_type, id) pair, not {type(entity).__name__}"
    )


class LineageRepository(Repository):
    def _missing_entities(self, rows: Sequence[Mapping[str, Any]]) -> builtins.list[str]:
        """The entities among ``rows`` that do not exist: lineage names real rows only."""
        models = entity_models()
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

    def link(
        self,
        run_id: uuid.UUID | str,
        direction: str,
        entities: Iterable[EntityRef],
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
        for entity in entities:
            entity_type, entity_id = entity_key(entity)
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
        stmt = select(EdgeRow).where(EdgeRow.run_id == run_in(self.session, run_id, workspace))
        return [
            LineageEdge.model_validate(e)
            for e in self.session.scalars(stmt.order_by(EdgeRow.direction, EdgeRow.entity_type))
        ]

    @readonly
    def upstream(
        self,
        entity: EntityRef,
        max_depth: int = MAX_DEPTH,
        *,
        workspace: WorkspaceRef | None = None,
    ) -> builtins.list[LineageNode]:
        """Everything the entity (a DTO or an ``(entity_type, id)`` pair) was made from: the
        inputs of the runs that produced it, then the inputs of the runs that produced those,
        ... (one recursive query per start), and what the schema records itself: a version's
        document, an extraction's version, a segment's extraction. Those links are exact per
        entity, where a run over a batch of files would make every file of the batch an input
        of each output. With ``workspace``: the entity must be that workspace's (else
        NotFound), and only its entities (and shared ones: blobs, embedding spaces) are
        returned."""
        entity_type, entity_id = entity_key(entity)
        ws = self._confine_start(entity_type, entity_id, workspace)
        return self._closure(entity_type, entity_id, max_depth, ws, up=True)

    @readonly
    def downstream(
        self,
        entity: EntityRef,
        max_depth: int = MAX_DEPTH,
        *,
        workspace: WorkspaceRef | None = None,
    ) -> builtins.list[LineageNode]:
        """Everything made from the entity: what must be rebuilt if it changes (a document's
        versions and their extractions included). ``workspace`` as in ``upstream``."""
        entity_type, entity_id = entity_key(entity)
        ws = self._confine_start(entity_type, entity_id, workspace)
        return self._closure(entity_type, entity_id, max_depth, ws, up=False)

    def _confine_start(
        self, entity_type: str, entity_id: str, workspace: WorkspaceRef | None
    ) -> uuid.UUID | None:
        if workspace is None:
            return None
        if entity_type not in values(EntityType):
            raise InvalidInput(f"unknown entity type {entity_type!r}")
        ws = WorkspaceRepository(self.session).get(workspace).id
        owners = owning_workspaces(self.session, [(entity_type, entity_id)])
        if owners.get((entity_type, entity_id), ws) != ws:
            raise NotFound(f"no {entity_type} {entity_id}")
        return ws

    def _visible(
        self, nodes: builtins.list[LineageNode], ws: uuid.UUID | None
    ) -> builtins.list[LineageNode]:
        """The nodes a workspace may see: its own entities and shared ones."""
        if ws is None:
            return nodes
        owners = owning_workspaces(self.session, [(n.entity_type, n.entity_id) for n in nodes])
        return [n for n in nodes if owners.get((n.entity_type, n.entity_id), ws) == ws]

    def _closure(
        self, entity_type: str, entity_id: str, max_depth: int, ws: uuid.UUID | None, *, up: bool
    ) -> builtins.list[LineageNode]:
        """The walk; with ``ws`` it stays inside the workspace: it follows only that
        workspace's runs (and shared ones) and never steps through another workspace's
        entity, so no path through foreign records connects two of its own."""
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
                ws=ws,
            )
            linked = [
                LineageNode(entity_type=t, entity_id=i, via_run_id=None, depth=1)
                for t, i in structural(self.session, kind, key, up=up)
            ]
            nodes = [*reached, *linked]
            if ws is not None:
                nodes = self._visible(nodes, ws)
            for node in nodes:
                ref = (node.entity_type, node.entity_id)
                total = node.depth + depth
                if ref == start or total > max_depth:
                    continue
                if ref not in found or found[ref].depth > total:
                    found[ref] = node.model_copy(update={"depth": total})
                    todo.append((ref, total))
        return sorted(found.values(), key=lambda n: (n.depth, n.entity_type, n.entity_id))

    def _walk(
        self,
        entity_type: str,
        entity_id: str,
        *,
        produced_by: str,
        consumed: str,
        max_depth: int,
        ws: uuid.UUID | None = None,
    ) -> builtins.list[LineageNode]:
        start = EdgeRow.__table__.alias("start")
        hop = EdgeRow.__table__.alias("hop")

        def runs_of_ws(edges: Any, via: Any) -> Any:
            """``edges`` joined to the run they name when it is this workspace's or shared."""
            if ws is None:
                return edges
            run = RunRow.__table__.alias(f"{via.name}_run")
            mine = or_(run.c.workspace_id.is_(None), run.c.workspace_id == ws)
            return edges.join(run, (run.c.id == via.c.run_id) & mine)

        seed = (
            select(hop.c.entity_type, hop.c.entity_id, hop.c.run_id, literal(1).label("depth"))
            .select_from(runs_of_ws(start.join(hop, hop.c.run_id == start.c.run_id), hop))
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
                runs_of_ws(
                    walk.join(
                        nxt_start,
                        (nxt_start.c.entity_type == walk.c.entity_type)
                        & (nxt_start.c.entity_id == walk.c.entity_id)
                        & (nxt_start.c.direction == produced_by),
                    ).join(
                        nxt_hop,
                        (nxt_hop.c.run_id == nxt_start.c.run_id)
                        & (nxt_hop.c.direction == consumed),
                    ),
                    nxt_hop,
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
