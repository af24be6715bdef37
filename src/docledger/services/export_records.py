"""The records an export streams: segments extraction by extraction (one streamed cursor
each, annotations looked up a chunk at a time), a frozen dataset version's items on their
segments, or findings with their outputs and evidence. Memory holds a chunk, never the
selection; the order depends on nothing but the rows, so the same rows give the same files on
either dialect."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, String, and_, func, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from docledger.formats.base import Record
from docledger.models import Annotation as AnnotationRow
from docledger.models import Dataset as DatasetRow
from docledger.models import DatasetItem as ItemRow
from docledger.models import Document as DocumentRow
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Extraction as ExtractionRow
from docledger.models import Finding as FindingRow
from docledger.models import FindingLink as LinkRow
from docledger.models import FindingOutput as OutputRow
from docledger.models import Segment as SegmentRow
from docledger.services.export_source import Plan, Selection

CHUNK = 1000


class _DriverUuid(TypeDecorator[Any]):
    """A UUID column as the driver stores it: hex text on SQLite, uuid on PostgreSQL."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import UUID  # noqa: PLC0415

            return dialect.type_descriptor(UUID(as_uuid=True))
        return dialect.type_descriptor(String())


_DRIVER_UUID = _DriverUuid()


_SEGMENT_COLUMNS = (
    SegmentRow.id,
    SegmentRow.ordinal,
    SegmentRow.kind,
    SegmentRow.label,
    SegmentRow.page_number,
    SegmentRow.bbox,
    SegmentRow.text,
    SegmentRow.confidence,
)


def page_sizes(session: Session, extraction: uuid.UUID) -> dict[int, tuple[Any, Any]]:
    """Each page's own segment: its box (the page's extent in the extractor's unit) and its
    size in points when the extractor noted it."""
    out: dict[int, tuple[Any, Any]] = {}
    rows = session.execute(
        select(SegmentRow.page_number, SegmentRow.bbox, SegmentRow.meta).where(
            SegmentRow.extraction_id == extraction, SegmentRow.kind == "page"
        )
    )
    for page, box, meta in rows:
        if page is None or page in out:
            continue
        size = None
        if isinstance(meta, dict) and meta.get("width") and meta.get("height"):
            size = [float(meta["width"]), float(meta["height"])]
        elif isinstance(box, dict) and box.get("unit", "pt") == "pt":
            size = [float(box["x1"]), float(box["y1"])]
        out[page] = (box, size)
    return out


def id_text(value: Any) -> str:
    """An id as the driver hands it over (SQLite: 32 hex digits; psycopg: a UUID) as its
    canonical text, without parsing it: ids are half of what an export reads."""
    if isinstance(value, str) and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return str(value)


def _raw(column: Any) -> Any:
    """A UUID column read (and compared) in the driver's own form: no per-row UUID objects.
    ``type_coerce`` changes only the Python side, so indexes are used as before."""
    return type_coerce(column, _DRIVER_UUID)


def _annotations(
    conn: Connection, segment_ids: list[Any], status: Sequence[str] | None
) -> dict[Any, list[dict[str, Any]]]:
    """The annotations of a chunk of segments (keys in the driver's form), oldest first."""
    stmt = select(
        _raw(AnnotationRow.segment_id),
        _raw(AnnotationRow.id),
        AnnotationRow.kind,
        AnnotationRow.status,
        AnnotationRow.revision,
        AnnotationRow.value,
    ).where(_raw(AnnotationRow.segment_id).in_(segment_ids))
    if status:
        stmt = stmt.where(AnnotationRow.status.in_(status))
    out: dict[Any, list[dict[str, Any]]] = {}
    for seg, key, kind, state, revision, value in conn.execute(
        stmt.order_by(AnnotationRow.segment_id, AnnotationRow.created_at, AnnotationRow.id)
    ):
        out.setdefault(seg, []).append(
            {"id": id_text(key), "kind": kind, "status": state, "revision": revision,
             "value": value}
        )  # fmt: skip
    return out


