"""The embedded default's vector files and ANN index (issue 18): approximate results against
exact ones, filters of every selectivity, writes and deletes from other processes, a writer
killed mid-update, damaged files.

Behaviour that every backend shares (k whenever k match, deletes never come back, another
process's writes seen) runs on SQLite, PostgreSQL and PostgreSQL with pgvector; what is about
the files themselves runs on SQLite, the only dialect that has them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from docledger import Ledger
from docledger.config import load_settings
from docledger.db.session import session_scope

DIMS = 32
SPACE = "files-32"


def clustered(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, DIMS))
    points = centres[rng.integers(0, 40, size=n)] + 0.5 * rng.normal(size=(n, DIMS))
    return points.astype(np.float32)


@pytest.fixture
def vledger(vector_db_url: str, blob_root: Path) -> Iterator[Ledger]:
    settings = load_settings(db_url=vector_db_url, blob_root=str(blob_root))
    with Ledger.open(settings=settings) as opened:
        yield opened


@pytest.fixture
def file_url(tmp_path: Path) -> str:
    """The embedded default: the only store with vector files."""
    return f"sqlite:///{tmp_path / 'files.db'}"


@pytest.fixture
def fledger(file_url: str, blob_root: Path) -> Iterator[Ledger]:
    with Ledger.open(settings=load_settings(db_url=file_url, blob_root=str(blob_root))) as opened:
        yield opened


def seeded(ledger: Ledger, docs: int = 6, per: int = 500, seed: int = 1) -> tuple[list, list]:
    """``docs`` documents of ``per`` chunks each (pages 1..10; 5 rows labelled ``rare`` per
    document); returns (segments, documents) in vector order."""
    segs, documents = [], []
    vectors = clustered(docs * per, seed)
    for d in range(docs):
        created = ledger.documents.create(f"files{seed}-{d}".encode(), external_key=f"f{d}")
        documents.append(created.document_id)
        rec = ledger.extractions.record(
            created.version_id,
            "x",
            "1",
            {},
            [
                {
                    "kind": "chunk",
                    "page_number": 1 + i % 10,
                    "text": f"t{i}",
                    "label": "rare" if i % 100 == 0 else "common",
                }
                for i in range(per)
            ],
        )
        segs.extend(ledger.segments.of_extraction(rec.extraction.id))
    ledger.embeddings.create_space(SPACE, "test", DIMS, "cosine")
    ledger.embeddings.upsert(SPACE, {s.id: vectors[i] for i, s in enumerate(segs)})
    return segs, documents


def ids(hits: list) -> list:
    return [h.segment_id for h in hits]


def queries(n: int = 40) -> np.ndarray:
    return clustered(n, seed=99)


def recall_against_exact(ledger: Ledger) -> float:
    """recall@10 of the default search against exact search over 40 queries; every hit both
    return carries exact search's score (candidates are re-scored exactly)."""
    found = total = 0
    for q in queries():
        approx = ledger.search.vector(q, k=10, space=SPACE)
        exact = ledger.search.vector(q, k=10, space=SPACE, exact=True)
        assert len(approx) == 10
        found += len(set(ids(approx)) & set(ids(exact)))
        total += 10
        scores = {h.segment_id: h.score for h in exact}
        for hit in approx:
            if hit.segment_id in scores:
                assert hit.score == pytest.approx(scores[hit.segment_id], abs=1e-5)
    return found / total


