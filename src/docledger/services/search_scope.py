"""What a search reads besides the ranking: the scope it searches (workspace, space, superseded
extractions left out), the details that make a hit a citation (document, version, page,
box, hash), and the lineage an embedding run records."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Table,
    bindparam,
    literal_column,
    select,
    text,
    union,
)

from docledger.db.dialect import full_text_candidates, full_text_postings
from docledger.errors import NotFound
from docledger.ids import from_hex
from docledger.models import Document as DocumentRow
from docledger.models import DocumentVersion as VersionRow
from docledger.models import EmbeddingSpace as SpaceRow
from docledger.models import Extraction as ExtractionRow
from docledger.models import Segment as SegmentRow
from docledger.models import Workspace as WorkspaceRow
from docledger.repositories.base import as_uuid
from docledger.repositories.lineage import LineageRepository
from docledger.repositories.run import RunRepository
from docledger.repositories.workspace import DEFAULT_SLUG, WorkspaceRef, WorkspaceRepository
from docledger.schemas.common import constructed, from_json_text
from docledger.schemas.embedding import SearchHit
from docledger.services import ranking

SEGMENTS: Table = SegmentRow.__table__  # type: ignore[assignment]
VERSIONS: Table = VersionRow.__table__  # type: ignore[assignment]
DOCUMENTS: Table = DocumentRow.__table__  # type: ignore[assignment]
SPACES: Table = SpaceRow.__table__  # type: ignore[assignment]
WORKSPACES: Table = WorkspaceRow.__table__  # type: ignore[assignment]
EXTRACTIONS: Table = ExtractionRow.__table__  # type: ignore[assignment]
#: Candidates scored per query at most (those holding the most rare terms).
MAX_CANDIDATES = 100


#: Candidates the dialect's ranker hands over when a query has only common words.
TEXT_DEPTH = 100
#: A term held by more segments (in the search's scope) than this is common: it still
#: counts in the score, but does not bring candidates (its segments are too many to rank).
COMMON = 100


@functools.cache
def details_statement() -> Any:
    """Built once: composing this select cost more than running it."""
    seg, ver, doc = SEGMENTS.c, VERSIONS.c, DOCUMENTS.c
    return (
        select(
            seg.id,
            ver.document_id,
            doc.external_key,
            seg.version_id,
            seg.page_number,
            seg.kind,
            seg.label,
            seg.text,
            seg.bbox,
            ver.sha256,
            seg.extraction_id,
            seg.content_hash,
        )
        .select_from(
            SEGMENTS.join(VERSIONS, ver.id == seg.version_id).join(
                DOCUMENTS, doc.id == ver.document_id
            )
        )
        .where(seg.id.in_(bindparam("ids", expanding=True)))
    )


def hit_details(session: Any, ids: Sequence[Any]) -> dict[uuid.UUID, Any]:
    """What a hit shows, per segment id (the text and content hash among it)."""
    out: dict[uuid.UUID, Any] = {}
    stmt = details_statement()
    for part in range(0, len(ids), 500):
        wanted = [uuid_of(i) for i in ids[part : part + 500]]
        for row in session.connection().execute(stmt, {"ids": wanted}):
            out[uuid_of(row[0])] = row
    return out


@functools.cache
def _texts_statement() -> Any:
    seg = SEGMENTS.c
    return select(seg.id, seg.text, seg.content_hash).where(
        seg.id.in_(bindparam("ids", expanding=True))
    )


def candidate_texts(session: Any, ids: Sequence[Any]) -> dict[uuid.UUID, tuple[str, str]]:
    """(text, content hash) per segment id: all that ranking a candidate needs."""
    out: dict[uuid.UUID, tuple[str, str]] = {}
    stmt = _texts_statement()
    for part in range(0, len(ids), 500):
        wanted = [uuid_of(i) for i in ids[part : part + 500]]
        for sid, body, digest in session.connection().execute(stmt, {"ids": wanted}):
            out[uuid_of(sid)] = (body or "", digest or "")
    return out


def build_hits(
    chosen: list[tuple[uuid.UUID, float]], details: dict[uuid.UUID, Any]
) -> list[SearchHit]:
    """Hits from rows the database just returned (typed by their columns): constructed, not
    validated, which was a third of a search's own time."""
    out = []
    for sid, score in chosen:
        row = details.get(sid)
        if row is None:
            continue
        out.append(
            constructed(
                SearchHit,
                {
                    "segment_id": sid,
                    "score": score,
                    "document_id": uuid_of(row[1]),
                    "external_key": row[2],
                    "version_id": uuid_of(row[3]),
                    "page_number": row[4],
                    "kind": row[5],
                    "label": row[6],
                    "text": row[7],
                    "bbox": from_json_text(row[8]),
                    "sha256": row[9],
                    "extraction_id": None if row[10] is None else uuid_of(row[10]),
                    "meta": {},
                },
            )
        )
    return out


