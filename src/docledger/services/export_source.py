"""What an export reads: the selection (a dataset version, or a filter over the workspace's
current segments, or its findings), checked against the store and resolved once into a plan
that ``export_records`` streams."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, ValidationError, field_validator
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from docledger.errors import InvalidInput, NotFound
from docledger.models import Document as DocumentRow
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Extraction as ExtractionRow
from docledger.repositories.base import as_uuid
from docledger.repositories.dataset import DatasetRepository
from docledger.repositories.model_version import ModelRepository
from docledger.schemas.common import InputModel
from docledger.vocab import AnnotationStatus, FindingStatus, SegmentKind

CHUNK = 1000


class Selection(InputModel):
    """What to export. ``dataset`` (a name, ``name@version`` or an id) pins a frozen dataset
    version; otherwise the workspace's current segments (each document's current version,
    each extractor's newest successful run), narrowed by the other fields. ``status``,
    ``labels`` and ``annotated`` look at the segments' annotations; ``finding_kinds`` and
    ``finding_status`` choose the findings of findings formats."""

    dataset: str | None = None
    documents: list[str] | None = Field(default=None, min_length=1)
    kinds: list[SegmentKind] | None = Field(default=None, min_length=1)
    labels: list[str] | None = Field(default=None, min_length=1)
    status: list[AnnotationStatus] | None = Field(default=None, min_length=1)
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    max_confidence: float | None = Field(default=None, ge=0, le=1)
    extractor: str | None = None
    annotated: bool = False
    finding_kinds: list[str] | None = Field(default=None, min_length=1)
    finding_status: list[FindingStatus] | None = Field(default=None, min_length=1)
    #: the model version whose predictions these are (``name`` or ``name@version``): named
    #: in the export's lineage
    model: str | None = None

    @field_validator("documents", "labels", "finding_kinds")
    @classmethod
    def _texts(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not isinstance(v, str) or not v for v in value):
            raise ValueError("names are non-empty text")
        return value


def parse_selection(value: object) -> Selection:
    if isinstance(value, Selection):
        return value
    if value is None:
        return Selection()
    if not isinstance(value, dict):
        raise InvalidInput("a selection is a mapping (dataset=..., or filters)")
    try:
        chosen = Selection.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'selection'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"invalid selection: {problems}") from exc
    low, high = chosen.min_confidence, chosen.max_confidence
    if low is not None and high is not None and low > high:
        raise InvalidInput("min_confidence is above max_confidence")
    if chosen.dataset is not None and (chosen.documents or chosen.extractor):
        raise InvalidInput("a dataset is its own selection: no documents or extractor with it")
    return chosen


@dataclass
class Plan:
    """A selection resolved against the store: what ``records`` will read."""

    workspace_id: uuid.UUID
    selection: Selection
    dataset_id: uuid.UUID | None = None
    dataset: dict[str, Any] | None = None
    #: (extraction id, extractor, version id, version number, document id, document key)
    extractions: list[tuple[uuid.UUID, str, uuid.UUID, int, uuid.UUID, str]] = field(
        default_factory=list
    )
    document_ids: list[uuid.UUID] | None = None
    model: dict[str, Any] | None = None

    def pinned(self) -> dict[str, Any]:
        """The selection as stored on the export: what was asked, and the dataset version it
        resolved to (so a reproduction reads the same frozen items)."""
        out = self.selection.model_dump(exclude_defaults=True)
        if self.dataset is not None:
            out["dataset"] = self.dataset
        if self.document_ids is not None:
            out["document_ids"] = [str(d) for d in self.document_ids]
        if self.model is not None:
            out["model"] = self.model
        return out

    def inputs(self) -> list[tuple[str, Any]]:
        """The lineage inputs: the dataset version, or the versions and extractions read."""
        model = [] if self.model is None else [("model_version", self.model["id"])]
        if self.dataset_id is not None:
            return [("dataset", self.dataset_id), *model]
        versions = sorted({e[2] for e in self.extractions}, key=str)
        return [
            *(("version", v) for v in versions),
            *(("extraction", e[0]) for e in self.extractions),
            *model,
        ]


def _documents(session: Session, ws: uuid.UUID, refs: Sequence[str]) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    for ref in refs:
        key = as_uuid(ref)
        cond = DocumentRow.id == key if key is not None else DocumentRow.external_key == ref
        found = session.scalar(
            select(DocumentRow.id).where(
                DocumentRow.workspace_id == ws, DocumentRow.deleted_at.is_(None), cond
            )
        )
        if found is None:
            raise InvalidInput(f"no document {ref!r} in this workspace")
        out.append(found)
    return out


def resolve(session: Session, ws: uuid.UUID, raw: object) -> Plan:
    """Check the selection against the store; InvalidInput names what does not exist."""
    chosen = parse_selection(raw)
    plan = Plan(ws, chosen)
    if chosen.model is not None:
        name, _, number = chosen.model.partition("@")
        if number and not number.isdigit():
            raise InvalidInput(f"a model version is a number: {chosen.model!r}")
        try:
            model = ModelRepository(session).get(name, version=int(number) if number else None)
        except NotFound as exc:
            raise InvalidInput(str(exc)) from exc
        plan.model = {"id": str(model.id), "name": model.name, "version": model.version}
    if chosen.dataset is not None:
        name, _, version = chosen.dataset.partition("@")
        if version and not version.isdigit():
            raise InvalidInput(f"a dataset version is a number: {chosen.dataset!r}")
        try:
            found = DatasetRepository(session).get(
                name if as_uuid(name) is None else as_uuid(name),  # type: ignore[arg-type]
                int(version) if version else None,
                workspace=ws,
            )
        except NotFound as exc:
            raise InvalidInput(str(exc)) from exc
        plan.dataset_id = found.id
        plan.dataset = {
            "id": str(found.id), "name": found.name, "version": found.version,
            "content_hash": found.content_hash,
        }  # fmt: skip
        return plan
    if chosen.documents:
        plan.document_ids = _documents(session, ws, chosen.documents)
    plan.extractions = _extractions(session, ws, chosen, plan.document_ids)
    return plan


def _extractions(
    session: Session, ws: uuid.UUID, chosen: Selection, documents: list[uuid.UUID] | None
) -> list[tuple[uuid.UUID, str, uuid.UUID, int, uuid.UUID, str]]:
    """The current extractions: of each live document's current version, each extractor's
    newest successful run (as search reads them)."""
    ex, newer = ExtractionRow, aliased(ExtractionRow)
    replaced = exists().where(
        newer.version_id == ex.version_id,
        newer.extractor == ex.extractor,
        newer.status == "succeeded",
        (newer.created_at > ex.created_at)
        | and_(newer.created_at == ex.created_at, newer.id > ex.id),
    )
    stmt = (
        select(
            ex.id,
            ex.extractor,
            VersionRow.id,
            VersionRow.version_number,
            DocumentRow.id,
            DocumentRow.external_key,
        )
        .join(VersionRow, VersionRow.id == ex.version_id)
        .join(DocumentRow, DocumentRow.id == VersionRow.document_id)
        .where(
            DocumentRow.workspace_id == ws,
            DocumentRow.deleted_at.is_(None),
            VersionRow.version_number == DocumentRow.current_version,
            ex.status == "succeeded",
            ~replaced,
        )
        .order_by(DocumentRow.external_key, DocumentRow.id, ex.extractor, ex.id)
    )
    if documents is not None:
        stmt = stmt.where(DocumentRow.id.in_(documents))
    if chosen.extractor is not None:
        stmt = stmt.where(ex.extractor == chosen.extractor)
    return [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]
