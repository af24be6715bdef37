"""Jobs and runs through the HTTP API on both dialects: a workspace's own only (another
workspace's and store-wide ones answer 404), roles, a failed job's error and events, retry
and cancel, run metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.server_api import Api, assert_problem, serve


@pytest.fixture
def api(db_url: str, blob_root: Path) -> Any:
    with serve(db_url, blob_root) as opened:
        yield opened


def test_jobs_enqueue_fail_retry_cancel(api: Api) -> None:
    made = api.post("/jobs", json={"task": "ocr.page", "payload": {"page": 3}, "queue": "ocr"})
    assert made.status_code == 201, made.text
    job = made.json()
    workspace = api.get("/whoami").json()["workspace"]["id"]
    assert job["workspace_id"] == workspace
    assert_problem(api.post("/jobs", "viewer", json={"task": "ocr.page"}), 403)
    assert_problem(api.post("/jobs", json={"task": ""}), 422)
    assert_problem(api.post("/jobs", json={"task": "x", "max_attempts": 0}), 422)

    (claimed,) = api.ledger.leases.claim("ocr", "w1")
    error = "<b>PDFium</b> could not open page 3"
    assert api.ledger.leases.fail(claimed.id, "w1", error, retry=False) == "failed"
    detail = api.get(f"/jobs/{job['id']}").json()
    assert detail["status"] == "failed"
    assert detail["last_error"] == error
    assert detail["events"][0]["event"] == "enqueued"
    assert any(e["error"] == error for e in detail["events"])
    assert_problem(api.post(f"/jobs/{job['id']}/retry", "viewer"), 403)
    retried = api.post(f"/jobs/{job['id']}/retry")
    assert retried.json()["status"] == "queued"
    assert_problem(api.post(f"/jobs/{job['id']}/retry"), 409)  # queued: nothing to retry
    assert api.post(f"/jobs/{job['id']}/cancel").json()["status"] == "cancelled"
    assert_problem(api.post(f"/jobs/{job['id']}/pause"), 422)

    (stats,) = api.get("/jobs/stats").json()
    assert stats["queue"] == "ocr"
    assert stats["counts"] == {"cancelled": 1}
    listed = api.get("/jobs", params={"status": "cancelled"}).json()
    assert [j["id"] for j in listed["items"]] == [job["id"]]
    assert api.get("/jobs", params={"status": "queued"}).json()["items"] == []
    assert_problem(api.get("/jobs", params={"status": "lost"}), 422)


def test_other_workspaces_and_store_wide_jobs_are_out_of_reach(api: Api) -> None:
    api.ledger.workspaces.ensure("b")
    theirs = api.ledger.jobs.enqueue("t.theirs", workspace="b")
    shared = api.ledger.jobs.enqueue("t.store")
    for job in (theirs, shared):
        assert_problem(api.get(f"/jobs/{job.id}"), 404)
        assert_problem(api.post(f"/jobs/{job.id}/cancel"), 404)
        assert api.ledger.jobs.get(job.id).status == "queued"
    assert api.get("/jobs").json()["items"] == []
    assert api.get("/jobs/stats").json() == []


def test_runs_with_events_and_metrics(api: Api) -> None:
    run = api.ledger.runs.create("train-1", "training", params={"lr": 0.1}, workspace="a")
    for step in range(5):
        api.ledger.runs.log_metrics(run.id, {"loss": 1.0 / (step + 1)}, step, workspace="a")
    api.ledger.runs.log(run.id, "epoch", message="<i>done</i>", workspace="a")
    api.ledger.workspaces.ensure("b")
    theirs = api.ledger.runs.create("secret", "training", workspace="b")

    assert [r["id"] for r in api.get("/runs").json()["items"]] == [str(run.id)]
    assert api.get(f"/runs/{run.id}").json()["params"] == {"lr": 0.1}
    assert api.get(f"/runs/{run.id}/metrics").json() == {"loss": 0.2}
    series = api.get(f"/runs/{run.id}/metrics/loss").json()
    assert [p["step"] for p in series] == [0, 1, 2, 3, 4]
    assert series[0]["value"] == 1.0
    assert api.get(f"/runs/{run.id}/metrics/unknown").json() == []
    (event,) = [e for e in api.get(f"/runs/{run.id}/events").json() if e["event"] == "epoch"]
    assert event["message"] == "<i>done</i>"
    for path in ["", "/events", "/metrics", "/metrics/loss"]:
        assert_problem(api.get(f"/runs/{theirs.id}{path}"), 404)
    assert_problem(api.get("/runs", params={"kind": "nonsense"}), 422)


def test_a_run_is_started_logged_and_finished_over_http(api: Api) -> None:
    made = api.post("/runs", json={"name": "remote-train", "kind": "training",
                                   "params": {"lr": 0.01}, "tags": ["gpu"]})  # fmt: skip
    assert made.status_code == 201, made.text
    run = made.json()
    assert (run["status"], run["params"], run["tags"]) == ("running", {"lr": 0.01}, ["gpu"])
    points = [{"key": "loss", "value": 1 / (s + 1), "step": s} for s in range(100)]
    logged = api.post(f"/runs/{run['id']}/metrics", json={"points": points})
    assert logged.json() == {"logged": 100}
    assert api.get(f"/runs/{run['id']}/metrics").json() == {"loss": 0.01}
    # bad points: nothing of the batch is written
    bad = [{"key": "loss", "value": 0.5, "step": 200}, {"key": "", "value": 1.0}]
    assert_problem(api.post(f"/runs/{run['id']}/metrics", json={"points": bad}), 422)
    nan = api.client.post(
        f"/api/v1/runs/{run['id']}/metrics",
        headers={**api.as_("editor"), "Content-Type": "application/json"},
        content=b'{"points": [{"key": "loss", "value": NaN}]}',
    )
    assert_problem(nan, 422)
    assert len(api.get(f"/runs/{run['id']}/metrics/loss").json()) == 100
    assert_problem(api.post(f"/runs/{run['id']}/metrics", "viewer", json={"points": points}), 403)
    assert_problem(api.post("/runs", "viewer", json={"name": "x"}), 403)
    assert_problem(api.post("/runs", json={"name": "x", "kind": "nonsense"}), 422)
    done = api.post(f"/runs/{run['id']}/finish", json={"status": "succeeded"})
    assert done.json()["status"] == "succeeded"
    assert api.post(f"/runs/{run['id']}/finish", json={}).status_code in (409, 422)
    theirs = api.post("/runs", "other", json={"name": "secret"}).json()
    assert_problem(api.post(f"/runs/{theirs['id']}/metrics", json={"points": points}), 404)
    assert_problem(api.post(f"/runs/{theirs['id']}/finish", json={}), 404)
    assert api.ledger.runs.get(theirs["id"]).status == "running"


def test_extractions_are_listed_and_run_now_or_by_a_worker(api: Api) -> None:
    added = api.upload("notes.txt", b"Pump P1 runs at 40 bar.\n\nValve V7 is closed.\n").json()
    ran = api.post(f"/documents/{added['document_id']}/extractions", json={})
    assert ran.status_code == 201, ran.text
    outcome = ran.json()
    assert outcome["created"] is True
    assert outcome["segments"] >= 2
    again = api.post("/documents/notes.txt/extractions", json={}).json()
    assert again["created"] is False  # the same extractor and params: nothing new
    (listed,) = api.get(f"/versions/{added['version_id']}/extractions").json()
    assert listed["id"] == outcome["extraction_id"]
    assert_problem(api.post("/documents/notes.txt/extractions", json={"extractor": "nope"}), 422)
    assert_problem(api.post("/documents/notes.txt/extractions", "viewer", json={}), 403)
    assert_problem(api.post("/documents/nothing.txt/extractions", json={}), 404)
    assert_problem(api.get(f"/versions/{added['version_id']}/extractions", "other"), 404)
    for bad in (
        {"extractor": "nope"},
        {"params": {"no_such_param": 1}},
        {"params": {"password": "kept nowhere"}},  # a job payload is stored: refused
    ):
        refused = api.post("/documents/notes.txt/extractions", json={"background": True, **bad})
        assert_problem(refused, 422)  # refused now, not by the job later
    secret = {"document": added["document_id"], "params": {"password": "kept nowhere"}}
    refused = api.post("/jobs", json={"task": "docledger.extract", "payload": secret})
    assert_problem(refused, 422)  # nor through the generic jobs endpoint
    assert api.ledger.jobs.list(task="docledger.extract").items == []
    queued = api.post(
        "/documents/notes.txt/extractions", json={"background": True, "extractor": "text"}
    )
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert (job["task"], job["status"]) == ("docledger.extract", "queued")
    assert job["payload"]["document"] == added["document_id"]