def by_rare_terms(rare: list[list[tuple[Any, str | None]]]) -> list[Any]:
    """Segments holding rare query terms, those with the most (then the rarest) first, at
    most MAX_CANDIDATES; ties broken by content, so both dialects choose the same rows."""
    found: dict[Any, list[Any]] = {}
    for rows in rare:
        weight = ranking.idf(len(rows))
        for sid, digest in rows:
            entry = found.setdefault(sid, [0, 0.0, digest or ""])
            entry[0] += 1
            entry[1] += weight
    ordered = sorted(found, key=lambda sid: (-found[sid][0], -found[sid][1], found[sid][2]))
    return ordered[:MAX_CANDIDATES]


def embedding_lineage(
    session: Any,
    run_id: uuid.UUID | None,
    space_id: uuid.UUID,
    segment_ids: list[Any],
    workspace: WorkspaceRef | None = None,
) -> uuid.UUID:
    """One ``embedding`` run per embed call: the extractions whose segments it embedded in,
    the space out, written with the vectors (one edge per extraction, not per segment)."""
    runs = RunRepository(session)
    if run_id is None:
        run_id = runs.create("embed", "embedding", workspace=workspace).id
    extractions = set()
    for part in range(0, len(segment_ids), 500):
        extractions.update(
            session.scalars(
                select(SegmentRow.extraction_id)
                .where(SegmentRow.id.in_(segment_ids[part : part + 500]))
                .distinct()
            )
        )
    LineageRepository(session).link(
        run_id, "in", [("extraction", e) for e in sorted(extractions, key=str)]
    )
    LineageRepository(session).link(run_id, "out", [("embedding_space", space_id)])
    return run_id


def excluded_extractions(
    session: Any, workspace_id: uuid.UUID, include_superseded: bool
) -> list[uuid.UUID]:
    """Extractions a search leaves out: those of deleted documents (always) and, unless
    ``include_superseded``, of versions that are no longer current, failed ones, and ones a
    newer successful run of the same extractor over the same version replaced. Usually few,
    so they are excluded by id rather than the current ones included."""
    stmt = excluded_statement(include_superseded)
    return [uuid_of(e) for e in session.execute(stmt, {"ws": workspace_id}).scalars()]


@functools.cache
def excluded_statement(include_superseded: bool) -> Any:
    """Three short lists through partial indexes, so the cost follows what is left out, not
    the size of the workspace: extractions of deleted documents, extractions that did not
    succeed, and (unless ``include_superseded``) superseded ones, which triggers mark
    (migration 0021). The conditions are written as the indexes' own (literals, not
    parameters), which SQLite needs to use them."""
    ex, ver, doc = EXTRACTIONS.c, VERSIONS.c, DOCUMENTS.c
    workspace_id = bindparam("ws", type_=ex.workspace_id.type)
    deleted = (
        select(ex.id)
        .select_from(
            DOCUMENTS.join(VERSIONS, ver.document_id == doc.id).join(
                EXTRACTIONS, ex.version_id == ver.id
            )
        )
        .where(doc.workspace_id == workspace_id, doc.deleted_at.is_not(None))
    )
    failed = select(ex.id).where(
        ex.workspace_id == workspace_id, ex.status != literal_column("'succeeded'")
    )
    if include_superseded:
        return union(deleted, failed)
    superseded = select(ex.id).where(
        ex.workspace_id == workspace_id, text("extractions.superseded")
    )
    return union(deleted, failed, superseded)


@dataclass(frozen=True)
class Space:
    id: uuid.UUID
    model: str
    dimensions: int
    metric: str
    change_counter: int
    removal_counter: int


@functools.cache
def _space_statement(space_by_id: bool, workspace_by_id: bool) -> Any:
    """Built once per way of naming the two (composing it cost more than running it)."""
    sp, ws = SPACES.c, WORKSPACES.c
    ws_id = (
        select(ws.id)
        .where(
            ws.id == bindparam("ws", type_=ws.id.type)
            if workspace_by_id
            else ws.slug == bindparam("ws", type_=ws.slug.type)
        )
        .scalar_subquery()
    )
    return select(
        sp.id, sp.model, sp.dimensions, sp.metric, sp.change_counter, sp.removal_counter, ws_id
    ).where(
        sp.id == bindparam("sp", type_=sp.id.type)
        if space_by_id
        else sp.name == bindparam("sp", type_=sp.name.type)
    )


