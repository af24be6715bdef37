"""Workspace isolation by id: every public method that takes a workspace, called with another
workspace's ids, answers NotFound and changes nothing (issue 13, defect 1).

The walk is exhaustive by construction: every public method of every repository and service
that accepts ``workspace`` is either called here with workspace B's ids while naming workspace
A, or listed in ``NOT_BY_ID`` with the reason it addresses nothing by id. A new method that is
neither fails ``test_every_workspace_method_is_classified``.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from docledger import Ledger, NotFound
from docledger import models as m
from docledger.db.session import session_scope
from docledger.surface.registry import SURFACE, kind, methods

#: methods with a ``workspace`` argument that name no entity by id: they list, create or
#: search within the workspace they are given (their own tests cover the scoping).
NOT_BY_ID = {
    "memberships.create": "workspace and user by slug/email",
    "memberships.remove": "workspace and user by slug/email",
    "memberships.list": "lists one workspace",
    "api_keys.create": "issues a key in the workspace it is given",
    "api_keys.list": "lists one workspace",
    "model_versions.list": "lists one workspace's models",
    "jobs.list": "lists one workspace's jobs",
    "jobs.stats": "counts one workspace's jobs",
    "documents.list": "lists one workspace",
    "documents.mark_deleted": "keys within one workspace",
    "documents.create": "creates in the workspace",
    "documents.create_many": "creates in the workspace",
    "documents.create_from_paths": "creates in the workspace",
    "documents.sync": "creates in the workspace",
    "documents.record_versions": "names stored bytes under keys of the workspace",
    "datasets.list": "lists one workspace",
    "jobs.enqueue": "tags the new job with the workspace",
    "datasets.snapshot": "creates in the workspace",
    "runs.create": "creates in the workspace",
    "runs.start": "creates in the workspace",
    "runs.list": "lists one workspace",
    "segments.low_confidence": "lists one workspace (extraction filter checked below)",
    "extractions.document_ids": "lists one workspace",
    "search.vector": "searches one workspace",
    "search.embed_missing": "embeds one workspace's segments",
    "embeddings.missing_segments": "lists one workspace's segments",
    "search.text": "searches one workspace",
    "search.hybrid": "searches one workspace",
    "documents.find_by_sha256": "looks a hash up within one workspace",
    "findings.create_kind": "creates in the workspace",
    "findings.kinds": "lists one workspace",
    "findings.review_queue": "lists one workspace",
    "findings.summarize": "counts one workspace",
    "exports.create": "creates in the workspace; another workspace's ids in the selection are "
    "refused as InvalidInput (test_exports)",
    "exports.list": "lists one workspace",
    "maintenance.dump": "writes one workspace's rows (picked by its id); test_portable",
    "maintenance.move": "copies one workspace's rows (picked by its id); test_portable",
    "exports.import_label_studio": "segment ids come inside the file: another workspace's are "
    "counted unmatched (test_exports)",
}

#: how to call each method addressed by id: its arguments, given B's ids
CALLS: dict[str, Callable[[dict[str, Any]], tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "documents.get": lambda b: ((b["document"],), {}),
    "documents.current": lambda b: ((b["document"],), {}),
    "documents.current_many": lambda b: (([b["document"]],), {}),
    "documents.detail": lambda b: ((b["document"],), {}),
    "documents.versions": lambda b: ((b["document"],), {}),
    "documents.version": lambda b: ((b["document"],), {}),
    "documents.get_version": lambda b: ((b["version"],), {}),
    "documents.set_status": lambda b: ((b["document"], "archived"), {}),
    "documents.update": lambda b: ((b["document"],), {"title": "stolen"}),
    "documents.delete": lambda b: ((b["document"],), {}),
    "documents.open": lambda b: ((b["document"],), {}),
    "documents.render": lambda b: ((b["document"],), {}),
    "documents.unpack": lambda b: ((b["document"],), {}),
    "annotations.create": lambda b: (("segment", b["segment"], "label", {"label": "x"}), {}),
    "annotations.get": lambda b: ((b["annotation"],), {}),
    "annotations.history": lambda b: ((b["annotation"],), {}),
    "annotations.update": lambda b: (
        (b["annotation"],),
        {"expected_revision": 2, "value": {"label": "x"}},
    ),
    "annotations.set_status": lambda b: (
        (b["annotation"], "approved"),
        {"expected_revision": 2},
    ),
    "annotations.list": lambda b: ((), {"document": b["document"]}),
    "datasets.get": lambda b: ((b["dataset"],), {}),
    "datasets.items": lambda b: ((b["dataset"],), {}),
    "runs.get": lambda b: ((b["run"],), {}),
    "runs.finish": lambda b: ((b["run"],), {}),
    "runs.log": lambda b: ((b["run"], "stolen"), {}),
    "runs.events": lambda b: ((b["run"],), {}),
    "runs.log_metrics": lambda b: ((b["run"], {"loss": 1.0}), {}),
    "runs.log_metrics_batch": lambda b: ((b["run"], [("loss", 1.0, 1)]), {}),
    "runs.metric_series": lambda b: ((b["run"], "loss"), {}),
    "runs.latest_metrics": lambda b: ((b["run"],), {}),
    "lineage.link": lambda b: ((b["run"], "in", [("document", b["document"])]), {}),
    "lineage.edges": lambda b: ((b["run"],), {}),
    "extractions.get": lambda b: ((b["extraction"],), {}),
    "extractions.of_version": lambda b: ((b["version"],), {}),
    "extractions.find": lambda b: ((b["version"], "text", "2"), {}),
    "extractions.record": lambda b: ((b["version"], "evil", "1", {}, []), {}),
    "extractions.record_many": lambda b: (([(b["version"], "evil", "1", {}, [])],), {}),
    "extractions.record_failure": lambda b: ((b["version"], "evil", "1", {}, "x"), {}),
    "extractions.run": lambda b: (([b["document"]],), {}),
    "extractions.import_elements": lambda b: ((b["document"], ELEMENTS), {}),
    "segments.get": lambda b: ((b["segment"],), {}),
    "segments.of_extraction": lambda b: ((b["extraction"],), {}),
    "segments.of_version": lambda b: ((b["version"],), {}),
    "page_images.of_version": lambda b: ((b["version"],), {}),
    "runs.delete": lambda b: ((b["run"],), {}),
    "findings.create": lambda b: (
        ("feature", "stolen"),
        {"evidence": [{"target": ("segment", b["segment"])}]},
    ),
    "findings.list": lambda b: ((), {"run": b["run"]}),
    "findings.get": lambda b: ((b["finding"],), {}),
    "findings.history": lambda b: ((b["finding"],), {}),
    "findings.evidence": lambda b: ((b["finding"],), {}),
    "findings.outputs": lambda b: ((b["finding"],), {}),
    "findings.attachments": lambda b: ((b["finding"],), {}),
    "findings.read_attachment": lambda b: ((b["finding"], "overlay"), {}),
    "findings.attach": lambda b: ((b["finding"], "overlay", b"stolen"), {}),
    "findings.confirm": lambda b: ((b["finding"],), {}),
    "findings.reject": lambda b: ((b["finding"],), {}),
    "findings.reopen": lambda b: ((b["finding"],), {}),
    "findings.update": lambda b: ((b["finding"],), {"title": "stolen"}),
    "findings.delete": lambda b: ((b["finding"],), {}),
    "findings.merge": lambda b: ((b["finding"],), {"into": b["other_finding"]}),
    "findings.create_output": lambda b: ((b["finding"], "epic", {}), {}),
    "findings.link": lambda b: ((b["finding"], ("segment", b["segment"]), "supports"), {}),
    "findings.unlink": lambda b: ((b["finding"], ("segment", b["segment"])), {}),
    "findings.link_many": lambda b: (
        ([{"finding": b["finding"], "target": ("segment", b["segment"])}],),
        {},
    ),
    "findings.summarize_run": lambda b: ((b["run"],), {}),
    "api_keys.get": lambda b: ((b["api_key"],), {}),
    "jobs.get": lambda b: ((b["job"],), {}),
    "jobs.get_many": lambda b: (([b["job"], b["dead_job"]],), {}),
    "lineage.upstream": lambda b: ((("segment", str(b["segment"])),), {}),
    "lineage.downstream": lambda b: ((("document", str(b["document"])),), {}),
    "jobs.cancel": lambda b: ((b["job"],), {}),
    "jobs.retry": lambda b: ((b["dead_job"],), {}),
    "api_keys.revoke": lambda b: ((b["api_key"],), {}),
    "conversations.create": lambda b: ((), {"run": b["run"]}),
    "conversations.list": lambda b: ((), {"run": b["run"]}),
    "conversations.get": lambda b: ((b["conversation"],), {}),
    "conversations.messages": lambda b: ((b["conversation"],), {}),
    "conversations.delete": lambda b: ((b["conversation"],), {}),
    "conversations.create_message": lambda b: ((b["conversation"], "user", "x"), {}),
    "conversations.log_query": lambda b: ((b["conversation"], "q", []), {}),
    "conversations.create_feedback": lambda b: ((b["message"], -1), {}),
    "exports.get": lambda b: ((b["export"],), {}),
    "model_versions.get": lambda b: ((b["model"],), {}),
    "model_versions.promote": lambda b: ((b["model"], 1, "production"), {}),
    "model_versions.create": lambda b: (("stolen", b["run"]), {"artifact": b"stolen"}),
    "model_versions.create_version": lambda b: (("stolen",), {"run": b["run"]}),
    "exports.history": lambda b: ((b["export"],), {}),
    "exports.delete": lambda b: ((b["export"],), {}),
    "exports.resume": lambda b: ((b["export"],), {}),
    "exports.reproduce": lambda b: ((b["export"],), {}),
    "exports.open_file": lambda b: ((b["export"], "segments.jsonl"), {}),
    "exports.download": lambda b: ((b["export"], "/nonexistent/docledger-isolation"), {}),
}


ELEMENTS = b'[{"type": "NarrativeText", "text": "x", "metadata": {"page_number": 1}}]'


def _methods_with_workspace() -> list[str]:
    names: set[str] = set()
    for owner, cls in SURFACE.items():
        for method, fn in methods(cls):
            if kind(fn) != "alias" and "workspace" in inspect.signature(fn).parameters:
                names.add(f"{owner}.{method}")
    return sorted(names)


def test_every_workspace_method_is_classified() -> None:
    unclassified = [n for n in _methods_with_workspace() if n not in CALLS and n not in NOT_BY_ID]
    assert unclassified == []
    stale = [n for n in [*CALLS, *NOT_BY_ID] if n not in _methods_with_workspace()]
    assert stale == []


def _counts(ledger: Ledger) -> dict[str, int]:
    tables = [
        m.Document,
        m.DocumentVersion,
        m.Extraction,
        m.Segment,
        m.Annotation,
        m.AnnotationEvent,
        m.Run,
        m.RunEvent,
        m.MetricChunk,
        m.LineageEdge,
        m.Dataset,
        m.PageImage,
        m.Finding,
        m.FindingLink,
        m.FindingEvent,
        m.FindingOutput,
        m.FindingBlob,
        m.Conversation,
        m.Message,
        m.Retrieval,
        m.MessageFeedback,
        m.Export,
        m.ExportFile,
        m.ExportEvent,
        m.Blob,
        m.ApiKey,
        m.ModelVersion,
        m.Job,
        m.JobEvent,
    ]
    with session_scope(ledger.engine, readonly=True) as s:
        return {
            t.__tablename__: int(s.scalar(select(func.count()).select_from(t)) or 0) for t in tables
        }


@pytest.fixture
def victim(ledger: Ledger) -> dict[str, Any]:
    """Workspace B's entities, and an empty workspace A to attack from."""
    ledger.workspaces.create("a")
    ledger.workspaces.create("b")
    added = ledger.documents.create(
        b"Quarterly report.\n\nRevenue grew.", external_key="secret.txt", workspace="b"
    )
    ledger.extractions.run([added.document_id], workspace="b")
    (extraction,) = ledger.extractions.of_version(added.version_id)
    segment = ledger.segments.of_extraction(extraction.id)[-1]
    note = ledger.annotations.create(
        "segment", segment.id, "label", {"label": "revenue"}, status="submitted"
    )
    ledger.annotations.set_status(note.id, "approved", expected_revision=1)
    dataset = ledger.datasets.snapshot("train", workspace="b")
    run = ledger.runs.create("train", "training", workspace="b")
    ledger.runs.log_metrics(run.id, {"loss": 0.5})
    found = ledger.findings.create(
        "feature", "secret", run=run.id, evidence=[{"target": segment}], workspace="b"
    )
    other = ledger.findings.create("feature", "other", workspace="b")
    ledger.findings.attach(found.id, "overlay", b"secret overlay", workspace="b")
    talk = ledger.conversations.create(title="secret", workspace="b")
    said = ledger.conversations.log_query(talk.id, "revenue?", [segment], answer="grew")
    export = ledger.exports.create({}, ["jsonl"], workspace="b")
    key = ledger.api_keys.create("b", "secret key", "owner")
    job = ledger.jobs.enqueue("secret.task", {"x": 1}, workspace="b")
    dead = ledger.jobs.enqueue("secret.task", {"x": 2}, workspace="b")
    ledger.model_versions.create("secret-model", run.id, artifact=b"weights")
    ledger.jobs.cancel(dead.id)
    return {
        "job": job.id,
        "dead_job": dead.id,
        "api_key": key.key.id,
        "export": export.id,
        "finding": found.id,
        "other_finding": other.id,
        "conversation": talk.id,
        "message": said.id,
        "document": added.document_id,
        "version": added.version_id,
        "extraction": extraction.id,
        "segment": segment.id,
        "annotation": note.id,
        "dataset": dataset.id,
        "run": run.id,
        "model": "secret-model",
    }


