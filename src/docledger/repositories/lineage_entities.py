"""What the schema itself records about lineage entities: the links it keeps between them
(a version's document, a segment's extraction ...) and the workspace each one belongs to,
which confines a walk to one workspace."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from docledger import models as m
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Extraction as ExtractionRow
from docledger.models import Finding as FindingRow
from docledger.models import FindingLink as LinkRow
from docledger.models import FindingOutput as OutputRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.base import as_uuid

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


def entity_models() -> dict[str, Any]:

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
    models = entity_models()
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
