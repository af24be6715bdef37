"""The pgvector path: HNSW recall on clustered data, the index really used, the pgvector copies
kept in step with every write, and enabling on a database that already holds vectors.

The recall test runs on all three vector backends (on the exact paths recall must be 1.0);
the rest needs pgvector and runs against the PostgreSQL with the extension (never skipped in
CI: the dev extra ships the server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from docledger import InvalidInput, Ledger, NotFound
from docledger.config import load_settings
from docledger.db import vector_index
from docledger.services import schema
from docledger.services.search_space import SEARCH_KINDS
from tests.conftest import PgDatabases
from tests.integration.test_vector_files import SPACE, queries, seeded

DIMS = 48


def clustered(n: int, dims: int, clusters: int, seed: int) -> np.ndarray:
    """Points around random centres: real embeddings cluster; uniform noise gives HNSW
    nothing to navigate and says nothing about recall on real data."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dims))
    points = centres[rng.integers(0, clusters, size=n)] + 0.35 * rng.normal(size=(n, dims))
    return points.astype(np.float32)


def load(ledger: Ledger, vectors: np.ndarray, space: str = "c") -> list:
    version = ledger.documents.create(b"corpus", external_key="corpus").version_id
    rec = ledger.extractions.record(
        version,
        "x",
        "1",
        {},
        [
            {"kind": "chunk", "page_number": 1 + i % 10, "text": f"c{i}"}
            for i in range(len(vectors))
        ],
    )
    segs = ledger.segments.of_extraction(rec.extraction.id)
    ledger.embeddings.create_space(space, "test", vectors.shape[1], "cosine")
    ledger.embeddings.upsert(space, {s.id: vectors[i] for i, s in enumerate(segs)})
    return segs


@pytest.fixture
def vledger(vector_db_url: str, blob_root: Path) -> Iterator[Ledger]:
    with Ledger.open(settings=load_settings(db_url=vector_db_url, blob_root=str(blob_root))) as lg:
        yield lg


@pytest.fixture
def pgv(pgvector_databases: PgDatabases, blob_root: Path) -> Iterator[Ledger]:
    """A fresh migrated database on the PostgreSQL with pgvector (not parametrized)."""
    url = pgvector_databases.create(template=make_url(pgvector_databases.template_url()).database)
    with Ledger.open(settings=load_settings(db_url=url, blob_root=str(blob_root))) as lg:
        yield lg
    pgvector_databases.drop(url)


def test_recall_at_10_on_clustered_data(vledger: Ledger, vector_dialect: str) -> None:
    vectors = clustered(4000, DIMS, 40, seed=1)
    segs = load(vledger, vectors)
    queries = clustered(60, DIMS, 40, seed=1)[:60] + 0.05
    normed = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    found = 0
    for q in queries:
        reference = np.argsort(-(normed @ (q / np.linalg.norm(q))), kind="stable")[:10]
        hits = vledger.search.vector(list(map(float, q)), k=10, space="c")
        assert len(hits) == 10
        found += len({segs[i].id for i in reference} & {h.segment_id for h in hits})
    recall = found / (10 * len(queries))
    assert recall >= (0.95 if vector_dialect == "pgvector" else 1.0), recall
    with vledger.engine.connect() as conn:
        assert (vector_index.version(conn) is not None) == (vector_dialect == "pgvector")


def test_the_hnsw_index_answers_right_after_a_load(pgv: Ledger) -> None:
    """No ANALYZE by hand: the load leaves the planner statistics that make it walk the
    index (never-analysed tables looked empty to it, and it sorted every row instead)."""
    vectors = clustered(3000, DIMS, 30, seed=2)
    load(pgv, vectors)
    space = pgv.embeddings.space("c")
    filters = "AND s.workspace_id = :ws AND s.kind = ANY(:kinds)"
    sql = vector_index.search_sql(space.id, DIMS, "cosine", filters, 10)
    ws = pgv.workspaces.get(None).id
    params = {"ws": ws, "kinds": list(SEARCH_KINDS), "q": vector_index.literal(vectors[5])}
    with pgv.engine.connect() as conn:
        plan = "\n".join(row[0] for row in conn.execute(text("EXPLAIN " + sql), params))
    assert f"Index Scan using {vector_index.index_name(space.id)}" in plan, plan