def space_query(
    space: str | uuid.UUID, workspace: WorkspaceRef | None
) -> tuple[Any, dict[str, Any]]:
    """The statement reading a space and a workspace id in one round trip, and its values."""
    space_key = as_uuid(space)
    ws_ref = DEFAULT_SLUG if workspace is None else workspace
    ws_key = as_uuid(ws_ref)
    stmt = _space_statement(space_key is not None, ws_key is not None)
    return stmt, {
        "sp": space_key if space_key is not None else str(space),
        "ws": ws_key if ws_key is not None else str(ws_ref),
    }


def space_of(row: Any) -> tuple[Space, uuid.UUID | None]:
    """The space and the workspace id (None: no such workspace) of a ``space_query`` row."""
    space = Space(uuid_of(row[0]), row[1], int(row[2]), row[3], int(row[4]), int(row[5]))
    return space, None if row[6] is None else uuid_of(row[6])


def space_and_workspace(
    session: Any, space: str | uuid.UUID, workspace: WorkspaceRef | None
) -> tuple[Space, uuid.UUID]:
    """The space and the workspace id in one Core round trip (a query runs this first)."""
    stmt, params = space_query(space, workspace)
    row = session.connection().execute(stmt, params).first()
    if row is None:
        raise NotFound(f"no embedding space {space}")
    found, workspace_id = space_of(row)
    if workspace_id is None:
        raise NotFound(f"no workspace {DEFAULT_SLUG if workspace is None else workspace!s}")
    return found, workspace_id


def space_only(session: Any, space: str | uuid.UUID) -> Space:
    """The space alone (index maintenance needs no workspace: a tenant sees only its own)."""
    sp = SPACES.c
    key = as_uuid(space)
    row = (
        session.connection()
        .execute(
            select(
                sp.id, sp.model, sp.dimensions, sp.metric, sp.change_counter, sp.removal_counter
            ).where(sp.id == key if key is not None else sp.name == str(space))
        )
        .first()
    )
    if row is None:
        raise NotFound(f"no embedding space {space}")
    return Space(row[0], row[1], int(row[2]), row[3], int(row[4]), int(row[5]))


def latest_counters(session: Any, space: Space) -> Space:
    """The space as the newest committed state has it (a fresh transaction's view)."""
    return space_only(session, space.id)


def matchable(values: Sequence[str]) -> tuple[list[str], bool]:
    """A filter's values without those no stored row can hold (a NUL: writes refuse it, and
    PostgreSQL cannot even bind it), and whether anything can still match: so a NUL in a
    filter finds nothing on every dialect and path alike, where the pgvector and full-text
    paths of PostgreSQL refused it and every other path returned no rows."""
    kept = [v for v in values if "\x00" not in str(v)]
    return kept, bool(kept) or not values


def uuid_of(value: Any) -> uuid.UUID:
    """Raw SQL hands back ids as text on SQLite (32 hex digits) and as UUID on PostgreSQL."""
    return value if isinstance(value, uuid.UUID) else from_hex(str(value))


def ranked_text(
    session: Any,
    wanted: list[tuple[str, bool]],
    k: int,
    workspace: WorkspaceRef | None,
    kinds: Sequence[str],
    documents: Sequence[uuid.UUID] | None,
    include_superseded: bool,
) -> list[SearchHit]:
    """Candidates from the full-text index, ranked by BM25 (see ``SearchService.text``)."""
    ws = WorkspaceRepository(session).get(workspace)
    scope = {
        "workspace_id": ws.id,
        "kinds": list(kinds),
        "excluded": excluded_extractions(session, ws.id, include_superseded),
        "documents": list(documents) if documents else None,
    }
    postings = full_text_postings(session, wanted, scope=scope, limit=COMMON + 1)
    rare = [rows for rows in postings if len(rows) <= COMMON]
    # rank on the candidates' text alone; the joined details are read for the k shown
    if any(rare):
        chosen = by_rare_terms(rare)
        texts = candidate_texts(session, chosen)
    else:  # only common words: the dialect's own ranker picks the candidates
        found = full_text_candidates(session, wanted, scope=scope, limit=max(k * 10, TEXT_DEPTH))
        chosen = [sid for sid, _, _ in found]
        texts = {uuid_of(sid): (body or "", digest or "") for sid, body, digest in found}
    order = [key for key in (uuid_of(i) for i in chosen) if key in texts]
    scores = ranking.bm25(
        wanted, [texts[key][0] for key in order], df=[len(rows) for rows in postings]
    )
    ranked = sorted(
        ((key, score) for key, score in zip(order, scores, strict=True) if score > 0),
        key=lambda hit: (-hit[1], texts[hit[0]][0], texts[hit[0]][1], str(hit[0])),
    )[:k]
    return build_hits(ranked, hit_details(session, [key for key, _ in ranked]))
