"""The model registry through the HTTP API on both dialects: numbered per workspace, the
artifact streamed in and out, stages, and nothing of another workspace's."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from docledger import models as m
from docledger.db.session import session_scope
from tests.integration.server_api import Api, assert_problem, serve

WEIGHTS = bytes(range(256)) * 40


@pytest.fixture
def api(db_url: str, blob_root: Path) -> Any:
    with serve(db_url, blob_root) as opened:
        yield opened


def _register(api: Api, name: str, who: str = "editor", **form: Any) -> Any:
    return api.post(
        "/models", who, files={"artifact": ("w.bin", WEIGHTS)}, data={"name": name, **form}
    )


def _rows(api: Api) -> int:
    with session_scope(api.ledger.engine, readonly=True) as s:
        return s.query(m.ModelVersion).count()


def test_models_are_registered_promoted_and_downloaded(api: Api) -> None:
    run = api.ledger.runs.create("train", "training", workspace="a")
    first = _register(api, "ocr", run=str(run.id), metrics=json.dumps({"f1": 0.91}))
    assert first.status_code == 201, first.text
    v1 = first.json()
    assert (v1["version"], v1["stage"], v1["metrics"]) == (1, "none", {"f1": 0.91})
    assert v1["artifact_sha256"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert v1["run_id"] == str(run.id)
    v2 = _register(api, "ocr", stage="production").json()
    assert v2["version"] == 2
    # another workspace numbers the same name from 1 and sees nothing of workspace a's
    theirs = _register(api, "ocr", "other").json()
    assert theirs["version"] == 1
    assert [x["version"] for x in api.get("/models", "other").json()["items"]] == [1]
    assert [x["version"] for x in api.get("/models", params={"name": "ocr"}).json()["items"]] == [
        1,
        2,
    ]

    promoted = api.client.put(
        "/api/v1/models/ocr/versions/1/stage",
        headers=api.as_("editor"),
        json={"stage": "production"},
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["stage"] == "production"
    assert api.get("/models/ocr", params={"version": 2}).json()["stage"] == "archived"
    assert api.get("/models/ocr", params={"stage": "production"}).json()["version"] == 1
    assert api.get("/models/ocr", "other", params={"stage": "production"}).status_code == 404

    got = api.get("/models/ocr/versions/1/artifact")
    assert got.status_code == 200
    assert got.content == WEIGHTS
    assert got.headers["etag"] == f'"{v1["artifact_sha256"]}"'
    cached = api.get(
        "/models/ocr/versions/1/artifact", headers={"If-None-Match": got.headers["etag"]}
    )
    assert cached.status_code == 304
    # the run's inputs are the model's upstream (the registration linked run -> version)
    data = api.ledger.documents.create(b"training data", external_key="train.txt", workspace="a")
    api.ledger.lineage.link(run.id, "in", [("document", data.document_id)])
    up = api.get(f"/lineage/model_version/{v1['id']}", params={"direction": "up"}).json()
    assert str(data.document_id) in {n["entity_id"] for n in up["upstream"]}
    assert_problem(api.get(f"/lineage/model_version/{v1['id']}", "other"), 404)


def test_bad_registrations_are_problems_and_write_nothing(api: Api) -> None:
    foreign = api.ledger.runs.create("theirs", "training", workspace="b")
    before = _rows(api)
    assert_problem(_register(api, "ocr", "viewer"), 403)
    assert_problem(_register(api, "ocr", run=str(foreign.id)), 404)
    assert_problem(_register(api, "ocr", metrics="[1, 2]"), 422)
    assert_problem(_register(api, "ocr", metrics="{not json"), 422)
    assert_problem(_register(api, "ocr", stage="live"), 422)
    assert_problem(_register(api, "x" * 201), 422)
    assert _rows(api) == before
    _register(api, "ocr")
    stage = "/api/v1/models/ocr/versions/1/stage"
    assert_problem(
        api.client.put(stage, headers=api.as_("viewer"), json={"stage": "production"}), 403
    )
    assert_problem(
        api.client.put(stage, headers=api.as_("other"), json={"stage": "production"}), 404
    )
    assert_problem(api.client.put(stage, headers=api.as_("editor"), json={"stage": "gold"}), 422)
    assert_problem(api.get("/models/ocr/versions/9/artifact"), 404)
    assert_problem(api.get("/models/ocr/versions/1/artifact", "other"), 404)
    bare = api.post("/models", data={"name": "no-file"})
    assert bare.status_code == 201
    assert_problem(api.get("/models/no-file/versions/1/artifact"), 404)
    assert api.ledger.model_versions.get("ocr", workspace="a").stage == "none"


def test_names_with_slashes_and_markup_are_reachable(api: Api) -> None:
    """Hub-style names ("org/ocr") and markup are names like any other: every route reaches
    them, and a name that is a prefix of another is not confused with it."""
    for name in ["org/ocr", "org/ocr/versions", "<b>x</b> & y"]:
        made = _register(api, name)
        assert made.status_code == 201, made.text
        assert api.get(f"/models/{name}").json()["name"] == name
        staged = api.client.put(
            f"/api/v1/models/{name}/versions/1/stage",
            headers=api.as_("editor"),
            json={"stage": "staging"},
        )
        assert (staged.status_code, staged.json()["name"]) == (200, name), staged.text
        assert api.get(f"/models/{name}/versions/1/artifact").content == WEIGHTS
    assert api.get("/models/org/ocr").json()["stage"] == "staging"
    assert_problem(api.get("/models/org"), 404)
