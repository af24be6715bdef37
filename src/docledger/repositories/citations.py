"""The citations a message was answered from: each retrieved passage pinned to its segment,
with a copy of where it was (version, page, box) and what it said, taken when the message is
written (``ConversationRepository.create_message``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from docledger.errors import InvalidInput, NotFound
from docledger.ids import new_id
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.base import is_number, require_uuid
from docledger.schemas.conversation import Citation
from docledger.schemas.embedding import SearchHit
from docledger.schemas.extraction import Segment

#: a retrieved passage: a SearchHit, a Segment, or a mapping with ``segment`` (an id) and
#: ``score``
HitRef = SearchHit | Segment | Mapping[str, Any]


#: Core, one cached statement whatever the number of hits (a chat turn's hot path)
_CITED = (
    select(
        SegmentRow.id,
        SegmentRow.workspace_id,
        SegmentRow.version_id,
        VersionRow.document_id,
        SegmentRow.page_number,
        SegmentRow.bbox,
        SegmentRow.text,
    )
    .join(VersionRow, VersionRow.id == SegmentRow.version_id)
    .where(SegmentRow.id.in_(bindparam("keys", expanding=True)))
)


def snapshot_citations(
    session: Session, ws: uuid.UUID, hits: Iterable[HitRef], mode: str | None, query: str | None
) -> list[dict[str, Any]]:
    if isinstance(hits, Mapping | str | bytes):
        raise InvalidInput("retrievals are a list of SearchHits or mappings")
    wanted: list[tuple[uuid.UUID, float | None]] = []
    for hit in hits:
        if isinstance(hit, SearchHit):
            wanted.append((hit.segment_id, hit.score))
        elif isinstance(hit, Segment):
            wanted.append((hit.id, None))
        elif isinstance(hit, Mapping) and "segment" in hit:
            score = hit.get("score")
            if score is not None and not is_number(score):
                raise InvalidInput(f"a retrieval's score is a number, not {score!r}")
            wanted.append((require_uuid(hit["segment"], "segment id"), score))
        else:
            raise InvalidInput(
                "a retrieval is a SearchHit, a Segment or a mapping with a segment id"
            )
    if not wanted:
        return []
    keys = sorted({k for k, _ in wanted}, key=str)
    found = {
        sid: (wsid, vid, doc, page_, box, text_)
        for sid, wsid, vid, doc, page_, box, text_ in session.connection().execute(
            _CITED, {"keys": keys}
        )
    }
    rows = []
    for rank, (sid, score) in enumerate(wanted, start=1):
        seen = found.get(sid)
        if seen is None or seen[0] != ws:
            raise NotFound(f"no segment {sid}")
        _, vid, doc, page_, box, text_ = seen
        rows.append(
            {
                "id": new_id(),
                "segment_id": sid,
                "rank": rank,
                "score": None if score is None else float(score),
                "mode": mode,
                "query": query,
                "document_id": doc,
                "version_id": vid,
                "page_number": page_,
                "bbox": json.loads(box) if isinstance(box, str) else box,
                "text": text_,
            }
        )
    return rows


def citation(row: Any) -> Citation:
    get = row.get if isinstance(row, Mapping) else lambda k: getattr(row, k)
    return Citation(
        rank=get("rank"),
        score=get("score"),
        mode=get("mode"),
        query=get("query"),
        segment_id=get("segment_id"),
        segment_exists=get("segment_id") is not None,
        document_id=get("document_id"),
        version_id=get("version_id"),
        page_number=get("page_number"),
        bbox=get("bbox"),
        text=get("text"),
    )
