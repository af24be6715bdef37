"""Findings: review with an audited history, evidence that follows a new version, outputs,
summaries, and a run's deletion that takes exactly what the run produced (both dialects)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from docledger import AsyncLedger, Conflict, InvalidInput, InvalidTransition, Ledger, NotFound
from docledger.db.base import Base
from docledger.db.session import session_scope
from docledger.schemas.extraction import SegmentIn


def counts(ledger: Ledger) -> dict[str, int]:
    with session_scope(ledger.engine, readonly=True) as s:
        return {
            name: int(s.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }


def zone(text: str, x: float, page: int = 1) -> SegmentIn:
    return SegmentIn(
        kind="zone", text=text, page_number=page, bbox={"x0": x, "y0": 10, "x1": x + 50, "y1": 30}
    )


def drawing(ledger: Ledger, key: str, content: bytes, zones: list[SegmentIn]) -> Any:
    added = ledger.documents.create(content, external_key=key)
    recorded = ledger.extractions.record(added.version_id, "zones", "1", {}, zones)
    return added, ledger.segments.of_extraction(recorded.extraction.id)


def test_every_review_action_is_audited_with_old_and_new_values(ledger: Ledger) -> None:
    reviewer = ledger.users.ensure("rev@example.org")
    _, segs = drawing(ledger, "a.pdf", b"rev A", [zone("door D1 opens east", 0)])
    found = ledger.findings.create(
        "feature",
        "Door swing",
        body={"story": "As a user"},
        confidence=0.4,
        evidence=[{"target": segs[0], "relation": "implements", "strength": 0.8}],
        actor=reviewer.email,
    )
    assert (found.status, found.revision) == ("candidate", 1)
    ledger.findings.update(
        found.id, title="Door swing direction", confidence=0.7, actor=reviewer.id
    )
    ledger.findings.confirm(found.id, expected_revision=2, actor=reviewer.email, note="checked")
    ledger.findings.reopen(found.id, actor=reviewer.email)
    done = ledger.findings.reject(found.id, expected_revision=4, actor=reviewer.email)
    assert (done.status, done.revision, done.reviewed_by) == ("rejected", 5, reviewer.id)

    history = ledger.findings.history(found.id)
    assert [e.action for e in history] == ["create", "edit", "confirm", "reopen", "reject"]
    assert all(e.actor == reviewer.email and e.actor_id == reviewer.id for e in history)
    edit = history[1]
    assert edit.before == {"title": "Door swing", "confidence": 0.4, "revision": 1}
    assert edit.after == {"title": "Door swing direction", "confidence": 0.7, "revision": 2}
    assert history[2].before == {"status": "candidate", "revision": 2}
    assert history[2].after == {"status": "confirmed", "revision": 3, "note": "checked"}
    assert [e.revision for e in history] == [1, 2, 3, 4, 5]


def test_a_decision_needs_a_candidate_and_the_revision_read(ledger: Ledger) -> None:
    found = ledger.findings.create("feature", "F", confidence=0.5)
    ledger.findings.confirm(found.id, expected_revision=1)
    before = counts(ledger)
    with pytest.raises(Conflict):
        ledger.findings.reject(found.id, expected_revision=1)
    with pytest.raises(InvalidTransition):
        ledger.findings.reject(found.id)  # confirmed -> rejected: reopen first
    with pytest.raises(InvalidInput):
        ledger.findings.update(found.id)
    assert counts(ledger) == before


def test_concurrent_confirm_and_reject_exactly_one_wins(db_url: str, ledger: Ledger) -> None:
    found = ledger.findings.create("feature", "race", confidence=0.5)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def review(action: str) -> None:
        with Ledger.open(db_url) as mine:
            barrier.wait()
            try:
                getattr(mine.findings, action)(found.id, expected_revision=1)
                outcomes[action] = "won"
            except (Conflict, InvalidTransition) as exc:
                outcomes[action] = type(exc).__name__

    threads = [threading.Thread(target=review, args=(a,)) for a in ("confirm", "reject")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()).count("won") == 1, outcomes
    final = ledger.findings.get(found.id)
    assert final.revision == 2
    assert [e.action for e in ledger.findings.history(found.id)][1:] in (["confirm"], ["reject"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda led, s: led.findings.create("feature", "x", confidence=1.5), "confidence"),
        (
            lambda led, s: led.findings.create(
                "feature", "x", evidence=[{"target": s, "relation": "supports", "strength": -0.1}]
            ),
            "strength",
        ),
        (
            lambda led, s: led.findings.create(
                "feature", "x", evidence=[{"target": s, "relation": "contradicts"}]
            ),
            "relation",
        ),
        (lambda led, s: led.findings.create("feature", "x", status="maybe"), "status"),
        (lambda led, s: led.findings.create("nonsense", "x"), "unknown finding kind"),
        (
            lambda led, s: led.findings.create("comparison", "x", body={"alignment_score": 3}),
            "schema",
        ),
        (lambda led, s: led.findings.create("feature", "  "), "title"),
        (lambda led, s: led.findings.create("feature", "x", body=[1]), "JSON object"),
        (lambda led, s: led.findings.list(status="maybe"), "status"),
        (lambda led, s: led.findings.list(min_confidence=2), "min_confidence"),
        (lambda led, s: led.findings.create_kind("Bad Name", relations=["x"]), "kind name"),
        (lambda led, s: led.findings.create_kind("k", relations=[]), "relation"),
        (
            lambda led, s: led.findings.create_kind("k", relations=["x"], body_schema={"type": 5}),
            "JSON schema",
        ),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(ledger: Ledger, call: Any, message: str) -> None:
    _, segs = drawing(ledger, "a.pdf", b"bad input", [zone("text", 0)])
    before = counts(ledger)
    with pytest.raises(InvalidInput, match=message):
        call(ledger, segs[0])
    assert counts(ledger) == before


def test_a_registered_kind_checks_bodies_and_relations(ledger: Ledger) -> None:
    kind = ledger.findings.create_kind(
        "risk",
        relations=["mitigates", "causes"],
        body_schema={
            "type": "object",
            "required": ["severity"],
            "properties": {"severity": {"enum": ["low", "high"]}},
        },
    )
    assert kind.relations == ["mitigates", "causes"]
    assert "risk" in [k.name for k in ledger.findings.kinds()]
    with pytest.raises(Conflict):
        ledger.findings.create_kind("risk", relations=["x"])
    with pytest.raises(Conflict):
        ledger.findings.create_kind("feature", relations=["x"])
    _, segs = drawing(ledger, "r.pdf", b"risk", [zone("no sprinklers", 0)])
    with pytest.raises(InvalidInput, match="severity"):
        ledger.findings.create("risk", "fire", body={"severity": "medium"})
    found = ledger.findings.create(
        "risk", "fire", body={"severity": "high"}, evidence=[{"target": segs[0]}]
    )
    (evidence,) = ledger.findings.evidence(found.id)
    assert evidence.link.relation == "mitigates"  # the kind's first relation by default
    with pytest.raises(InvalidInput, match="relation"):
        ledger.findings.link(found.id, ("version", segs[0].version_id), "supports")
    # kinds are per workspace
    ledger.workspaces.create("other")
    with pytest.raises(InvalidInput, match="unknown finding kind"):
        ledger.findings.create("risk", "x", body={"severity": "low"}, workspace="other")


def test_evidence_is_a_citation_you_can_draw(ledger: Ledger) -> None:
    added, segs = drawing(
        ledger, "plan.pdf", b"plan", [zone("Stair S2", 100, page=2), zone("Door", 0)]
    )
    found = ledger.findings.create("feature", "Stairs")
    ledger.findings.link(found.id, segs[0], "implements", strength=0.9, reasoning="named")
    ledger.findings.link(found.id, ("version", added.version_id), "supports", strength=0.3)
    other = ledger.findings.create("feature", "Exits")
    ledger.findings.link(found.id, other, "extends")
    with pytest.raises(Conflict):
        ledger.findings.link(found.id, segs[0], "supports")
    with pytest.raises(InvalidInput):
        ledger.findings.link(found.id, found, "extends")
    cited = ledger.findings.evidence(found.id)
    assert [e.link.target_type for e in cited] == ["segment", "version", "finding"]
    first = cited[0]
    assert (first.text, first.page_number, first.document_key, first.version_number) == (
        "Stair S2",
        2,
        "plan.pdf",
        1,
    )
    assert first.bbox is not None
    assert first.bbox["x0"] == 100
    assert first.link.reasoning == "named"
    assert first.exists
    assert cited[2].finding_title == "Exits"
    assert [f.id for f in ledger.findings.list(linked_to=segs[0]).items] == [found.id]
    assert [f.id for f in ledger.findings.list(linked_to=other).items] == [found.id]
    assert ledger.findings.unlink(found.id, other).relation == "extends"
    assert [e.action for e in ledger.findings.history(found.id)][-1] == "unlink"
    with pytest.raises(NotFound):
        ledger.findings.unlink(found.id, other)


def test_another_workspace_is_neither_evidence_nor_visible(ledger: Ledger) -> None:
    ledger.workspaces.create("acme")
    _, segs = drawing(ledger, "a.pdf", b"mine", [zone("text", 0)])
    theirs = ledger.findings.create("feature", "theirs", workspace="acme")
    with pytest.raises(NotFound):
        theirs_link = {"target": segs[0]}
        ledger.findings.create("feature", "x", evidence=[theirs_link], workspace="acme")
    with pytest.raises(NotFound):
        ledger.findings.get(theirs.id, workspace="default")
    assert ledger.findings.list().items == []
    assert [f.id for f in ledger.findings.list(workspace="acme").items] == [theirs.id]


def test_links_follow_a_new_version_kept_changed_or_stale(ledger: Ledger) -> None:
    _, old = drawing(
        ledger,
        "A-101.pdf",
        b"revision A",
        [zone("Grid A-F", 0), zone("Door D1 opens east", 100), zone("Stair S1", 200)],
    )
    grid, door, stair = old
    f_grid = ledger.findings.create("feature", "Grid", evidence=[{"target": grid}])
    f_door = ledger.findings.create("feature", "Door", evidence=[{"target": door}])
    f_stair = ledger.findings.create("feature", "Stair", evidence=[{"target": stair}])

    new_version, new = drawing(
        ledger,
        "A-101.pdf",
        b"revision B",
        [zone("Grid A-F", 0), zone("Door D1 opens west", 100)],  # the stair is gone
    )
    assert new_version.version_number == 2
    (kept,) = ledger.findings.evidence(f_grid.id)
    assert (kept.link.state, kept.text, kept.version_number) == ("current", "Grid A-F", 2)
    (moved,) = ledger.findings.evidence(f_door.id)
    assert (moved.link.state, moved.text, moved.version_number) == (
        "changed",
        "Door D1 opens west",
        2,
    )
    (gone,) = ledger.findings.evidence(f_stair.id)
    assert (gone.link.state, gone.text, gone.version_number) == ("stale", "Stair S1", 1)
    stale = ledger.findings.get(f_stair.id)
    assert stale.stale
    assert "no successor in version 2" in (stale.stale_reason or "")
    assert not ledger.findings.get(f_door.id).stale
    assert [f.id for f in ledger.findings.list(stale=True).items] == [f_stair.id]
    assert [e.action for e in ledger.findings.history(f_door.id)] == ["create", "carry"]
    assert ledger.findings.history(f_door.id)[1].after == {
        "from": str(door.id),
        "to": str(new[1].id),
        "state": "changed",
    }
    assert ledger.findings.summarize().stale == 1


def test_merge_moves_evidence_and_records_both_sides(ledger: Ledger) -> None:
    _, segs = drawing(ledger, "a.pdf", b"merge", [zone("one", 0), zone("two", 100)])
    keep = ledger.findings.create("feature", "Login", evidence=[{"target": segs[0]}])
    dup = ledger.findings.create(
        "feature", "Sign in", evidence=[{"target": segs[0]}, {"target": segs[1]}]
    )
    target = ledger.findings.merge(dup.id, into=keep.id)
    assert (target.id, target.revision) == (keep.id, 2)
    merged = ledger.findings.get(dup.id)
    assert (merged.status, merged.merged_into_id) == ("rejected", keep.id)
    assert sorted(e.text or "" for e in ledger.findings.evidence(keep.id)) == ["one", "two"]
    assert [e.action for e in ledger.findings.history(dup.id)] == ["create", "merge"]
    with pytest.raises(InvalidTransition):
        ledger.findings.merge(dup.id, into=keep.id)
    with pytest.raises(InvalidInput):
        ledger.findings.merge(keep.id, into=keep.id)


def test_outputs_are_versioned_and_reach_their_evidence_in_lineage(ledger: Ledger) -> None:
    added, segs = drawing(ledger, "spec.pdf", b"spec", [zone("Users log in", 0)])
    found = ledger.findings.create("feature", "Login", evidence=[{"target": segs[0]}])
    first = ledger.findings.create_output(found.id, "epic", {"title": "Auth"})
    second = ledger.findings.create_output(found.id, "epic", {"title": "Auth v2"})
    story = ledger.findings.create_output(found.id, "story", {"as": "user"})
    assert (first.version, second.version, story.version) == (1, 2, 1)
    assert [(o.output_type, o.version) for o in ledger.findings.outputs(found.id)] == [
        ("epic", 1),
        ("epic", 2),
        ("story", 1),
    ]
    latest = ledger.findings.outputs(found.id, latest=True)
    assert [o.body for o in latest] == [{"title": "Auth v2"}, {"as": "user"}]
    upstream = {(n.entity_type, n.entity_id) for n in ledger.lineage.upstream(second)}
    assert ("finding", str(found.id)) in upstream
    assert ("segment", str(segs[0].id)) in upstream
    assert ("document", str(added.document_id)) in upstream
    downstream = {(n.entity_type, n.entity_id) for n in ledger.lineage.downstream(segs[0])}
    assert {("finding", str(found.id)), ("finding_output", str(second.id))} <= downstream


def test_a_comparison_session_summary_in_one_query(ledger: Ledger) -> None:
    old, _ = drawing(ledger, "A.pdf", b"A1", [zone("x", 0)])
    new, _ = drawing(ledger, "A.pdf", b"A2", [zone("y", 0)])
    with ledger.runs.start("session", "comparison") as session:
        for score in (0.9, 0.7):
            comparison = ledger.findings.create(
                "comparison",
                f"A-101 {score}",
                body={"alignment_score": score, "changes_detected": True},
                run=session.id,
                evidence=[
                    {"target": ("version", old.version_id), "relation": "old"},
                    {"target": ("version", new.version_id), "relation": "new"},
                ],
            )
            ledger.findings.create(
                "change_analysis",
                "analysis",
                body={"success": score > 0.8, "changes_found": ["door"]},
                run=session.id,
                evidence=[{"target": comparison, "relation": "analyzes"}],
            )
    summary = ledger.findings.summarize_run(session.id)
    assert (summary.comparisons, summary.successful_analyses, summary.failed_analyses) == (2, 1, 1)
    assert summary.average_alignment == pytest.approx(0.8)
    assert summary.by_kind == {"comparison": 2, "change_analysis": 2}
    assert ledger.findings.summarize().by_kind_and_status == {
        "comparison": {"candidate": 2},
        "change_analysis": {"candidate": 2},
    }


def test_deleting_a_run_deletes_what_it_produced_and_nothing_else(ledger: Ledger) -> None:
    added, segs = drawing(ledger, "a.pdf", b"session", [zone("one", 0)])
    keeper = ledger.findings.create("feature", "not from the run", evidence=[{"target": segs[0]}])
    with ledger.runs.start("session", "comparison") as session:
        session.uses(("version", added.version_id))
        session.log_metrics({"alignment_score": 0.5})
    made = ledger.findings.create(
        "comparison", "cmp", run=session.id, evidence=[{"target": segs[0], "relation": "old"}]
    )
    ledger.findings.create_output(made.id, "report", {"ok": True})
    ledger.findings.attach(made.id, "overlay", b"\x89PNG overlay")
    ledger.findings.link(keeper.id, made, "supports")  # someone else's evidence on it
    talk = ledger.conversations.create(title="about the session", run=session.id)
    ledger.conversations.log_query(talk.id, "what changed?", [segs[0]], mode="vector", answer="x")
    before = counts(ledger)

    gone = ledger.runs.delete(session.id)
    assert gone.id == session.id
    after = counts(ledger)
    changed = {t for t in before if before[t] != after[t]}
    produced = {
        "runs",
        "run_events",
        "metric_chunks",
        "lineage_edges",
        "findings",
        "finding_links",
        "finding_events",
        "finding_outputs",
        "finding_blobs",
        "conversations",
        "messages",
        "retrievals",
    }
    assert changed <= produced, changed - produced
    assert after["runs"] == before["runs"] - 1
    assert (after["findings"], after["finding_links"]) == (1, 2)  # keeper's link to it stays
    assert after["finding_events"] == before["finding_events"] - 1  # made's "create"
    assert [after[t] for t in ("finding_outputs", "finding_blobs", "conversations")] == [0, 0, 0]
    assert [after[t] for t in ("messages", "retrievals", "metric_chunks", "lineage_edges")] == [
        0,
        0,
        0,
        0,
    ]
    assert after["run_events"] == 0
    (dangling,) = [
        e for e in ledger.findings.evidence(keeper.id) if e.link.target_type == "finding"
    ]
    assert not dangling.exists
    assert ledger.documents.get(added.document_id).id == added.document_id
    with pytest.raises(NotFound):
        ledger.runs.delete(session.id)


def test_link_many_is_all_or_nothing(ledger: Ledger) -> None:
    _, segs = drawing(ledger, "a.pdf", b"bulk", [zone(f"z{i}", i * 10) for i in range(5)])
    findings = [ledger.findings.create("feature", f"F{i}") for i in range(3)]
    links = [
        {"finding": f.id, "target": s, "relation": "supports", "strength": 0.5}
        for f in findings
        for s in segs
    ]
    assert ledger.findings.link_many(links) == 15
    assert len(ledger.findings.evidence(findings[0].id)) == 5
    before = counts(ledger)
    with pytest.raises(Conflict):
        ledger.findings.link_many([{"finding": findings[0].id, "target": segs[0]}])
    bad = [{"finding": findings[1].id, "target": ("segment", segs[0].id), "strength": 2}]
    with pytest.raises(InvalidInput):
        ledger.findings.link_many(bad)
    assert counts(ledger) == before


def test_attachments_are_blobs_the_collector_keeps(ledger: Ledger) -> None:
    found = ledger.findings.create("comparison", "overlay", body={"alignment_score": 0.5})
    ledger.findings.attach(found.id, "overlay", b"png bytes", media_type="image/png")
    assert ledger.findings.read_attachment(found.id, "overlay") == b"png bytes"
    report = ledger.maintenance.gc(grace_s=0)
    assert report.unreferenced_rows == 0
    assert [a.name for a in ledger.findings.attachments(found.id)] == ["overlay"]
    with pytest.raises(NotFound):
        ledger.findings.read_attachment(found.id, "missing")


def test_duplicate_content_policy(ledger: Ledger) -> None:
    first = ledger.documents.create(b"same bytes", external_key="one.pdf")
    skipped = ledger.documents.create(
        b"same bytes", external_key="two.pdf", on_duplicate_content="skip"
    )
    assert (skipped.outcome, skipped.document_id) == ("duplicate", first.document_id)
    before = counts(ledger)
    with pytest.raises(Conflict, match=r"one\.pdf"):
        ledger.documents.create(
            b"same bytes", external_key="three.pdf", on_duplicate_content="error"
        )
    with pytest.raises(InvalidInput):
        ledger.documents.create(b"x", external_key="four.pdf", on_duplicate_content="maybe")
    assert counts(ledger) == before
    batch = ledger.documents.create_many(
        {"five.pdf": b"new bytes", "six.pdf": b"new bytes", "seven.pdf": b"same bytes"},
        on_duplicate_content="error",
    )
    assert [r.outcome for r in batch] == ["added", "failed", "failed"]
    again = ledger.documents.create(b"same bytes", external_key="eight.pdf")
    assert again.outcome == "added"  # the default: a second document sharing the blob
    holders = ledger.documents.find_by_sha256(first.sha256 or "")
    assert [d.external_key for d in holders] == ["one.pdf", "eight.pdf"]
    with pytest.raises(InvalidInput):
        ledger.documents.find_by_sha256("nope")


@pytest.mark.asyncio
async def test_the_async_twins(db_url: str) -> None:
    async with AsyncLedger.open(db_url) as aledger:
        added = await aledger.documents.create(b"async", external_key="a.txt")
        recorded = await aledger.extractions.record(
            added.version_id, "z", "1", {}, [zone("async zone", 0)]
        )
        segs = await aledger.segments.of_extraction(recorded.extraction.id)
        found = await aledger.findings.create("feature", "F", evidence=[{"target": segs[0]}])
        await aledger.findings.confirm(found.id, expected_revision=1)
        (cited,) = await aledger.findings.evidence(found.id)
        assert cited.text == "async zone"
        talk = await aledger.conversations.create(title="t", finding=found.id)
        said = await aledger.conversations.log_query(talk.id, "q", segs, mode="text")
        assert [c.text for c in said.citations] == ["async zone"]
        assert [m.role for m in await aledger.conversations.messages(talk.id)] == ["user"]
        assert [e.action for e in await aledger.findings.history(found.id)] == [
            "create",
            "confirm",
        ]
