"""What a search leaves out (``search_scope.excluded_extractions``) is found from a few indexed
rows since migration 0021; here it is checked against the rule computed plainly over every
extraction of a store with every case in it, on both dialects, in two workspaces."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from docledger import Ledger
from docledger.db.session import session_scope
from docledger.models import Document as DocumentRow
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Extraction as ExtractionRow
from docledger.services.search_scope import excluded_extractions


def _zone(text: str) -> list[dict[str, str]]:
    return [{"kind": "zone", "text": text}]


def _store(ledger: Ledger, workspace: str) -> None:
    """Every reason to be left out, and every reason not to be, in one workspace."""
    docs = ledger.documents
    record = ledger.extractions.record
    # a plain document: one version, one extraction, searched
    plain = docs.create(b"plain " + workspace.encode(), external_key="plain", workspace=workspace)
    record(plain.version_id, "zones", "1", {}, _zone("plain"), workspace=workspace)
    # a new version: the first one's extractions leave search
    first = docs.create(b"v1 " + workspace.encode(), external_key="grown", workspace=workspace)
    record(first.version_id, "zones", "1", {}, _zone("v1"), workspace=workspace)
    second = docs.create(b"v2 " + workspace.encode(), external_key="grown", workspace=workspace)
    record(second.version_id, "zones", "1", {}, _zone("v2"), workspace=workspace)
    # a revert: re-ingesting version 1's bytes makes it current again, version 2 leaves
    back = docs.create(b"r1 " + workspace.encode(), external_key="reverted", workspace=workspace)
    record(back.version_id, "zones", "1", {}, _zone("r1"), workspace=workspace)
    ahead = docs.create(b"r2 " + workspace.encode(), external_key="reverted", workspace=workspace)
    record(ahead.version_id, "zones", "1", {}, _zone("r2"), workspace=workspace)
    docs.create(b"r1 " + workspace.encode(), external_key="reverted", workspace=workspace)
    # reruns: a newer run of the same extractor replaces the older; another extractor stays;
    # a failed newer run replaces nothing and is left out itself
    rerun = docs.create(b"rr " + workspace.encode(), external_key="rerun", workspace=workspace)
    record(rerun.version_id, "zones", "1", {}, _zone("rr old"), workspace=workspace)
    record(rerun.version_id, "zones", "2", {}, _zone("rr new"), workspace=workspace)
    record(rerun.version_id, "ocr", "1", {}, _zone("rr ocr"), workspace=workspace)
    ledger.extractions.record_failure(
        rerun.version_id, "zones", "3", {}, "it broke", workspace=workspace
    )
    # a lone failure
    broken = docs.create(b"bad " + workspace.encode(), external_key="broken", workspace=workspace)
    ledger.extractions.record_failure(
        broken.version_id, "zones", "1", {}, "unreadable", workspace=workspace
    )
    # a failed run that later succeeds with the same key (its status changes)
    healed = docs.create(b"heal " + workspace.encode(), external_key="healed", workspace=workspace)
    record(healed.version_id, "zones", "1", {}, _zone("heal old"), workspace=workspace)
    ledger.extractions.record_failure(
        healed.version_id, "zones", "2", {}, "flaky", workspace=workspace
    )
    record(healed.version_id, "zones", "2", {}, _zone("heal new"), workspace=workspace)
    # the newest run of a pair removed: the one before it is current again
    undone = docs.create(b"undo " + workspace.encode(), external_key="undone", workspace=workspace)
    record(undone.version_id, "zones", "1", {}, _zone("undo old"), workspace=workspace)
    newest = record(undone.version_id, "zones", "2", {}, _zone("undo new"), workspace=workspace)
    with session_scope(ledger.engine) as session:
        session.execute(delete(ExtractionRow).where(ExtractionRow.id == newest.extraction.id))
    # a document deleted with its reruns (a cascade through the triggers)
    dropped = docs.create(
        b"drop " + workspace.encode(), external_key="dropped", workspace=workspace
    )
    record(dropped.version_id, "zones", "1", {}, _zone("drop"), workspace=workspace)
    record(dropped.version_id, "zones", "2", {}, _zone("drop"), workspace=workspace)
    docs.delete("dropped", workspace=workspace)
    # a document a folder sync found gone
    gone = docs.create(b"gone " + workspace.encode(), external_key="gone", workspace=workspace)
    record(gone.version_id, "zones", "1", {}, _zone("gone"), workspace=workspace)
    with session_scope(ledger.engine) as session:
        session.execute(
            update(DocumentRow)
            .where(DocumentRow.id == gone.document_id)
            .values(deleted_at=datetime.now(UTC))
        )


def _reference(ledger: Ledger, workspace_id: uuid.UUID, include_superseded: bool) -> set[str]:
    """The rule as the docstring of ``excluded_extractions`` states it, over every row."""
    with session_scope(ledger.engine, readonly=True) as s:
        rows = s.execute(
            select(ExtractionRow, VersionRow, DocumentRow)
            .join(VersionRow, VersionRow.id == ExtractionRow.version_id)
            .join(DocumentRow, DocumentRow.id == VersionRow.document_id)
            .where(DocumentRow.workspace_id == workspace_id)
        ).all()
        out = set()
        for ex, ver, doc in rows:
            newer = any(
                o.version_id == ex.version_id
                and o.extractor == ex.extractor
                and o.status == "succeeded"
                and (o.created_at, o.id) > (ex.created_at, ex.id)
                for o, _, _ in rows
            )
            gone = doc.deleted_at is not None or ex.status != "succeeded"
            old = doc.current_version is not None and ver.version_number != doc.current_version
            if gone or (not include_superseded and (old or newer)):
                out.add(str(ex.id))
        return out


def test_what_search_leaves_out_follows_the_rule(ledger: Ledger) -> None:
    for slug in ("one", "two"):
        ledger.workspaces.create(slug)
        _store(ledger, slug)
    for slug in ("one", "two"):
        ws = ledger.workspaces.get(slug).id
        for include_superseded in (False, True):
            with session_scope(ledger.engine, readonly=True) as session:
                found = {str(e) for e in excluded_extractions(session, ws, include_superseded)}
            expected = _reference(ledger, ws, include_superseded)
            assert found == expected, (slug, include_superseded)
            assert len(expected) == (3 if include_superseded else 7)
    words = "plain v1 v2 r1 r2 rr old new ocr gone heal undo drop"
    texts = {h.text for h in ledger.search.text(words, k=50, workspace="one")}
    assert texts == {"plain", "v2", "r1", "rr new", "rr ocr", "heal new", "undo old"}
