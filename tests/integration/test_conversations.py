"""Conversations: messages with citations that never go stale, queries logged in one call
(from search itself), feedback that opens a review item, and search thresholds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete

from docledger import InvalidInput, Ledger, NotFound
from docledger import models as m
from docledger.config import load_settings
from docledger.db.session import session_scope
from docledger.schemas.extraction import SegmentIn


def zone(text: str, x: float) -> SegmentIn:
    return SegmentIn(
        kind="zone", text=text, page_number=1, bbox={"x0": x, "y0": 0, "x1": x + 40, "y1": 20}
    )


def revision(ledger: Ledger, content: bytes, zones: list[SegmentIn]) -> tuple[Any, list[Any]]:
    added = ledger.documents.create(content, external_key="manual.pdf")
    recorded = ledger.extractions.record(added.version_id, "zones", "1", {}, zones)
    return added, ledger.segments.of_extraction(recorded.extraction.id)


def test_a_reloaded_conversation_shows_the_evidence_it_was_answered_from(ledger: Ledger) -> None:
    _, old = revision(ledger, b"v1", [zone("Pump P1 runs at 40 bar", 0)])
    talk = ledger.conversations.create(title="pumps", metadata={"channel": "web"})
    answer = ledger.conversations.log_query(
        talk.id,
        "pressure of P1?",
        [{"segment": old[0].id, "score": 0.91}],
        mode="hybrid",
        answer="40 bar",
        metadata={"user": "x"},
        answer_metadata={"model": "m1", "tokens_in": 12, "tokens_out": 3, "latency_ms": 80},
    )
    assert answer.role == "assistant"
    # a new version changes the text; then the old extraction is deleted altogether
    second, new = revision(ledger, b"v2", [zone("Pump P1 runs at 60 bar", 0)])
    assert second.version_number == 2
    said = ledger.conversations.messages(talk.id)
    assert [(x.role, x.content) for x in said] == [
        ("user", "pressure of P1?"),
        ("assistant", "40 bar"),
    ]
    assert said[1].meta["model"] == "m1"
    (cited,) = said[1].citations
    assert (cited.text, cited.segment_id, cited.version_id) == (
        "Pump P1 runs at 40 bar",
        old[0].id,
        old[0].version_id,
    )
    assert (cited.rank, cited.score, cited.mode, cited.query) == (
        1,
        0.91,
        "hybrid",
        "pressure of P1?",
    )
    assert cited.bbox is not None
    assert cited.bbox["x0"] == 0
    with session_scope(ledger.engine) as s:
        s.execute(delete(m.Extraction).where(m.Extraction.id == old[0].extraction_id))
    (kept,) = ledger.conversations.messages(talk.id)[1].citations
    assert (kept.segment_exists, kept.text, kept.page_number) == (
        False,
        "Pump P1 runs at 40 bar",
        1,
    )
    assert kept.version_id == old[0].version_id
    assert new[0].text == "Pump P1 runs at 60 bar"


def test_a_down_vote_opens_a_review_item_on_the_cited_evidence(ledger: Ledger) -> None:
    user = ledger.users.ensure("asker@example.org")
    _, segs = revision(ledger, b"doc", [zone("A", 0), zone("B", 50)])
    talk = ledger.conversations.create(user=user.email)
    answer = ledger.conversations.log_query(talk.id, "q", segs, mode="text", answer="wrong")
    liked = ledger.conversations.create_feedback(answer.id, 1, actor=user.email)
    assert liked.finding_id is None
    disliked = ledger.conversations.create_feedback(answer.id, -1, comment="B is outdated")
    assert disliked.finding_id is not None
    review = ledger.findings.get(disliked.finding_id)
    assert (review.kind, review.status, review.summary) == (
        "answer_feedback",
        "candidate",
        "B is outdated",
    )
    assert [e.text for e in ledger.findings.evidence(review.id)] == ["A", "B"]
    assert [f.rating for f in ledger.conversations.messages(talk.id)[1].feedback] == [1, -1]
    with pytest.raises(InvalidInput):
        ledger.conversations.create_feedback(answer.id, 0)
    with pytest.raises(NotFound):
        ledger.conversations.create_feedback(talk.id, 1)


def test_bad_messages_are_refused(ledger: Ledger) -> None:
    talk = ledger.conversations.create()
    for call in (
        lambda: ledger.conversations.create_message(talk.id, "robot", "hi"),
        lambda: ledger.conversations.create_message(talk.id, "user", 5),  # type: ignore[arg-type]
        lambda: ledger.conversations.create_message(talk.id, "user", "x", mode="fuzzy"),
        lambda: ledger.conversations.create_message(talk.id, "user", "x", retrievals=[3]),
        lambda: ledger.conversations.log_query(talk.id, " ", []),
        lambda: ledger.conversations.create(metadata=[1]),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidInput):
            call()
    with pytest.raises(NotFound):
        ledger.conversations.create_message(
            talk.id, "user", "x", retrievals=[{"segment": "01a21a2a-c516-7083-a449-d564ffe3fdba"}]
        )
    assert ledger.conversations.messages(talk.id) == []


def test_conversations_are_listed_per_workspace_and_run(ledger: Ledger) -> None:
    ledger.workspaces.create("acme")
    with ledger.runs.start("session", "comparison") as run:
        pass
    mine = ledger.conversations.create(title="mine", run=run.id)
    ledger.conversations.create(title="other", workspace="acme")
    assert [c.id for c in ledger.conversations.list().items] == [mine.id]
    assert [c.id for c in ledger.conversations.list(run=run.id).items] == [mine.id]
    with pytest.raises(NotFound):
        ledger.conversations.get(mine.id, workspace="acme")
    assert ledger.conversations.delete(mine.id).id == mine.id
    assert ledger.conversations.list().items == []


@pytest.fixture
def vledger(vector_db_url: str, blob_root: Path) -> Iterator[Ledger]:
    settings = load_settings(db_url=vector_db_url, blob_root=str(blob_root))
    with Ledger.open(settings=settings) as opened:
        yield opened


def test_search_logs_its_query_and_keeps_k_above_the_threshold(vledger: Ledger) -> None:
    added = vledger.documents.create(b"vectors", external_key="v")
    recorded = vledger.extractions.record(
        added.version_id, "x", "1", {}, [{"kind": "chunk", "text": f"t{i}"} for i in range(40)]
    )
    segs = vledger.segments.of_extraction(recorded.extraction.id)
    rng = np.random.default_rng(7)
    query = rng.normal(size=8).astype(np.float32)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    vectors[:12] = query + 0.05 * rng.normal(size=(12, 8))  # 12 passages close to the query
    vledger.embeddings.create_space("s8", "test", 8, "cosine")
    vledger.embeddings.upsert("s8", {s.id: vectors[i] for i, s in enumerate(segs)})
    talk = vledger.conversations.create(title="search log")

    top = vledger.search.vector(list(map(float, query)), k=10, space="s8", min_score=0.9, log=talk)
    assert len(top) == 10
    assert all(h.score >= 0.9 for h in top)
    few = vledger.search.vector(list(map(float, query)), k=20, space="s8", min_score=0.9)
    assert len(few) == 12
    everything = vledger.search.vector(list(map(float, query)), k=20, space="s8")
    assert len(everything) == 20
    with pytest.raises(InvalidInput):
        vledger.search.vector(list(map(float, query)), space="s8", min_score=1.5)

    (logged,) = vledger.conversations.messages(talk.id)
    assert logged.role == "user"
    assert [c.segment_id for c in logged.citations] == [h.segment_id for h in top]
    assert logged.citations[0].mode == "vector"

    hybrid = vledger.search.hybrid(
        "t1", vector=list(map(float, query)), space="s8", k=5, min_score=0.9, log=talk
    )
    close = {s.id for s in segs[:12]}
    assert len(hybrid) == 5
    assert {h.segment_id for h in hybrid} <= close
    words = vledger.search.text("t3", log=talk.id)
    assert [h.text for h in words] == ["t3"]
    assert [x.citations[0].mode for x in vledger.conversations.messages(talk.id)] == [
        "vector",
        "hybrid",
        "text",
    ]
