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