def _call(ledger: Ledger, name: str, b: dict[str, Any]) -> Any:
    owner, method = name.split(".")
    args, kwargs = CALLS[name](b)
    return getattr(getattr(ledger, owner), method)(*args, **kwargs, workspace="a")


@pytest.mark.parametrize("name", sorted(CALLS))
def test_another_workspaces_ids_are_not_found(
    ledger: Ledger, victim: dict[str, Any], name: str
) -> None:
    before = _counts(ledger)
    # batch methods answer a reference they cannot see per item, as "not found" (one bad
    # input never stops a batch), instead of raising
    if name == "documents.current_many":
        assert _call(ledger, name, victim) == {}
    elif name == "jobs.get_many":
        assert _call(ledger, name, victim) == []
    elif name == "extractions.run":
        (outcome,) = _call(ledger, name, victim)
        assert outcome.extraction_id is None
        assert outcome.error == f"no document {victim['document']}"
    else:
        with pytest.raises(NotFound):
            result = _call(ledger, name, victim)
            if hasattr(result, "read"):  # open() must not hand out B's bytes either
                result.read()
    assert _counts(ledger) == before
    # B still has everything, unchanged
    assert ledger.documents.get(victim["document"], workspace="b").title != "stolen"
    assert ledger.runs.get(victim["run"], workspace="b").status == "running"


