"""How a batch of new versions is written: one look-up of the keys that exist, then the document
and version rows in bulk (DocumentRepository.record_versions is the entry point)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from docledger.db.dialect import in_values
from docledger.models import Document as DocumentRow
from docledger.models import DocumentVersion as VersionRow
from docledger.schemas.document import IngestOutcome, IngestResult, StagedVersion

IN_LIST = 500  # ids per IN (...) list


def chunks(ids: Sequence[Any], size: int = IN_LIST) -> Iterator[Sequence[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@dataclass
class Existing:
    """What the database already holds for one chunk's keys."""

    docs: dict[str, uuid.UUID] = field(default_factory=dict)
    current: dict[uuid.UUID, int] = field(default_factory=dict)
    known: dict[tuple[uuid.UUID, str], tuple[uuid.UUID, int]] = field(default_factory=dict)
    latest: dict[uuid.UUID, int] = field(default_factory=dict)


def lookup_existing(session: Session, ws_id: uuid.UUID, keys: list[str]) -> Existing:
    """Every document and version for the keys, in a few set-based queries (never one a key)."""
    found = Existing()
    for part in chunks(keys):
        rows = session.execute(
            select(DocumentRow.external_key, DocumentRow.id, DocumentRow.current_version).where(
                DocumentRow.workspace_id == ws_id,
                in_values(session, DocumentRow.external_key, part),
            )
        )
        for key, doc_id, cur in rows:
            found.docs[key] = doc_id
            found.current[doc_id] = cur or 0
    for part in chunks(list(found.docs.values())):
        versions = session.execute(
            select(
                VersionRow.document_id, VersionRow.sha256, VersionRow.id, VersionRow.version_number
            ).where(in_values(session, VersionRow.document_id, part))
        )
        for doc_id, sha, vid, num in versions:
            found.known[(doc_id, sha)] = (vid, num)
            found.latest[doc_id] = max(found.latest.get(doc_id, 0), num)
    return found


def write_rows(
    session: Session,
    new_docs: list[dict[str, Any]],
    new_versions: list[dict[str, Any]],
    moved: list[dict[str, Any]],
    now: datetime,
) -> None:
    """Three set-based statements (executemany), whatever the chunk size."""
    if new_docs:
        session.execute(insert(DocumentRow), new_docs)
    if new_versions:
        session.execute(insert(VersionRow), new_versions)
    if moved:
        table = DocumentRow.__table__
        assert isinstance(table, Table)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("doc_id"))
            .values(updated_at=now, current_version=bindparam("cur"), media_type=bindparam("mt")),
            moved,
        )


def version_result(
    outcome: IngestOutcome, s: StagedVersion, doc_id: uuid.UUID, vid: uuid.UUID, num: int
) -> IngestResult:
    # Built from trusted, already-validated values: skip pydantic validation on the hot path.
    return IngestResult.model_construct(
        outcome=outcome,
        external_key=s.key,
        source=s.display,
        document_id=doc_id,
        version_id=vid,
        version_number=num,
        sha256=s.sha256,
        size_bytes=s.size_bytes,
        media_type=s.media_type,
        page_count=s.page_count,
        warnings=s.warnings,
        error=None,
    )


#: the document already holding some bytes: (document id, version id, version number, key)
Holder = tuple[uuid.UUID, uuid.UUID, int, str]


def holders_of(session: Session, ws_id: uuid.UUID, shas: list[str]) -> dict[str, Holder]:
    """For each of these hashes held by a live document of the workspace, its oldest holder
    (the first version that stored the bytes)."""
    found: dict[str, Holder] = {}
    for part in chunks(shas):
        rows = session.execute(
            select(
                VersionRow.sha256,
                VersionRow.document_id,
                VersionRow.id,
                VersionRow.version_number,
                DocumentRow.external_key,
            )
            .join(DocumentRow, DocumentRow.id == VersionRow.document_id)
            .where(
                VersionRow.workspace_id == ws_id,
                VersionRow.sha256.in_(part),
                DocumentRow.deleted_at.is_(None),
            )
            .order_by(VersionRow.created_at, VersionRow.id)
        )
        for sha, doc_id, vid, num, key in rows:
            found.setdefault(sha, (doc_id, vid, num, key))
    return found


def duplicate_result(s: StagedVersion, holder: Holder, policy: str) -> IngestResult:
    """A new key whose bytes ``holder`` already holds: skipped, or failed under ``error``."""
    doc_id, vid, num, key = holder
    result = version_result("duplicate", s, doc_id, vid, num)
    if policy == "error":
        return result.model_copy(
            update={
                "outcome": "failed",
                "error": f"the same content is already document {key!r} (sha256 {s.sha256})",
            }
        )
    return result
