"""Embeddings and vector search: the exact path equals a brute-force numpy reference, filters
come first (k results whenever k match), no cross-workspace leaks, validation of vectors.

Vector tests run on three backends: SQLite, PostgreSQL without pgvector (exact path) and
PostgreSQL with pgvector (HNSW path, with the exact path as fallback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from docledger import InvalidInput, Ledger, NotFound
from docledger import models as m
from docledger.config import load_settings
from docledger.db.session import session_scope

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


@pytest.fixture
def vledger(vector_db_url: str, blob_root: Path) -> Iterator[Ledger]:
    settings = load_settings(db_url=vector_db_url, blob_root=str(blob_root))
    with Ledger.open(settings=settings) as opened:
        yield opened


def seeded(
    ledger: Ledger, n: int = 60, dims: int = 8, workspace: str | None = None, key: str = "doc"
) -> tuple[list, np.ndarray]:
    version = ledger.documents.create(
        f"{key}".encode(), external_key=key, workspace=workspace
    ).version_id
    rec = ledger.extractions.record(
        version,
        "x",
        "1",
        {},
        [
            {
                "kind": "chunk" if i % 2 else "zone",
                "page_number": 1 + i % 5,
                "text": f"t{i}",
                "label": "odd" if i % 2 else "even",
            }
            for i in range(n)
        ],
    )
    segs = ledger.segments.of_extraction(rec.extraction.id)
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(n, dims)).astype(np.float32)
    ledger.embeddings.create_space("s8", "test", dims, "cosine")
    ledger.embeddings.upsert("s8", {s.id: vectors[i] for i, s in enumerate(segs)})
    return segs, vectors


def test_exact_knn_matches_numpy(vledger: Ledger) -> None:
    segs, vectors = seeded(vledger)
    q = np.random.default_rng(9).normal(size=8).astype(np.float32)
    hits = vledger.search.vector(list(map(float, q)), k=10, space="s8", exact=True)
    normed = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = np.argsort(-(normed @ (q / np.linalg.norm(q))), kind="stable")[:10]
    assert [h.segment_id for h in hits] == [segs[i].id for i in expected]
    assert hits[0].score >= hits[-1].score


def test_filters_come_first_and_return_k(vledger: Ledger) -> None:
    _segs, vectors = seeded(vledger)
    q = vectors[0]
    odd = vledger.search.vector(list(map(float, q)), k=10, space="s8", labels=["odd"])
    assert len(odd) == 10
    assert {h.label for h in odd} == {"odd"}
    few = vledger.search.vector(
        list(map(float, q)), k=10, space="s8", pages=(2, 2), kinds=["chunk"]
    )
    assert {(h.page_number, h.kind) for h in few} == {(2, "chunk")}
    assert len(few) == 6  # exactly the matching segments, not fewer


def test_no_leaks_across_workspaces_and_updates_are_seen(vledger: Ledger) -> None:
    vledger.workspaces.create("other")
    segs, vectors = seeded(vledger, n=10)
    version = vledger.documents.create(b"o", external_key="o", workspace="other").version_id
    rec = vledger.extractions.record(version, "x", "1", {}, [{"kind": "chunk", "text": "x"}])
    other_seg = vledger.segments.of_extraction(rec.extraction.id)[0]
    vledger.embeddings.upsert("s8", {other_seg.id: vectors[0]})
    default_hits = vledger.search.vector(list(map(float, vectors[0])), k=50, space="s8")
    assert other_seg.id not in {h.segment_id for h in default_hits}
    other_hits = vledger.search.vector(
        list(map(float, vectors[0])), k=50, space="s8", workspace="other"
    )
    assert [h.segment_id for h in other_hits] == [other_seg.id]
    vledger.embeddings.upsert("s8", {segs[3].id: vectors[7]})  # replace: cache must reload
    again = vledger.search.vector(list(map(float, vectors[7])), k=2, space="s8")
    assert {h.segment_id for h in again} == {segs[3].id, segs[7].id}


def test_vector_validation(vledger: Ledger) -> None:
    segs, _ = seeded(vledger, n=2)
    for bad in ([1.0] * 7, [float("nan")] * 8, [float("inf")] + [0.0] * 7, "not a vector"):
        with pytest.raises(InvalidInput):
            vledger.embeddings.upsert("s8", {segs[0].id: bad})
    with pytest.raises(InvalidInput):
        vledger.embeddings.create_space("s8", "other-model", 8, "cosine")
    with pytest.raises(NotFound):
        vledger.search.vector("x", space="nope")
    with pytest.raises(NotFound, match="no workspace"):
        vledger.search.vector([0.5] * 8, space="s8", workspace="nope")


def test_builtin_embedder_finds_the_sample_text(vledger: Ledger) -> None:
    vledger.documents.create_from_paths([EXAMPLES], recursive=True)
    vledger.extractions.run(vledger.extractions.document_ids())
    assert vledger.search.embed_missing() > 0
    assert vledger.search.embed_missing() == 0
    hits = vledger.search.vector("fire doors that do not close", k=3)
    assert hits[0].external_key == "notes/inspection.md"
    total = vledger.search.vector("Total due payment", k=3)
    assert total[0].external_key == "invoice-and-plan.pdf"


def test_full_text_and_hybrid_on_the_samples(ledger: Ledger) -> None:
    ledger.documents.create_from_paths([EXAMPLES], recursive=True)
    ledger.extractions.run(ledger.extractions.document_ids())
    ledger.search.embed_missing()
    hits = ledger.search.text("emergency lighting", k=5)
    assert hits
    assert hits[0].external_key == "notes/inspection.md"
    assert "lighting" in (hits[0].text or "").lower()
    assert ledger.search.text("zzzzqqq nothing") == []
    assert ledger.search.text("!!! ()") == []  # no words: no FTS syntax error
    pdf = ledger.search.text("Grid lines moved", k=3, kinds=["line"])
    assert pdf[0].external_key == "invoice-and-plan.pdf"
    assert pdf[0].page_number == 2
    fused = ledger.search.hybrid("fire doors close", k=5)
    assert fused[0].external_key == "notes/inspection.md"
    assert fused == sorted(fused, key=lambda h: -h.score)


def test_full_text_respects_workspaces_and_deletes(ledger: Ledger) -> None:
    ledger.workspaces.create("other")
    for ws in (None, "other"):
        v = ledger.documents.create(b"x", external_key="k", workspace=ws).version_id
        ledger.extractions.record(v, "x", "1", {}, [{"kind": "chunk", "text": "quarterly audit"}])
    assert len(ledger.search.text("audit")) == 1
    assert len(ledger.search.text("audit", workspace="other")) == 1
    ledger.documents.delete("k")
    assert ledger.search.text("audit") == []
    assert len(ledger.search.text("audit", workspace="other")) == 1


def test_deletes_reach_the_cached_matrix(vledger: Ledger) -> None:
    seeded(vledger, n=10, key="a")
    b_segs, vectors = seeded(vledger, n=10, key="b")
    q = list(map(float, vectors[0]))
    assert len(vledger.search.vector(q, k=20, space="s8", exact=True)) == 20  # matrix cached
    doc_b = vledger.documents.get("b").id
    only_b = vledger.search.vector(q, k=20, space="s8", documents=[doc_b])
    assert {h.segment_id for h in only_b} == {s.id for s in b_segs}
    vledger.documents.delete("a")  # cascades to segments and embeddings
    for exact in (True, False):
        # a and b hold the same vectors, so a stale matrix would spend half of k on ghosts
        after = vledger.search.vector(q, k=10, space="s8", exact=exact)
        assert {h.segment_id for h in after} == {s.id for s in b_segs}


def _pending(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM fts_pending")).scalar() or 0)


def test_deferred_full_text_index_stays_exact(ledger: Ledger, dialect: str) -> None:
    """Writes leave full-text indexing to a catch-up that every text query runs first; deleting
    or editing a still-pending row must not corrupt the index (FTS5 integrity-check on
    SQLite), and every row is found exactly once, with its current text."""
    versions = [
        ledger.documents.create(f"d{n}".encode(), external_key=f"d{n}").version_id for n in range(3)
    ]
    for n, version in enumerate(versions):
        ledger.extractions.record(
            version,
            "x",
            "1",
            {},
            [{"kind": "chunk", "text": f"alpha beta{n} gamma{i}"} for i in range(5)],
        )
    assert _pending(ledger) == 3
    assert len(ledger.search.text("alpha", k=100)) == 15  # caught up by the query
    assert _pending(ledger) == 0
    v3 = ledger.documents.create(b"d3", external_key="d3").version_id
    ledger.extractions.record(v3, "x", "1", {}, [{"kind": "chunk", "text": "alpha delta"}])
    v4 = ledger.documents.create(b"d4", external_key="d4").version_id
    ledger.extractions.record(v4, "x", "1", {}, [{"kind": "chunk", "text": "pending kappa"}])
    ledger.documents.delete("d0")  # indexed rows go
    ledger.documents.delete("d3")  # a pending row goes before it was ever indexed
    with ledger.engine.begin() as conn:
        # an indexed row and a pending row change their text
        conn.execute(text("UPDATE segments SET text = 'omega' WHERE text = 'alpha beta1 gamma0'"))
        conn.execute(text("UPDATE segments SET text = 'pending lambda' WHERE text LIKE '%kappa'"))
    assert len(ledger.search.text("alpha", k=100)) == 9
    assert len(ledger.search.text("delta")) == 0
    assert len(ledger.search.text("omega")) == 1
    assert len(ledger.search.text("kappa")) == 0
    assert [h.text for h in ledger.search.text("lambda")] == ["pending lambda"]
    assert _pending(ledger) == 0
    if dialect == "sqlite":
        with ledger.engine.begin() as conn:
            conn.execute(text("INSERT INTO fts_segments(fts_segments) VALUES ('integrity-check')"))


def test_segments_written_outside_record_never_corrupt_the_index(
    ledger: Ledger, dialect: str
) -> None:
    """A segment inserted by another path (here the ORM) into an extraction that is already
    indexed is neither indexed nor pending; deleting it (and the indexed one, by cascade) must
    only remove what the index holds: SQLite reads that from FTS5's own docsize table."""
    version = ledger.documents.create(b"orm", external_key="orm").version_id
    rec = ledger.extractions.record(version, "x", "1", {}, [{"kind": "chunk", "text": "sigma"}])
    assert len(ledger.search.text("sigma")) == 1  # indexed now
    with session_scope(ledger.engine) as s:
        s.add(
            m.Segment(
                workspace_id=rec.extraction.workspace_id,
                extraction_id=rec.extraction.id,
                version_id=version,
                ordinal=1,
                kind="chunk",
                text="sigma tau",
            )
        )
    assert ledger.search.catch_up() == 0  # nothing marked it pending
    ledger.documents.delete("orm")
    assert ledger.search.text("sigma") == []
    if dialect == "sqlite":
        with ledger.engine.begin() as conn:
            conn.execute(text("INSERT INTO fts_segments(fts_segments) VALUES ('integrity-check')"))


