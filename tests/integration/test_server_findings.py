"""Findings and conversations written through the HTTP API on both dialects: a finding with
its evidence, a chat turn with its citations, feedback that opens a review item."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from docledger import models as m
from docledger.db.session import session_scope
from tests.integration.server_api import Api, assert_problem, serve

TEXT = b"Pump P1 runs at 40 bar.\n\nValve V7 is closed during start-up.\n"


@pytest.fixture
def api(db_url: str, blob_root: Path) -> Any:
    with serve(db_url, blob_root) as opened:
        yield opened


def _rows(api: Api, *tables: Any) -> list[int]:
    with session_scope(api.ledger.engine, readonly=True) as s:
        return [int(s.scalar(select(func.count()).select_from(t)) or 0) for t in tables]


def test_a_finding_is_created_with_its_evidence(api: Api) -> None:
    added = api.upload("notes.txt", TEXT, extract="true").json()
    segments = api.ledger.segments.of_version(added["version_id"], workspace="a")
    made = api.post("/findings", json={
        "kind": "feature", "title": "Start-up <b>sequence</b>", "confidence": 0.7,
        "body": {"area": "pumps"},
        "evidence": [
            {"target_type": "segment", "target_id": str(segments[0].id), "relation": "supports",
             "strength": 0.9, "reasoning": "states the pressure"},
            {"target_type": "document", "target_id": added["document_id"]},
        ],
    })  # fmt: skip
    assert made.status_code == 201, made.text
    finding = made.json()
    assert (finding["status"], finding["title"]) == ("candidate", "Start-up <b>sequence</b>")
    cited = api.get(f"/findings/{finding['id']}/evidence").json()
    assert {c["link"]["target_type"] for c in cited} == {"segment", "document"}
    seg = next(c for c in cited if c["link"]["target_type"] == "segment")
    assert (seg["bbox"], seg["link"]["strength"]) == (segments[0].bbox, 0.9)
    (created,) = api.get(f"/findings/{finding['id']}/history").json()
    assert created["actor"] == "reviewer@example.org"

    before = _rows(api, m.Finding, m.FindingLink, m.FindingEvent)
    theirs = api.upload("secret.txt", b"secret", who="other").json()
    for bad in [
        {"kind": "feature", "title": "x", "confidence": 1.5},
        {"kind": "feature", "title": "x", "evidence": [{"target_type": "segment",
         "target_id": str(segments[0].id), "relation": "contradicts"}]},
        {"kind": "feature", "title": "x", "evidence": [{"target_type": "segment",
         "target_id": str(segments[0].id), "strength": -0.1}]},
        {"kind": "no-such-kind", "title": "x"},
        {"kind": "feature", "title": "x", "evidence": [{"target_type": "document",
         "target_id": theirs["document_id"]}]},
    ]:  # fmt: skip
        response = api.post("/findings", json=bad)
        assert response.status_code in (404, 422), (bad, response.text)
        assert_problem(response, response.status_code)
    assert_problem(api.post("/findings", "viewer", json={"kind": "feature", "title": "x"}), 403)
    assert _rows(api, m.Finding, m.FindingLink, m.FindingEvent) == before


def test_a_chat_turn_and_a_down_vote_become_a_review_item(api: Api) -> None:
    added = api.upload("notes.txt", TEXT, extract="true").json()
    segments = api.ledger.segments.of_version(added["version_id"], workspace="a")
    talk = api.post("/conversations", json={"title": "start-up"}).json()
    asked = api.post(f"/conversations/{talk['id']}/messages",
                     json={"role": "user", "content": "Is V7 open?"})  # fmt: skip
    assert asked.status_code == 201, asked.text
    answer = api.post(f"/conversations/{talk['id']}/messages", json={
        "role": "assistant", "content": "No, <i>closed</i> during start-up.",
        "metadata": {"model": "local", "tokens": 12, "latency_ms": 80},
        "retrievals": [{"segment": str(segments[-1].id), "score": 0.83}],
        "mode": "hybrid", "query": "Is V7 open?",
    }).json()  # fmt: skip
    (citation,) = answer["citations"]
    assert (citation["segment_id"], citation["score"]) == (str(segments[-1].id), 0.83)
    assert citation["bbox"] == segments[-1].bbox
    messages = api.get(f"/conversations/{talk['id']}/messages").json()
    assert [x["role"] for x in messages] == ["user", "assistant"]
    assert messages[1]["meta"]["tokens"] == 12

    voted = api.post(f"/messages/{answer['id']}/feedback",
                     json={"rating": -1, "comment": "it is open"})  # fmt: skip
    assert voted.status_code == 201, voted.text
    assert voted.json()["finding_id"] is not None
    review = api.get(f"/findings/{voted.json()['finding_id']}").json()
    assert (review["kind"], review["status"]) == ("answer_feedback", "candidate")
    (evidence,) = api.get(f"/findings/{review['id']}/evidence").json()
    assert evidence["link"]["target_id"] == str(segments[-1].id)

    before = _rows(api, m.Message, m.Retrieval, m.MessageFeedback)
    base = f"/conversations/{talk['id']}/messages"
    assert_problem(api.post(base, json={"role": "oracle", "content": "x"}), 422)
    assert_problem(api.post(f"/messages/{answer['id']}/feedback", json={"rating": 0}), 422)
    assert_problem(api.post(base, "viewer", json={"role": "user", "content": "x"}), 403)
    assert_problem(api.post(base, "other", json={"role": "user", "content": "x"}), 404)
    assert_problem(api.post(f"/messages/{answer['id']}/feedback", "other", json={"rating": 1}), 404)
    theirs = api.upload("secret.txt", TEXT, who="other", extract="true").json()
    (their_segment, *_) = api.ledger.segments.of_version(theirs["version_id"], workspace="b")
    stolen = {"role": "assistant", "content": "x",
              "retrievals": [{"segment": str(their_segment.id)}]}  # fmt: skip
    assert_problem(api.post(base, json=stolen), 404)
    assert _rows(api, m.Message, m.Retrieval, m.MessageFeedback) == before
