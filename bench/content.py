"""Content benchmarks (issue 4). Each part measures docledger and its baselines in the same run.

segments  1,000,000 segments recorded through ``ledger.extractions.record`` (250 per extraction,
          one transaction each) into a table already holding 1,000,000, alternating batch by
          batch with (a) the raw driver writing the same rows into docledger's own table
          (sqlite3 executemany / psycopg COPY; rows prepared outside the timing) and (b) the
          raw driver writing them into the naive schema the seeds hand-write (UUID4 text keys,
          an index per foreign key, (version, page), UNIQUE(extraction, ordinal)), in its own
          database holding 1,000,000 too. Full text is indexed after the writes (docledger
          defers it to a catch-up that text queries run first), so the catch-up is timed on
          its own. Then point look-ups by id and "segments of one version" on the grown
          table, p50/p99.
knn       100,000 x 384 clustered, normalised vectors: docledger top-10 (exact path; on
          PostgreSQL also the pgvector HNSW path on a throw-away PostgreSQL with pgvector) vs
          numpy's brute force on the same matrix and sqlite-vec's vec0 (through apsw, since
          this Python's sqlite3 cannot load extensions); unfiltered and with a filter matching
          10% of the rows.
rerecord  10,000 unchanged chunks of 100 documents recorded again (the RAG module's re-run)
          vs LangChain's indexing API re-run with its SQL record manager on a SQLite file.

    python bench/content.py segments [--dialect sqlite|postgresql] [--rows N]
    python bench/content.py knn [--dialect sqlite|postgresql] [--vectors N]
    python bench/content.py rerecord
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import RESULTS, fresh_pg_database, median, percentile, write

PER_EXTRACTION = 250
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "vo", "de", "pa", "gri", "ton", "el"]


def vocabulary(rng: np.random.Generator, size: int = 4000) -> list[str]:
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 5)))))
    return sorted(words)


def segment_batch(rng: np.random.Generator, words: list[str], n: int) -> list[dict[str, Any]]:
    """OCR-like zones: a page every 50, text of ~15 words, boxes, confidences, labels."""
    picks = rng.integers(0, len(words), size=(n, 15))
    conf = rng.uniform(0.4, 1.0, size=n)
    out = []
    for i in range(n):
        y = 10.0 + (i % 50) * 15.0
        out.append(
            {
                "kind": "zone",
                "label": "field" if i % 3 else "header",
                "page_number": 1 + i // 50,
                "bbox": {"x0": 20.0, "y0": y, "x1": 580.0, "y1": y + 12.0, "unit": "pt"},
                "text": " ".join(words[j] for j in picks[i]),
                "confidence": round(float(conf[i]), 4),
            }
        )
    return out


# --------------------------------------------------------------------------- segments


NAIVE_SQL = [
    "CREATE TABLE documents (id TEXT PRIMARY KEY, external_key TEXT)",
    "CREATE TABLE document_versions (id TEXT PRIMARY KEY, "
    "document_id TEXT NOT NULL REFERENCES documents(id))",
    "CREATE TABLE extractions (id TEXT PRIMARY KEY, "
    "version_id TEXT NOT NULL REFERENCES document_versions(id), extractor TEXT, params TEXT)",
    "CREATE TABLE segments (id TEXT PRIMARY KEY, "
    "extraction_id TEXT NOT NULL REFERENCES extractions(id), "
    "version_id TEXT NOT NULL REFERENCES document_versions(id), ordinal INTEGER NOT NULL, "
    "kind TEXT NOT NULL, label TEXT, page_number INTEGER, bbox TEXT, text TEXT, "
    "content_hash TEXT, confidence REAL, parent_id TEXT REFERENCES segments(id), "
    "predecessor_id TEXT REFERENCES segments(id), metadata TEXT, created_at TEXT, "
    "UNIQUE (extraction_id, ordinal))",
    "CREATE INDEX segments_extraction ON segments (extraction_id)",
    "CREATE INDEX segments_version ON segments (version_id)",
    "CREATE INDEX segments_parent ON segments (parent_id)",
    "CREATE INDEX segments_predecessor ON segments (predecessor_id)",
    "CREATE INDEX segments_version_page ON segments (version_id, page_number)",
]


class Naive:
    """The hand-written layer: raw driver, UUID4 text keys, JSON as text."""

    def __init__(self, dialect: str, workdir: Path) -> None:
        self.dialect = dialect
        if dialect == "sqlite":
            import sqlite3  # noqa: PLC0415

            self.conn: Any = sqlite3.connect(workdir / "naive.db", isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
        else:
            import psycopg  # noqa: PLC0415

            url = fresh_pg_database("bench_content_naive")
            self.conn = psycopg.connect(url.replace("+psycopg", ""), autocommit=True)
        for statement in NAIVE_SQL:
            self.conn.execute(statement)

    def version(self) -> str:
        doc, ver = str(uuid.uuid4()), str(uuid.uuid4())
        self.conn.execute(
            "INSERT INTO documents VALUES (%s, %s)".replace("%s", self.mark), (doc, doc)
        )
        self.conn.execute(
            "INSERT INTO document_versions VALUES (%s, %s)".replace("%s", self.mark), (ver, doc)
        )
        return ver

    @property
    def mark(self) -> str:
        return "?" if self.dialect == "sqlite" else "%s"

    def rows(self, version: str, segs: list[dict[str, Any]]) -> tuple[str, list[tuple[Any, ...]]]:
        extraction = str(uuid.uuid4())
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        return extraction, [
            (
                str(uuid.uuid4()),
                extraction,
                version,
                i,
                s["kind"],
                s["label"],
                s["page_number"],
                json.dumps(s["bbox"]),
                s["text"],
                None,
                s["confidence"],
                None,
                None,
                "{}",
                now,
            )
            for i, s in enumerate(segs)
        ]

    def write(self, version: str, extraction: str, rows: list[tuple[Any, ...]]) -> None:
        m = self.mark
        if self.dialect == "sqlite":
            self.conn.execute("BEGIN")
            self.conn.execute(
                f"INSERT INTO extractions VALUES ({m}, {m}, 'ocr', '{{}}')", (extraction, version)
            )
            self.conn.executemany(f"INSERT INTO segments VALUES ({', '.join([m] * 15)})", rows)
            self.conn.execute("COMMIT")
            return
        with self.conn.transaction():
            self.conn.execute(
                f"INSERT INTO extractions VALUES ({m}, {m}, 'ocr', '{{}}')", (extraction, version)
            )
            with self.conn.cursor().copy("COPY segments FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def docledger_url(dialect: str, workdir: Path) -> str:
    if dialect == "sqlite":
        return f"sqlite:///{workdir / 'docledger.db'}"
    return fresh_pg_database("bench_content_docledger")


def bench_segments(dialect: str, rows: int) -> dict[str, Any]:
    from docledger import Ledger, load_settings  # noqa: PLC0415
    from docledger.db.dialect import _convert  # noqa: PLC0415
    from docledger.db.types import utcnow  # noqa: PLC0415
    from docledger.ids import new_id  # noqa: PLC0415
    from docledger.repositories.extraction import SEGMENT_COLUMNS, SEGMENTS  # noqa: PLC0415

    rng = np.random.default_rng(7)
    words = vocabulary(rng)
    batches = rows // PER_EXTRACTION
    workdir = Path(tempfile.mkdtemp(prefix="bench-content-"))
    url = docledger_url(dialect, workdir)
    naive = Naive(dialect, workdir)
    with Ledger.open(settings=load_settings(db_url=url, blob_root=str(workdir / "blobs"))) as lg:
        ws = lg.workspaces.get(None).id
        engine = lg.engine

        def new_versions(count: int, prefix: str) -> list[uuid.UUID]:
            return [
                lg.documents.create(f"{prefix}{n}".encode(), external_key=f"{prefix}{n}").version_id
                for n in range(count)
            ]

        def raw_prepare(version: uuid.UUID, segs: list[dict[str, Any]]) -> tuple[Any, list[Any]]:
            """Rows for docledger's own table, converted by its column types, plus an
            extraction row created (untimed) for them to reference."""
            from sqlalchemy import insert  # noqa: PLC0415

            from docledger.models import Extraction  # noqa: PLC0415

            now = utcnow()
            extraction = new_id()
            with engine.begin() as conn:
                conn.execute(
                    insert(Extraction),
                    [
                        {
                            "id": extraction,
                            "workspace_id": ws,
                            "version_id": version,
                            "extractor": "raw",
                            "extractor_version": "1",
                            "params": {},
                            "params_hash": extraction.hex,
                            "status": "succeeded",
                            "stats": {},
                            "created_at": now,
                        }
                    ],
                )
                dialect_ = conn.dialect
            tuples = [
                (
                    new_id(),
                    ws,
                    extraction,
                    version,
                    i,
                    s["kind"],
                    s["label"],
                    s["page_number"],
                    s["bbox"],
                    s["text"],
                    None,
                    s["confidence"],
                    None,
                    None,
                    {},
                    now,
                )
                for i, s in enumerate(segs)
            ]
            processors = [
                SEGMENTS.c[c].type.dialect_impl(dialect_).bind_processor(dialect_)
                for c in SEGMENT_COLUMNS
            ]
            return extraction, _convert(tuples, processors)

        def raw_write(extraction: Any, converted: list[Any]) -> None:
            """The same rows with the raw driver, plus what docledger's write adds beyond
            the table: the extraction's row in ``fts_pending`` (full text is indexed later)."""
            raw = engine.raw_connection()
            try:
                driver = raw.driver_connection
                cols = ", ".join(SEGMENT_COLUMNS)
                marks = ", ".join("?" * len(SEGMENT_COLUMNS))
                if dialect == "sqlite":
                    cur = driver.cursor()
                    cur.execute("BEGIN IMMEDIATE")
                    cur.executemany(
                        f"INSERT INTO segments ({cols}) VALUES ({marks})",
                        converted,
                    )
                    cur.execute("INSERT INTO fts_pending VALUES (?)", (extraction.hex,))
                    cur.execute("COMMIT")
                else:
                    with driver.cursor() as cur:
                        with cur.copy(f"COPY segments ({cols}) FROM STDIN") as copy:
                            for row in converted:
                                copy.write_row(row)
                        cur.execute("INSERT INTO fts_pending VALUES (%s)", (extraction,))
                    driver.commit()
            finally:
                raw.close()

        # Preload 1,000,000 rows into both databases (untimed, raw paths).
        print(f"preloading {rows} rows into each database ...", file=sys.stderr)
        t0 = time.perf_counter()
        pre_versions = new_versions(batches, "pre")
        for b in range(batches):
            segs = segment_batch(rng, words, PER_EXTRACTION)
            extraction, converted = raw_prepare(pre_versions[b], segs)
            raw_write(extraction, converted)
            nv = naive.version()
            ext, nrows = naive.rows(nv, segs)
            naive.write(nv, ext, nrows)
        preload_s = time.perf_counter() - t0
        from docledger.db.dialect import refresh_statistics  # noqa: PLC0415

        lg.search.catch_up()
        refresh_statistics(engine, ["segments", "extractions", "document_versions", "documents"])
        if dialect == "postgresql":
            naive.conn.execute("ANALYZE")

        # Timed: alternate docledger / raw into docledger's table / naive.
        dl_versions = new_versions(batches, "dl")
        raw_versions = new_versions(batches, "raw")
        timings = {"docledger": 0.0, "raw_same_table": 0.0, "naive_schema": 0.0}
        print("timed phase ...", file=sys.stderr)
        for b in range(batches):
            segs = segment_batch(rng, words, PER_EXTRACTION)
            t = time.perf_counter()
            lg.extractions.record(dl_versions[b], "ocr", "1", {"dpi": 300}, segs)
            timings["docledger"] += time.perf_counter() - t
            extraction, converted = raw_prepare(raw_versions[b], segs)
            t = time.perf_counter()
            raw_write(extraction, converted)
            timings["raw_same_table"] += time.perf_counter() - t
            nv = naive.version()
            ext, nrows = naive.rows(nv, segs)
            t = time.perf_counter()
            naive.write(nv, ext, nrows)
            timings["naive_schema"] += time.perf_counter() - t
        rates = {k: batches * PER_EXTRACTION / v for k, v in timings.items()}
        # Full text is indexed after the writes (every text query catches up first): its cost,
        # for all the rows written since the preload's own catch-up, is reported on its own.
        t = time.perf_counter()
        indexed = lg.search.catch_up()
        catch_up_s = time.perf_counter() - t

    # Look-ups on the grown table, in a fresh process (see bench_lookups).
    subprocess.run(
        [sys.executable, __file__, "lookups", "--url", url], check=True, stdout=subprocess.DEVNULL
    )
    lookups = json.loads((RESULTS / f"content_lookups_{dialect}.json").read_text())
    return {
        "dialect": dialect,
        "rows_preloaded_each": rows,
        "rows_timed_each": batches * PER_EXTRACTION,
        "segments_per_extraction": PER_EXTRACTION,
        "preload_s": round(preload_s, 1),
        "rows_per_s": {k: round(v) for k, v in rates.items()},
        "ratio_vs_raw_same_table": round(rates["docledger"] / rates["raw_same_table"], 3),
        "ratio_vs_naive_schema": round(rates["docledger"] / rates["naive_schema"], 3),
        "full_text_catch_up": {
            "rows": indexed,
            "seconds": round(catch_up_s, 2),
            "us_per_row": round(catch_up_s / max(indexed, 1) * 1e6, 2),
            # docledger's writes plus their share of the full-text catch-up, against the naive
            # shape, which has no full-text index at all
            "docledger_with_full_text_rows_per_s": round(
                batches * PER_EXTRACTION / (timings["docledger"] + catch_up_s / 2)
            ),
        },
        "lookups_fresh_process": {
            key: lookups[key]
            for key in (
                "segments_in_table",
                "get_by_id",
                "of_version_250",
                "of_version_one_page_50",
            )
        },
    }