def test_full_text_catch_up_on_demand(ledger: Ledger) -> None:
    """A bulk load leaves its extractions pending; catch_up (or the docledger.index_text task)
    indexes them all at once, and a second catch-up finds nothing to do."""
    for n in range(4):
        version = ledger.documents.create(f"bulk{n}".encode(), external_key=f"bulk{n}").version_id
        rows = [{"kind": "chunk", "text": f"row {i} of bulk{n}"} for i in range(300)]
        ledger.extractions.record(version, "x", "1", {}, rows)
    assert _pending(ledger) == 4
    assert ledger.search.catch_up() == 1200
    assert _pending(ledger) == 0
    assert ledger.search.catch_up() == 0
    assert len(ledger.search.text("bulk2", k=500)) == 300


def test_one_upsert_of_more_vectors_than_drivers_take_parameters(vledger: Ledger) -> None:
    """SQLite caps bind parameters at 32,766 and psycopg at 65,535: a bulk load of 70,000
    vectors in one call must still work (and on pgvector builds the space's index)."""
    n = 70_000
    version = vledger.documents.create(b"many", external_key="many").version_id
    rec = vledger.extractions.record(version, "x", "1", {}, [{"kind": "chunk"}] * n)
    segs = vledger.segments.of_extraction(rec.extraction.id)
    vectors = np.random.default_rng(4).normal(size=(n, 2)).astype(np.float32)
    vledger.embeddings.create_space("two", "test", 2, "l2")
    assert vledger.embeddings.upsert("two", {s.id: vectors[i] for i, s in enumerate(segs)}) == n
    hits = vledger.search.vector(list(map(float, vectors[123])), k=1, space="two", exact=True)
    assert hits[0].segment_id == segs[123].id


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_exact_knn_matches_numpy_for_every_metric(vledger: Ledger, metric: str) -> None:
    version = vledger.documents.create(b"m", external_key="m").version_id
    rec = vledger.extractions.record(version, "x", "1", {}, [{"kind": "chunk"}] * 40)
    segs = vledger.segments.of_extraction(rec.extraction.id)
    vectors = np.random.default_rng(12).normal(size=(40, 6)).astype(np.float32)
    vledger.embeddings.create_space(metric, "test", 6, metric)
    vledger.embeddings.upsert(metric, {s.id: vectors[i] for i, s in enumerate(segs)})
    q = np.random.default_rng(13).normal(size=6).astype(np.float32)
    reference = vectors @ q if metric == "ip" else -np.linalg.norm(vectors - q, axis=1)
    order = np.argsort(-reference, kind="stable")[:5]
    hits = vledger.search.vector(list(map(float, q)), k=5, space=metric, exact=True)
    assert [h.segment_id for h in hits] == [segs[i].id for i in order]
    assert [h.score for h in hits] == pytest.approx([float(reference[i]) for i in order], rel=1e-4)


