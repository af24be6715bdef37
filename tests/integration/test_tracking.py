"""Annotations with history, dataset snapshots, runs and metrics, the model registry and
lineage, on both dialects: the PDF-training workflow end to end."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from docledger import Conflict, InvalidInput, InvalidTransition, Ledger, NotFound
from docledger.db.types import utcnow

from .conftest import Chain, build_chain


def test_annotation_history_and_optimistic_concurrency(ledger: Ledger, chain: Chain) -> None:
    ana = ledger.users.create("ana@example.org")
    bob = ledger.users.create("bob@example.org")
    start = utcnow()
    note = ledger.annotations.create(
        "segment", chain.segment_id, "label", {"label": "invoice"}, actor=ana.id
    )
    assert (note.revision, note.status, note.document_id) == (1, "draft", chain.document_id)
    edited = ledger.annotations.update(
        note.id, expected_revision=1, value={"label": "receipt"}, actor="ana@example.org"
    )
    assert edited.revision == 2
    with pytest.raises(Conflict):
        ledger.annotations.update(note.id, expected_revision=1, value={"label": "x"}, actor=bob.id)
    submitted = ledger.annotations.set_status(
        note.id, "submitted", expected_revision=2, actor=ana.id
    )
    approved = ledger.annotations.set_status(note.id, "approved", expected_revision=3, actor=bob.id)
    assert approved.status == "approved"
    assert submitted.revision == 3
    with pytest.raises(InvalidTransition):
        ledger.annotations.set_status(note.id, "draft", expected_revision=4)
    history = ledger.annotations.history(note.id)
    assert [(e.action, e.revision, e.actor) for e in history] == [
        ("create", 1, "ana@example.org"),
        ("update", 2, "ana@example.org"),
        ("status", 3, "ana@example.org"),
        ("status", 4, "bob@example.org"),
    ]
    assert history[1].before == {"status": "draft", "value": {"label": "invoice"}, "revision": 1}
    assert history[1].after is not None
    assert history[1].after["value"] == {"label": "receipt"}
    by_bob = ledger.annotations.changes_by("bob@example.org", since=start)
    assert [e.action for e in by_bob] == ["status"]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("label", {}),
        ("bbox", {"x0": 5, "y0": 0, "x1": 1, "y1": 1}),
        ("span", {"start": 9, "end": 2, "label": "x"}),
        ("classification", {"label": "a", "score": 1.5}),
        ("nope", {}),
    ],
)
def test_bad_annotation_values(ledger: Ledger, chain: Chain, kind: str, value: dict) -> None:
    with pytest.raises(InvalidInput):
        ledger.annotations.create("segment", chain.segment_id, kind, value)
    assert ledger.annotations.list(document=chain.document_id).items == []


def test_correction_records_original_and_confidence(ledger: Ledger, chain: Chain) -> None:
    fix = ledger.annotations.create(
        "segment",
        chain.segment_id,
        "correction",
        {"corrected": "Total: 42", "confidence_after": 1.0},
    )
    assert fix.value["confidence_before"] == 0.5  # the segment's OCR confidence
    assert fix.value["corrected"] == "Total: 42"
    with pytest.raises(NotFound):
        ledger.annotations.create(
            "segment", "01a20000-0000-7000-8000-000000000000", "label", {"label": "x"}
        )


def test_concurrent_edits_exactly_one_wins(ledger: Ledger, chain: Chain) -> None:
    note = ledger.annotations.create("document", chain.document_id, "label", {"label": "a"})
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def edit(label: str) -> None:
        barrier.wait()
        try:
            ledger.annotations.update(note.id, expected_revision=1, value={"label": label})
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=edit, args=(x,)) for x in ("b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "won"]
    history = ledger.annotations.history(note.id)
    assert [e.action for e in history] == ["create", "update"]
    assert ledger.annotations.get(note.id).value["label"] == history[-1].after["value"]["label"]  # type: ignore[index]


def test_dataset_snapshots_are_frozen_and_content_hashed(ledger: Ledger, chain: Chain) -> None:
    notes = [
        ledger.annotations.create(
            "document", chain.document_id, "label", {"label": x}, status="submitted"
        )
        for x in ("a", "b")
    ]
    for n in notes:
        ledger.annotations.set_status(n.id, "approved", expected_revision=1)
    ledger.annotations.create("document", chain.document_id, "label", {"label": "draft-only"})
    v1 = ledger.datasets.snapshot("labels", {"kind": "label"})
    assert (v1.version, v1.item_count) == (1, 2)
    assert ledger.datasets.snapshot("labels", {"kind": "label"}).id == v1.id  # unchanged
    ledger.annotations.update(
        notes[0].id, expected_revision=2, value={"label": "z"}, status="submitted"
    )
    v2_items_before = ledger.datasets.items("labels", 1)
    assert [i.value["label"] for i in v2_items_before] == ["a", "b"]  # edits never leak in
    v2 = ledger.datasets.snapshot("labels", {"kind": "label"})
    assert (v2.version, v2.item_count) == (2, 1)
    assert v2.content_hash != v1.content_hash
    assert [d.version for d in ledger.datasets.list().items] == [1, 2]
    with pytest.raises(InvalidInput):
        ledger.datasets.snapshot("labels", {"colour": "red"})


def test_a_snapshot_after_an_un_approval_is_a_new_version(ledger: Ledger, chain: Chain) -> None:
    """Issue 13: content an *older* version held is still version n+1, never the old one."""
    a = ledger.annotations.create("document", chain.document_id, "label", {"label": "a"})
    ledger.annotations.set_status(a.id, "submitted", expected_revision=1)
    ledger.annotations.set_status(a.id, "approved", expected_revision=2)
    v1 = ledger.datasets.snapshot("d")
    b = ledger.annotations.create("document", chain.document_id, "label", {"label": "b"})
    ledger.annotations.set_status(b.id, "submitted", expected_revision=1)
    ledger.annotations.set_status(b.id, "approved", expected_revision=2)
    v2 = ledger.datasets.snapshot("d")
    ledger.annotations.set_status(b.id, "submitted", expected_revision=3)  # un-approved
    v3 = ledger.datasets.snapshot("d")
    assert [v.version for v in (v1, v2, v3)] == [1, 2, 3]
    assert v3.content_hash == v1.content_hash
    assert ledger.datasets.get("d").id == v3.id
    assert ledger.datasets.snapshot("d").id == v3.id  # unchanged since the latest


def test_runs_metrics_and_failures(ledger: Ledger) -> None:
    with ledger.runs.start("train", "training", params={"lr": 0.1}, tags=["gpu"]) as run:
        run.log("epoch", data={"n": 1})
        run.log_metrics({"loss": 0.9, "acc": 0.5}, step=1)
        run.log_metrics_batch([("loss", 0.5, 2), ("acc", 0.8, 2), ("loss", 0.4, 3)])
        with ledger.runs.start("eval", "evaluation", parent=run) as child:
            child.log_metrics({"acc": 0.75})
    done = ledger.runs.get(run.id)
    assert done.status == "succeeded"
    assert done.finished_at is not None
    assert ledger.runs.get(child.id).parent_run_id == run.id
    assert [p.value for p in ledger.runs.metric_series(run.id, "loss")] == [0.9, 0.5, 0.4]
    assert ledger.runs.latest_metrics(run.id) == {"loss": 0.4, "acc": 0.8}
    assert ledger.runs.best("loss", mode="min")[0] == (run.id, 0.4)
    assert ledger.runs.compare([run.id, child.id])[child.id] == {"acc": 0.75}
    assert [e.event for e in ledger.runs.events(run.id)] == ["epoch"]
    before = len(ledger.runs.metric_series(run.id, "loss"))
    for bad_batch in (
        [("loss", 0.3, 5), ("loss", float("nan"), 6)],  # the good point is not written either
        [("loss", float("-inf"), 4)],
        [("", 0.1, 1)],
        [("k" * 251, 0.1, 1)],
        [(None, 0.1, 1)],
        [("loss", "not a number", 1)],
        [("loss", 0.1, "x")],
    ):
        with pytest.raises(InvalidInput):
            ledger.runs.log_metrics_batch(run.id, bad_batch)
    assert len(ledger.runs.metric_series(run.id, "loss")) == before
    assert ledger.runs.log_metrics_batch(run.id, []) == 0
    with pytest.raises(RuntimeError), ledger.runs.start("broken", "pipeline") as bad:
        raise RuntimeError("disk on fire")
    failed = ledger.runs.get(bad.id)
    assert failed.status == "failed"
    assert "disk on fire" in (failed.error or "")
    with pytest.raises(InvalidTransition):
        ledger.runs.finish(bad.id, "succeeded")


def test_one_production_model_per_name(ledger: Ledger, tmp_path: Path) -> None:
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"\x00weights")
    with ledger.runs.start("train", "training") as run:
        v1 = ledger.model_versions.create("clf", run, artifact=weights, metrics={"f1": 0.8})
        v2 = ledger.model_versions.create("clf", run, artifact=b"other weights")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.artifact_sha256
    assert ledger.blobs.exists(v1.artifact_sha256)
    ledger.model_versions.promote("clf", 1, "production")
    ledger.model_versions.promote("clf", 2, "production")
    assert ledger.model_versions.get("clf", stage="production").version == 2
    assert ledger.model_versions.get("clf", version=1).stage == "archived"
    errors: list[BaseException] = []

    def promote(version: int) -> None:
        try:
            ledger.model_versions.promote("clf", version, "production")
        except BaseException as exc:
            errors.append(exc)

    v3 = ledger.model_versions.create("clf")
    threads = [threading.Thread(target=promote, args=(v,)) for v in (1, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    production = [m for m in ledger.model_versions.list("clf").items if m.stage == "production"]
    assert len(production) == 1
    assert all(isinstance(e, Conflict) for e in errors)
    assert v3.version == 3
    with pytest.raises(NotFound):
        ledger.model_versions.get("nope", stage="production")


def test_lineage_of_a_pdf_training_workflow(ledger: Ledger) -> None:
    a = build_chain(ledger, key="a.pdf", content=b"a")
    b = build_chain(ledger, key="b.pdf", content=b"b")
    other = build_chain(ledger, key="unrelated.pdf", content=b"c")
    notes = []
    for chain in (a, b):
        note = ledger.annotations.create(
            "segment", chain.segment_id, "label", {"label": "x"}, status="submitted"
        )
        notes.append(ledger.annotations.set_status(note.id, "approved", expected_revision=1))
    with ledger.runs.start("extract", "extraction") as extract:
        extract.uses(("version", a.version_id), ("version", b.version_id))
        extract.produces(("extraction", a.extraction_id), ("extraction", b.extraction_id))
    with ledger.runs.start("label", "pipeline") as label_run:
        label_run.uses(("extraction", a.extraction_id), ("extraction", b.extraction_id))
        label_run.produces(*notes)
    dataset = ledger.datasets.snapshot("train")
    with ledger.runs.start("snapshot", "pipeline") as snap:
        snap.uses(*notes)
        snap.produces(dataset)
    with ledger.runs.start("train", "training") as train:
        train.uses(dataset)
        model = ledger.model_versions.create("clf", train)
    up = {(n.entity_type, n.entity_id) for n in ledger.lineage.upstream(model)}
    assert up == {
        ("dataset", str(dataset.id)),
        *(("annotation", str(n.id)) for n in notes),
        ("extraction", str(a.extraction_id)),
        ("extraction", str(b.extraction_id)),
        ("version", str(a.version_id)),
        ("version", str(b.version_id)),
        # and what the schema links itself: each version's document
        ("document", str(a.document_id)),
        ("document", str(b.document_id)),
    }
    down = {
        (n.entity_type, n.entity_id) for n in ledger.lineage.downstream(("version", a.version_id))
    }
    assert ("model_version", str(model.id)) in down
    assert ("dataset", str(dataset.id)) in down
    assert ("extraction", str(b.extraction_id)) in down  # produced by the same run
    # an unrelated version leads only to its own extraction (the schema's link)
    assert [
        (n.entity_type, n.entity_id, n.via_run_id)
        for n in ledger.lineage.downstream(("version", other.version_id))
    ] == [("extraction", str(other.extraction_id), None)]
    depths = {n.entity_type: n.depth for n in ledger.lineage.upstream(model)}
    assert depths["dataset"] == 1
    # the snapshot records the versions its annotations label: two steps, not four
    assert depths["version"] == 2


def test_metric_chunks_keep_every_point_and_the_metrics_view_reads_them(ledger: Ledger) -> None:
    """Points are stored one chunk per key and call (migration 0012); what comes back must be
    every point, exactly, in step order with repeated steps in logged order."""
    third, big = 1 / 3, 2**40
    with ledger.runs.start("chunks", "training") as run:
        run.log_metrics_batch([("loss", 0.9, 5), ("acc", 0.1, 5), ("loss", 0.7, 2)])
        run.log_metrics_batch([("loss", 0.6, 5), ("loss", third, big), ("loss", 0.8, 3)])
        run.log_metrics_batch([("loss", 0.5, 4), ("acc", 0.2, 5)])  # acc repeats step 5
    series = ledger.runs.metric_series(run.id, "loss")
    assert [(p.step, p.value) for p in series] == [
        (2, 0.7),
        (3, 0.8),
        (4, 0.5),
        (5, 0.9),
        (5, 0.6),
        (big, third),
    ]
    assert {p.run_id for p in series} == {run.id}
    # the highest step wins even when logged earlier; a repeated step takes the last value
    assert ledger.runs.latest_metrics(run.id) == {"loss": third, "acc": 0.2}
    assert ledger.runs.best("loss", mode="min") == [(run.id, third)]
    assert ledger.runs.best("loss", mode="max") == [(run.id, 0.9)]
    for step in (2**53 + 1, -(2**53) - 1, -(2**63)):
        with pytest.raises(InvalidInput, match="within"):
            run.log_metrics_batch([("loss", 0.1, step)])
    assert len(ledger.runs.metric_series(run.id, "loss")) == 6
    with ledger.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT key, step, value FROM metrics ORDER BY chunk_id, position"
        ).all()
    assert [tuple(r) for r in rows] == [
        ("loss", 5, 0.9),
        ("loss", 2, 0.7),
        ("acc", 5, 0.1),
        ("loss", 5, 0.6),
        ("loss", big, third),
        ("loss", 3, 0.8),
        ("loss", 4, 0.5),
        ("acc", 5, 0.2),
    ]
    # one point per key (written as JSON text by hand): extreme floats come back exactly
    # (bit for bit; only a negative zero's sign is lost in PostgreSQL's jsonb numbers)
    odd = {"tiny": 5e-324, "huge": 1.7976931348623157e308, "neg": -0.0, "third": 1 / 3}
    with ledger.runs.start("odd", "training") as other:
        other.log_metrics(odd, step=-7)
    for key, value in odd.items():
        [point] = ledger.runs.metric_series(other.id, key)
        assert point.step == -7
        assert repr(point.value).lstrip("-") == repr(value).lstrip("-")


def test_reap_closes_runs_a_killed_process_left_running(ledger: Ledger) -> None:
    """Issue 13: a run whose process died with -9 stays running forever unless reaped; a run
    that still logs is left alone."""
    abandoned = ledger.runs.create("killed", "training")
    alive = ledger.runs.create("alive", "training")
    time.sleep(0.4)
    ledger.runs.log_metrics(alive.id, {"loss": 0.5}, 1)
    reaped = ledger.runs.reap(idle_s=0.3)
    assert [r.id for r in reaped] == [abandoned.id]
    assert ledger.runs.get(abandoned.id).status == "failed"
    assert "reaped" in (ledger.runs.get(abandoned.id).error or "")
    assert ledger.runs.get(alive.id).status == "running"
    with pytest.raises(InvalidInput):
        ledger.runs.reap(idle_s=float("nan"))


def test_model_names_are_numbered_per_workspace(ledger: Ledger) -> None:
    """Two workspaces each have their own "ocr" v1 and their own production version; a
    look-up without a workspace refuses to pick one of them."""
    ledger.workspaces.create("acme")
    ledger.workspaces.create("beta")
    a1 = ledger.model_versions.create("ocr", workspace="acme", stage="production")
    b1 = ledger.model_versions.create("ocr", workspace="beta", stage="production")
    b2 = ledger.model_versions.create("ocr", workspace="beta")
    assert (a1.version, b1.version, b2.version) == (1, 1, 2)
    ledger.model_versions.promote("ocr", 2, "production", workspace="beta")
    assert ledger.model_versions.get("ocr", stage="production", workspace="acme").id == a1.id
    assert ledger.model_versions.get("ocr", stage="production", workspace="beta").id == b2.id
    assert ledger.model_versions.get("ocr", version=1, workspace="beta").stage == "archived"
    assert [m.id for m in ledger.model_versions.list(workspace="acme").items] == [a1.id]
    with pytest.raises(InvalidInput, match="more than one workspace"):
        ledger.model_versions.get("ocr")
    with pytest.raises(NotFound):
        ledger.model_versions.get("ocr", version=2, workspace="acme")
    with ledger.runs.start("train", "training", workspace="acme") as run:
        pass
    before = len(ledger.model_versions.list().items)
    with pytest.raises(NotFound, match="no run"):  # another workspace's run, as if absent
        ledger.model_versions.create("ocr", run.id, workspace="beta")
    with pytest.raises(InvalidInput):
        ledger.model_versions.get("ocr", version="2", workspace="beta")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        ledger.model_versions.create("ocr", workspace="beta", metrics=[1])  # type: ignore[arg-type]
    assert len(ledger.model_versions.list().items) == before
    made = ledger.model_versions.create("ocr", run.id)  # the run's workspace
    assert (made.workspace_id, made.version) == (ledger.workspaces.get("acme").id, 2)
