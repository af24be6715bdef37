"""Lineage: edges between runs and the entities they used and produced, walked upstream or
downstream together with the links the schema records itself."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, literal, select

from docledger.db.dialect import insert_ignore
from docledger.db.types import utcnow
from docledger.errors import InvalidInput, NotFound
from docledger.ids import new_id
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Extraction as ExtractionRow
from docledger.models import Finding as FindingRow
from docledger.models import FindingLink as LinkRow
from docledger.models import FindingOutput as OutputRow
from docledger.models import LineageEdge as EdgeRow
from docledger.models import Run as RunRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.base import (
    Repository,
    as_uuid,
    readonly,
    require_uuid,
)
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


#: (child type, child column, parent column, parent type): lineage the schema records.
_STRUCTURE = (
    ("version", VersionRow.id, VersionRow.document_id, "document"),
    ("extraction", ExtractionRow.id, ExtractionRow.version_id, "version"),
    ("segment", SegmentRow.id, SegmentRow.extraction_id, "extraction"),
    ("finding", FindingRow.id, FindingRow.run_id, "run"),
    ("finding_output", OutputRow.id, OutputRow.finding_id, "finding"),
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
    # a finding was made from its evidence: up to what its links name, down to the findings
    # that cite an entity (links to rows deleted since lead nowhere)
    if up and entity_type == "finding":
        out += [
            (t, i)
            for t, i, seg, ver, doc, other in session.execute(
                select(
                    LinkRow.target_type,
                    LinkRow.target_id,
                    LinkRow.segment_id,
                    LinkRow.version_id,
                    LinkRow.document_id,
                    LinkRow.target_finding_id,
                ).where(LinkRow.finding_id == key)
            )
            if (seg or ver or doc or other) is not None
        ]
    elif not up and entity_type in {"segment", "version", "document", "finding"}:
        out += [
            ("finding", str(f))
            for f in session.scalars(
                select(LinkRow.finding_id).where(
                    LinkRow.target_type == entity_type, LinkRow.target_id == str(key)
                )
            )
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
        "finding_output": m.FindingOutput,
        "conversation": m.Conversation,
        "message": m.Message,
    }


#: entities owned through their parent (they carry no workspace column themselves)
_OWNED_VIA = {
    "finding_output": ("finding_id", "finding"),
    "message": ("conversation_id", "conversation"),
}
#: entities no workspace owns
_SHARED = {"blob", "embedding_space"}


def owning_workspaces(
    session: Any, entities: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], uuid.UUID | None]:
    """The workspace each entity belongs to (None: a store-wide run or model, or a row that is
    gone); shared entities (blobs, embedding spaces) are left out. Batched per type."""
    models = _entity_models()
    wanted: dict[str, set[str]] = {}
    for kind, ref in entities:
        if kind not in _SHARED:
            wanted.setdefault(kind, set()).add(ref)
    out: dict[tuple[str, str], uuid.UUID | None] = {}
    for kind, refs in wanted.items():
        keys = {ref: as_uuid(ref) for ref in refs}
        ids = sorted({k for k in keys.values() if k is not None}, key=str)
        model = models[kind]
        if kind in _OWNED_VIA:
            column, parent = _OWNED_VIA[kind]
            parent_model = models[parent]
            stmt = select(model.id, parent_model.workspace_id).join(
                parent_model, getattr(model, column) == parent_model.id
            )
        else:
            stmt = select(model.id, model.workspace_id)
        found: dict[uuid.UUID, uuid.UUID | None] = {}
        for part in range(0, len(ids), 500):
            found.update(session.execute(stmt.where(model.id.in_(ids[part : part + 500]))).all())
        for ref, parsed in keys.items():
            out[(kind, ref)] = found.get(parsed) if parsed is not None else None
    return out


class LineageRepository(Repository):
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
        return self._visible(self._closure(entity_type, entity_id, max_depth, up=True), ws)

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
        return self._visible(self._closure(entity_type, entity_id, max_depth, up=False), ws)

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
