"""What search returns after the pipeline has run: each document's current version only,
one hit per passage (chunks), hits you can cite (hash, page, box), the same ranking on both
dialects; what the pipeline records (failed extractions, lineage, folder sync)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from docledger import Ledger
from docledger.errors import InvalidInput
from docledger.extractors import available

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "data"


def _add(ledger: Ledger, key: str, text: str) -> uuid.UUID:
    result = ledger.documents.create(text.encode(), external_key=key)
    ledger.extractions.run([key])
    return result.version_id


def test_search_returns_current_versions_only(ledger: Ledger) -> None:
    old = _add(ledger, "door.md", "The fire door D7 closes slowly and needs a new closer.")
    new = _add(ledger, "door.md", "The fire door D7 was replaced in May and closes well.")
    ledger.search.embed_missing()
    for mode in ("text", "vector", "hybrid"):
        hits = getattr(ledger.search, mode)("fire door D7 closes", k=5)
        assert [h.version_id for h in hits] == [new], mode
        wide = getattr(ledger.search, mode)("fire door D7 closes", k=5, include_superseded=True)
        assert {h.version_id for h in wide} == {old, new}, mode
    # the old content again makes version 1 current: search follows
    ledger.documents.create(
        b"The fire door D7 closes slowly and needs a new closer.", external_key="door.md"
    )
    assert [h.version_id for h in ledger.search.text("fire door D7")] == [old]


def test_a_new_extraction_of_the_same_version_replaces_the_old_one_in_search(
    ledger: Ledger,
) -> None:
    text = " ".join(f"Sentence {n} says door D{n} is fine." for n in range(60))
    version = _add(ledger, "long.md", text)
    first = ledger.search.text("door D7", k=50)
    ledger.extractions.run(["long.md"], params={"chunk_size": 120})
    second = ledger.search.text("door D7", k=50)
    assert {h.extraction_id for h in first} != {h.extraction_id for h in second}
    assert len({h.extraction_id for h in second}) == 1
    assert all(h.version_id == version for h in second)
    assert "door D7 is fine" in second[0].text


def test_hits_carry_what_a_citation_needs(ledger: Ledger) -> None:
    ledger.documents.create_from_paths([EXAMPLES], recursive=True)
    ledger.extractions.run(ledger.extractions.document_ids())
    (hit,) = ledger.search.text("Grid lines moved east", k=1)
    assert hit.external_key == "invoice-and-plan.pdf"
    assert hit.kind == "chunk"
    assert hit.page_number == 2
    detail = ledger.documents.detail("invoice-and-plan.pdf")
    assert hit.sha256 == detail.versions[0].sha256
    assert hit.bbox is not None
    assert hit.bbox["unit"] == "pt"
    assert 0 <= hit.bbox["x0"] < hit.bbox["x1"] <= 595
    assert 0 <= hit.bbox["y0"] < hit.bbox["y1"] <= 842
    assert "Grid lines A-F moved 300 mm east" in hit.text
    # one hit per passage: the page, block and line that hold the same words do not compete
    hits = ledger.search.text("Grid lines moved east", k=10)
    assert not {h.kind for h in hits} & {"page", "block", "line", "section"}
    lines = ledger.search.text("Grid lines moved east", k=10, kinds=["line"])
    assert lines[0].text == "Grid lines A-F moved 300 mm east"


def test_hybrid_takes_the_callers_own_query_vector(ledger: Ledger) -> None:
    ids = {
        key: _add(ledger, key, text) for key, text in [("a.md", "alpha beta"), ("b.md", "gamma")]
    }
    ledger.embeddings.create_space("mine", "my-model", 3)
    segments = {
        key: ledger.segments.of_version(version, kind="chunk")[0].id for key, version in ids.items()
    }
    ledger.embeddings.upsert("mine", {segments["a.md"]: [1, 0, 0], segments["b.md"]: [0, 1, 0]})
    hits = ledger.search.hybrid("gamma", space="mine", vector=[0.0, 1.0, 0.0], k=2)
    assert hits[0].external_key == "b.md"  # first in both lists
    with pytest.raises(InvalidInput):
        ledger.search.hybrid("gamma", space="mine", vector=[1.0, 0.0], k=2)


class Crashy:
    name = "crashy"
    version = "1"
    media_types = ("text/markdown",)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        if b"boom" in data:
            raise OverflowError("int too large to convert")
        return [{"kind": "chunk", "text": data.decode()}]


def test_a_failing_document_is_recorded_and_the_batch_goes_on(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "docledger.services.extraction.available", lambda: {**available(), "crashy": Crashy()}
    )
    for key, text in [("a.md", "fine"), ("b.md", "boom"), ("c.md", "also fine")]:
        ledger.documents.create(text.encode(), external_key=key)
    outcomes = ledger.extractions.run(["a.md", "b.md", "c.md", "missing.md"], extractor="crashy")
    by_key = {o.document: o for o in outcomes}
    assert by_key["a.md"].created
    assert by_key["c.md"].created
    assert by_key["b.md"].error == "OverflowError: int too large to convert"
    assert by_key["missing.md"].error is not None
    failed = ledger.extractions.get(by_key["b.md"].extraction_id)
    assert failed.status == "failed"
    assert failed.error == "OverflowError: int too large to convert"
    assert ledger.segments.of_extraction(failed.id) == []
    # the document is fixed: the next run replaces the failure with the extraction
    ledger.documents.create(b"no longer b-o-o-m", external_key="b.md")
    again = {o.document: o for o in ledger.extractions.run(["b.md"], extractor="crashy")}
    assert again["b.md"].created
    assert again["b.md"].error is None
    with pytest.raises(InvalidInput):
        ledger.extractions.run(["a.md"], params={"chunk_size": float("inf")})
    with pytest.raises(InvalidInput):
        ledger.extractions.run(["a.md"], extractor="text", params={"nonsense": 1})


def test_an_unchanged_rerun_costs_a_look_up_not_a_parse(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.documents.create_from_paths([EXAMPLES], recursive=True)
    ids = ledger.extractions.document_ids()
    first = ledger.extractions.run(ids)
    assert all(o.created for o in first)

    def no_parse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("an unchanged version was parsed again")

    for extractor in available().values():
        monkeypatch.setattr(type(extractor), "extract", no_parse)
    rerun = ledger.extractions.run(ids)
    assert [(o.created, o.segments, o.error) for o in rerun] == [
        (False, o.segments, None) for o in first
    ]


def test_concurrent_runs_over_the_same_documents_agree(ledger: Ledger) -> None:
    keys = [f"n{n}.md" for n in range(12)]
    for key in keys:
        ledger.documents.create(f"note {key} about door closers".encode(), external_key=key)
    results: list[list[Any]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(ledger.extractions.run(keys))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for outcomes in results:
        assert all(o.error is None for o in outcomes)
    for key in keys:
        version = ledger.documents.version(key)
        assert len(ledger.extractions.of_version(version.id)) == 1
    assert sum(o.created for outcomes in results for o in outcomes) == len(keys)


def test_sync_marks_vanished_files_deleted_and_brings_them_back(
    ledger: Ledger, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "keep.md").write_text("The boiler room door is locked at night.")
    (inbox / "gone.md").write_text("The boiler was serviced in March.")
    first = ledger.documents.sync([inbox])
    assert first.removed == []
    ledger.extractions.run(ledger.extractions.document_ids())
    assert {h.external_key for h in ledger.search.text("boiler")} == {"keep.md", "gone.md"}
    (inbox / "gone.md").unlink()
    second = ledger.documents.sync([inbox])
    assert second.removed == ["gone.md"]
    assert [h.external_key for h in ledger.search.text("boiler")] == ["keep.md"]
    assert [d.external_key for d in ledger.documents.list().items] == ["keep.md"]
    assert len(ledger.documents.list(include_deleted=True).items) == 2
    assert ledger.documents.detail("gone.md").deleted_at is not None  # history stays
    assert len(ledger.extractions.document_ids()) == 1
    (inbox / "gone.md").write_text("The boiler was serviced in March.")
    third = ledger.documents.sync([inbox])
    assert third.removed == []
    assert {h.external_key for h in ledger.search.text("boiler")} == {"keep.md", "gone.md"}


def test_pipeline_records_lineage_from_model_to_files(ledger: Ledger, tmp_path: Path) -> None:
    """The PDF-training workflow with no hand-written lineage: add, extract, annotate,
    snapshot, train, register; upstream(model) reaches the documents."""
    inbox = tmp_path / "pdfs"
    inbox.mkdir()
    for name in ("invoice-and-plan.pdf",):
        (inbox / name).write_bytes((EXAMPLES / name).read_bytes())
    (inbox / "other.pdf").write_bytes((EXAMPLES / "invoice-and-plan.pdf").read_bytes()[:-30])
    added = ledger.documents.create_from_paths([inbox])
    ledger.extractions.run(ledger.extractions.document_ids())
    version = ledger.documents.version("invoice-and-plan.pdf")
    (segment, *_) = ledger.segments.of_version(version.id, kind="line")
    note = ledger.annotations.create(
        "segment", segment.id, "label", {"label": "title"}, status="submitted"
    )
    ledger.annotations.set_status(note.id, "approved", expected_revision=1)
    dataset = ledger.datasets.snapshot("titles")
    with ledger.runs.start("train", "training") as train:
        train.uses(dataset)
        model = ledger.model_versions.create("title-finder", train)
    nodes = ledger.lineage.upstream(model)
    document = ledger.documents.get("invoice-and-plan.pdf")
    assert {(n.entity_type, n.entity_id) for n in nodes} == {
        ("dataset", str(dataset.id)),
        ("version", str(version.id)),
        ("document", str(document.id)),
    }
    via = {n.entity_type: n.via_run_id and ledger.runs.get(n.via_run_id).kind for n in nodes}
    assert via == {"dataset": "training", "version": "pipeline", "document": None}
    down = {
        (n.entity_type, n.entity_id) for n in ledger.lineage.downstream(("version", version.id))
    }
    extraction = ledger.extractions.of_version(version.id)[0]
    assert ("extraction", str(extraction.id)) in down
    assert ("model_version", str(model.id)) in down
    assert len(added) == 2