# --------------------------------------------------------------------------- knn


def clustered_unit(n: int, dims: int, clusters: int, seed: int) -> np.ndarray:
    """Normalised points around random centres: real embeddings cluster, and HNSW recall on
    uniform noise says nothing about recall on real data."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dims))
    points = centres[rng.integers(0, clusters, size=n)] + 0.6 * rng.normal(size=(n, dims))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32)


def numpy_top(matrix: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = matrix @ q
    best = np.argpartition(-scores, k - 1)[:k]
    return best[np.argsort(-scores[best])]


def latencies(fn: Any, queries: np.ndarray) -> tuple[list[float], list[Any]]:
    times, results = [], []
    for q in queries:
        t = time.perf_counter()
        results.append(fn(q))
        times.append((time.perf_counter() - t) * 1000)
    return times, results


def summary(times: list[float]) -> dict[str, float]:
    return {"p50_ms": round(median(times), 3), "p99_ms": round(percentile(times, 99), 3)}


def load_vectors(lg: Any, vectors: np.ndarray, space: str = "bench-384") -> tuple[list, float]:
    """n segments (pages 1..10, so one page is a 10% filter) and their vectors; returns the
    segment ids in vector order and the upsert rate."""
    n = len(vectors)
    ids: list[uuid.UUID] = []
    chunk = 10_000
    for start in range(0, n, chunk):
        count = min(chunk, n - start)
        version = lg.documents.create(f"knn{start}".encode(), external_key=f"knn{start}").version_id
        rec = lg.extractions.record(
            version,
            "bench",
            "1",
            {},
            [{"kind": "chunk", "page_number": 1 + i % 10, "text": None} for i in range(count)],
        )
        ids.extend(sg.id for sg in lg.segments.of_extraction(rec.extraction.id))
    lg.embeddings.create_space(space, "bench", vectors.shape[1], "cosine")
    # one call: on pgvector the space's HNSW index is built once over the loaded rows
    t = time.perf_counter()
    lg.embeddings.upsert(space, dict(zip(ids, vectors, strict=True)))
    return ids, n / (time.perf_counter() - t)


def recall(got: list[list[uuid.UUID]], want: list[list[uuid.UUID]]) -> float:
    hit = sum(len(set(g) & set(w)) for g, w in zip(got, want, strict=True))
    return hit / sum(len(w) for w in want)


def bench_knn(dialect: str, n: int, queries_n: int = 200) -> dict[str, Any]:
    from docledger import Ledger, load_settings  # noqa: PLC0415

    dims, k = 384, 10
    data = clustered_unit(n + queries_n, dims, 200, seed=11)
    vectors, queries = data[:n], data[n:]
    pages = np.arange(n) % 10 + 1
    page1 = np.flatnonzero(pages == 1)
    out: dict[str, Any] = {
        "dialect": dialect,
        "vectors": n,
        "dims": dims,
        "k": k,
        "queries": queries_n,
    }

    # numpy, the limit
    np_times, np_results = latencies(lambda q: numpy_top(vectors, q, k), queries)
    sub = vectors[page1]
    npf_times, npf_results = latencies(lambda q: page1[numpy_top(sub, q, k)], queries)
    out["numpy"] = summary(np_times)
    out["numpy_filtered_10pct"] = summary(npf_times)

    workdir = Path(tempfile.mkdtemp(prefix="bench-knn-"))
    targets = [("docledger", docledger_url(dialect, workdir))]
    server = None
    if dialect == "postgresql":
        from docledger.devserver import DevServer  # noqa: PLC0415

        server = DevServer.create().start()
        targets.append(("docledger_pgvector", server.url))
    try:
        for label, url in targets:
            with Ledger.open(
                settings=load_settings(db_url=url, blob_root=str(workdir / "b"))
            ) as lg:
                ids, rate = load_vectors(lg, vectors)
                want = [[ids[i] for i in r] for r in np_results]
                want_f = [[ids[i] for i in r] for r in npf_results]
                t = time.perf_counter()
                lg.search.vector(queries[0], k=k, space="bench-384")
                first = (time.perf_counter() - t) * 1000
                # interleaved with numpy query by query, so machine noise hits both alike
                times, hits, paired = [], [], []
                for q in queries:
                    t = time.perf_counter()
                    numpy_top(vectors, q, k)
                    paired.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    hits.append(lg.search.vector(q, k=k, space="bench-384"))
                    times.append((time.perf_counter() - t) * 1000)
                f_times, f_hits = latencies(
                    lambda q: lg.search.vector(q, k=k, space="bench-384", pages=(1, 1)), queries
                )
                entry = {
                    "numpy_interleaved": summary(paired),
                    "upsert_vectors_per_s": round(rate),
                    "first_query_ms_incl_matrix_load": round(first, 1),
                    **summary(times),
                    "recall_at_10": round(
                        recall([[h.segment_id for h in r] for r in hits], want), 4
                    ),
                    "filtered_10pct": {
                        **summary(f_times),
                        "always_k": all(len(r) == k for r in f_hits),
                        "recall_at_10": round(
                            recall([[h.segment_id for h in r] for r in f_hits], want_f), 4
                        ),
                    },
                }
                if label == "docledger_pgvector":
                    e_times, _ = latencies(
                        lambda q: lg.search.vector(q, k=k, space="bench-384", exact=True), queries
                    )
                    entry["exact_path_same_server"] = summary(e_times)
                out[label] = entry
                print(label, json.dumps(entry), file=sys.stderr)
    finally:
        if server is not None:
            server.stop()
    out["ratio_docledger_p50_vs_numpy"] = round(
        out["docledger"]["p50_ms"] / out["docledger"]["numpy_interleaved"]["p50_ms"], 2
    )

    if dialect == "sqlite":
        out["sqlite_vec"] = bench_sqlite_vec(
            workdir, vectors, pages, queries, k, np_results, npf_results
        )
        out["speedup_vs_sqlite_vec_p50"] = round(
            out["sqlite_vec"]["p50_ms"] / out["docledger"]["p50_ms"], 2
        )
        out["speedup_vs_sqlite_vec_filtered_p50"] = round(
            out["sqlite_vec"]["filtered_10pct"]["p50_ms"]
            / out["docledger"]["filtered_10pct"]["p50_ms"],
            2,
        )
    return out


def bench_sqlite_vec(
    workdir: Path,
    vectors: np.ndarray,
    pages: np.ndarray,
    queries: np.ndarray,
    k: int,
    want: list[Any],
    want_f: list[Any],
) -> dict[str, Any]:
    """The peer: sqlite-vec's vec0 (brute force), loaded through apsw."""
    import apsw  # noqa: PLC0415
    import sqlite_vec  # noqa: PLC0415

    conn = apsw.Connection(str(workdir / "vec.db"))
    conn.enable_load_extension(True)
    conn.load_extension(sqlite_vec.loadable_path())
    conn.execute(
        f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{vectors.shape[1]}] "
        "distance_metric=cosine, page integer)"
    )
    with conn:
        conn.executemany(
            "INSERT INTO v (rowid, embedding, page) VALUES (?, ?, ?)",
            ((i, vectors[i].tobytes(), int(pages[i])) for i in range(len(vectors))),
        )

    def query(q: np.ndarray, extra: str = "") -> list[int]:
        return [
            int(r[0])
            for r in conn.execute(
                f"SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = {k}{extra} "
                "ORDER BY distance",
                (q.tobytes(),),
            )
        ]

    times, got = latencies(query, queries)
    f_times, f_got = latencies(lambda q: query(q, " AND page = 1"), queries)
    return {
        **summary(times),
        "recall_at_10": round(recall(got, [list(w) for w in want]), 4),
        "filtered_10pct": {
            **summary(f_times),
            "always_k": all(len(r) == k for r in f_got),
            "recall_at_10": round(recall(f_got, [list(w) for w in want_f]), 4),
        },
    }