def test_the_owner_workspace_still_reaches_everything(
    ledger: Ledger, victim: dict[str, Any]
) -> None:
    """The same calls naming the right workspace succeed (so NotFound above is the scoping,
    not a broken call)."""
    read_only = [n for n in CALLS if n.split(".")[1] in {"get", "detail", "versions", "history"}]
    for name in read_only:
        owner, method = name.split(".")
        args, kwargs = CALLS[name](victim)
        assert getattr(getattr(ledger, owner), method)(*args, **kwargs, workspace="b")
    assert ledger.segments.of_version(victim["version"], workspace="b")
    with ledger.documents.open(victim["document"], workspace="b") as handle:
        assert handle.read().startswith(b"Quarterly")


def test_a_key_that_spells_a_uuid_is_found_by_key(ledger: Ledger) -> None:
    key = str(uuid.uuid4())
    added = ledger.documents.create(b"named like an id", external_key=key)
    assert ledger.documents.get(key).id == added.document_id
    assert ledger.documents.current(key)[0].id == added.document_id
    assert ledger.documents.get(added.document_id).external_key == key
    with pytest.raises(NotFound):
        ledger.documents.get(str(uuid.uuid4()))


def test_lineage_shows_a_workspace_its_own_entities_only(ledger: Ledger) -> None:
    """A run of workspace B that read A's document: A's lineage of that document does not
    show B's run or what it made; B's shows them (and A's document, which B's run read, is
    left out of B's view)."""
    ledger.workspaces.create("a")
    ledger.workspaces.create("b")
    mine = ledger.documents.create(b"a's file", external_key="a.txt", workspace="a")
    theirs = ledger.documents.create(b"b's file", external_key="b.txt", workspace="b")
    run = ledger.runs.create("b's run", "pipeline", workspace="b")
    ledger.lineage.link(run.id, "in", [("document", mine.document_id)])
    ledger.lineage.link(run.id, "out", [("document", theirs.document_id)])
    everything = {n.entity_id for n in ledger.lineage.downstream(("document", mine.document_id))}
    assert str(theirs.document_id) in everything
    seen_by_a = ledger.lineage.downstream(("document", mine.document_id), workspace="a")
    assert {n.entity_type for n in seen_by_a} == {"version"}
    assert str(theirs.document_id) not in {n.entity_id for n in seen_by_a}
    seen_by_b = ledger.lineage.upstream(("document", theirs.document_id), workspace="b")
    assert str(mine.document_id) not in {n.entity_id for n in seen_by_b}
    with pytest.raises(NotFound):
        ledger.lineage.upstream(("document", theirs.document_id), workspace="a")
    with pytest.raises(NotFound):
        ledger.lineage.upstream(("document", str(uuid.uuid4())), workspace="a")