def index_asks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Spaces this small are searched exactly by default: the threshold lowered so the
    memory-mapped index answers, and every ask of it counted (candidates returned)."""
    from docledger.services import vector_ann  # noqa: PLC0415

    monkeypatch.setattr(vector_ann, "EXACT_BELOW", 0)
    asked: list[int] = []
    real = vector_ann._candidates

    def counted(index: object, query: np.ndarray, want: int) -> np.ndarray:
        found = real(index, query, want)
        asked.append(len(found))
        return found

    monkeypatch.setattr(vector_ann, "_candidates", counted)
    return asked


def is_sqlite(ledger: Ledger) -> bool:
    return ledger.engine.dialect.name == "sqlite"


def test_the_index_finds_what_exact_search_finds(vledger: Ledger) -> None:
    seeded(vledger)
    built = vledger.search.build_index(SPACE)
    assert built == (3000 if is_sqlite(vledger) else 0)
    assert recall_against_exact(vledger) >= 0.95


def test_filters_of_every_selectivity_return_k(vledger: Ledger) -> None:
    segs, documents = seeded(vledger)
    vledger.search.build_index(SPACE)
    for q in queries(10):
        cases = [
            ({"documents": [documents[2]]}, lambda h: h.document_id == documents[2], 10),
            ({"pages": (3, 3)}, lambda h: h.page_number == 3, 10),
            ({"labels": ["rare"]}, lambda h: h.label == "rare", 30),  # 30 rows match
            ({"labels": ["rare"], "documents": [documents[0]]}, lambda h: h.label == "rare", 5),
            ({"documents": [documents[1]], "pages": (10, 10)}, lambda h: h.page_number == 10, 10),
        ]
        for kwargs, holds, expected in cases:
            got = vledger.search.vector(q, k=30 if expected == 30 else 10, space=SPACE, **kwargs)
            assert len(got) == expected, kwargs
            assert all(holds(h) for h in got), kwargs
            exact = vledger.search.vector(
                q, k=30 if expected == 30 else 10, space=SPACE, exact=True, **kwargs
            )
            if expected < 10 or expected == 30:  # every matching row: the same set
                assert set(ids(got)) == set(ids(exact)), kwargs
    assert len(segs) == 3000


def test_the_index_itself_answers_small_spaces_when_asked(
    fledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the threshold lowered (``index_asks``) the memory-mapped index answers,
    unfiltered and under every filter, with exact search's scores and always k rows."""
    segs, documents = seeded(fledger)
    fledger.search.build_index(SPACE)
    asked = index_asks(monkeypatch)
    assert recall_against_exact(fledger) >= 0.95
    assert len(asked) >= 40
    assert min(asked) >= 10
    before = len(asked)
    for q in queries(5):
        for kwargs, holds in (
            ({"documents": [documents[2]]}, lambda h: h.document_id == documents[2]),
            ({"pages": (3, 3)}, lambda h: h.page_number == 3),
            ({"labels": ["rare"]}, lambda h: h.label == "rare"),
        ):
            got = fledger.search.vector(q, k=10, space=SPACE, **kwargs)
            assert len(got) == 10, kwargs
            assert all(holds(h) for h in got), kwargs
    assert len(asked) > before
    assert len(segs) == 3000


