"""Documents and their versions: look-ups, keyset listing, status, metadata and tags."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, update

from docledger.db.dialect import in_values, json_array_contains
from docledger.db.types import utcnow
from docledger.errors import InvalidInput, InvalidTransition, NotFound
from docledger.ids import new_id
from docledger.models import Document as DocumentRow
from docledger.models import DocumentVersion as VersionRow
from docledger.repositories.base import Repository, as_uuid, readonly
from docledger.repositories.document_writes import (
    duplicate_result,
    holders_of,
    lookup_existing,
    version_result,
    write_rows,
)
from docledger.repositories.paging import page
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository, confine
from docledger.schemas import Document, DocumentDetail, DocumentVersion
from docledger.schemas.common import Page
from docledger.schemas.document import IngestOutcome, IngestResult, StagedVersion
from docledger.storage.base import SHA256_RE
from docledger.vocab import DocumentStatus, DuplicatePolicy, values

DocumentRef = uuid.UUID | str

#: The document lifecycle. The CHECK constraint guards the values; this table guards the moves,
#: applied with a compare-and-set UPDATE so two concurrent moves cannot both succeed.
TRANSITIONS: dict[str, frozenset[str]] = {
    "uploaded": frozenset({"processing", "failed", "archived"}),
    "processing": frozenset({"completed", "failed", "uploaded"}),
    "completed": frozenset({"processing", "archived"}),
    "failed": frozenset({"processing", "uploaded", "archived"}),
    "archived": frozenset({"uploaded"}),
}


class DocumentRepository(Repository):
    def _row(self, ref: DocumentRef, workspace: WorkspaceRef | None = None) -> DocumentRow:
        """By id (confined to ``workspace`` when one is given), else by external key within
        the workspace (default: ``default``). A key that happens to spell a UUID is still
        found by key when no document has that id."""
        missing = f"no document {ref!s}"
        key = as_uuid(ref)
        if key is not None:
            row = self.session.get(DocumentRow, key)
            if row is not None:
                return confine(self.session, row, workspace, missing)  # type: ignore[no-any-return]
        ws = WorkspaceRepository(self.session).get(workspace)
        found = self.session.scalars(
            select(DocumentRow).where(
                DocumentRow.workspace_id == ws.id, DocumentRow.external_key == str(ref)
            )
        ).one_or_none()
        if found is None:
            raise NotFound(missing)
        return found

    @readonly
    def get(self, ref: DocumentRef, *, workspace: WorkspaceRef | None = None) -> Document:
        """A document by id, or by external key within a workspace (default: ``default``)."""
        return Document.model_validate(self._row(ref, workspace))

    @readonly
    def current(
        self, ref: DocumentRef, *, workspace: WorkspaceRef | None = None
    ) -> tuple[Document, DocumentVersion]:
        """A document and its current version in one statement (what every per-document
        step of a batch reads first)."""
        found = self.current_many([ref], workspace=workspace).get(str(ref))
        if found is None:  # no such document (NotFound), or one whose current version is unset
            doc = self.get(ref, workspace=workspace)
            return doc, self.version(doc.id)
        return found

    @readonly
    def current_many(
        self, refs: Sequence[DocumentRef], *, workspace: WorkspaceRef | None = None
    ) -> dict[str, tuple[Document, DocumentVersion]]:
        """``current`` for many documents (ids or keys) in two statements at most, keyed by
        the reference as given (``str(ref)``); documents not found are left out."""
        ids = {key: str(ref) for ref in refs if (key := as_uuid(ref)) is not None}
        base = select(DocumentRow, VersionRow).join(
            VersionRow,
            (VersionRow.document_id == DocumentRow.id)
            & (VersionRow.version_number == DocumentRow.current_version),
        )
        ws = WorkspaceRepository(self.session).get(workspace)
        out: dict[str, tuple[Document, DocumentVersion]] = {}
        found: list[Any] = []
        if ids:
            by_id = base.where(DocumentRow.id.in_(list(ids)))
            if workspace is not None:
                by_id = by_id.where(DocumentRow.workspace_id == ws.id)
            found += self.session.execute(by_id).all()
        # by key: every ref not found by id (a key may happen to spell a UUID)
        found_ids = {str(doc_row.id) for doc_row, _ in found}
        keys = {str(ref) for ref in refs if str(as_uuid(ref) or "") not in found_ids}
        if keys:
            found += self.session.execute(
                base.where(DocumentRow.workspace_id == ws.id, DocumentRow.external_key.in_(keys))
            ).all()
        for doc_row, version_row in found:
            pair = (Document.model_validate(doc_row), DocumentVersion.model_validate(version_row))
            if doc_row.id in ids:
                out[ids[doc_row.id]] = pair
            if doc_row.external_key in keys:
                out[doc_row.external_key] = pair
        return out

    @readonly
    def detail(self, ref: DocumentRef, *, workspace: WorkspaceRef | None = None) -> DocumentDetail:
        row = self._row(ref, workspace)
        doc = Document.model_validate(row)
        return DocumentDetail(**doc.model_dump(), versions=self.versions(row.id))

    @readonly
    def versions(
        self, ref: DocumentRef, *, workspace: WorkspaceRef | None = None
    ) -> list[DocumentVersion]:
        row = self._row(ref, workspace)
        stmt = (
            select(VersionRow)
            .where(VersionRow.document_id == row.id)
            .order_by(VersionRow.version_number)
        )
        return [DocumentVersion.model_validate(v) for v in self.session.scalars(stmt)]

    @readonly
    def version(
        self, ref: DocumentRef, number: int | None = None, *, workspace: WorkspaceRef | None = None
    ) -> DocumentVersion:
        """One version (default: the current one, see ``Document.current_version``)."""
        row = self._row(ref, workspace)
        stmt = select(VersionRow).where(VersionRow.document_id == row.id)
        if number is None and row.current_version is None:
            stmt = stmt.order_by(VersionRow.version_number.desc()).limit(1)
        else:
            stmt = stmt.where(VersionRow.version_number == (number or row.current_version))
        version = self.session.scalars(stmt).first()
        if version is None:
            raise NotFound(f"document {ref!s} has no version {number or ''}".rstrip())
        return DocumentVersion.model_validate(version)

    @readonly
    def get_version(
        self, version_id: uuid.UUID | str, *, workspace: WorkspaceRef | None = None
    ) -> DocumentVersion:
        key = as_uuid(version_id)
        row = self.session.get(VersionRow, key) if key is not None else None
        return DocumentVersion.model_validate(
            confine(self.session, row, workspace, f"no document version {version_id!s}")
        )

    @readonly
    def find_by_sha256(
        self, sha256: str, *, workspace: WorkspaceRef | None = None
    ) -> builtins.list[Document]:
        """The workspace's live documents that hold these bytes in any version, oldest
        first (what a one-document-per-file-hash policy checks before adding)."""
        if not isinstance(sha256, str) or not SHA256_RE.match(sha256):
            raise InvalidInput(f"a SHA-256 is 64 lower-case hex digits, not {sha256!r}")
        ws_id = WorkspaceRepository(self.session).get(workspace).id
        holders = select(VersionRow.document_id).where(
            VersionRow.workspace_id == ws_id, VersionRow.sha256 == sha256
        )
        stmt = (
            select(DocumentRow)
            .where(DocumentRow.id.in_(holders), DocumentRow.deleted_at.is_(None))
            .order_by(DocumentRow.created_at, DocumentRow.id)
        )
        return [Document.model_validate(d) for d in self.session.scalars(stmt)]

    @readonly
    def list(
        self,
        *,
        workspace: WorkspaceRef | None = None,
        status: str | None = None,
        tag: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        include_deleted: bool = False,
    ) -> Page[Document]:
        """Newest first, keyset-paginated on (created_at, id): stable under concurrent inserts.
        Documents a folder sync marked deleted are left out unless ``include_deleted``."""
        if status is not None and status not in values(DocumentStatus):
            raise InvalidInput(f"unknown status {status!r}")
        if tag is not None and (not isinstance(tag, str) or "\x00" in tag):
            raise InvalidInput("a tag is text without NUL characters")
        ws = WorkspaceRepository(self.session).get(workspace)
        stmt = select(DocumentRow).where(DocumentRow.workspace_id == ws.id)
        if not include_deleted:
            stmt = stmt.where(DocumentRow.deleted_at.is_(None))
        if status is not None:
            stmt = stmt.where(DocumentRow.status == status)
        if tag is not None:
            stmt = stmt.where(json_array_contains(self.session, DocumentRow.tags, tag))
        keys = [(DocumentRow.created_at, True), (DocumentRow.id, True)]
        return page(self.session, stmt, keys, Document.model_validate, limit=limit, cursor=cursor)

    def set_status(
        self, ref: DocumentRef, status: str, *, workspace: WorkspaceRef | None = None
    ) -> Document:
        """Move a document along its lifecycle (see TRANSITIONS); anything else is refused."""
        if status not in TRANSITIONS:
            raise InvalidInput(f"unknown status {status!r}")
        row = self._row(ref, workspace)
        current = row.status
        if status not in TRANSITIONS[current]:
            raise InvalidTransition(f"document {row.id}: {current} -> {status} is not allowed")
        result = self.session.execute(
            update(DocumentRow)
            .where(DocumentRow.id == row.id, DocumentRow.status == current)
            .values(status=status, updated_at=utcnow())
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidTransition(f"document {row.id} changed status concurrently")
        self.session.expire(row)
        return Document.model_validate(self._row(row.id))

    def update(
        self,
        ref: DocumentRef,
        *,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        merge: bool = True,
        add_tags: Sequence[str] | None = None,
        remove_tags: Sequence[str] | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Document:
        """Soft updates: title, metadata (merged unless merge=False) and tags."""
        if title is not None and not isinstance(title, str):
            raise InvalidInput("a title is text")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidInput("document metadata is a JSON object")
        for tags in (add_tags, remove_tags):
            if tags is not None and (isinstance(tags, str) or not isinstance(tags, Sequence)):
                raise InvalidInput("tags are a list of strings")
        row = self._row(ref, workspace)
        values_: dict[str, Any] = {"updated_at": utcnow()}
        if title is not None:
            values_["title"] = title
        if metadata is not None:
            values_["meta"] = {**row.meta, **metadata} if merge else dict(metadata)
        if add_tags or remove_tags:
            adding: list[str] = list(add_tags or [])
            removing: set[str] = set(remove_tags or [])
            for tag_ in (*adding, *removing):
                if not isinstance(tag_, str) or not tag_.strip():
                    raise InvalidInput(f"invalid tag {tag_!r}")
            kept: list[str] = [t for t in row.tags if t not in removing]
            values_["tags"] = kept + [t for t in adding if t not in kept]
        self.session.execute(update(DocumentRow).where(DocumentRow.id == row.id).values(values_))
        self.session.expire(row)
        return Document.model_validate(self._row(row.id))

    def mark_deleted(
        self,
        keep: Collection[str],
        *,
        workspace: WorkspaceRef | None = None,
        keep_prefixes: Sequence[str] = (),
    ) -> builtins.list[str]:
        """The folder-sync deletion: mark every document of the workspace whose key is not
        in ``keep`` as deleted (soft: rows, versions and history stay; search leaves them
        out), and clear the mark of those in ``keep``. Returns the keys newly marked."""
        ws = WorkspaceRepository(self.session).get(workspace)
        rows = self.session.execute(
            select(DocumentRow.id, DocumentRow.external_key, DocumentRow.deleted_at).where(
                DocumentRow.workspace_id == ws.id
            )
        ).all()
        prefixes = tuple(keep_prefixes)
        gone = [
            r.id
            for r in rows
            if r.external_key not in keep
            and r.deleted_at is None
            and not (prefixes and r.external_key.startswith(prefixes))
        ]
        back = [r.id for r in rows if r.external_key in keep and r.deleted_at is not None]
        now = utcnow()
        for ids, value in ((gone, now), (back, None)):
            for part in range(0, len(ids), 500):
                self.session.execute(
                    update(DocumentRow)
                    .where(DocumentRow.id.in_(ids[part : part + 500]))
                    .values(deleted_at=value, updated_at=now)
                )
        return sorted(r.external_key for r in rows if r.id in set(gone))

    def delete(self, ref: DocumentRef, *, workspace: WorkspaceRef | None = None) -> Document:
        """Delete a document and everything derived from it. Its blobs stay until ``gc``."""
        row = self._row(ref, workspace)
        doc = Document.model_validate(row)
        self.session.execute(delete(DocumentRow).where(DocumentRow.id == row.id))
        return doc

    def record_versions(
        self,
        staged: Sequence[StagedVersion],
        *,
        workspace: WorkspaceRef | None = None,
        on_duplicate_content: str = "new_document",
    ) -> builtins.list[IngestResult]:
        """Name bytes already in the blob store (and noted in ``blobs``) as documents and
        versions, in set-based statements whatever the number: a new key is a new document,
        new bytes under a known key a new version, bytes the key had before make that version
        current again (``reverted``), the current bytes change nothing (``unchanged``). One
        result per item, in order. This is ingest's writing half (``documents.create`` does
        the reading and storing). ``on_duplicate_content`` says what a *new key* whose bytes
        another document of the workspace holds becomes: a second document sharing the blob
        (``new_document``), nothing (``skip``: outcome ``duplicate``, naming the holder) or a
        ``failed`` result (``error``)."""
        if on_duplicate_content not in values(DuplicatePolicy):
            raise InvalidInput(f"on_duplicate_content is one of {values(DuplicatePolicy)}")
        session = self.session
        ws_id = WorkspaceRepository(session).get(workspace).id
        now = utcnow()
        have = lookup_existing(session, ws_id, sorted({s.key for s in staged}))
        holders = (
            {}
            if on_duplicate_content == "new_document"
            else holders_of(session, ws_id, sorted({s.sha256 for s in staged}))
        )
        new_docs: dict[uuid.UUID, dict[str, Any]] = {}
        new_versions: builtins.list[dict[str, Any]] = []
        moved: dict[uuid.UUID, dict[str, Any]] = {}  # existing documents whose current moved
        results: builtins.list[IngestResult] = []
        for s in staged:
            doc_id = have.docs.get(s.key)
            if doc_id is None and s.sha256 in holders:
                results.append(duplicate_result(s, holders[s.sha256], on_duplicate_content))
                continue
            if doc_id is None:
                doc_id = have.docs[s.key] = new_id()
                new_docs[doc_id] = {
                    "id": doc_id,
                    "workspace_id": ws_id,
                    "external_key": s.key,
                    "title": s.title or s.filename,
                    "media_type": s.media_type,
                    "status": "uploaded",
                    "current_version": None,
                    "tags": [],
                    "meta": s.metadata,
                    "created_at": now,
                    "updated_at": now,
                }
            seen = have.known.get((doc_id, s.sha256))
            if seen is not None and have.current.get(doc_id) == seen[1]:
                results.append(version_result("unchanged", s, doc_id, *seen))
                continue
            outcome: IngestOutcome
            if seen is not None:
                outcome, (vid, num) = "reverted", seen
            else:
                fresh = doc_id in new_docs and not have.latest.get(doc_id)
                outcome = "added" if fresh else "new_version"
                vid, num = new_id(), have.latest.get(doc_id, 0) + 1
                have.latest[doc_id] = num
                have.known[(doc_id, s.sha256)] = (vid, num)
                new_versions.append(
                    {
                        "id": vid,
                        "workspace_id": ws_id,
                        "document_id": doc_id,
                        "version_number": num,
                        "sha256": s.sha256,
                        "size_bytes": s.size_bytes,
                        "media_type": s.media_type,
                        "original_filename": s.filename,
                        "page_count": s.page_count,
                        "meta": {},
                        "created_at": now,
                    }
                )
            have.current[doc_id] = num
            if doc_id in new_docs:
                new_docs[doc_id].update(current_version=num, media_type=s.media_type)
            else:
                moved[doc_id] = {"doc_id": doc_id, "cur": num, "mt": s.media_type}
            results.append(version_result(outcome, s, doc_id, vid, num))
            if on_duplicate_content != "new_document":
                holders.setdefault(s.sha256, (doc_id, vid, num, s.key))
        write_rows(session, list(new_docs.values()), new_versions, list(moved.values()), now)
        known = [
            have.docs[s.key]
            for s in staged
            if s.key in have.docs and have.docs[s.key] not in new_docs
        ]
        if known:  # a file seen again brings back a document a folder sync marked deleted
            session.execute(
                update(DocumentRow)
                .where(
                    in_values(session, DocumentRow.id, known), DocumentRow.deleted_at.is_not(None)
                )
                .values(deleted_at=None, updated_at=now)
            )
        return results