# --------------------------------------------------------------------------- rerecord


def bench_rerecord(docs: int = 100, per_doc: int = 100, repeats: int = 5) -> dict[str, Any]:
    """The RAG module's re-run over unchanged documents: every chunk is already stored."""
    from langchain_classic.indexes import SQLRecordManager, index  # noqa: PLC0415
    from langchain_core.documents import Document  # noqa: PLC0415
    from langchain_core.embeddings import DeterministicFakeEmbedding  # noqa: PLC0415
    from langchain_core.vectorstores import InMemoryVectorStore  # noqa: PLC0415

    from docledger import Ledger, load_settings  # noqa: PLC0415

    rng = np.random.default_rng(5)
    words = vocabulary(rng)
    chunks = [[" ".join(rng.choice(words, size=80)) for _ in range(per_doc)] for _ in range(docs)]
    total = docs * per_doc
    workdir = Path(tempfile.mkdtemp(prefix="bench-rerecord-"))

    # LangChain: indexing API + SQL record manager on a SQLite file
    manager = SQLRecordManager("bench", db_url=f"sqlite:///{workdir / 'records.db'}")
    manager.create_schema()
    store = InMemoryVectorStore(DeterministicFakeEmbedding(size=8))
    lc_docs = [
        Document(page_content=text, metadata={"source": f"doc{d}"})
        for d, texts in enumerate(chunks)
        for text in texts
    ]
    first = index(lc_docs, manager, store, cleanup="incremental", source_id_key="source")
    assert first["num_added"] == total, first
    lc_times = []
    for _ in range(repeats):
        t = time.perf_counter()
        again = index(lc_docs, manager, store, cleanup="incremental", source_id_key="source")
        lc_times.append(time.perf_counter() - t)
        assert again["num_skipped"] == total, again
        assert again["num_added"] == 0, again

    # docledger: one extraction per document, recorded again with the same chunker and params
    settings = load_settings(
        db_url=f"sqlite:///{workdir / 'docledger.db'}", blob_root=str(workdir / "b")
    )
    with Ledger.open(settings=settings) as lg:
        versions = [
            lg.documents.create(f"source doc{d}".encode(), external_key=f"doc{d}").version_id
            for d in range(docs)
        ]
        params = {"size": 800, "overlap": 100}

        def record_all() -> list[Any]:
            return [
                lg.extractions.record(
                    version, "chunker", "1", params, [{"kind": "chunk", "text": t} for t in texts]
                )
                for version, texts in zip(versions, chunks, strict=True)
            ]

        assert all(r.created for r in record_all())
        dl_times = []
        for _ in range(repeats):
            t = time.perf_counter()
            results = record_all()
            dl_times.append(time.perf_counter() - t)
            assert not any(r.created for r in results)
            assert sum(r.segments for r in results) == total
    lc_rate = total / median(lc_times)
    dl_rate = total / median(dl_times)
    return {
        "documents": docs,
        "chunks": total,
        "repeats": repeats,
        "chunks_per_s": {
            "docledger": round(dl_rate),
            "langchain_sql_record_manager": round(lc_rate),
        },
        "speedup": round(dl_rate / lc_rate, 1),
        "note": "docledger skips a whole extraction by its (version, extractor, extractor "
        "version, params hash) key; LangChain hashes and looks up every chunk",
    }


