"""Datasets, exports and lineage through the HTTP API on both dialects, confined to the
key's workspace."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from docledger.db.session import session_scope
from docledger.repositories.export import ExportRepository
from docledger.services.exports import RUNNABLE
from docledger.worker import Worker
from tests.integration.server_api import Api, assert_problem, serve

TEXT = b"Pump P1 runs at 40 bar.\n\nValve V7 is closed during start-up.\n"


@pytest.fixture
def api(db_url: str, blob_root: Path) -> Any:
    with serve(db_url, blob_root) as opened:
        yield opened


def _labelled(api: Api, workspace: str = "a") -> Any:
    added = api.ledger.documents.create(TEXT, external_key="notes.txt", workspace=workspace)
    api.ledger.extractions.run([added.document_id], workspace=workspace)
    segment = api.ledger.segments.of_version(added.version_id, workspace=workspace)[0]
    api.ledger.annotations.create(
        "segment", segment.id, "label", {"label": "pressure"}, status="approved",
        workspace=workspace,
    )  # fmt: skip
    return added


def test_datasets_are_snapshotted_and_read(api: Api) -> None:
    _labelled(api)
    made = api.post("/datasets", json={"name": "train", "filter": {"kind": "label"}})
    assert made.status_code == 201, made.text
    dataset = made.json()
    assert dataset["item_count"] == 1
    assert (
        api.post("/datasets", json={"name": "train", "filter": {"kind": "label"}}).json()["id"]
        == dataset["id"]
    )  # unchanged content: the same version
    assert api.get("/datasets/train").json()["version"] == 1
    (item,) = api.get(f"/datasets/{dataset['id']}/items").json()
    assert item["value"] == {"label": "pressure"}
    assert [d["name"] for d in api.get("/datasets").json()["items"]] == ["train"]
    assert_problem(api.post("/datasets", "viewer", json={"name": "x"}), 403)
    assert_problem(api.get("/datasets/nothing"), 404)


def test_exports_are_made_listed_and_downloaded(api: Api) -> None:
    _labelled(api)
    made = api.post("/exports", json={"formats": ["jsonl"]})
    assert made.status_code == 201, made.text
    export = made.json()
    assert export["status"] == "succeeded"
    (file,) = export["files"]
    got = api.get(f"/exports/{export['id']}/files/{file['name']}")
    assert got.status_code == 200
    assert hashlib.sha256(got.content).hexdigest() == file["sha256"]
    assert got.headers["etag"] == f'"{file["sha256"]}"'
    records = [json.loads(line) for line in got.text.splitlines()]
    assert len(records) == file["records"]
    assert [e["id"] for e in api.get("/exports").json()["items"]] == [export["id"]]
    assert_problem(api.get(f"/exports/{export['id']}/files/nope.jsonl"), 404)
    assert_problem(api.post("/exports", json={"formats": ["pdf"]}), 422)
    assert_problem(api.post("/exports", "viewer", json={}), 403)


def test_a_background_export_answers_202_and_a_worker_makes_it(api: Api) -> None:
    _labelled(api)
    asked = api.post("/exports", json={"formats": ["jsonl"], "background": True})
    assert asked.status_code == 202, asked.text
    pending = asked.json()
    assert pending["status"] == "pending"
    assert asked.headers["location"] == f"/api/v1/exports/{pending['id']}"
    (job,) = api.get("/jobs", params={"task": "docledger.export"}).json()["items"]
    assert job["payload"]["export"] == pending["id"]
    assert api.get("/jobs", "other", params={"task": "docledger.export"}).json()["items"] == []
    assert Worker(api.ledger, backoff_base_s=0.0).run(burst=True).succeeded == 1
    done = api.get(asked.headers["location"].removeprefix("/api/v1")).json()
    assert done["status"] == "succeeded"
    (file,) = done["files"]
    got = api.get(f"/exports/{pending['id']}/files/{file['name']}")
    assert hashlib.sha256(got.content).hexdigest() == file["sha256"]
    assert_problem(api.post("/exports", json={"formats": ["pdf"], "background": True}), 422)
    assert len(api.ledger.jobs.list(task="docledger.export").items) == 1


def test_an_export_left_running_is_resumed_with_force(api: Api) -> None:
    _labelled(api)
    pending = api.post("/exports", json={"formats": ["jsonl"], "background": True}).json()
    with session_scope(api.ledger.engine) as s:  # its worker started it and died
        ExportRepository(s)._start(uuid.UUID(pending["id"]), "start", None, RUNNABLE["start"])
    resume = f"/exports/{pending['id']}/resume"
    assert_problem(api.post(resume), 422)
    assert_problem(api.post(resume, "viewer", params={"force": "true"}), 403)
    done = api.post(resume, params={"force": "true"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "succeeded"
    assert_problem(api.post(resume, params={"force": "true"}), 422)  # nothing left to do
    theirs = api.ledger.exports.create({}, ["jsonl"], workspace="b", background=True)
    assert_problem(api.post(f"/exports/{theirs.id}/resume"), 404)


def test_lineage_of_an_entity(api: Api) -> None:
    added = _labelled(api)
    both = api.get(f"/lineage/document/{added.document_id}").json()
    kinds = {n["entity_type"] for n in both["downstream"]}
    assert {"version", "extraction"} <= kinds
    up = api.get(f"/lineage/version/{added.version_id}", params={"direction": "up"}).json()
    assert [n["entity_id"] for n in up["upstream"]] == [str(added.document_id)]
    assert up["downstream"] == []
    assert_problem(api.get(f"/lineage/thing/{added.document_id}"), 422)
    assert_problem(api.get(f"/lineage/document/{added.document_id}", params={"max_depth": 0}), 422)


def test_another_workspaces_records_answer_404(api: Api) -> None:
    theirs = _labelled(api, "b")
    dataset = api.ledger.datasets.snapshot("secret", {}, workspace="b")
    export = api.ledger.exports.create({}, ["jsonl"], workspace="b")
    name = export.files[0].name
    for path in [
        f"/datasets/{dataset.id}",
        f"/datasets/{dataset.id}/items",
        "/datasets/secret",
        f"/exports/{export.id}",
        f"/exports/{export.id}/files/{name}",
        f"/lineage/document/{theirs.document_id}",
    ]:
        assert_problem(api.get(path, "owner"), 404)
    assert api.get("/datasets", "owner").json()["items"] == []
    assert api.get("/exports", "owner").json()["items"] == []