def test_no_path_through_another_workspace_connects_two_of_mine(ledger: Ledger) -> None:
    """A's document -> B's run -> B's document -> B's run -> A's dataset: unconfined, the
    dataset comes from the document; confined to A the walk neither follows B's runs nor
    steps through B's document, so A sees no link between its own two entities."""
    ledger.workspaces.create("a")
    ledger.workspaces.create("b")
    source = ledger.documents.create(b"a's source", external_key="src.txt", workspace="a")
    middle = ledger.documents.create(b"b's middle", external_key="mid.txt", workspace="b")
    made = ledger.datasets.snapshot("a-set", workspace="a")
    first = ledger.runs.create("b1", "pipeline", workspace="b")
    ledger.lineage.link(first.id, "in", [("document", source.document_id)])
    ledger.lineage.link(first.id, "out", [("document", middle.document_id)])
    second = ledger.runs.create("b2", "pipeline", workspace="b")
    ledger.lineage.link(second.id, "in", [("document", middle.document_id)])
    ledger.lineage.link(second.id, "out", [("dataset", made.id)])
    everything = {n.entity_id for n in ledger.lineage.upstream(made)}
    assert str(source.document_id) in everything
    seen_by_a = {n.entity_id for n in ledger.lineage.upstream(made, workspace="a")}
    assert str(source.document_id) not in seen_by_a
    assert str(middle.document_id) not in seen_by_a
    down = {
        n.entity_id
        for n in ledger.lineage.downstream(("document", source.document_id), workspace="a")
    }
    assert str(made.id) not in down
    # A's own run between the same two entities is followed
    own = ledger.runs.create("a1", "pipeline", workspace="a")
    ledger.lineage.link(own.id, "in", [("document", source.document_id)])
    ledger.lineage.link(own.id, "out", [("dataset", made.id)])
    assert str(source.document_id) in {
        n.entity_id for n in ledger.lineage.upstream(made, workspace="a")
    }
