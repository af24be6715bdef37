"""Extractions (snapshots of one extractor over one version) and their segments.

Recording is idempotent on (version, extractor, extractor_version, params hash): the same run
again writes nothing; new params make a new snapshot and the old one stays. Each new segment is
linked to the segment it replaces in the document's previous extraction by the same extractor
(same content hash, else same kind and page with overlapping boxes), which is what lets
annotations be carried forward instead of orphaned.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from docledger.db.bounds import check_json
from docledger.db.dialect import bulk_insert, driver_value, full_text_defer
from docledger.db.types import utcnow
from docledger.errors import InvalidInput, NotFound
from docledger.ids import new_id, uuid7_hex_many
from docledger.models import Extraction as ExtractionRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.base import (
    Repository,
    readonly,
    require_uuid,
)
from docledger.repositories.extraction_rows import (
    EXTRACTIONS,
    SEGMENT_COLUMNS,
    SEGMENTS,
    extraction_row,
    lookup_statement,
    match_by_box,
    params_hash,
    segment_digest,
    validated_segments,
)
from docledger.repositories.finding import FindingRepository
from docledger.repositories.workspace import (
    WorkspaceRef,
    WorkspaceRepository,
    confine,
    version_in,
)
from docledger.schemas.extraction import (
    Extraction,
    RecordResult,
    SegmentFields,
    SegmentIn,
    box_json,
)


class ExtractionRepository(Repository):
    def record(
        self,
        version_id: uuid.UUID | str,
        extractor: str,
        extractor_version: str,
        params: Mapping[str, Any] | None = None,
        segments: Iterable[SegmentIn | Mapping[str, Any]] = (),
        *,
        stats: Mapping[str, Any] | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> RecordResult:
        """Record one extraction run and its segments (bulk, in this transaction).

        Segments are ``SegmentIn`` objects or mappings with its fields; text is stored exactly
        as given. One look-up statement finds the version, an earlier recording of the same
        run and the extraction the new segments may succeed; the segments go in with the
        driver's bulk path; full-text indexing is left to the next catch-up (migration 0011).
        """
        run = (version_id, extractor, extractor_version, params, segments)
        return self.record_many([run], stats=stats, workspace=workspace)[0]

    def record_many(
        self,
        runs: Sequence[
            tuple[
                uuid.UUID | str,
                str,
                str,
                Mapping[str, Any] | None,
                Iterable[SegmentIn | Mapping[str, Any]],
            ]
        ],
        *,
        stats: Mapping[str, Any] | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> list[RecordResult]:
        """``record`` for many runs (version, extractor, extractor version, params,
        segments): each is looked up on its own, and the new extraction rows, their
        segments and their full-text notes are written with one statement each (one COPY
        on PostgreSQL), so a batch of documents pays the round trips once."""
        results: list[RecordResult] = []
        new_rows: list[dict[str, Any]] = []
        segment_rows: list[tuple[Any, ...]] = []
        successions: list[tuple[uuid.UUID, uuid.UUID]] = []
        ws_id = None if workspace is None else WorkspaceRepository(self.session).get(workspace).id
        for run in runs:
            if not isinstance(run, tuple | list) or len(run) != 5:
                raise InvalidInput(
                    "a run is (version, extractor, extractor version, params, segments)"
                )
            result, row, rows, previous = self._prepare(*run, stats=stats, workspace_id=ws_id)
            results.append(result)
            if row is not None:
                new_rows.append(row)
                segment_rows.extend(rows)
                if previous is not None:
                    successions.append((previous, row["id"]))
        if new_rows:
            self.session.connection().execute(insert(EXTRACTIONS), new_rows)
            if segment_rows:
                bulk_insert(
                    self.session, SEGMENTS, segment_rows, SEGMENT_COLUMNS, encoded=SEGMENT_COLUMNS
                )
            full_text_defer(self.session, [r["id"] for r in new_rows])  # indexed later (0011)
        for previous, new in successions:  # evidence follows its segments to the new version
            FindingRepository(self.session).carry_forward(previous, new)
        return results

    def _prepare(
        self,
        version_id: uuid.UUID | str,
        extractor: str,
        extractor_version: str,
        params: Mapping[str, Any] | None,
        segments: Iterable[SegmentIn | Mapping[str, Any]],
        *,
        stats: Mapping[str, Any] | None,
        workspace_id: uuid.UUID | None = None,
    ) -> tuple[RecordResult, dict[str, Any] | None, list[tuple[Any, ...]], uuid.UUID | None]:
        """One run's look-up and rows: (result, the new extraction row or None when it was
        recorded before, its segment rows in the drivers' own form, the extraction they
        may succeed)."""
        if not extractor or not extractor_version:
            raise InvalidInput("an extraction names its extractor and extractor version")
        vid = require_uuid(version_id, "version id")
        if params is not None and not isinstance(params, Mapping):
            raise InvalidInput("extractor params are a JSON object")
        check_json(dict(params or {}), "extractor params")
        digest = params_hash(dict(params or {}))
        found = self.session.connection().execute(
            lookup_statement(), {"v": vid, "ex": extractor, "ev": extractor_version, "ph": digest}
        )
        version = found.first()
        if version is None or workspace_id not in (None, version.workspace_id):
            raise NotFound(f"no document version {version_id}")
        if version.existing is not None:
            if self._status(version.existing) != "failed":
                return self._recorded(version.existing), None, [], None
            # a failed attempt is replaced by the one that succeeds
            self.session.execute(delete(ExtractionRow).where(ExtractionRow.id == version.existing))
        items = validated_segments(segments)
        now = utcnow()
        extraction_id = new_id()
        row = extraction_row(
            extraction_id,
            version.workspace_id,
            vid,
            (extractor, extractor_version, params, digest),
            {"segments": len(items), **dict(stats or {})},
            None,
            now,
        )
        # Values in the drivers' own form, so bulk_insert converts nothing row by row.
        ids = uuid7_hex_many(len(items))
        workspace, extraction, version_, created = (
            driver_value(self.session, SEGMENTS, column, value)
            for column, value in (
                ("workspace_id", version.workspace_id),
                ("extraction_id", extraction_id),
                ("version_id", vid),
                ("created_at", now),
            )
        )
        digests = [segment_digest(s) for s in items]
        predecessors = (
            self._predecessors(version.previous, items, digests)
            if version.previous is not None
            else {}
        )
        # JSON serialised here in one pass: the generic per-value path cost more than the
        # insert itself on 250-segment batches.
        rows = []
        for i, s in enumerate(items):
            box, parent, meta = s.get("bbox"), s.get("parent"), s.get("metadata")
            rows.append(
                (
                    ids[i],
                    workspace,
                    extraction,
                    version_,
                    i,
                    s["kind"],
                    s.get("label"),
                    s.get("page_number"),
                    None if box is None else box_json(box),
                    s.get("text"),
                    digests[i],
                    s.get("confidence"),
                    None if parent is None else ids[parent],
                    None if (before := predecessors.get(i)) is None else before.hex,
                    json.dumps(meta) if meta else "{}",
                    created,
                )
            )
        result = RecordResult(
            extraction=Extraction.model_validate(row),
            created=True,
            segments=len(rows),
            linked_to_predecessors=len(predecessors),
        )
        return result, row, rows, version.previous

    def _status(self, extraction_id: uuid.UUID) -> str | None:
        return self.session.scalar(
            select(ExtractionRow.status).where(ExtractionRow.id == extraction_id)
        )

    @readonly
    def find(
        self,
        version_id: uuid.UUID | str,
        extractor: str,
        extractor_version: str,
        params: Mapping[str, Any] | None = None,
        *,
        workspace: WorkspaceRef | None = None,
    ) -> Extraction | None:
        """The extraction recorded under this run's key, or None (what a re-run looks up
        instead of parsing the document again)."""
        vid = require_uuid(version_id, "version id")
        if workspace is not None:
            version_in(self.session, vid, workspace)
        found = self.find_many([(vid, extractor, extractor_version, params or {})])
        return next(iter(found.values()), None)

    @readonly
    def find_many(
        self, keys: Sequence[tuple[uuid.UUID, str, str, Mapping[str, Any]]]
    ) -> dict[tuple[uuid.UUID, str, str, str], Extraction]:
        """``find`` for many (version, extractor, extractor version, params) keys in one
        statement; keyed by (version, extractor, extractor version, params hash)."""
        wanted = {(v, e, t, params_hash(dict(p))) for v, e, t, p in keys}
        if not wanted:
            return {}
        rows = self.session.scalars(
            select(ExtractionRow).where(
                ExtractionRow.version_id.in_(sorted({v for v, _, _, _ in wanted}, key=str))
            )
        )
        out = {}
        for row in rows:
            key = (row.version_id, row.extractor, row.extractor_version, row.params_hash)
            if key in wanted:
                out[key] = Extraction.model_validate(row)
        return out

    def record_failure(
        self,
        version_id: uuid.UUID | str,
        extractor: str,
        extractor_version: str,
        params: Mapping[str, Any] | None,
        error: str,
        *,
        workspace: WorkspaceRef | None = None,
    ) -> Extraction:
        """Record that a run failed on this version (status ``failed``, no segments). A
        later successful run with the same key replaces it; a repeated failure updates the
        error text."""
        vid = require_uuid(version_id, "version id")
        digest = params_hash(dict(params or {}))
        version = version_in(self.session, vid, workspace)
        now = utcnow()
        existing = self.find(vid, extractor, extractor_version, params)
        if existing is not None:
            self.session.execute(
                update(ExtractionRow)
                .where(ExtractionRow.id == existing.id, ExtractionRow.status == "failed")
                .values(error=error, finished_at=now)
            )
            return self.get(existing.id)
        row = extraction_row(
            new_id(),
            version.workspace_id,
            vid,
            (extractor, extractor_version, params, digest),
            {"segments": 0},
            error,
            now,
        )
        self.session.execute(insert(EXTRACTIONS), [row])
        return Extraction.model_validate(row)

    def _recorded(self, extraction_id: uuid.UUID) -> RecordResult:
        """The result of re-recording a run recorded before: nothing written."""
        existing = self.session.get(ExtractionRow, extraction_id)
        count = self.session.scalar(
            select(func.count())
            .select_from(SegmentRow)
            .where(SegmentRow.extraction_id == extraction_id)
        )
        return RecordResult(
            extraction=Extraction.model_validate(existing),
            created=False,
            segments=int(count or 0),
            linked_to_predecessors=0,
        )

    def _predecessors(
        self, previous: uuid.UUID, items: Sequence[SegmentFields], digests: Sequence[str | None]
    ) -> dict[int, uuid.UUID]:
        old = self.session.execute(
            select(
                SegmentRow.id,
                SegmentRow.content_hash,
                SegmentRow.kind,
                SegmentRow.page_number,
                SegmentRow.bbox,
            )
            .where(SegmentRow.extraction_id == previous)
            .order_by(SegmentRow.ordinal)
        ).all()
        by_hash: dict[tuple[str, str], list[uuid.UUID]] = {}
        by_place: dict[tuple[str, int | None], list[tuple[uuid.UUID, dict[str, Any]]]] = {}
        for sid, digest, kind, page, bbox in old:
            if digest:
                by_hash.setdefault((kind, digest), []).append(sid)
            if bbox:
                by_place.setdefault((kind, page), []).append((sid, bbox))
        used: set[uuid.UUID] = set()
        found: dict[int, uuid.UUID] = {}
        for index, item in enumerate(items):
            for sid in by_hash.get((item["kind"], digests[index] or ""), []):
                if sid not in used:
                    found[index] = sid
                    used.add(sid)
                    break
        match_by_box(items, by_place, found, used)
        return found

    @readonly
    def get(
        self, extraction_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None
    ) -> Extraction:
        key = require_uuid(extraction_id, "extraction id")
        row = confine(
            self.session,
            self.session.get(ExtractionRow, key),
            workspace,
            f"no extraction {extraction_id}",
        )
        return Extraction.model_validate(row)

    @readonly
    def of_version(
        self, version_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None
    ) -> list[Extraction]:
        key = require_uuid(version_id, "version id")
        if workspace is not None:
            version_in(self.session, key, workspace)
        stmt = (
            select(ExtractionRow)
            .where(ExtractionRow.version_id == key)
            .order_by(ExtractionRow.created_at, ExtractionRow.id)
        )
        return [Extraction.model_validate(e) for e in self.session.scalars(stmt)]
