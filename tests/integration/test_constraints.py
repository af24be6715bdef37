"""Every kind of constraint in the schema rejects or cascades as designed, on both dialects,
and arrives as the same DocledgerError subclass with the same constraint name."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, update
from sqlalchemy.orm import Session

from docledger import models as m
from docledger.db.session import session_scope
from docledger.errors import (
    CheckViolation,
    Conflict,
    DocledgerError,
    ForeignKeyViolation,
    IntegrityViolation,
    NotNullViolation,
)
from docledger.ledger import Ledger

from .conftest import Chain, build_chain, sha


def _count(ledger: Ledger, model: Any) -> int:
    with session_scope(ledger.engine, readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def segment(chain: Chain, **overrides: Any) -> m.Segment:
    values: dict[str, Any] = {
        "workspace_id": chain.workspace_id,
        "extraction_id": chain.extraction_id,
        "version_id": chain.version_id,
        "ordinal": 1,
        "kind": "zone",
    }
    values.update(overrides)
    return m.Segment(**values)


CASES: list[tuple[str, Callable[[Chain], Any], type[DocledgerError], str]] = [
    (
        "confidence above 1",
        lambda c: segment(c, confidence=1.5),
        CheckViolation,
        "ck_segments_confidence_0_1",
    ),
    (
        "confidence below 0",
        lambda c: segment(c, confidence=-0.1),
        CheckViolation,
        "ck_segments_confidence_0_1",
    ),
    (
        "unknown segment kind",
        lambda c: segment(c, kind="blob"),
        CheckViolation,
        "ck_segments_kind_valid",
    ),
    (
        "page number 0",
        lambda c: segment(c, page_number=0),
        CheckViolation,
        "ck_segments_page_number_min",
    ),
    (
        "duplicate ordinal",
        lambda c: segment(c, ordinal=0),
        Conflict,
        "uq_segments_extraction_id_ordinal",
    ),
    (
        "segment of a missing extraction",
        lambda c: segment(c, extraction_id=uuid.uuid4()),
        ForeignKeyViolation,
        "",
    ),
    (
        "duplicate (document, sha256)",
        lambda c: m.DocumentVersion(
            workspace_id=c.workspace_id,
            document_id=c.document_id,
            version_number=2,
            sha256=c.sha256,
            size_bytes=8,
        ),
        Conflict,
        "uq_document_versions_document_id_sha256",
    ),
    (
        "duplicate (document, version number)",
        lambda c: [
            m.Blob(sha256="e" * 64, size_bytes=1, storage_uri="x"),
            m.DocumentVersion(
                workspace_id=c.workspace_id,
                document_id=c.document_id,
                version_number=1,
                sha256="e" * 64,
                size_bytes=1,
            ),
        ],
        Conflict,
        "uq_document_versions_document_id_version_number",
    ),
    (
        "version of a missing blob",
        lambda c: m.DocumentVersion(
            workspace_id=c.workspace_id,
            document_id=c.document_id,
            version_number=2,
            sha256="f" * 64,
            size_bytes=8,
        ),
        ForeignKeyViolation,
        "",
    ),
    (
        "document status",
        lambda c: m.Document(workspace_id=c.workspace_id, external_key="x", status="lost"),
        CheckViolation,
        "ck_documents_status_valid",
    ),
    (
        "duplicate external key",
        lambda c: m.Document(workspace_id=c.workspace_id, external_key="a.pdf"),
        Conflict,
        "uq_documents_workspace_id_external_key",
    ),
    (
        "blob hash length",
        lambda c: m.Blob(sha256="abc", size_bytes=1, storage_uri="x"),
        CheckViolation,
        "ck_blobs_sha256_hex",
    ),
    (
        "job priority",
        lambda c: m.Job(task="t", priority=5000),
        CheckViolation,
        "ck_jobs_priority_range",
    ),
    (
        "job status",
        lambda c: m.Job(task="t", status="sleeping"),
        CheckViolation,
        "ck_jobs_status_valid",
    ),
    (
        "job max attempts",
        lambda c: m.Job(task="t", max_attempts=0),
        CheckViolation,
        "ck_jobs_max_attempts_min",
    ),
    (
        "finding confidence",
        lambda c: m.Finding(workspace_id=c.workspace_id, kind="feature", title="t", confidence=2.0),
        CheckViolation,
        "ck_findings_confidence_0_1",
    ),
    (
        "link strength",
        lambda c: m.FindingLink(
            finding_id=uuid.uuid4(), target_type="segment", target_id="x", strength=-1
        ),
        CheckViolation,
        "ck_finding_links_strength_0_1",
    ),
    (
        "annotation target",
        lambda c: m.Annotation(
            workspace_id=c.workspace_id,
            target_type="segment",
            document_id=c.document_id,
            kind="label",
            value={},
        ),
        CheckViolation,
        "ck_annotations_target_matches_type",
    ),
    (
        "message role",
        lambda c: m.Message(conversation_id=uuid.uuid4(), role="robot", content="hi"),
        CheckViolation,
        "ck_messages_role_valid",
    ),
    (
        "embedding without vector",
        lambda c: m.Embedding(
            workspace_id=c.workspace_id, space_id=uuid.uuid4(), segment_id=c.segment_id
        ),
        CheckViolation,
        "ck_embeddings_has_vector_or_ref",
    ),
    (
        "missing title",
        lambda c: m.Finding(workspace_id=c.workspace_id, kind="feature", title=None),
        NotNullViolation,
        "",
    ),
]


@pytest.mark.parametrize(("label", "make", "error", "constraint"), CASES, ids=[c[0] for c in CASES])
def test_constraint_rejects(
    ledger: Ledger,
    chain: Chain,
    label: str,
    make: Callable[[Chain], Any],
    error: type[DocledgerError],
    constraint: str,
) -> None:
    before = _count(ledger, m.Segment), _count(ledger, m.DocumentVersion), _count(ledger, m.Job)
    with pytest.raises(error) as info, session_scope(ledger.engine) as s:
        s.add(m.Job(task="written-first"))  # must be rolled back with the bad row
        s.flush()
        made = make(chain)
        for row in made if isinstance(made, list) else [made]:
            s.add(row)
            s.flush()
    assert isinstance(info.value, IntegrityViolation)
    if constraint:
        assert info.value.constraint == constraint
    assert str(info.value)  # a message a person can read
    after = _count(ledger, m.Segment), _count(ledger, m.DocumentVersion), _count(ledger, m.Job)
    assert after == before, f"{label}: nothing may be left behind"


def test_one_production_model_per_name(ledger: Ledger) -> None:
    """Per name and workspace; store-wide models (no workspace) have an index of their own."""
    ws = ledger.workspaces.get().id
    for workspace, index in (
        (ws, "ux_model_versions_production"),
        (None, "ux_model_versions_production_shared"),
    ):
        with session_scope(ledger.engine) as s:
            s.add_all(
                [
                    m.ModelVersion(
                        workspace_id=workspace, name="clf", version=1, stage="production"
                    ),
                    m.ModelVersion(workspace_id=workspace, name="clf", version=2, stage="staging"),
                    m.ModelVersion(
                        workspace_id=workspace, name="other", version=1, stage="production"
                    ),
                ]
            )
        with pytest.raises(Conflict) as info, session_scope(ledger.engine) as s:
            s.execute(
                update(m.ModelVersion)
                .where(
                    m.ModelVersion.version == 2,
                    m.ModelVersion.workspace_id.is_(workspace)
                    if workspace is None
                    else m.ModelVersion.workspace_id == workspace,
                )
                .values(stage="production")
            )
        assert info.value.constraint == index
    with pytest.raises(Conflict) as info, session_scope(ledger.engine) as s:
        s.add(m.ModelVersion(workspace_id=ws, name="clf", version=2, stage="none"))
    assert info.value.constraint == "ux_model_versions_version"


def test_deleting_a_document_cascades_to_what_was_derived(ledger: Ledger) -> None:
    chain = build_chain(ledger)
    other = build_chain(ledger, key="b.pdf", content=b"other")
    with session_scope(ledger.engine) as s:
        child = segment(chain, ordinal=1, parent_id=chain.segment_id)
        s.add(child)
        s.add(
            m.Annotation(
                workspace_id=chain.workspace_id,
                target_type="segment",
                document_id=chain.document_id,
                segment_id=chain.segment_id,
                kind="label",
                value={"label": "x"},
            )
        )
        space = m.EmbeddingSpace(name="s", model="m", dimensions=2)
        s.add(space)
        s.flush()
        s.add(
            m.Embedding(
                workspace_id=chain.workspace_id,
                space_id=space.id,
                segment_id=chain.segment_id,
                vector=b"\0" * 8,
            )
        )
        s.add(m.Job(task="extract", document_id=chain.document_id))
    with session_scope(ledger.engine) as s:
        s.delete(s.get(m.Document, chain.document_id))
    with session_scope(ledger.engine, readonly=True) as s:

        def ids(model: Any, column: Any) -> list[Any]:
            return list(s.scalars(select(column)))

        assert ids(m.DocumentVersion, m.DocumentVersion.id) == [other.version_id]
        assert ids(m.Extraction, m.Extraction.id) == [other.extraction_id]
        assert ids(m.Segment, m.Segment.id) == [other.segment_id]
        assert ids(m.Annotation, m.Annotation.id) == []
        assert ids(m.Embedding, m.Embedding.id) == []
        assert ids(m.Job, m.Job.id) == []
        # Blobs are shared by content and freed only by gc, never by a cascade.
        assert set(ids(m.Blob, m.Blob.sha256)) == {chain.sha256, sha(b"other")}


def test_every_foreign_key_is_indexed(ledger: Ledger) -> None:
    insp = inspect(ledger.engine)
    missing = []
    for table in insp.get_table_names():
        leading = [ix["column_names"] for ix in insp.get_indexes(table)]
        leading += [uq["column_names"] for uq in insp.get_unique_constraints(table)]
        leading.append(insp.get_pk_constraint(table)["constrained_columns"])
        for fk in insp.get_foreign_keys(table):
            cols = fk["constrained_columns"]
            if not any(ix[: len(cols)] == cols for ix in leading):
                missing.append(f"{table}.{','.join(cols)}")
    assert missing == []


def test_naive_datetimes_are_refused(ledger: Ledger) -> None:
    from datetime import datetime  # noqa: PLC0415

    from docledger.errors import InvalidInput  # noqa: PLC0415

    before = _count(ledger, m.Job)
    with pytest.raises(InvalidInput), session_scope(ledger.engine) as s:
        s.add(m.Job(task="t", run_after=datetime(2026, 1, 1)))  # noqa: DTZ001 - the point
        s.flush()
    assert _count(ledger, m.Job) == before


def test_session_scope_translates_and_leaves_nothing(ledger: Ledger) -> None:
    ledger.users.create("a@example.org")

    def write_then_conflict(s: Session) -> None:
        s.add(m.Workspace(slug="tmp", name="tmp"))
        s.flush()
        s.add(m.User(email="a@example.org", name="dup"))
        s.flush()

    with pytest.raises(Conflict) as info, session_scope(ledger.engine) as s:
        write_then_conflict(s)
    assert info.value.constraint == "uq_users_email"
    assert isinstance(info.value.__cause__, Exception)  # the driver error is chained
    assert [w.slug for w in ledger.workspaces.list().items] == ["default"]