def test_text_search_filters_before_it_ranks(ledger: Ledger) -> None:
    """Issue 13, defect 7: many matches elsewhere (another workspace, another kind) never
    crowd the scoped search out: k hits whenever k match."""
    ledger.workspaces.create("busy")
    ledger.workspaces.create("quiet")
    crowd = ledger.documents.create(b"x", external_key="crowd.txt", workspace="busy").version_id
    ledger.extractions.record(
        crowd,
        "mine",
        "1",
        {},
        [{"kind": "chunk", "text": f"bridge deck number {n}"} for n in range(600)]
        + [{"kind": "zone", "text": f"bridge zone {n}"} for n in range(12)],
    )
    few = ledger.documents.create(b"y", external_key="few.txt", workspace="quiet").version_id
    ledger.extractions.record(
        few, "mine", "1", {}, [{"kind": "chunk", "text": f"bridge pier {n}"} for n in range(12)]
    )
    quiet = ledger.search.text("bridge", k=10, workspace="quiet")
    assert len(quiet) == 10
    assert {h.external_key for h in quiet} == {"few.txt"}
    zones = ledger.search.text("bridge", k=10, workspace="busy", kinds=["zone"])
    assert len(zones) == 10
    assert {h.kind for h in zones} == {"zone"}
    assert len(ledger.search.text("bridge", k=50, workspace="busy", kinds=["zone"])) == 12