def test_copies_follow_every_write(pgv: Ledger) -> None:
    vectors = clustered(50, DIMS, 5, seed=3)
    segs = load(pgv, vectors)
    count = "SELECT count(*) FROM vec_embeddings"
    with pgv.engine.connect() as conn:
        assert conn.execute(text(count)).scalar() == 50
    pgv.embeddings.upsert("c", {segs[0].id: vectors[9]})  # replace one vector
    pgv.embeddings.upsert_refs("c", {segs[1].id: "qdrant:point-1"})  # now lives elsewhere
    with pgv.engine.connect() as conn:
        assert conn.execute(text(count)).scalar() == 49
        stored = conn.execute(
            text("SELECT vec::text FROM vec_embeddings WHERE segment_id = :s"), {"s": segs[0].id}
        ).scalar()
    assert np.array_equal(np.array(eval(stored), dtype=np.float32), vectors[9])  # noqa: S307
    hits = pgv.search.vector(list(map(float, vectors[9])), k=2, space="c")
    assert {h.segment_id for h in hits} == {segs[0].id, segs[9].id}
    pgv.documents.delete("corpus")
    with pgv.engine.connect() as conn:
        assert conn.execute(text(count)).scalar() == 0


def test_enable_backfills_an_existing_database(pgv: Ledger) -> None:
    vectors = clustered(vector_index.INDEX_MIN_ROWS + 200, DIMS, 6, seed=4)
    load(pgv, vectors)
    pgv.embeddings.create_space("wide", "test", 2500, "l2")  # above HNSW's limit: exact only
    with pgv.engine.begin() as conn:
        vector_index.disable(conn)
        assert not vector_index.present(conn)
    with pgv.engine.begin() as conn:
        assert vector_index.enable(conn)
        assert vector_index.enable(conn)  # idempotent
        assert conn.execute(text("SELECT count(*) FROM vec_embeddings")).scalar() == len(vectors)
        indexes = set(
            conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'vec_embeddings'")
            ).scalars()
        )
    space = pgv.embeddings.space("c")
    wide = pgv.embeddings.space("wide")
    assert vector_index.index_name(space.id) in indexes
    assert vector_index.index_name(wide.id) not in indexes


def test_the_index_is_built_once_a_space_is_big_enough(pgv: Ledger) -> None:
    small = clustered(vector_index.INDEX_MIN_ROWS - 1, DIMS, 5, seed=8)
    segs = load(pgv, small)
    space = pgv.embeddings.space("c")
    with pgv.engine.connect() as conn:
        assert not vector_index.has_index(conn, space.id)
    hits = pgv.search.vector(list(map(float, small[3])), k=5, space="c")  # exact meanwhile
    assert hits[0].segment_id == segs[3].id
    more = clustered(10, DIMS, 5, seed=9)
    version = pgv.documents.create(b"more", external_key="more").version_id
    rec = pgv.extractions.record(version, "x", "1", {}, [{"kind": "chunk"} for _ in more])
    extra = pgv.segments.of_extraction(rec.extraction.id)
    pgv.embeddings.upsert("c", {sg.id: more[i] for i, sg in enumerate(extra)})
    with pgv.engine.connect() as conn:
        assert vector_index.has_index(conn, space.id)
    hits = pgv.search.vector(list(map(float, more[2])), k=5, space="c")
    assert hits[0].segment_id == extra[2].id


