"""Exports on both dialects: every format checked by its own tool (pycocotools, Label Studio's
SDK, docledger's own Unstructured reader), a Label Studio round trip, partial exports that
resume, byte-identical reproductions, the audit trail, bad input refused with nothing written,
and the S3 blob store. The documents are real PDFs from other projects' test suites."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from docling_core.types.doc import DoclingDocument
from label_studio_sdk.label_interface import LabelInterface
from label_studio_sdk.label_interface.objects import PredictionValue, TaskValue
from pycocotools.coco import COCO
from sqlalchemy import delete, func, select

from docledger import AsyncLedger, Ledger, formats
from docledger.bbox import convert
from docledger.config import load_settings
from docledger.db.session import session_scope
from docledger.errors import Conflict, InvalidInput, NotFound
from docledger.formats.base import Sink, Source
from docledger.models import Annotation as AnnotationRow
from docledger.models import Export as ExportRow
from docledger.models import ExportEvent as EventRow
from docledger.models import ExportFile as FileRow
from docledger.models import Run as RunRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.export import ExportRepository
from docledger.schemas.extraction import BBox
from docledger.services import elements
from docledger.services.exports import RUNNABLE
from docledger.worker import Worker
from tests.corpus import real_pdfs

ALL = [
    "jsonl", "csv", "review-csv", "coco", "labelstudio", "unstructured", "docling",
    "feature-outputs",
]  # fmt: skip
LABELS = ("title", "paragraph", "figure")


#: a paper, a CJK page, a form, a scanned-and-OCRed graph, tiny and odd ones
PICKED = (
    "pdfminer.six-20191110__samples__contrib__2b.pdf",
    "pdfminer.six-20191110__samples__jo.pdf",
    "pdfminer.six-20191110__samples__nonfree__dmca.pdf",
    "pdfminer.six-20191110__samples__nonfree__kampo.pdf",
    "pdfminer.six-20191110__samples__nonfree__naacl06-shinyama.pdf",
    "pdfminer.six-20191110__samples__simple1.pdf",
    "pikepdf-10.18.0__tests__resources__form.pdf",
    "pikepdf-10.18.0__tests__resources__pdfa__graph_ocred.pdf",
)


def _pdfs() -> list[Path]:
    found = {p.name: p for p in real_pdfs()}
    assert set(PICKED) <= set(found), set(PICKED) - set(found)
    return [found[name] for name in PICKED]


@pytest.fixture
def store(ledger: Ledger) -> Ledger:
    """Real PDFs ingested and extracted, some blocks labelled by a reviewer."""
    ledger.users.create("rita@example.org", name="Rita")
    added = ledger.documents.create_from_paths([str(p) for p in _pdfs()])
    ids = [r.document_id for r in added if r.document_id is not None]
    outcomes = ledger.extractions.run(ids)
    blocks = [
        s
        for o in outcomes
        if o.extraction_id is not None
        for s in ledger.segments.of_extraction(o.extraction_id)
        if s.kind == "block" and s.bbox is not None
    ]
    assert len(blocks) >= 12, "the corpus gave too few blocks to label"
    for index, seg in enumerate(blocks[:12]):
        ledger.annotations.create(
            "segment", seg.id, "label", {"label": LABELS[index % 3]},
            status="approved", actor="rita@example.org",
        )  # fmt: skip
    return ledger


def _files(ledger: Ledger, export_id: uuid.UUID, folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in ledger.exports.download(export_id, folder)}


def _counts(ledger: Ledger) -> tuple[int, int, int, int]:
    with session_scope(ledger.engine, readonly=True) as s:
        return (
            s.scalar(select(func.count()).select_from(ExportRow)) or 0,
            s.scalar(select(func.count()).select_from(EventRow)) or 0,
            s.scalar(select(func.count()).select_from(FileRow)) or 0,
            s.scalar(select(func.count()).select_from(RunRow)) or 0,
        )


def _segments(ledger: Ledger, kind: str) -> list[uuid.UUID]:
    with session_scope(ledger.engine, readonly=True) as s:
        return list(
            s.scalars(select(SegmentRow.id).where(SegmentRow.kind == kind).order_by(SegmentRow.id))
        )


def _labelled(ledger: Ledger) -> dict[uuid.UUID, str]:
    return {
        a.segment_id: a.value["label"]
        for a in ledger.annotations.list(kind="label", limit=1000).items
        if a.segment_id is not None
    }


def test_every_format_written_and_checked_by_its_own_tool(store: Ledger, tmp_path: Path) -> None:
    done = store.exports.create({}, ALL, actor="rita@example.org")
    assert done.status == "succeeded", done.results
    assert done.validation
    assert all(check["ok"] for check in done.validation.values())
    files = _files(store, done.id, tmp_path)
    labelled = _labelled(store)

    lines = [json.loads(line) for line in files["segments.jsonl"].read_text().splitlines()]
    assert len(lines) == done.results["jsonl"]["records"] > 0
    for line in lines[:: max(1, len(lines) // 50)]:
        seg = store.segments.get(line["segment_id"])
        assert (seg.page_number, seg.kind, seg.text) == (line["page"], line["kind"], line["text"])
        assert line["bbox"] == seg.bbox
    with_labels = {line["segment_id"] for line in lines if line["annotations"]}
    assert with_labels == {str(k) for k in labelled}

    rows = list(csv.DictReader(io.StringIO(files["segments.csv"].read_text())))
    assert len(rows) == len(lines)
    assert {r["segment_id"]: r["reviewed_label"] for r in rows if r["reviewed_label"]} == {
        str(k): v for k, v in labelled.items()
    }
    review = list(csv.DictReader(io.StringIO(files["review.csv"].read_text())))
    assert len(review) == sum(1 for line in lines if line["bbox"] is not None)

    coco = COCO(str(files["coco.json"]))
    names = {c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert set(LABELS) <= names
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == done.results["coco"]["records"] > 0
    dpi = 150
    for ann in anns[:: max(1, len(anns) // 40)]:
        seg = store.segments.get(ann["segment_id"])
        image = coco.loadImgs(ann["image_id"])[0]
        page = next(
            s for s in store.segments.of_version(seg.version_id, page=seg.page_number)
            if s.kind == "page" and s.extraction_id == seg.extraction_id
        )  # fmt: skip
        width_pt, height_pt = page.meta["width"], page.meta["height"]
        assert (image["width"], image["height"]) == (
            round(width_pt * dpi / 72),
            round(height_pt * dpi / 72),
        )
        assert seg.bbox is not None
        px = convert(
            BBox.model_validate(seg.bbox), "fraction", page_width=width_pt, page_height=height_pt
        )
        x, y, w, h = ann["bbox"]
        assert x == pytest.approx(px.x0 * image["width"], abs=0.01)
        assert y == pytest.approx(px.y0 * image["height"], abs=0.01)
        assert w == pytest.approx((px.x1 - px.x0) * image["width"], abs=0.02)
        assert h == pytest.approx((px.y1 - px.y0) * image["height"], abs=0.02)
        label = labelled.get(seg.id, seg.label or seg.kind)
        assert coco.loadCats(ann["category_id"])[0]["name"] == label

    interface = LabelInterface(files["label_config.xml"].read_text())
    tasks = json.loads(files["tasks.json"].read_text())
    assert len(tasks) == done.results["labelstudio"]["records"] > 0
    reviewed = 0
    for task in tasks:
        # the SDK's validate_task cannot take annotations (it calls validate_annotation()
        # without one) and its AnnotationValue needs a Label Studio user id (completed_by) no
        # export can know: the data and predictions through both, the annotations' regions
        # against the config below
        assert interface.validate_task({"data": task["data"]})
        TaskValue.model_validate({"data": task["data"], "predictions": task["predictions"]})
        for prediction in task["predictions"]:
            PredictionValue.model_validate(prediction)
            assert interface.validate_prediction(prediction, return_errors=True) == []
        for annotation in task.get("annotations", []):
            assert interface.validate_annotation(annotation)
            reviewed += len(annotation["result"])
    assert reviewed == len(labelled)

    _, _, parsed = elements.parse(files["elements.json"].read_bytes())
    assert len(parsed) == done.results["unstructured"]["records"] > 0
    by_id = {line["segment_id"]: line for line in lines}
    raw = json.loads(files["elements.json"].read_text())
    for element, seg_in in list(zip(raw, parsed, strict=True))[:: max(1, len(raw) // 40)]:
        original = by_id[element["element_id"]]
        assert seg_in.page_number == original["page"]
        if original["bbox"] is not None:
            assert seg_in.bbox is not None
            want = BBox.model_validate(original["bbox"])
            for corner in ("x0", "y0", "x1", "y1"):
                assert getattr(seg_in.bbox, corner) == pytest.approx(getattr(want, corner))


def test_docling_files_load_in_docling_and_back_in_docledger(store: Ledger, tmp_path: Path) -> None:
    done = store.exports.create({}, ["docling", "jsonl"])
    assert done.status == "succeeded", done.results
    files = _files(store, done.id, tmp_path)
    lines = [json.loads(line) for line in files["segments.jsonl"].read_text().splitlines()]
    docs = sorted(name for name in files if name.startswith("docling/"))
    assert docs == sorted(f"docling/{e}.json" for e in {line["extraction_id"] for line in lines})
    read_back = 0
    for name in docs:
        data = json.loads(files[name].read_text())
        document = DoclingDocument.model_validate(data)  # Docling's own model
        texts = [t.text for t in document.texts]
        ours = [
            line for line in lines
            if f"docling/{line['extraction_id']}.json" == name and line["kind"] != "page"
        ]  # fmt: skip
        assert texts == [line["text"] or "" for line in ours]
        _, _, parsed = elements.parse(files[name].read_bytes())
        for seg_in, line in zip(parsed, ours, strict=True):
            assert seg_in.page_number == line["page"]
            if line["bbox"] is not None:
                assert seg_in.bbox is not None
                for corner in ("x0", "y0", "x1", "y1"):
                    assert getattr(seg_in.bbox, corner) == pytest.approx(line["bbox"][corner])
        read_back += len(parsed)
    assert read_back == done.results["docling"]["records"] > 0


def test_feature_outputs_carry_the_latest_output_and_evidence(
    store: Ledger, tmp_path: Path
) -> None:
    seg = store.segments.get(_segments(store, "block")[0])
    found = store.findings.create("feature", "Export to PDF", confidence=0.8)
    store.findings.link(found.id, ("segment", seg.id), "implements")
    store.findings.create_output(found.id, "epic", {"title": "v1"})
    store.findings.create_output(found.id, "epic", {"title": "v2"})
    store.findings.create("comparison", "left out", confidence=0.1)
    done = store.exports.create({"finding_kinds": ["feature"]}, ["feature-outputs"])
    assert done.status == "succeeded"
    body = json.loads(_files(store, done.id, tmp_path)["features.json"].read_text())
    assert [f["title"] for f in body["findings"]] == ["Export to PDF"]
    assert body["findings"][0]["outputs"]["epic"] == {"version": 2, "body": {"title": "v2"}}
    assert body["findings"][0]["evidence"][0]["target_id"] == str(seg.id)


def test_label_studio_round_trip_gives_the_same_annotations(store: Ledger, tmp_path: Path) -> None:
    before = _labelled(store)
    moved_seg = next(iter(before))
    done = store.exports.create({"annotated": True}, ["labelstudio"])
    tasks_path = _files(store, done.id, tmp_path)["tasks.json"]
    tasks = json.loads(tasks_path.read_text())
    # a reviewer in Label Studio moves one box 1% to the right
    for task in tasks:
        for region in task.get("annotations", [{}])[0].get("result", []):
            if region["id"] == str(moved_seg):
                region["value"]["x"] += 1.0
    tasks_path.write_text(json.dumps(tasks))
    with session_scope(store.engine) as s:  # a store that never saw them (no delete in the API)
        s.execute(delete(AnnotationRow))
    assert _labelled(store) == {}

    result = store.exports.import_label_studio(tasks_path, actor="rita@example.org")
    assert _labelled(store) == before
    assert result.created == len(before) + 1
    assert result.unmatched == 0
    boxes = list(store.annotations.list(kind="bbox", limit=10).items)
    assert [b.segment_id for b in boxes] == [moved_seg]
    seg = store.segments.get(moved_seg)
    assert seg.bbox is not None
    width = boxes[0].value["x1"] - boxes[0].value["x0"]
    assert width == pytest.approx(seg.bbox["x1"] - seg.bbox["x0"])
    assert boxes[0].value["x0"] > seg.bbox["x0"]
    again = store.exports.import_label_studio(tasks_path)
    assert (again.created, again.unchanged) == (0, len(before))


class Flaky:
    """A plugin format that breaks until it is fixed."""

    name = "flaky"
    version = "1"
    source = "segments"
    description = "fails until fixed"

    def __init__(self) -> None:
        self.broken = True

    def write(self, records: Source, sink: Sink, options: Mapping[str, Any]) -> None:
        out = sink.open("flaky.txt", "text/plain")
        for record in records():
            if self.broken:
                raise RuntimeError("the disk of the plugin is full")
            out.write(record["segment_id"] + "\n")
            sink.count("flaky.txt")


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    fmt = Flaky()
    formats.register(fmt)
    yield fmt
    formats.unregister(fmt.name)


def test_a_failed_format_makes_a_partial_export_that_resume_finishes(
    store: Ledger, flaky: Flaky
) -> None:
    done = store.exports.create({}, ["jsonl", "flaky"], actor="rita@example.org")
    assert done.status == "partial"
    assert done.results["jsonl"]["status"] == "succeeded"
    assert done.results["flaky"] == {
        "status": "failed", "error": "RuntimeError: the disk of the plugin is full",
        "version": "1",
    }  # fmt: skip
    assert [f.name for f in done.files] == ["segments.jsonl"]
    jsonl = done.files[0].sha256
    flaky.broken = False
    finished = store.exports.resume(done.id, actor="rita@example.org")
    assert finished.status == "succeeded"
    assert {f.name for f in finished.files} == {"segments.jsonl", "flaky.txt"}
    assert next(f for f in finished.files if f.name == "segments.jsonl").sha256 == jsonl
    history = store.exports.history(done.id)
    assert [(e.action, e.format) for e in history] == [
        ("create", None), ("start", None), ("format", "jsonl"), ("fail", "flaky"),
        ("finish", None), ("resume", None), ("format", "flaky"), ("finish", None),
    ]  # fmt: skip
    assert {e.actor for e in history} == {"rita@example.org"}
    with pytest.raises(InvalidInput, match="only a pending, partial or failed one resumes"):
        store.exports.resume(done.id)


def test_a_background_export_is_made_by_a_worker(store: Ledger) -> None:
    """``background=True``: pending at once with its job (one transaction), made by the
    worker's ``docledger.export`` task; a filter selection reads the data as it is when the
    worker makes it (a dataset version would not move); a second start finds it taken."""
    pending = store.exports.create({}, ["jsonl", "csv"], actor="rita@example.org", background=True)
    assert (pending.status, pending.files) == ("pending", [])
    (job,) = store.jobs.list(task="docledger.export").items
    assert job.payload == {"export": str(pending.id), "actor": "rita@example.org"}
    assert job.workspace_id == pending.workspace_id
    # a segment recorded after the request is in it: a filter follows the data
    expected = store.exports.create({}, ["jsonl"]).results["jsonl"]["records"]
    seg = store.segments.get(_segments(store, "block")[0])
    store.extractions.record(
        seg.version_id, "late", "1", segments=[{"kind": "block", "text": "late"}]
    )
    stats = Worker(store, backoff_base_s=0.0).run(burst=True)
    assert stats.succeeded == 1, stats
    done = store.exports.get(pending.id)
    assert done.status == "succeeded"
    assert {f.name for f in done.files} == {"segments.jsonl", "segments.csv"}
    assert done.results["jsonl"]["records"] == expected + 1
    assert store.jobs.get(job.id).result == {
        "export": str(pending.id), "status": "succeeded", "files": 2,
    }  # fmt: skip
    assert [e.action for e in store.exports.history(pending.id)][:2] == ["create", "start"]
    with pytest.raises(InvalidInput, match="is succeeded"):
        store.exports.resume(pending.id)
    # two starts of one pending export: exactly one makes it
    other = store.exports.create({}, ["jsonl"], background=True)
    with session_scope(store.engine) as s:
        ExportRepository(s)._start(other.id, "start", None, RUNNABLE["start"])
    with pytest.raises(Conflict, match="started by someone else"), session_scope(store.engine) as s:
        ExportRepository(s)._start(other.id, "start", None, RUNNABLE["start"])


def test_a_page_without_a_size_is_a_recorded_failure_not_a_stop(store: Ledger) -> None:
    doc = store.documents.create(b"scanned notes", external_key="odd <name>.txt")
    store.extractions.record(
        doc.version_id, "hand", "1",
        segments=[{"kind": "zone", "page_number": 3,
                   "bbox": {"x0": 1, "y0": 2, "x1": 30, "y1": 40}}],
    )  # fmt: skip
    done = store.exports.create({}, ["coco", "jsonl"])
    assert done.status == "partial"
    coco = done.results["coco"]
    assert (coco["status"], coco["failed_count"]) == ("partial", 1)
    assert coco["failed"] == [
        {"document": "odd <name>.txt", "version": 1, "page": 3, "error": "no page size for page 3"}
    ]
    assert done.results["jsonl"]["status"] == "succeeded"


def test_reproduce_gives_the_same_bytes(store: Ledger) -> None:
    done = store.exports.create({"kinds": ["block", "page"]}, ["jsonl", "coco", "labelstudio"])
    again = store.exports.reproduce(done.id, actor="rita@example.org")
    assert again.identical
    assert again.files
    assert all(again.files.values())
    assert again.export.id != done.id
    assert store.exports.history(again.export.id)[-1].detail["original"] == str(done.id)
    # a filter export follows the data; a dataset version does not move
    seg = store.segments.get(_segments(store, "block")[-1])
    snap = store.datasets.snapshot("blocks", {"kind": "label"})
    pinned = store.exports.create({"dataset": "blocks@1"}, ["jsonl", "coco"])
    assert pinned.results["jsonl"]["records"] == len(_labelled(store))
    store.annotations.create("segment", seg.id, "label", {"label": "new"}, status="approved")
    assert not store.exports.reproduce(done.id).identical
    assert store.exports.reproduce(pinned.id).identical
    assert pinned.selection["dataset"]["version"] == snap.version


def test_lineage_names_what_the_export_was_made_from(store: Ledger) -> None:
    snap = store.datasets.snapshot("labels", {"kind": "label"})
    model = store.model_versions.create("zoner", artifact=b"weights")
    done = store.exports.create({"dataset": "labels", "model": "zoner@1"}, ["jsonl"])
    assert done.run_id is not None
    edges = {(e.direction, e.entity_type, e.entity_id) for e in store.lineage.edges(done.run_id)}
    assert edges == {
        ("in", "dataset", str(snap.id)),
        ("in", "model_version", str(model.id)),
        ("out", "export", str(done.id)),
    }
    assert done.selection["model"] == {"id": str(model.id), "name": "zoner", "version": 1}
    assert store.exports.reproduce(done.id).identical
    with pytest.raises(InvalidInput, match="zoner"):
        store.exports.create({"model": "zoner@7"}, ["jsonl"])


@pytest.mark.parametrize(
    ("selection", "fmts", "options", "message"),
    [
        ({}, ["pdf"], None, "unknown export format 'pdf'"),
        ({}, [], None, "non-empty list"),
        ({}, ["jsonl", "jsonl"], None, "named twice"),
        ({"colour": "red"}, ["jsonl"], None, "colour"),
        ({"min_confidence": 1.5}, ["jsonl"], None, "min_confidence"),
        ({"min_confidence": 0.9, "max_confidence": 0.1}, ["jsonl"], None, "above"),
        ({"kinds": ["blob"]}, ["jsonl"], None, "kinds"),
        ({"dataset": "nope"}, ["jsonl"], None, "no dataset nope"),
        ({"dataset": "nope@x"}, ["jsonl"], None, "a number"),
        ({"documents": ["missing.pdf"]}, ["jsonl"], None, "no document 'missing.pdf'"),
        ({"dataset": "d", "documents": ["a"]}, ["jsonl"], None, "its own selection"),
        ("everything", ["jsonl"], None, "a mapping"),
        ({}, ["coco"], {"dpi": 5}, "dpi"),
        ({}, ["coco"], {"dpi": "high"}, "dpi"),
        ({}, ["coco"], {"when": object()}, "JSON"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    ledger: Ledger, selection: Any, fmts: list[str], options: Any, message: str
) -> None:
    doc = ledger.documents.create(b"one zone", external_key="a.pdf")
    ledger.extractions.record(
        doc.version_id, "zones", "1",
        segments=[{"kind": "zone", "page_number": 1, "text": "one zone",
                   "bbox": {"x0": 1, "y0": 1, "x1": 2, "y1": 2}}],
    )  # fmt: skip
    before = _counts(ledger)
    with pytest.raises(InvalidInput, match=message):
        ledger.exports.create(selection, fmts, options=options)
    assert _counts(ledger) == before


def test_unknown_exports_and_files(store: Ledger, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        store.exports.get(uuid.uuid4())
    done = store.exports.create({}, ["jsonl"])
    with pytest.raises(NotFound, match="no file"):
        store.exports.open_file(done.id, "../etc/passwd")
    with pytest.raises(InvalidInput):
        store.exports.list(status="done")
    assert [e.id for e in store.exports.list(status="succeeded").items] == [done.id]
    with pytest.raises(InvalidInput, match="not a Label Studio export"):
        store.exports.import_label_studio(b"<xml/>")
    hostile = [{"data": {"page": 1}, "annotations": [{"result": [{
        "type": "rectanglelabels", "id": "x",
        "value": {"x": "NaN", "y": 1, "width": 1, "height": 1, "rectanglelabels": ["a"]},
    }]}]}]  # fmt: skip
    before = _counts(store), len(store.annotations.list(limit=1000).items)
    with pytest.raises(InvalidInput, match="finite"):
        store.exports.import_label_studio(json.dumps(hostile).encode())
    assert (_counts(store), len(store.annotations.list(limit=1000).items)) == before
    with pytest.raises(InvalidInput, match="is not a file"):
        store.exports.import_label_studio(str(tmp_path / "missing.json"))


def test_exports_to_s3_equal_the_local_ones(
    store: Ledger, db_url: str, s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    local = store.exports.create({}, ["jsonl", "coco"])
    settings = load_settings(
        db_url=db_url, blob_root=f"s3://{s3_bucket}/store", s3_endpoint_url=s3_endpoint
    )
    with Ledger.open(settings=settings) as remote:
        done = remote.exports.create({}, ["jsonl", "coco"])
        assert {f.name: f.sha256 for f in done.files} == {f.name: f.sha256 for f in local.files}
        with remote.exports.open_file(done.id, "segments.jsonl") as handle:
            first = json.loads(handle.readline())
        assert first["segment_id"]
        got = _files(remote, done.id, tmp_path / "s3")
        assert sorted(got) == ["coco.json", "segments.jsonl"]


@pytest.mark.asyncio
async def test_async_twin(store: Ledger, db_url: str, blob_root: Path) -> None:
    settings = load_settings(db_url=db_url, blob_root=str(blob_root))
    async with AsyncLedger.open(settings=settings) as aledger:
        done = await aledger.exports.create({"kinds": ["page"]}, ["jsonl"])
        assert done.status == "succeeded"
        got = await aledger.exports.get(done.id)
        assert got.files[0].records == len(_segments(store, "page"))
        history = await aledger.exports.history(done.id)
        assert history[-1].action == "finish"


def test_another_workspaces_ids_in_a_selection_or_a_file_reach_nothing(
    store: Ledger, tmp_path: Path
) -> None:
    """What test_isolation leaves here: ids inside a selection or a Label Studio file."""
    store.workspaces.create("other")
    doc = store.documents.list(limit=1).items[0]
    snap = store.datasets.snapshot("mine", {"kind": "label"})
    before = _counts(store)
    for selection in ({"documents": [str(doc.id)]}, {"dataset": str(snap.id)}):
        with pytest.raises(InvalidInput):
            store.exports.create(selection, ["jsonl"], workspace="other")
    assert _counts(store) == before
    done = store.exports.create({"annotated": True}, ["labelstudio"])
    path = _files(store, done.id, tmp_path)["tasks.json"]
    labelled = _labelled(store)
    result = store.exports.import_label_studio(path, workspace="other")
    assert (result.created, result.unchanged) == (0, 0)
    assert result.unmatched == len(labelled)
    assert _labelled(store) == labelled


def test_page_images_ship_with_coco_and_label_studio(store: Ledger, tmp_path: Path) -> None:
    """``images=True``: each page's PNG in the export at the export's dpi, rendered now, or
    the one ``documents.render`` made (its size is what the files say)."""
    first = store.documents.list(limit=100).items[-1]
    store.documents.render(first.id, pages=[1], dpi=72)
    done = store.exports.create(
        {"kinds": ["block", "page"]}, ["coco", "labelstudio"], options={"images": True, "dpi": 72}
    )
    assert done.status == "succeeded", done.results
    files = _files(store, done.id, tmp_path)
    coco = COCO(str(files["coco.json"]))
    from PIL import Image  # noqa: PLC0415

    for image in coco.loadImgs(coco.getImgIds()):
        with Image.open(files[image["file_name"]]) as png:
            assert png.size == (image["width"], image["height"])
    tasks = json.loads(files["tasks.json"].read_text())
    assert {t["data"]["image"] for t in tasks} == {
        i["file_name"] for i in coco.loadImgs(coco.getImgIds())
    }
    pngs = [f for f in done.files if f.name.endswith(".png")]
    assert len(pngs) == len(coco.getImgIds())
    assert {f.format for f in pngs} == {"coco"}  # shipped once, by the first format
