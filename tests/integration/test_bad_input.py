"""Bad input answered alike on both dialects (issue 13, defects 5 and 6): values PostgreSQL
refuses and SQLite would store (NaN, NUL, too long, out of range, negative limits), wrong types
that used to reach Python errors, and wrong values that used to be written silently. Each call
raises InvalidInput (or NotFound for ids that do not exist) and changes no row."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from docledger import InvalidInput, Ledger, NotFound
from docledger.db.base import Base
from docledger.db.session import session_scope

NAN = float("nan")
INF = float("inf")


def _counts(ledger: Ledger) -> dict[str, int]:
    with session_scope(ledger.engine, readonly=True) as s:
        return {
            name: int(s.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }


@pytest.fixture
def world(ledger: Ledger) -> dict[str, Any]:
    added = ledger.documents.create(b"One sentence of text.", external_key="doc.txt")
    ledger.extractions.run([added.document_id])
    segment = ledger.segments.of_version(added.version_id)[0]
    run = ledger.runs.create("train", "training")
    user = ledger.users.create("ann@example.com")
    note = ledger.annotations.create("segment", segment.id, "label", {"label": "x"})
    return {
        "doc": added.document_id,
        "version": added.version_id,
        "segment": segment.id,
        "run": run.id,
        "user": user.id,
        "note": note.id,
    }


Call = Callable[[Ledger, dict[str, Any]], Any]

INVALID: dict[str, Call] = {
    # defect 5: what PostgreSQL refused with a raw DataError and SQLite stored
    "nan in metadata": lambda ld, w: ld.documents.update(w["doc"], metadata={"x": NAN}),
    "inf in metadata": lambda ld, w: ld.documents.update(w["doc"], metadata={"x": [1, INF]}),
    "nan in run params": lambda ld, w: ld.runs.create("r", params={"lr": NAN}),
    "nan in preferences": lambda ld, w: ld.users.set_preferences(w["user"], {"zoom": NAN}),
    "nan in model metrics": lambda ld, w: ld.model_versions.create("m", metrics={"f1": NAN}),
    "nan in annotation value": lambda ld, w: ld.annotations.create(
        "document", w["doc"], "classification", {"label": "x", "score": NAN}
    ),
    "nan in run event data": lambda ld, w: ld.runs.log(w["run"], "e", data={"v": INF}),
    "nul in title": lambda ld, w: ld.documents.update(w["doc"], title="a\x00b"),
    "nul in metadata": lambda ld, w: ld.documents.update(w["doc"], metadata={"k": "a\x00b"}),
    "nul in metadata key": lambda ld, w: ld.documents.update(w["doc"], metadata={"a\x00": 1}),
    "nul in run name": lambda ld, w: ld.runs.create("a\x00b"),
    "nul in segment text": lambda ld, w: ld.extractions.record(
        w["version"], "mine", "1", {}, [{"kind": "chunk", "text": "a\x00b"}]
    ),
    "workspace slug too long": lambda ld, w: ld.workspaces.create("w" * 300),
    "user email too long": lambda ld, w: ld.users.create("a" * 400 + "@example.com"),
    "extractor name too long": lambda ld, w: ld.extractions.record(w["version"], "x" * 300, "1"),
    "page beyond 32 bits": lambda ld, w: ld.extractions.record(
        w["version"], "mine", "1", {}, [{"kind": "chunk", "text": "t", "page_number": 2**40}]
    ),
    "metric step beyond 2**63": lambda ld, w: ld.runs.log_metrics(w["run"], {"a": 1.0}, 2**64),
    "limit -1": lambda ld, w: ld.documents.list(limit=-1),
    "jobs limit -1": lambda ld, w: ld.jobs.list(limit=-1),
    "runs limit 0": lambda ld, w: ld.runs.list(limit=0),
    "annotations limit -1": lambda ld, w: ld.annotations.list(limit=-1),
    "users cursor garbage": lambda ld, w: ld.users.list(cursor="not a cursor"),
    "low confidence limit -1": lambda ld, w: ld.segments.low_confidence(0.5, limit=-1),
    "low confidence kinds 'zone'": lambda ld, w: ld.segments.low_confidence(0.5, kinds="zone"),
    "search k -1": lambda ld, w: ld.search.text("text", k=-1),
    # defect 6: wrong types that reached Python errors
    "external key 5": lambda ld, w: ld.documents.create(b"x", external_key=5),  # type: ignore[arg-type]
    "metadata [1]": lambda ld, w: ld.documents.create(b"x", metadata=[1]),  # type: ignore[arg-type]
    "dims '8'": lambda ld, w: ld.embeddings.create_space("s", "m", "8"),
    "vector k '3'": lambda ld, w: ld.search.vector("q", k="3"),  # type: ignore[arg-type]
    "text None": lambda ld, w: ld.search.text(None),  # type: ignore[arg-type]
    "run params [1]": lambda ld, w: ld.runs.create("r", params=[1]),  # type: ignore[arg-type]
    "metric point ('loss',)": lambda ld, w: ld.runs.log_metrics_batch(w["run"], [("loss",)]),
    "purge nan": lambda ld, w: ld.jobs.purge(older_than_days=NAN),
    "dataset filter [1]": lambda ld, w: ld.datasets.snapshot("d", [1]),  # type: ignore[arg-type]
    # defect 6: wrong values that were written silently
    "metric value '0.5'": lambda ld, w: ld.runs.log_metrics(w["run"], {"loss": "0.5"}),
    "metric value True": lambda ld, w: ld.runs.log_metrics(w["run"], {"loss": True}),
    "metric step 1.7": lambda ld, w: ld.runs.log_metrics_batch(w["run"], [("loss", 0.5, 1.7)]),
    "tags 'abc'": lambda ld, w: ld.runs.create("r", tags="abc"),
    "empty space name": lambda ld, w: ld.embeddings.create_space("", "m", 8),
    "10k space name": lambda ld, w: ld.embeddings.create_space("s" * 10_000, "m", 8),
    "dataset filter unknown key": lambda ld, w: ld.datasets.snapshot("d", {"colour": "red"}),
    "expected revision '1'": lambda ld, w: ld.annotations.update(
        w["note"], expected_revision="1", status="submitted"
    ),
}

MISSING: dict[str, Call] = {
    "lineage to a document that does not exist": lambda ld, w: ld.lineage.link(
        w["run"], "in", [("document", uuid.uuid4())]
    ),
    "lineage to a blob that does not exist": lambda ld, w: ld.lineage.link(
        w["run"], "in", [("blob", "0" * 64)]
    ),
    "lineage from a run that does not exist": lambda ld, w: ld.lineage.link(
        uuid.uuid4(), "in", [("document", w["doc"])]
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_input_changes_nothing(ledger: Ledger, world: dict[str, Any], case: str) -> None:
    before = _counts(ledger)
    with pytest.raises(InvalidInput):
        INVALID[case](ledger, world)
    assert _counts(ledger) == before


@pytest.mark.parametrize("case", sorted(MISSING))
def test_missing_targets_change_nothing(ledger: Ledger, world: dict[str, Any], case: str) -> None:
    before = _counts(ledger)
    with pytest.raises(NotFound):
        MISSING[case](ledger, world)
    assert _counts(ledger) == before


def test_what_is_valid_still_goes_through(ledger: Ledger, world: dict[str, Any]) -> None:
    """The checks refuse only the bad: numpy numbers, integral float steps, big but legal
    integers and long-but-fitting names are stored and read back as given."""
    ledger.runs.log_metrics_batch(world["run"], [("loss", np.float32(0.25), np.int64(3))])
    ledger.runs.log_metrics_batch(world["run"], [("loss", 0.125, 4.0)])
    assert [p.step for p in ledger.runs.metric_series(world["run"], "loss")] == [3, 4]
    doc = ledger.documents.update(world["doc"], metadata={"big": 2**62, "nested": {"a": [1.5]}})
    assert doc.meta["big"] == 2**62
    assert ledger.workspaces.create("w" * 60).slug == "w" * 60
    ledger.lineage.link(world["run"], "in", [("document", world["doc"])])
    assert [e.entity_id for e in ledger.lineage.edges(world["run"])] == [str(world["doc"])]