def _keep(record: Record, chosen: Selection) -> bool:
    notes = record["annotations"]
    if (chosen.annotated or chosen.status) and not notes:
        return False
    if chosen.labels:
        wanted = set(chosen.labels)
        given = {n["value"].get("label") for n in notes} | {record.get("label")}
        if not wanted & given:
            return False
    return True


def segment_records(session: Session, plan: Plan) -> Iterator[Record]:
    """The plan's segments with their annotations, one record at a time."""
    if plan.dataset_id is not None:
        yield from _dataset_records(session, plan)
        return
    chosen = plan.selection
    for extraction, extractor, version, number, document, key in plan.extractions:
        sizes = page_sizes(session, extraction)
        stmt = select(_raw(SegmentRow.id), *_SEGMENT_COLUMNS[1:]).where(
            SegmentRow.extraction_id == extraction
        )
        if chosen.kinds:
            stmt = stmt.where(SegmentRow.kind.in_(chosen.kinds))
        if chosen.min_confidence is not None:
            stmt = stmt.where(SegmentRow.confidence >= chosen.min_confidence)
        if chosen.max_confidence is not None:
            stmt = stmt.where(SegmentRow.confidence <= chosen.max_confidence)
        stmt = stmt.order_by(func.coalesce(SegmentRow.page_number, 0), SegmentRow.ordinal)
        head = {
            "document": key, "document_id": str(document), "version": number,
            "version_id": str(version), "extraction_id": str(extraction), "extractor": extractor,
        }  # fmt: skip
        conn = session.connection()  # Core rows: no ORM bookkeeping per row
        # closed however the reader stops (a format that fails mid-way included): on
        # PostgreSQL this is a server-side cursor
        with conn.execute(stmt, execution_options={"yield_per": CHUNK}) as rows:
            for part in rows.partitions(CHUNK):
                notes = _annotations(conn, [r[0] for r in part], chosen.status)
                for sid, ordinal, kind, label, page, box, text_, confidence in part:
                    page_box, size = sizes.get(page, (None, None)) if page else (None, None)
                    record = {
                        **head, "segment_id": id_text(sid), "ordinal": ordinal, "kind": kind,
                        "label": label, "page": page, "bbox": box, "text": text_,
                        "confidence": confidence, "annotations": notes.get(sid, []),
                        "page_box": page_box, "page_size_pt": size,
                    }  # fmt: skip
                    if _keep(record, chosen):
                        yield record


def _dataset_records(session: Session, plan: Plan) -> Iterator[Record]:
    """A frozen dataset version: its items (annotation snapshots) on their segments, in the
    same order as a filter export; several items on one segment make one record."""
    chosen = plan.selection
    s, i = SegmentRow, ItemRow
    stmt = (
        select(
            i.annotation_id,
            i.annotation_revision,
            i.kind,
            i.value,
            s.extraction_id,
            ExtractionRow.extractor,
            VersionRow.id,
            VersionRow.version_number,
            DocumentRow.id,
            DocumentRow.external_key,
            *_SEGMENT_COLUMNS,
        )
        .select_from(i)
        .join(s, and_(i.target_type == "segment", s.id == i.target_id))
        .join(ExtractionRow, ExtractionRow.id == s.extraction_id)
        .join(VersionRow, VersionRow.id == s.version_id)
        .join(DocumentRow, DocumentRow.id == VersionRow.document_id)
        .where(i.dataset_id == plan.dataset_id)
        .order_by(
            DocumentRow.external_key,
            DocumentRow.id,
            ExtractionRow.extractor,
            s.extraction_id,
            func.coalesce(s.page_number, 0),
            s.ordinal,
            i.ordinal,
        )
    )
    sizes: dict[int, tuple[Any, Any]] = {}
    sizes_of: uuid.UUID | None = None
    pending: Record | None = None
    with session.execute(stmt, execution_options={"yield_per": CHUNK}) as result:
        for row in result:
            (note_id, revision, kind_, value, extraction, extractor, version, number, document,
             key, sid, ordinal, kind, label, page, box, text_, confidence) = row  # fmt: skip
            note = {
                "id": None if note_id is None else str(note_id), "kind": kind_,
                "status": "approved", "revision": revision, "value": value,
            }  # fmt: skip
            if pending is not None and pending["segment_id"] == str(sid):
                pending["annotations"].append(note)
                continue
            if pending is not None and _keep(pending, chosen):
                yield pending
            if extraction != sizes_of:
                sizes, sizes_of = page_sizes(session, extraction), extraction
            page_box, size = sizes.get(page, (None, None)) if page else (None, None)
            pending = {
                "document": key, "document_id": str(document), "version": number,
                "version_id": str(version), "extraction_id": str(extraction),
                "extractor": extractor, "segment_id": str(sid), "ordinal": ordinal,
                "kind": kind, "label": label,
                "page": page, "bbox": box, "text": text_, "confidence": confidence,
                "annotations": [note], "page_box": page_box, "page_size_pt": size,
            }  # fmt: skip
    if pending is not None and _keep(pending, chosen):
        yield pending


