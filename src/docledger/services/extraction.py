"""``ledger.extractions``: record extractions, and run the registered extractors over
documents (each document's current version, one transaction per document)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from docledger.db.dialect import full_text_catch_up
from docledger.db.session import session_scope
from docledger.errors import DocledgerError, InvalidInput
from docledger.models import Document as DocumentRow
from docledger.repositories.document import DocumentRepository
from docledger.repositories.extraction import ExtractionRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository
from docledger.services.extractors import available, for_media_type
from docledger.services.facade import Facade


@dataclass(frozen=True)
class ExtractOutcome:
    document: str
    extractor: str | None
    extraction_id: uuid.UUID | None
    created: bool
    segments: int
    error: str | None = None
    skipped: str | None = None


class ExtractionService(Facade):
    """``ledger.extractions``: run extractors over documents, import other tools' elements,
    and every ExtractionRepository method."""

    def document_ids(self, *, workspace: WorkspaceRef | None = None) -> list[uuid.UUID]:
        with session_scope(self._engine, readonly=True) as session:
            ws = WorkspaceRepository(session).get(workspace)
            return list(
                session.scalars(
                    select(DocumentRow.id)
                    .where(DocumentRow.workspace_id == ws.id)
                    .order_by(DocumentRow.created_at, DocumentRow.id)
                )
            )

    def run(
        self,
        documents: Sequence[uuid.UUID | str],
        *,
        extractor: str | None = None,
        params: Mapping[str, Any] | None = None,
        workspace: WorkspaceRef | None = None,
        on_result: Callable[[ExtractOutcome], None] | None = None,
    ) -> list[ExtractOutcome]:
        """Extract each document's current version. Re-running with the same extractor and
        params records nothing new (``created`` False). A document no extractor handles, or
        whose bytes the extractor cannot read, is reported and skipped."""
        chosen = None
        if extractor is not None:
            chosen = available().get(extractor)
            if chosen is None:
                raise InvalidInput(f"no extractor {extractor!r}; have {sorted(available())}")
        outcomes = []
        for ref in documents:
            outcome = self._one(ref, chosen, dict(params or {}), workspace)
            outcomes.append(outcome)
            if on_result is not None:
                on_result(outcome)
        with session_scope(self._engine) as session:
            full_text_catch_up(session)  # the run's segments become searchable by text now
        return outcomes

    def import_elements(
        self,
        document: uuid.UUID | str,
        data: bytes,
        *,
        fmt: str = "auto",
        workspace: WorkspaceRef | None = None,
    ) -> ExtractOutcome:
        """Record an Unstructured or Docling JSON output of a document's current version as an
        extraction (importing the same file again records nothing)."""
        from docledger.services.elements import parse  # noqa: PLC0415

        name, version_tag, segments = parse(data, fmt)
        with session_scope(self._engine) as session:
            docs = DocumentRepository(session)
            doc = docs.get(document, workspace=workspace)
            version = docs.version(doc.id)
            result = ExtractionRepository(session).record(
                version.id, name, version_tag, {}, segments
            )
        return ExtractOutcome(
            doc.external_key, name, result.extraction.id, result.created, result.segments
        )

    def _one(
        self,
        ref: uuid.UUID | str,
        chosen: Any,
        params: dict[str, Any],
        workspace: WorkspaceRef | None,
    ) -> ExtractOutcome:
        with session_scope(self._engine, readonly=True) as session:
            docs = DocumentRepository(session)
            doc = docs.get(ref, workspace=workspace)
            version = docs.version(doc.id)
        extractor = chosen or for_media_type(version.media_type)
        if extractor is None:
            return ExtractOutcome(
                doc.external_key,
                None,
                None,
                False,
                0,
                skipped=f"no extractor for {version.media_type}",
            )
        try:
            with self._store.open(version.sha256) as handle:
                data = handle.read()
            segments = extractor.extract(data, params)
        except DocledgerError as exc:
            return ExtractOutcome(doc.external_key, extractor.name, None, False, 0, str(exc))
        with session_scope(self._engine) as session:
            result = ExtractionRepository(session).record(
                version.id, extractor.name, extractor.version, params, segments
            )
        return ExtractOutcome(
            doc.external_key, extractor.name, result.extraction.id, result.created, result.segments
        )