def scored_exactly(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every search the pgvector path answers by scoring the filtered rows, recorded."""
    calls: list[str] = []
    real = vector_index.exact_sql

    def spy(*args: object) -> str:
        calls.append("exact")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(vector_index, "exact_sql", spy)
    return calls


def test_filtered_queries_return_k_on_the_index_path(
    pgv: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vector_index, "EXACT_BELOW", 0)  # every filter through the index
    exact_calls = scored_exactly(monkeypatch)
    vectors = clustered(2000, DIMS, 20, seed=5)
    segs = load(pgv, vectors)
    q = list(map(float, vectors[0]))
    # page 7 holds 10% of the rows; page 7 of a single kind that never matches: none
    hits = pgv.search.vector(q, k=25, space="c", pages=(7, 7))
    assert len(hits) == 25
    assert {h.page_number for h in hits} == {7}
    exact = pgv.search.vector(q, k=25, space="c", pages=(7, 7), exact=True)
    overlap = len({h.segment_id for h in hits} & {h.segment_id for h in exact})
    assert overlap >= 23
    assert pgv.search.vector(q, k=5, space="c", kinds=["zone"]) == []
    assert len(segs) == 2000
    assert exact_calls == []


def test_a_selective_filter_scores_its_rows_exactly(
    pgv: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One document of three (the planner expects ~1,000 rows): scored exactly in SQL, so the
    hits are exact search's, scores included; a broad filter still walks the index."""
    exact_calls = scored_exactly(monkeypatch)
    segs, docs = seeded(pgv, docs=3, per=1000)
    for q in queries(5):
        got = pgv.search.vector(q, k=10, space=SPACE, documents=[docs[1]])
        want = pgv.search.vector(q, k=10, space=SPACE, documents=[docs[1]], exact=True)
        assert [h.segment_id for h in got] == [h.segment_id for h in want]
        assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-5)
    assert len(exact_calls) == 5
    monkeypatch.setattr(vector_index, "EXACT_BELOW", 500)
    assert len(pgv.search.vector(queries(1)[0], k=10, space=SPACE, documents=[docs[1]])) == 10
    assert len(segs) == 3000
    assert len(exact_calls) == 5  # above the threshold: the index answered


def test_external_refs_are_recorded_not_searched(vledger: Ledger) -> None:
    vectors = clustered(5, 4, 2, seed=6)
    segs = load(vledger, vectors)
    assert vledger.embeddings.upsert_refs("c", {segs[0].id: "faiss:17"}) == 1
    hits = vledger.search.vector(list(map(float, vectors[0])), k=10, space="c")
    assert segs[0].id not in {h.segment_id for h in hits}
    assert len(hits) == 4
    for bad in ("", " ", "x" * 301):
        with pytest.raises(InvalidInput):
            vledger.embeddings.upsert_refs("c", {segs[1].id: bad})
    again = vledger.search.vector(list(map(float, vectors[1])), k=10, space="c")
    assert segs[1].id in {h.segment_id for h in again}  # refused refs changed nothing


def test_migration_0007_goes_down_and_up_without_drift(pgv: Ledger) -> None:
    load(pgv, clustered(30, DIMS, 3, seed=7))
    schema.downgrade(pgv.engine, "0006")
    with pgv.engine.connect() as conn:
        assert not vector_index.present(conn)
    schema.upgrade(pgv.engine)
    with pgv.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM vec_embeddings")).scalar() == 30
    assert schema.check(pgv.engine) == []


