"""A mail's attachments, and a zip archive's files, as documents of their own
(``documents.unpack``; archives: ``docledger.services.archive_members``).

Invoices, drawings and reports reach a pipeline attached to mail. The mail extractors list
the attachments; unpacking ingests each attached file as a document keyed under its mail
(``<mail key>/attachments/<n>-<file name>``), with ``attached_to`` (the mail's document id)
and ``from_version`` in its metadata, and records the lineage: an ``ingest`` run named
``unpack`` that read the mail's version and produced each attachment's version. Unpacking
again is idempotent (the same bytes under the same keys are ``unchanged``); a new version of
the mail whose attachment changed adds a version to that attachment's document.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors import mail, outlook
from docledger.repositories.document import DocumentRef, DocumentRepository
from docledger.repositories.lineage import LineageRepository
from docledger.repositories.run import RunRepository
from docledger.repositories.workspace import WorkspaceRef
from docledger.schemas import IngestResult
from docledger.services import archive_members
from docledger.services.scope import Scope
from docledger.services.sources import Source, make_source

#: What can be unpacked, and how its attached files are read.
READERS = {
    mail.MEDIA_TYPE: mail.attachment_files,
    mail.MAILBOX: mail.attachment_files,
    outlook.MEDIA_TYPE: outlook.attachment_files,
}
#: Office documents whose pictures and embedded files (a chart's workbook, an attached
#: object) unpack, by the package folders that hold them.
OFFICE_PARTS: dict[str, tuple[str, ...]] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "word/media/", "word/embeddings/"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "ppt/media/", "ppt/embeddings/"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        "xl/media/", "xl/embeddings/"),
    "application/vnd.ms-excel.sheet.macroEnabled.12": ("xl/media/", "xl/embeddings/"),
    "application/vnd.oasis.opendocument.text": ("Pictures/",),
    "application/vnd.oasis.opendocument.spreadsheet": ("Pictures/",),
    "application/vnd.oasis.opendocument.presentation": ("Pictures/",),
}  # fmt: skip
#: A file name's characters that cannot be part of one key segment.
_UNSAFE = re.compile(r"[/\\\x00-\x1f]+")
#: Characters a mail's attachment name may carry that no stored name keeps.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _name(index: int, filename: str | None) -> str:
    clean = _UNSAFE.sub("_", (filename or "").strip()).strip(". ")[:150]
    return f"{index:02d}-{clean or 'attachment'}"


def attachment_sources(scope: Scope, document: DocumentRef,
                       workspace: WorkspaceRef | None) -> tuple[Any, list[Source]]:  # fmt: skip
    """The document's current version, and a source per file it holds (a mail's attached
    files, an archive's files, an office document's pictures and embedded files)."""
    with scope.session(readonly=True) as session:
        repo = DocumentRepository(session)
        doc = repo.get(document, workspace=workspace)
        version = repo.version(doc.id, workspace=workspace)
    kind = version.media_type or ""
    reader = READERS.get(kind)
    if reader is None and kind not in archive_members.MEDIA_TYPES and kind not in OFFICE_PARTS:
        raise InvalidInput(
            f"document {doc.external_key} is {version.media_type}: only mail "
            f"({', '.join(sorted(READERS))}) has attachments to unpack, only an archive "
            "(zip, tar, gzip, bzip2, xz) files, and only an office document (Word, "
            "PowerPoint, Excel, OpenDocument) pictures and embedded files"
        )
    with scope.blobs.open(version.sha256) as handle:
        data = handle.read()
    if reader is None:
        unpacked = {"unpacked_from": str(doc.id), "from_version": str(version.id)}
        found = archive_members.member_sources(
            data, doc.external_key, unpacked, kind, OFFICE_PARTS.get(kind, ())
        )
        return version, list(found)
    sources = []
    for n, (raw_name, body) in enumerate(reader(data), 1):
        filename = _CONTROL.sub("", raw_name or "").strip() or None
        key = f"{doc.external_key}/attachments/{_name(n, filename)}"
        meta: dict[str, Any] = {"attached_to": str(doc.id), "from_version": str(version.id),
                                "attachment": filename}  # fmt: skip
        sources.append(make_source(body, external_key=key, filename=filename, metadata=meta))
    return version, sources


def record_lineage(
    scope: Scope, version_id: uuid.UUID, results: list[IngestResult],
    workspace: WorkspaceRef | None,
) -> None:  # fmt: skip
    """An ``ingest`` run named ``unpack``: it read the mail's version and produced the
    attachments' versions."""
    produced = [("version", r.version_id) for r in results if r.version_id is not None]
    with scope.session() as session:
        runs = RunRepository(session)
        run = runs.create("unpack", "ingest", params={"version": str(version_id)},
                          workspace=workspace)  # fmt: skip
        lineage = LineageRepository(session)
        lineage.link(run.id, "in", [("version", version_id)], workspace=workspace)
        if produced:
            lineage.link(run.id, "out", produced, workspace=workspace)
        runs.finish(run.id, "succeeded", workspace=workspace)