def bench_lookups(url: str, samples: int = 2000) -> dict[str, Any]:
    """Look-ups on a grown segments table (e.g. the one ``segments`` leaves), in a fresh
    process with a collected, frozen heap: a service's steady state, not the tail of a bulk
    load whose millions of Python objects make the collector pause."""
    import gc  # noqa: PLC0415

    from sqlalchemy import func, select  # noqa: PLC0415

    from docledger import Ledger, load_settings  # noqa: PLC0415
    from docledger.models import Extraction, Segment  # noqa: PLC0415

    rng = np.random.default_rng(3)
    with Ledger.open(settings=load_settings(db_url=url)) as lg:
        with lg.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(Segment)).scalar()
            versions = list(
                conn.execute(
                    select(Extraction.version_id).where(Extraction.extractor == "ocr").limit(4000)
                ).scalars()
            )
        picked = [versions[int(i)] for i in rng.integers(0, len(versions), size=samples // 4)]
        ids = []
        for v in picked[:40]:
            ids.extend(s.id for s in lg.segments.of_version(v)[::5])
        gc.collect()
        gc.freeze()
        point, whole, page = [], [], []
        for sid in ids[:samples]:
            t = time.perf_counter()
            lg.segments.get(sid)
            point.append((time.perf_counter() - t) * 1000)
        for v in picked:
            t = time.perf_counter()
            got = lg.segments.of_version(v)
            whole.append((time.perf_counter() - t) * 1000)
            assert len(got) == PER_EXTRACTION
            t = time.perf_counter()
            got = lg.segments.of_version(v, page=3)
            page.append((time.perf_counter() - t) * 1000)
            assert len(got) == 50
    return {
        "segments_in_table": total,
        "get_by_id": summary(point),
        "of_version_250": summary(whole),
        "of_version_one_page_50": summary(page),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("part", choices=["segments", "lookups", "knn", "rerecord"])
    parser.add_argument("--url", help="lookups: a database the segments part grew")
    parser.add_argument("--dialect", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--vectors", type=int, default=100_000)
    args = parser.parse_args()
    if args.part == "segments":
        write(f"content_segments_{args.dialect}", bench_segments(args.dialect, args.rows))
    elif args.part == "lookups":
        dialect = "sqlite" if args.url.startswith("sqlite") else "postgresql"
        write(f"content_lookups_{dialect}", bench_lookups(args.url))
    elif args.part == "knn":
        write(f"content_knn_{args.dialect}", bench_knn(args.dialect, args.vectors))
    else:
        write("content_rerecord", bench_rerecord())


if __name__ == "__main__":
    main()