def finding_records(session: Session, plan: Plan) -> Iterator[Record]:
    """The workspace's findings (by kind / status / document), oldest first, each with the
    newest output of every type and its evidence."""
    chosen = plan.selection
    stmt = select(FindingRow).where(FindingRow.workspace_id == plan.workspace_id)
    if chosen.finding_kinds:
        stmt = stmt.where(FindingRow.kind.in_(chosen.finding_kinds))
    if chosen.finding_status:
        stmt = stmt.where(FindingRow.status.in_(chosen.finding_status))
    if plan.document_ids is not None:
        stmt = stmt.where(FindingRow.document_id.in_(plan.document_ids))
    rows = session.scalars(
        stmt.order_by(FindingRow.created_at, FindingRow.id), execution_options={"yield_per": 500}
    )
    try:
        yield from _findings_in_parts(session, rows.partitions(500))
    finally:
        rows.close()


def _findings_in_parts(session: Session, parts: Iterator[Sequence[Any]]) -> Iterator[Record]:
    for part in parts:
        ids = [f.id for f in part]
        outputs: dict[uuid.UUID, dict[str, Any]] = {}
        for out in session.scalars(
            select(OutputRow)
            .where(OutputRow.finding_id.in_(ids))
            .order_by(OutputRow.finding_id, OutputRow.output_type, OutputRow.version)
        ):
            outputs.setdefault(out.finding_id, {})[out.output_type] = {
                "version": out.version, "body": out.body,
            }  # fmt: skip
        evidence: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for link in session.scalars(
            select(LinkRow)
            .where(LinkRow.finding_id.in_(ids))
            .order_by(LinkRow.finding_id, LinkRow.target_type, LinkRow.target_id)
        ):
            evidence.setdefault(link.finding_id, []).append(
                {
                    "target_type": link.target_type, "target_id": link.target_id,
                    "relation": link.relation, "strength": link.strength,
                    "state": link.state,
                }
            )  # fmt: skip
        for f in part:
            yield {
                "id": str(f.id), "kind": f.kind, "title": f.title, "summary": f.summary,
                "status": f.status, "confidence": f.confidence, "stale": f.stale,
                "document_id": None if f.document_id is None else str(f.document_id),
                "body": f.body, "outputs": outputs.get(f.id, {}),
                "evidence": evidence.get(f.id, []),
            }  # fmt: skip


def counter(session: Session, plan: Plan, source: str) -> int:
    """How many rows the export will read (the progress bar's total; an upper bound when
    label or annotation filters drop some)."""
    if source == "findings":
        stmt = select(func.count()).select_from(FindingRow)
        stmt = stmt.where(FindingRow.workspace_id == plan.workspace_id)
        return int(session.scalar(stmt) or 0)
    if plan.dataset_id is not None:
        return int(
            session.scalar(select(DatasetRow.item_count).where(DatasetRow.id == plan.dataset_id))
            or 0
        )
    total = 0
    ids = [e[0] for e in plan.extractions]
    for start in range(0, len(ids), 500):
        stmt = select(func.count()).select_from(SegmentRow)
        total += int(
            session.scalar(stmt.where(SegmentRow.extraction_id.in_(ids[start : start + 500]))) or 0
        )
    return total


Reader = Callable[[Session, Plan], Iterator[Record]]
READERS: dict[str, Reader] = {"segments": segment_records, "findings": finding_records}