def test_embed_one_workspace_only(ledger: Ledger) -> None:
    """Issue 13: ``embed --workspace a`` embeds a's segments, not every workspace's."""
    for slug in ("a", "b"):
        ledger.workspaces.create(slug)
        added = ledger.documents.create(
            b"Bridges and tunnels.", external_key="x.txt", workspace=slug
        )
        ledger.extractions.run([added.document_id], workspace=slug)
    assert ledger.search.embed_missing("hash-256", workspace="a") == 1
    assert ledger.search.embed_missing("hash-256", workspace="a") == 0
    assert ledger.search.embed_missing("hash-256") == 1  # b's, now
    with pytest.raises(NotFound):
        ledger.search.embed_missing("hash-256", workspace="nope")


def test_two_writers_upserting_the_same_vector_both_succeed(ledger: Ledger) -> None:
    """The bulk path inserts new vectors without ON CONFLICT; a writer that finds the row
    added by a concurrent one after it looked (PostgreSQL: it waits on the unique index, then
    conflicts) takes the conflict-resolving path, and the later vector wins."""
    import threading  # noqa: PLC0415

    version = ledger.documents.create(b"one", external_key="one").version_id
    rec = ledger.extractions.record(version, "x", "1", {}, [{"kind": "chunk", "text": "a"}])
    (segment,) = ledger.segments.of_extraction(rec.extraction.id)
    ledger.embeddings.create_space("race", "test", 4, "cosine")
    first_in = threading.Event()
    errors: list[BaseException] = []

    def later() -> None:
        first_in.wait(5)
        try:
            ledger.embeddings.upsert("race", {segment.id: [0.0, 1.0, 0.0, 0.0]})
        except BaseException as exc:
            errors.append(exc)

    second = threading.Thread(target=later)
    second.start()
    with ledger.transaction() as tx:
        tx.embeddings.upsert("race", {segment.id: [1.0, 0.0, 0.0, 0.0]})
        first_in.set()
        second.join(0.5)  # the second writer is now waiting on this transaction
    second.join(10)
    assert errors == []
    (hit,) = ledger.search.vector([0.0, 1.0, 0.0, 0.0], space="race", k=1)
    assert hit.segment_id == segment.id
    assert hit.score == pytest.approx(1.0)


def test_common_words_ranked_within_the_scope(ledger: Ledger) -> None:
    """A word common in the scope (more than 100 segments) is ranked by the index first and
    scoped after: when another workspace holds all the index's best matches, the scope's
    own best still come back, in order, the same in two workspaces holding the same text."""
    ledger.workspaces.create("busy")
    crowd = ledger.documents.create(b"x", external_key="crowd.txt", workspace="busy").version_id
    ledger.extractions.record(
        crowd, "mine", "1", {}, [{"kind": "chunk", "text": "bridge"} for _ in range(600)]
    )
    longer = [{"kind": "chunk", "text": "bridge" + " filler" * n} for n in range(1, 151)]
    found = {}
    for slug in ("quiet", "quiet2"):
        ledger.workspaces.create(slug)
        version = ledger.documents.create(
            slug.encode(), external_key=f"{slug}.txt", workspace=slug
        ).version_id
        ledger.extractions.record(version, "mine", "1", {}, longer)
        found[slug] = ledger.search.text("bridge", k=10, workspace=slug)
        assert {h.external_key for h in found[slug]} == {f"{slug}.txt"}
    assert [h.text for h in found["quiet"]] == [z["text"] for z in longer[:10]]
    assert [h.text for h in found["quiet2"]] == [h.text for h in found["quiet"]]
    busy = ledger.search.text("bridge", k=10, workspace="busy")
    assert len(busy) == 10
    assert {h.text for h in busy} == {"bridge"}