def test_rows_deleted_after_the_build_never_come_back_from_the_index(
    fledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tombstoned rows stay in the index until it is rebuilt: candidates are asked for
    beyond them, so a query whose best rows were deleted still gets k live rows from the
    index, the same rows exact search returns."""
    seeded(fledger)
    fledger.search.build_index(SPACE)
    asked = index_asks(monkeypatch)
    q = queries(1)[0]
    doomed = {h.segment_id for h in fledger.search.vector(q, k=30, space=SPACE)}
    with session_scope(fledger.engine) as session:
        for sid in doomed:
            session.execute(text("DELETE FROM segments WHERE id = :id"), {"id": sid.hex})
    asked.clear()
    after = fledger.search.vector(q, k=10, space=SPACE)
    assert asked  # the index answered, tombstones and all
    assert len(after) == 10
    assert not doomed & set(ids(after))
    exact = fledger.search.vector(q, k=10, space=SPACE, exact=True)
    assert len(set(ids(after)) & set(ids(exact))) >= 9


def test_an_index_another_ledger_builds_is_used_at_once(
    fledger: Ledger, file_url: str, blob_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building an index changes no counter in the database, only the files' state: a ledger
    that already searched the space (its files cached) sees the new state on its next query
    and asks the index."""
    seeded(fledger)
    asked = index_asks(monkeypatch)
    q = queries(1)[0]
    before = fledger.search.vector(q, k=10, space=SPACE)
    fledger.search.vector(q, k=10, space=SPACE)  # served from the cached state
    assert asked == []  # no index yet
    with Ledger.open(settings=load_settings(db_url=file_url, blob_root=str(blob_root))) as other:
        assert other.search.build_index(SPACE) == 3000
    after = fledger.search.vector(q, k=10, space=SPACE)
    assert asked  # the new state was read, and its index asked
    assert len(set(ids(after)) & set(ids(before))) >= 9


def test_deleted_vectors_never_come_back(vledger: Ledger) -> None:
    segs, _documents = seeded(vledger)
    vledger.search.build_index(SPACE)
    q = queries(1)[0]
    before = vledger.search.vector(q, k=50, space=SPACE)
    doomed = {h.segment_id for h in before[:20]}
    with session_scope(vledger.engine) as session:  # a cascade, as a re-extraction's cleanup
        for sid in doomed:
            session.execute(text("DELETE FROM segments WHERE id = :id"), {"id": _key(vledger, sid)})
    for approximate in (True, False):
        after = vledger.search.vector(q, k=50, space=SPACE, exact=not approximate)
        assert len(after) == 50
        assert not doomed & set(ids(after))
    vledger.search.build_index(SPACE)  # the index rebuilt or extended: still gone
    assert not doomed & set(ids(vledger.search.vector(q, k=50, space=SPACE)))
    assert len(segs) == 3000


def _key(ledger: Ledger, value: object) -> object:
    return value.hex if is_sqlite(ledger) else value  # type: ignore[attr-defined]


WRITER = """
import sys, numpy as np
from docledger import Ledger, load_settings
lg = Ledger.open(settings=load_settings(db_url=sys.argv[1], blob_root=sys.argv[2]))
created = lg.documents.create(b"late", external_key="late")
rec = lg.extractions.record(created.version_id, "x", "1", {},
    [{"kind": "chunk", "page_number": 1, "text": "late"} for _ in range(3)])
segs = lg.segments.of_extraction(rec.extraction.id)
q = np.frombuffer(bytes.fromhex(sys.argv[3]), dtype="<f4")
lg.embeddings.upsert("files-32", {s.id: q + 0.001 * i for i, s in enumerate(segs)})
print(" ".join(str(s.id) for s in segs))
"""


def test_writes_from_another_process_are_seen(
    vledger: Ledger, vector_db_url: str, blob_root: Path
) -> None:
    seeded(vledger)
    vledger.search.build_index(SPACE)
    q = queries(1)[0]
    vledger.search.vector(q, k=10, space=SPACE)  # files mapped, cached in this process
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            WRITER,
            vector_db_url,
            str(blob_root),
            q.astype("<f4").tobytes().hex(),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    late = set(done.stdout.split())
    top = vledger.search.vector(q, k=3, space=SPACE)
    assert {str(h.segment_id) for h in top} == late
    assert {h.text for h in top} == {"late"}


def test_a_fresh_process_searches_without_loading_the_space(
    fledger: Ledger, file_url: str, blob_root: Path
) -> None:
    seeded(fledger)
    fledger.search.build_index(SPACE)
    folder = Path(fledger.engine.url.database + ".vectors")
    meta = json.loads(next(folder.glob("*/meta.json")).read_text())
    assert (meta["rows"], meta["indexed"]) == (3000, 3000)
    assert meta["index"]
    probe = """
import sys, numpy as np
from docledger import Ledger, load_settings
from docledger.services import vector_catchup
def refuse(*a, **k):
    raise SystemExit("the files were rebuilt or caught up instead of read")
vector_catchup.catch_up = refuse
lg = Ledger.open(settings=load_settings(db_url=sys.argv[1], blob_root=sys.argv[2]))
q = np.ones(32, dtype=np.float32)
print(len(lg.search.vector(q, k=10, space="files-32")))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe, file_url, str(blob_root)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == "10"


KEEP_WRITING = """
import sys, numpy as np
from docledger import Ledger, load_settings
lg = Ledger.open(settings=load_settings(db_url=sys.argv[1], blob_root=sys.argv[2]))
segs = [s for s in lg.segments.of_extraction(sys.argv[3])]
rng = np.random.default_rng(5)
print("ready", flush=True)
while True:  # replace vectors, catch the files up, extend the index: until killed
    lg.embeddings.upsert("files-32", {s.id: rng.normal(size=32) for s in segs[:200]})
    lg.search.vector(rng.normal(size=32), k=5, space="files-32")
    lg.search.build_index("files-32")
"""


def test_a_writer_killed_mid_update_leaves_files_that_answer_correctly(
    fledger: Ledger, file_url: str, blob_root: Path
) -> None:
    segs, _documents = seeded(fledger)
    fledger.search.build_index(SPACE)
    extraction = str(segs[0].extraction_id)
    for delay in (0.4, 0.9, 1.7):
        with subprocess.Popen(
            [sys.executable, "-c", KEEP_WRITING, file_url, str(blob_root), extraction],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        ) as proc:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == b"ready"
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        with Ledger.open(
            settings=load_settings(db_url=file_url, blob_root=str(blob_root))
        ) as fresh:
            for q in queries(5):
                approx = fresh.search.vector(q, k=10, space=SPACE)
                exact = fresh.search.vector(q, k=10, space=SPACE, exact=True)
                assert len(approx) == 10
                assert len(set(ids(approx)) & set(ids(exact))) >= 8
            report = fresh.maintenance.check()
            assert [c for c in report if c.check.startswith("vector files") and c.count] == []


def test_damaged_or_foreign_files_are_rebuilt(fledger: Ledger) -> None:
    seeded(fledger)
    fledger.search.build_index(SPACE)
    q = queries(1)[0]
    truth = ids(fledger.search.vector(q, k=10, space=SPACE, exact=True))
    folder = next(Path(fledger.engine.url.database + ".vectors").iterdir())
    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text())
    damages = [
        lambda: meta_path.write_text("{not json"),
        lambda: meta_path.write_text(json.dumps({**meta, "database": meta["database"] + 1})),
        lambda: meta_path.write_text(json.dumps({**meta, "counter": meta["counter"] + 5})),
        lambda: (folder / f"gen-{meta['generation']}" / "vectors.f32").write_bytes(b"short"),
    ]
    for damage in damages:
        damage()
        with Ledger.open(settings=load_settings(db_url=str(fledger.engine.url))) as fresh:
            assert ids(fresh.search.vector(q, k=10, space=SPACE, exact=True)) == truth
        meta = json.loads(meta_path.read_text())  # rebuilt: whole again, of this store
        assert meta["rows"] == 3000
        vectors = folder / f"gen-{meta['generation']}" / "vectors.f32"
        assert vectors.stat().st_size == 3000 * DIMS * 4


def test_after_a_machine_crash_the_last_durable_state_is_caught_up_again(
    fledger: Ledger, file_url: str, blob_root: Path
) -> None:
    """Small catch-ups are not fsynced: after the machine (not just the process) crashed,
    what they appended may be lost. Simulated: the state claims another boot and the bytes
    it appended are zeroed; the fsynced state from the index build is used and the lost
    vectors come back from the database."""
    seeded(fledger)
    fledger.search.build_index(SPACE)  # fsynced: the durable state
    q = queries(1)[0]
    subprocess.run(
        [sys.executable, "-c", WRITER, file_url, str(blob_root), q.tobytes().hex()],
        capture_output=True,
        check=True,
    )
    late = ids(fledger.search.vector(q, k=3, space=SPACE))  # caught up, not fsynced
    folder = next(Path(fledger.engine.url.database + ".vectors").iterdir())
    meta = json.loads((folder / "meta.json").read_text())
    durable = json.loads((folder / "durable.json").read_text())
    assert (meta["durable"], meta["rows"], durable["rows"]) == (False, 3003, 3000)
    (folder / "meta.json").write_text(json.dumps({**meta, "boot": "a boot before the crash"}))
    vectors = folder / f"gen-{meta['generation']}" / "vectors.f32"
    with open(vectors, "r+b") as fh:  # the lost tail
        fh.seek(3000 * DIMS * 4)
        fh.write(b"\0" * 3 * DIMS * 4)
    with Ledger.open(settings=load_settings(db_url=file_url, blob_root=str(blob_root))) as fresh:
        again = fresh.search.vector(q, k=3, space=SPACE)
        assert ids(again) == late
        assert again[0].score > 0.99


def statements_of(ledger: Ledger) -> list[str]:
    """Every statement SQLAlchemy sends from now on (the driver path sends none through it)."""
    from sqlalchemy import event  # noqa: PLC0415

    sent: list[str] = []
    event.listen(ledger.engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
    return sent


def test_a_search_whose_space_is_known_reads_through_the_driver_alone(fledger: Ledger) -> None:
    """Once a process has the space's files, a search reads its scope and hits on the
    driver connection (no statement through SQLAlchemy), with the same hits, field for
    field, as the full path in a caller's transaction, under every filter, with and without
    the index."""
    segs, documents = seeded(fledger)
    q = queries(1)[0]
    fledger.search.vector(q, k=10, space=SPACE)  # the first search reads the files
    sent = statements_of(fledger)
    cases: list[dict] = [
        {},
        {"exact": True},
        {"documents": [documents[2]]},
        {"pages": (3, 4)},
        {"labels": ["rare"]},
        {"kinds": ["chunk", "page"]},
        {"include_superseded": True},
        {"min_score": 0.5},
    ]
    for built in (False, True):
        if built:
            fledger.search.build_index(SPACE)
            fledger.search.vector(q, k=10, space=SPACE)  # the new state read in full
        for kwargs in cases:
            sent.clear()
            quick = fledger.search.vector(q, k=10, space=SPACE, **kwargs)
            assert sent == [], kwargs
            with fledger.transaction(readonly=True) as tx:  # a caller's: the full path
                full = tx.search.vector(q, k=10, space=SPACE, **kwargs)
            assert sent, kwargs
            assert quick
            assert [h.model_dump() for h in quick] == [h.model_dump() for h in full]
    assert len(segs) == 3000


def test_the_driver_path_steps_aside_for_what_it_cannot_answer(fledger: Ledger) -> None:
    """Whatever the driver path does not know goes the full way: unknown names are
    NotFound, a deleted document's rows are gone at once, and new vectors are caught up
    (after which the driver path answers again)."""
    from docledger.errors import InvalidInput, NotFound  # noqa: PLC0415

    segs, _documents = seeded(fledger)
    q = queries(1)[0]
    fledger.search.vector(q, k=10, space=SPACE)
    with pytest.raises(NotFound, match="no embedding space"):
        fledger.search.vector(q, k=10, space="no-such-space")
    with pytest.raises(NotFound, match="no workspace"):
        fledger.search.vector(q, k=10, space=SPACE, workspace="no-such-workspace")
    with pytest.raises(InvalidInput):
        fledger.search.vector(q[:5], k=10, space=SPACE)  # the wrong dimensions
    top = fledger.search.vector(q, k=10, space=SPACE)
    gone = top[0].document_id
    fledger.documents.delete(gone)
    after = fledger.search.vector(q, k=10, space=SPACE)
    assert len(after) == 10
    assert gone not in {h.document_id for h in after}
    # a new vector nearer the query than any: caught up by the full path, then found
    new = fledger.documents.create(b"late", external_key="late")
    rec = fledger.extractions.record(new.version_id, "x", "1", {}, [{"kind": "chunk", "text": "z"}])
    (late,) = fledger.segments.of_extraction(rec.extraction.id)
    sent = statements_of(fledger)
    fledger.embeddings.upsert(SPACE, {late.id: q})
    sent.clear()
    assert fledger.search.vector(q, k=1, space=SPACE)[0].segment_id == late.id
    assert sent  # the files were behind: the full path caught them up
    sent.clear()
    assert fledger.search.vector(q, k=1, space=SPACE)[0].segment_id == late.id
    assert sent == []
    assert len(segs) == 3000


def driver_statements(ledger: Ledger) -> list[str]:
    """Every statement the calling thread's pooled driver connection runs from now on."""
    sent: list[str] = []
    pooled = ledger.engine.raw_connection()
    try:
        pooled.driver_connection.set_trace_callback(sent.append)  # type: ignore[union-attr]
    finally:
        pooled.close()
    return sent


def test_a_search_reads_its_scope_again_only_after_a_commit(
    fledger: Ledger, file_url: str, blob_root: Path
) -> None:
    """The space, workspace and extractions a search leaves out are read once per state of
    the database: read again after another connection's commit (a document deleted there
    is gone at once) and after this connection's own writes, not otherwise."""
    seeded(fledger)
    q = queries(1)[0]
    fledger.search.vector(q, k=10, space=SPACE)
    sent = driver_statements(fledger)

    def scope_reads() -> int:
        return sum("embedding_spaces" in s or "superseded" in s for s in sent)

    top = fledger.search.vector(q, k=10, space=SPACE)
    assert any("segments.id IN" in s for s in sent)
    first = scope_reads()
    assert fledger.search.vector(q, k=10, space=SPACE) == top
    assert scope_reads() == first  # nothing committed: remembered
    with Ledger.open(settings=load_settings(db_url=file_url, blob_root=str(blob_root))) as other:
        other.documents.delete(top[0].document_id)
    after = fledger.search.vector(q, k=10, space=SPACE)
    assert scope_reads() > first  # another connection committed: read again
    assert len(after) == 10
    assert top[0].document_id not in {h.document_id for h in after}
    again = scope_reads()
    fledger.documents.delete(after[0].document_id)  # this connection's own write
    last = fledger.search.vector(q, k=10, space=SPACE)
    assert scope_reads() > again
    assert after[0].document_id not in {h.document_id for h in last}
