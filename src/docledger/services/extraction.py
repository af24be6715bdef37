"""``ledger.extractions``: record extractions, and run the registered extractors over
documents (each document's current version, one transaction per document).

Failure is per document: whatever an extractor raises for one document (its own errors, a
RecursionError from a hostile file, a crash in a plugin) becomes a recorded ``failed``
extraction with the error text, and the batch goes on. Params are checked once, before any
document is read. A version already extracted by the same extractor, extractor version and
params costs one look-up, not a parse.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from docledger.db.dialect import full_text_catch_up
from docledger.errors import Conflict, DocledgerError, InvalidInput
from docledger.extractors import Extractor, available, for_media_type, version_of
from docledger.models import Document as DocumentRow
from docledger.repositories.document import DocumentRepository
from docledger.repositories.extraction import ExtractionRepository
from docledger.repositories.extraction_rows import params_hash
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository
from docledger.schemas import Document, DocumentVersion
from docledger.services.scope import Service, service

#: Longest error text kept on a failed extraction (the start says what went wrong).
ERROR_CHARS = 2000


#: Documents planned, extracted and recorded together (their look-ups share a transaction).
BATCH_DOCUMENTS = 32
#: Segments held in memory before the extracted documents are recorded.
BATCH_SEGMENTS = 20_000


@dataclass(frozen=True)
class _Planned:
    """A document to extract: its current version, the extractor and the run's key."""

    key: str
    version_id: uuid.UUID
    sha256: str
    extractor: Extractor
    tag: str
    params: dict[str, Any]
    #: params the extractor marks secret: passed to this run only, never recorded
    secrets: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtractOutcome:
    document: str
    extractor: str | None
    extraction_id: uuid.UUID | None
    created: bool
    segments: int
    error: str | None = None
    skipped: str | None = None


def describe(exc: BaseException) -> str:
    """One line for a failure: docledger's own message, else the exception's type and text."""
    text = " ".join(str(exc).split())
    if isinstance(exc, DocledgerError):
        return text[:ERROR_CHARS] or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:ERROR_CHARS].rstrip(": ")


def _checked(extractor: Extractor, params: Mapping[str, Any]) -> dict[str, Any]:
    check = getattr(extractor, "check", None)
    if callable(check):
        try:
            check(params)
        except DocledgerError:
            raise
        except Exception as exc:  # a plugin's own check: any refusal is bad input
            raise InvalidInput(f"{extractor.name}: {describe(exc)}") from exc
    return dict(params)


def check_params(
    extractor: str | None, params: Mapping[str, Any] | None
) -> tuple[Extractor | None, dict[str, dict[str, Any]]]:
    """The extractor named (None: whatever fits each document) and each extractor's share of
    ``params``, checked: InvalidInput for an unknown extractor or a param none takes. Run
    before anything is written, and before a job is queued to run it later."""
    if params is not None and not isinstance(params, Mapping):
        raise InvalidInput("extractor params are a JSON object")
    given = dict(params or {})
    extractors = available()
    if extractor is None:
        return None, _params_for(extractors, given)
    chosen = extractors.get(extractor)
    if chosen is None:
        raise InvalidInput(f"no extractor {extractor!r}; have {sorted(extractors)}")
    return chosen, {chosen.name: _checked(chosen, given)}