def test_a_tenant_searches_its_own_vectors_through_the_index(pgv: Ledger, blob_root: Path) -> None:
    """Row-level security on the pgvector copies: a ledger opened for one workspace gets k
    hits, all its own, from the HNSW path, and its own new vectors are copied and found."""
    vectors = clustered(2400, DIMS, 20, seed=5)
    segments: dict[str, list] = {}
    for slug, part in (("a", vectors[:1200]), ("b", vectors[1200:])):
        pgv.workspaces.create(slug)
        version = pgv.documents.create(slug.encode(), external_key=slug, workspace=slug).version_id
        rec = pgv.extractions.record(
            version, "x", "1", {}, [{"kind": "chunk", "text": f"{slug}{i}"} for i in range(1200)]
        )
        segments[slug] = pgv.segments.of_extraction(rec.extraction.id)
        if slug == "a":
            pgv.embeddings.create_space("c", "test", DIMS, "cosine")
        pgv.embeddings.upsert("c", {s.id: part[i] for i, s in enumerate(segments[slug])})
    with pgv.engine.connect() as conn:
        assert vector_index.has_index(conn, pgv.embeddings.space("c").id)
    pgv.maintenance.enable_rls()
    url = pgv.engine.url.render_as_string(hide_password=False)
    settings = load_settings(db_url=url, blob_root=str(blob_root))
    mine = {s.id for s in segments["a"]}
    with Ledger.open(settings=settings, workspace="a") as tenant:
        for query in vectors[1200:1210]:  # B's own points: the nearest rows are B's
            hits = tenant.search.vector(query, space="c", k=10)
            assert len(hits) == 10
            assert {h.segment_id for h in hits} <= mine
        version = tenant.documents.create(b"new", external_key="new").version_id
        rec = tenant.extractions.record(version, "x", "1", {}, [{"kind": "chunk", "text": "n"}])
        (new,) = tenant.segments.of_extraction(rec.extraction.id)
        tenant.embeddings.upsert("c", {new.id: vectors[1500]})
        assert tenant.search.vector(vectors[1500], space="c", k=1)[0].segment_id == new.id


def test_a_load_builds_the_pgvector_copies_and_index(
    pgv: Ledger, tmp_path: Path, blob_root: Path
) -> None:
    """A dump from SQLite loaded into a PostgreSQL with pgvector: every vector gets its copy,
    the space its HNSW index, and the index answers like exact search."""
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    with Ledger.open(settings=load_settings(db_url=source_url, blob_root=str(blob_root))) as src:
        vectors = clustered(1500, DIMS, 15, seed=9)
        segs = load(src, vectors)
        src.maintenance.dump(tmp_path / "dump")
    pgv.maintenance.load(tmp_path / "dump")
    space = pgv.embeddings.space("c").id
    with pgv.engine.connect() as conn:
        copies = conn.execute(text(f"SELECT count(*) FROM {vector_index.TABLE}")).scalar()
        assert copies == 1500
        assert vector_index.has_index(conn, space)
    hit = pgv.search.vector(vectors[42], space="c", k=1)[0]
    assert hit.segment_id == segs[42].id


def test_a_nul_in_a_filter_finds_nothing_on_every_path(vledger: Ledger) -> None:
    """No stored kind or label holds a NUL (writes refuse it): a filter value with one
    matches nothing, on every backend and through the index, where PostgreSQL's pgvector and
    full-text paths refused to bind it; the other values of the same filter still count."""
    vectors = clustered(1200, DIMS, 12, seed=10)  # past INDEX_MIN_ROWS: pgvector's index
    load(vledger, vectors)
    q = list(map(float, vectors[3]))
    assert vledger.search.vector(q, k=5, space="c", labels=["a\x00b"]) == []
    assert vledger.search.vector(q, k=5, space="c", kinds=["chunk\x00"]) == []
    kept = vledger.search.vector(q, k=5, space="c", kinds=["chunk", "zone\x00"])
    assert [h.segment_id for h in kept] == [
        h.segment_id for h in vledger.search.vector(q, k=5, space="c")
    ]
    assert vledger.search.text("c7", k=5, kinds=["chunk\x00"]) == []
    assert len(vledger.search.text("c7", k=5, kinds=["chunk", "x\x00"])) >= 1
    with pytest.raises(NotFound):
        vledger.search.vector(q, k=5, space="nowhere", labels=["a\x00b"])
