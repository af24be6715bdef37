"""The HTTP API on both dialects: keys and roles, workspace confinement, documents with
ranges and ETags, segments with boxes, annotations with If-Match, findings, search, problems
for bad input, and the body limit."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from docledger import models as m
from docledger.db.session import session_scope
from docledger.schemas.extraction import SegmentIn
from tests.integration.server_api import PDF, PROBLEM, Api, assert_problem, serve

TEXT = b"Pump P1 runs at 40 bar.\n\nValve V7 is closed during start-up.\n"


@pytest.fixture
def api(db_url: str, blob_root: Path) -> Any:
    with serve(db_url, blob_root) as opened:
        yield opened


def _count(api: Api, table: type[Any]) -> int:
    with session_scope(api.ledger.engine, readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_whoami_names_the_key_its_role_and_workspace(api: Api) -> None:
    for role in ("viewer", "editor", "owner"):
        body = api.get("/whoami", role).json()
        assert body["key"]["role"] == role
        assert body["workspace"]["slug"] == "a"
        assert "secret" not in str(body)
        assert api.keys[role] not in str(body)
    by_header = api.client.get("/api/v1/whoami", headers={"X-API-Key": api.keys["other"]})
    assert by_header.json()["workspace"]["slug"] == "b"


@pytest.mark.parametrize(
    "sent",
    [None, "", "Bearer", "Bearer nonsense", "Bearer dlk_000000000000.aaaaaaaaaaaaaaaaaaaaaaaa"],
)
def test_missing_malformed_and_unknown_keys_get_the_same_401(api: Api, sent: str | None) -> None:
    headers = {} if sent is None else {"Authorization": sent}
    body = assert_problem(api.client.get("/api/v1/whoami", headers=headers), 401)
    assert body["title"] == "Unauthenticated"


def test_a_revoked_key_is_refused_and_a_wrong_secret_too(api: Api) -> None:
    secret = api.keys["viewer"]
    assert api.get("/whoami").status_code == 200
    prefix = secret[4:16]
    wrong = f"dlk_{prefix}." + "x" * 43
    assert_problem(
        api.client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {wrong}"}), 401
    )
    api.ledger.api_keys.revoke(prefix)
    assert_problem(api.get("/whoami"), 401)


def test_every_operation_refuses_a_request_without_a_key(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    checked = 0
    fixed = {"page": "1", "verdict": "confirm", "action": "retry", "entity_type": "document"}
    for path, operations in spec["paths"].items():
        concrete = re.sub(r"\{(\w+)\}", lambda m: fixed.get(m.group(1), str(uuid.uuid4())), path)
        for method in operations:
            response = api.client.request(method.upper(), concrete)
            assert_problem(response, 401)
            checked += 1
    assert checked >= 40


def test_upload_download_with_etag_and_ranges(api: Api) -> None:
    added = api.upload("notes.txt", TEXT)
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["outcome"] == "added"
    digest = hashlib.sha256(TEXT).hexdigest()
    assert body["sha256"] == digest
    again = api.upload("notes.txt", TEXT).json()
    assert again["outcome"] == "unchanged"

    whole = api.get("/documents/notes.txt/content")
    assert whole.status_code == 200
    assert whole.content == TEXT
    assert whole.headers["etag"] == f'"{digest}"'
    assert whole.headers["accept-ranges"] == "bytes"
    assert "notes.txt" in whole.headers["content-disposition"]

    cached = api.get("/documents/notes.txt/content", headers={"If-None-Match": f'"{digest}"'})
    assert cached.status_code == 304
    assert cached.content == b""
    listed_tags = api.get(
        "/documents/notes.txt/content", headers={"If-None-Match": f'"other", W/"{digest}"'}
    )
    assert listed_tags.status_code == 304
    stale = api.get("/documents/notes.txt/content", headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200

    part = api.get("/documents/notes.txt/content", headers={"Range": "bytes=5-6"})
    assert part.status_code == 206
    assert part.content == TEXT[5:7]
    assert part.headers["content-range"] == f"bytes 5-6/{len(TEXT)}"
    tail = api.get("/documents/notes.txt/content", headers={"Range": "bytes=-4"})
    assert tail.status_code == 206
    assert tail.content == TEXT[-4:]
    beyond = api.get("/documents/notes.txt/content", headers={"Range": "bytes=10000-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(TEXT)}"

    changed = api.upload("notes.txt", TEXT + b"Added later.\n").json()
    assert changed["outcome"] == "new_version"
    first = api.get("/documents/notes.txt/content", params={"version": 1})
    assert first.content == TEXT
    versions = api.get("/documents/notes.txt/versions").json()
    assert [v["version_number"] for v in versions] == [1, 2]
    detail = api.get(f"/documents/{body['document_id']}").json()
    assert detail["current_version"] == 2
    listed = api.get("/documents", params={"limit": 1}).json()
    assert [d["external_key"] for d in listed["items"]] == ["notes.txt"]
    assert listed["next_cursor"] is None


def test_a_viewer_cannot_write_and_nothing_is_stored(api: Api) -> None:
    refused = api.upload("notes.txt", TEXT, who="viewer")
    assert_problem(refused, 403)
    assert _count(api, m.Document) == 0
    assert _count(api, m.Blob) == 0
    assert_problem(api.post("/keys", "editor", json={"name": "x"}), 403)
    assert_problem(api.post("/conversations", "viewer", json={}), 403)


def test_bad_uploads_and_bodies_are_problems_and_write_nothing(api: Api) -> None:
    for name in ["../../etc/passwd", "", "a/b.txt"]:
        response = api.upload(name, TEXT)
        assert response.status_code in (400, 422), (name, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
    nan = api.client.post(
        "/api/v1/search",
        headers={**api.as_("viewer"), "Content-Type": "application/json"},
        content=b'{"query": "pump", "min_score": NaN}',
    )
    assert_problem(nan, 422)
    assert_problem(api.post("/search", "viewer", json={"query": "pump", "k": 0}), 422)
    assert_problem(api.post("/search", "viewer", json={"query": "pump", "bogus": 1}), 422)
    assert_problem(api.get("/documents", params={"limit": 0}), 422)
    assert _count(api, m.Document) == 0


def test_another_workspaces_ids_answer_404_everywhere(api: Api) -> None:
    theirs = api.upload("secret.txt", TEXT, who="other", extract="true").json()
    ledger = api.ledger
    (segment, *_) = ledger.segments.of_version(theirs["version_id"], workspace="b")
    note = ledger.annotations.create("segment", segment.id, "label", {"label": "x"})
    finding = ledger.findings.create(
        "feature", "secret", evidence=[{"target": segment}], workspace="b"
    )
    talk = ledger.conversations.create(title="secret", workspace="b")
    key = ledger.api_keys.list(workspace="b").items[0]
    doc, ver = theirs["document_id"], theirs["version_id"]
    for path in [
        f"/documents/{doc}",
        "/documents/secret.txt",
        f"/documents/{doc}/versions",
        f"/documents/{doc}/content",
        f"/documents/{doc}/pages/1.png",
        f"/segments/{segment.id}",
        f"/annotations/{note.id}",
        f"/annotations/{note.id}/history",
        f"/findings/{finding.id}",
        f"/findings/{finding.id}/evidence",
        f"/findings/{finding.id}/history",
        f"/conversations/{talk.id}/messages",
    ]:
        body = assert_problem(api.get(path, "owner"), 404)
        assert body["title"] == "NotFound"  # the answer for an id that does not exist
    assert api.get(f"/versions/{ver}/segments", "owner").status_code == 404
    assert_problem(
        api.patch(f"/annotations/{note.id}", json={"value": {"label": "y"}},
                  headers={"If-Match": '"1"'}),
        404,
    )  # fmt: skip
    assert_problem(api.post(f"/findings/{finding.id}/confirm", json={}), 404)
    assert_problem(api.post(f"/documents/{doc}/unpack"), 404)
    assert_problem(api.delete(f"/keys/{key.prefix}"), 404)
    assert_problem(
        api.post("/annotations", json={"target_type": "segment", "target_id": str(segment.id),
                                       "kind": "label", "value": {}}),
        404,
    )  # fmt: skip
    assert api.get("/documents", "owner").json()["items"] == []
    assert api.post("/search", "owner", json={"query": "pump", "mode": "text"}).json() == []
    assert ledger.findings.get(finding.id).status == "candidate"
    assert ledger.annotations.get(note.id).revision == 1
    assert ledger.api_keys.get(key.id).revoked_at is None


def test_segments_of_a_pdf_carry_their_pages_and_boxes(api: Api) -> None:
    added = api.upload("plan.pdf", PDF.read_bytes(), extract="true").json()
    segments = api.get(f"/versions/{added['version_id']}/segments").json()
    assert segments, "the PDF's text was not extracted"
    lines = [s for s in segments if s["kind"] == "line"]
    assert {s["page_number"] for s in lines} == {1, 2}
    for s in lines:
        box = s["bbox"]
        assert 0 <= box["x0"] < box["x1"] <= 595
        assert 0 <= box["y0"] < box["y1"] <= 842
    page_one = api.get(f"/versions/{added['version_id']}/segments", params={"page": 1}).json()
    assert page_one
    assert all(s["page_number"] == 1 for s in page_one)
    one = api.get(f"/segments/{lines[0]['id']}").json()
    assert one["text"] == lines[0]["text"]

    png = api.get("/documents/plan.pdf/pages/1.png", params={"dpi": 72})
    assert png.status_code == 200
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    again = api.get(
        "/documents/plan.pdf/pages/1.png",
        params={"dpi": 72},
        headers={"If-None-Match": png.headers["etag"]},
    )
    assert again.status_code == 304
    assert_problem(api.get("/documents/plan.pdf/pages/9.png"), 422)


def test_annotations_change_only_with_the_revision_read(api: Api) -> None:
    added = api.upload("notes.txt", TEXT, extract="true").json()
    (segment, *_) = api.get(f"/versions/{added['version_id']}/segments").json()
    made = api.post(
        "/annotations",
        json={"target_type": "segment", "target_id": segment["id"], "kind": "correction",
              "value": {"corrected": "Pump P1 runs at 42 bar."}},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    note = made.json()
    assert made.headers["etag"] == '"1"'
    path = f"/annotations/{note['id']}"

    body = assert_problem(api.patch(path, json={"status": "submitted"}), 428)
    assert "If-Match" in body["detail"]
    changed = api.patch(path, json={"status": "submitted"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    stale = api.patch(path, json={"status": "approved"}, headers={"If-Match": '"1"'})
    assert_problem(stale, 412)
    assert stale.headers["etag"] == '"2"'
    assert_problem(api.patch(path, json={"status": "approved"}, headers={"If-Match": "two"}), 422)
    assert api.get(path).json()["status"] == "submitted"

    history = api.get(f"{path}/history").json()
    assert [e["revision"] for e in history] == [1, 2]
    assert history[1]["before"]["status"] == "draft"
    assert history[1]["after"]["status"] == "submitted"
    assert all(e["actor"] == "reviewer@example.org" for e in history)
    listed = api.get("/annotations", params={"segment": segment["id"]}).json()
    assert [a["id"] for a in listed["items"]] == [note["id"]]


def test_findings_evidence_and_verdicts(api: Api) -> None:
    added = api.upload("notes.txt", TEXT, extract="true").json()
    (segment, *_) = api.ledger.segments.of_version(added["version_id"], workspace="a")
    finding = api.ledger.findings.create(
        "feature", "Pump pressure", confidence=0.4, evidence=[{"target": segment}],
        workspace="a",
    )  # fmt: skip
    queue = api.get("/findings/review-queue").json()
    assert [f["id"] for f in queue["items"]] == [str(finding.id)]
    (cited,) = api.get(f"/findings/{finding.id}/evidence").json()
    assert cited["link"]["target_id"] == str(segment.id)
    assert cited["bbox"] == segment.bbox
    assert cited["page_number"] == segment.page_number
    assert cited["text"] == segment.text

    assert_problem(api.post(f"/findings/{finding.id}/confirm", "viewer", json={}), 403)
    confirmed = api.post(f"/findings/{finding.id}/confirm", json={"expected_revision": 1})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert_problem(api.post(f"/findings/{finding.id}/reject", json={"expected_revision": 1}), 409)
    history = api.get(f"/findings/{finding.id}/history").json()
    assert history[-1]["after"]["status"] == "confirmed"
    assert history[-1]["actor"] == "reviewer@example.org"
    listed = api.get("/findings", params={"status": "confirmed"}).json()
    assert [f["id"] for f in listed["items"]] == [str(finding.id)]


def test_search_finds_current_passages_and_logs_into_a_conversation(api: Api) -> None:
    added = api.upload("notes.txt", TEXT, extract="true").json()
    hits = api.post("/search", "viewer", json={"query": "valve closed", "mode": "text"}).json()
    assert hits
    assert "Valve V7" in hits[0]["text"]
    assert hits[0]["version_id"] == added["version_id"]
    talk = api.post("/conversations", json={"title": "start-up"}).json()
    assert_problem(
        api.post("/search", "viewer", json={"query": "valve", "conversation": talk["id"]}), 403
    )
    logged = api.post(
        "/search", json={"query": "valve closed", "mode": "text", "conversation": talk["id"]}
    )
    assert logged.status_code == 200, logged.text
    (message,) = api.get(f"/conversations/{talk['id']}/messages").json()
    assert message["content"] == "valve closed"
    assert [c["segment_id"] for c in message["citations"]] == [
        h["segment_id"] for h in logged.json()
    ]
    assert [c["id"] for c in api.get("/conversations").json()["items"]] == [talk["id"]]


def test_keys_are_managed_by_owners_only(api: Api) -> None:
    made = api.post("/keys", "owner", json={"name": "ci", "role": "editor"})
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    prefix = made.json()["key"]["prefix"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.client.get("/api/v1/whoami", headers=headers).json()["key"]["role"] == "editor"
    listed = api.get("/keys", "owner").json()
    assert prefix in [k["prefix"] for k in listed["items"]]
    assert secret not in str(listed)
    assert_problem(api.get("/keys", "editor"), 403)
    assert api.delete(f"/keys/{prefix}").json()["revoked_at"] is not None
    assert_problem(api.client.get("/api/v1/whoami", headers=headers), 401)


def test_bodies_over_the_limit_get_413_and_store_nothing(db_url: str, blob_root: Path) -> None:
    with serve(db_url, blob_root, max_body_bytes=2000) as api:
        big = api.upload("big.bin", b"x" * 5000)
        assert_problem(big, 413)

        def chunks() -> Any:
            for _ in range(10):
                yield b"y" * 500

        streamed = api.client.post(
            "/api/v1/documents",
            headers={**api.as_("editor"), "Content-Type": "multipart/form-data; boundary=zz"},
            content=chunks(),
        )
        assert_problem(streamed, 413)
        assert api.upload("small.txt", b"small").status_code == 201
        assert _count(api, m.Document) == 1


def test_the_review_queue_leaves_out_what_was_reviewed(api: Api) -> None:
    added = api.ledger.documents.create(b"scan", external_key="scan.png", workspace="a")
    zone = SegmentIn(kind="zone", page_number=1, text="Tota1", confidence=0.3,
                     bbox={"x0": 0, "y0": 0, "x1": 10, "y1": 10, "unit": "px"})  # fmt: skip
    api.ledger.extractions.record(added.version_id, "ocr", "1", {}, [zone, zone])
    first, second = api.get("/review-queue").json()
    made = api.post(
        "/annotations",
        json={"target_type": "segment", "target_id": first["id"], "kind": "review",
              "value": {"verdict": "accepted"}},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert len(api.get("/review-queue").json()) == 2
    left = api.get("/review-queue", params={"unreviewed": True}).json()
    assert [s["id"] for s in left] == [second["id"]]


MAIL = (
    b"From: billing@example.com\nTo: ap@example.com\nSubject: Invoice 7\nMIME-Version: 1.0\n"
    b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nAttached.\n'
    b'--b\nContent-Type: text/csv\nContent-Disposition: attachment; filename="items.csv"\n\n'
    b"item,amount\nsteel,900\n--b--\n"
)


def test_a_mail_is_unpacked_over_http(api: Api) -> None:
    mail = api.upload("invoice.eml", MAIL).json()
    assert_problem(api.post(f"/documents/{mail['document_id']}/unpack", "viewer"), 403)
    assert _count(api, m.Document) == 1  # the refused call wrote nothing
    unpacked = api.post(f"/documents/{mail['document_id']}/unpack")
    assert unpacked.status_code == 200, unpacked.text
    (item,) = unpacked.json()
    assert (item["external_key"], item["outcome"], item["media_type"]) == (
        "invoice.eml/attachments/01-items.csv", "added", "text/csv")  # fmt: skip
    again = api.post("/documents/invoice.eml/unpack").json()
    assert [r["outcome"] for r in again] == ["unchanged"]
    note = api.upload("note.txt", TEXT).json()
    body = assert_problem(api.post(f"/documents/{note['document_id']}/unpack"), 422)
    assert "only mail" in body["detail"]