def _params_for(
    extractors: Mapping[str, Extractor], params: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each built-in extractor's share of params given for "whatever fits each document":
    a name no extractor takes is refused, and each value is checked by those that take it."""
    shares: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    for name, extractor in extractors.items():
        spec = getattr(extractor, "params", None)
        if not isinstance(spec, Mapping):
            shares[name] = dict(params)  # a plugin that declares nothing gets everything
            taken.update(params)
            continue
        mine = {k: v for k, v in params.items() if k in spec}
        taken.update(mine)
        shares[name] = _checked(extractor, mine)
    unknown = sorted(set(params) - taken)
    if unknown:
        raise InvalidInput(f"no extractor takes the param {unknown[0]!r}")
    return shares


def split_secrets(
    extractor: Extractor, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(params to record, secret params to use and forget)."""
    spec = getattr(extractor, "params", None)
    secret = {
        k for k in params if isinstance(spec, Mapping) and getattr(spec.get(k), "secret", False)
    }
    return (
        {k: v for k, v in params.items() if k not in secret},
        {k: v for k, v in params.items() if k in secret},
    )


def secret_params(extractor: str | None, params: Mapping[str, Any] | None) -> list[str]:
    """The names among ``params`` an extractor that takes them keeps secret (a job's payload
    is stored, so it must not carry them)."""
    chosen, shares = check_params(extractor, params)
    found: set[str] = set()
    extractors = available()
    for name, share in shares.items():
        found.update(split_secrets(chosen or extractors[name], share)[1])
    return sorted(found)


def refuse_stored_secrets(extractor: Any, params: Any) -> None:
    """InvalidInput when a job that would store these params (its payload is kept) carries a
    secret one; params an extractor would refuse anyway are left to the job."""
    if not isinstance(params, Mapping) or not (extractor is None or isinstance(extractor, str)):
        return
    try:
        hidden = secret_params(extractor, params)
    except InvalidInput:
        return
    if hidden:
        raise InvalidInput(
            f"the param {hidden[0]!r} is never stored, and a queued job's payload is: "
            "extract this document without a job"
        )


class ExtractionService(Service, ExtractionRepository):
    """``ledger.extractions``: run extractors over documents, import other tools' elements,
    and every ExtractionRepository method."""

    @service
    def document_ids(self, *, workspace: WorkspaceRef | None = None) -> list[uuid.UUID]:
        with self._scope.session(readonly=True) as session:
            ws = WorkspaceRepository(session).get(workspace)
            return list(
                session.scalars(
                    select(DocumentRow.id)
                    .where(DocumentRow.workspace_id == ws.id, DocumentRow.deleted_at.is_(None))
                    .order_by(DocumentRow.created_at, DocumentRow.id)
                )
            )

    @service
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
        params records nothing new (``created`` False). A document no extractor handles is
        skipped; one the extractor fails on is recorded as a failed extraction (``error``).

        Lineage needs no run here: an extraction names its version, and lineage walks
        follow that link (exact per document, where a batch run would tie every document of
        the batch to every extraction)."""
        extractors = available()
        chosen, shares = check_params(extractor, params)
        todo = list(documents)
        outcomes: list[ExtractOutcome] = []
        for start in range(0, len(todo), BATCH_DOCUMENTS):
            for outcome in self._extract_batch(
                todo[start : start + BATCH_DOCUMENTS], chosen or extractors, shares, workspace
            ):
                outcomes.append(outcome)
                if on_result is not None:
                    on_result(outcome)
        with self._scope.session() as session:
            full_text_catch_up(session)  # the run's segments become searchable by text now
        return outcomes

    def _extract_batch(
        self,
        refs: Sequence[uuid.UUID | str],
        chosen: Extractor | dict[str, Extractor],
        shares: Mapping[str, dict[str, Any]],
        workspace: WorkspaceRef | None,
    ) -> Iterator[ExtractOutcome]:
        """Plan (one read-only transaction for the batch's look-ups), extract (no database),
        record; the extractions of a batch are recorded in shared transactions of up to
        BATCH_SEGMENTS segments, and one that fails is recorded again on its own (a bad
        document never takes the others down with it)."""
        planned: dict[int, _Planned] = {}
        done: dict[int, ExtractOutcome] = {}
        with self._scope.session(readonly=True) as session:
            docs = DocumentRepository(session)
            current = docs.current_many(refs, workspace=workspace)  # unknown workspace: raises
            for n, ref in enumerate(refs):
                if str(ref) not in current:
                    try:
                        current[str(ref)] = docs.current(ref, workspace=workspace)
                    except DocledgerError as exc:  # not found, another tenant's
                        done[n] = ExtractOutcome(str(ref), None, None, False, 0, describe(exc))
                        continue
                found = self._plan_one(*current[str(ref)], chosen, shares)
                if isinstance(found, ExtractOutcome):
                    done[n] = found
                else:
                    planned[n] = found
            recorded = ExtractionRepository(session).find_many(
                [(p.version_id, p.extractor.name, p.tag, p.params) for p in planned.values()]
            )
        for n, item in list(planned.items()):
            prior = recorded.get(
                (item.version_id, item.extractor.name, item.tag, params_hash(item.params))
            )
            if prior is not None and prior.status == "succeeded":
                count = int(prior.stats.get("segments", 0))
                done[n] = ExtractOutcome(item.key, item.extractor.name, prior.id, False, count)
                del planned[n]
        pending: list[tuple[int, _Planned, Any, str | None]] = []
        size = 0
        for n, item in planned.items():
            try:
                with self._scope.blobs.open(item.sha256) as handle:
                    data = handle.read()
                segments: Any = list(item.extractor.extract(data, {**item.params, **item.secrets}))
                pending.append((n, item, segments, None))
                size += len(segments)
            except Exception as exc:  # any failure of one document is recorded as its own
                pending.append((n, item, None, describe(exc)))
            if size >= BATCH_SEGMENTS:
                done.update(self._record_pending(pending))
                pending, size = [], 0
        done.update(self._record_pending(pending))
        for n in range(len(refs)):
            yield done[n]

    @staticmethod
    def _plan_one(
        doc: Document,
        version: DocumentVersion,
        chosen: Extractor | dict[str, Extractor],
        shares: Mapping[str, dict[str, Any]],
    ) -> _Planned | ExtractOutcome:
        extractor = (
            for_media_type(version.media_type, chosen) if isinstance(chosen, dict) else chosen
        )
        if extractor is None:
            skipped = f"no extractor for {version.media_type}"
            return ExtractOutcome(doc.external_key, None, None, False, 0, skipped=skipped)
        params, secrets = split_secrets(extractor, shares.get(extractor.name, {}))
        tag = version_of(extractor, params)
        return _Planned(
            doc.external_key, version.id, version.sha256, extractor, tag, params, secrets
        )

    def _record_pending(
        self, pending: list[tuple[int, _Planned, Any, str | None]]
    ) -> dict[int, ExtractOutcome]:
        if not pending:
            return {}
        try:
            with self._scope.session() as session:
                good = [(n, item, segments) for n, item, segments, error in pending if not error]
                results = ExtractionRepository(session).record_many(
                    [
                        (item.version_id, item.extractor.name, item.tag, item.params, segments)
                        for _, item, segments in good
                    ]
                )
                out = {
                    n: ExtractOutcome(
                        item.key, item.extractor.name, r.extraction.id, r.created, r.segments
                    )
                    for (n, item, _), r in zip(good, results, strict=True)
                }
                for n, item, _, error in pending:
                    if error:
                        out[n] = self._write_one(session, item, None, error)
                return out
        except Exception:  # noqa: S110 - some document broke the shared transaction: one by one
            pass
        out = {}
        for n, item, segments, error in pending:
            try:
                with self._scope.session() as session:
                    out[n] = self._write_one(session, item, segments, error)
            except Conflict:  # another process recorded the same run first
                out[n] = self._already_recorded(
                    item.key, item.extractor.name, item.version_id, item.tag, item.params
                )
            except Exception as exc:  # segments the repository refuses: a failed extraction
                with self._scope.session() as session:
                    out[n] = self._write_one(session, item, None, describe(exc))
        return out

    @staticmethod
    def _write_one(
        session: Any, item: _Planned, segments: Any, error: str | None
    ) -> ExtractOutcome:
        repo = ExtractionRepository(session)
        name = item.extractor.name
        if error is not None:
            failed = repo.record_failure(item.version_id, name, item.tag, item.params, error)
            return ExtractOutcome(item.key, name, failed.id, False, 0, error)
        result = repo.record(item.version_id, name, item.tag, item.params, segments)
        return ExtractOutcome(item.key, name, result.extraction.id, result.created, result.segments)

    @service
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
        with self._scope.session() as session:
            docs = DocumentRepository(session)
            doc = docs.get(document, workspace=workspace)
            version = docs.version(doc.id)
            result = ExtractionRepository(session).record(
                version.id, name, version_tag, {}, segments
            )
        return ExtractOutcome(
            doc.external_key, name, result.extraction.id, result.created, result.segments
        )

    def _already_recorded(
        self, key: str, name: str, version_id: uuid.UUID, tag: str, params: Mapping[str, Any]
    ) -> ExtractOutcome:
        with self._scope.session(readonly=True) as session:
            done = ExtractionRepository(session).find(version_id, name, tag, params)
        if done is None:  # pragma: no cover - the conflicting row was rolled back meanwhile
            return ExtractOutcome(key, name, None, False, 0, "recorded concurrently; run again")
        return ExtractOutcome(key, name, done.id, False, int(done.stats.get("segments", 0)))
