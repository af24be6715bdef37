"""The embedded default's ANN index at scale (issue 18), with its baselines in the same run.

    python bench/knn.py --ann [--vectors 1000000] [--queries 200]

On SQLite: N x 384 clustered unit vectors in 100 documents (pages 1..10), so one document is
a 1% filter and one page a 10% filter.
- upsert: docledger's ``embeddings.upsert`` vs sqlite3 writing the same rows into the same
  table of the same database (another space), batch by batch in turn;
- build: ``search.build_index`` vs usearch building the same index over the same vectors;
- queries, interleaved query by query: docledger vs usearch searching the same memory-mapped
  index file directly (the limit), numpy exact (the truth, for recall), sqlite-vec (a sample);
- a fresh process: time to open the store and answer a first query, and its RSS against the
  index file's size.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import latencies, summary

K = 10
DOCS = 100
FRESH = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from docledger import Ledger, load_settings
t1 = time.perf_counter()
lg = Ledger.open(settings=load_settings(db_url=sys.argv[1], blob_root=sys.argv[2]))
q = np.frombuffer(bytes.fromhex(sys.argv[3]), dtype="<f4")
t2 = time.perf_counter()
hits = lg.search.vector(q, k=10, space="bench-384")
t3 = time.perf_counter()
lg.search.vector(q * 0.5, k=10, space="bench-384")
t4 = time.perf_counter()
status = open("/proc/self/status").read()
def mb(field):
    return int(status.split(field + ":")[1].split()[0]) / 1024
# VmHWM, not ru_maxrss: the latter can report the parent's size from before the exec
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "open_ms": (t2 - t1) * 1e3,
                  "first_query_ms": (t3 - t2) * 1e3, "second_query_ms": (t4 - t3) * 1e3,
                  "hits": len(hits), "rss_mb": mb("VmRSS"), "peak_rss_mb": mb("VmHWM")}))
"""


def _segments(lg: Any, n: int) -> tuple[list[uuid.UUID], np.ndarray, list[uuid.UUID]]:
    """n segments in DOCS documents, pages 1..10; (ids, document index per row, doc ids)."""
    ids: list[uuid.UUID] = []
    docs = []
    per = n // DOCS
    for d in range(DOCS):
        created = lg.documents.create(f"ann{d}".encode(), external_key=f"ann{d}")
        docs.append(created.document_id)
        rec = lg.extractions.record(
            created.version_id,
            "bench",
            "1",
            {},
            [{"kind": "chunk", "page_number": 1 + i % 10, "text": None} for i in range(per)],
        )
        ids.extend(sg.id for sg in lg.segments.of_extraction(rec.extraction.id))
    return ids, np.repeat(np.arange(DOCS), per), docs


def _upserts(lg: Any, url: str, ids: list[uuid.UUID], vectors: np.ndarray) -> dict[str, Any]:
    """Batch by batch in turn: docledger into space bench-384, the raw driver the same rows
    into the same table as space raw-384 (same indexes, triggers and foreign keys): sqlite3's
    executemany, psycopg's COPY (binary vectors both ways)."""
    lg.embeddings.create_space("bench-384", "bench", vectors.shape[1], "cosine")
    raw_space = lg.embeddings.create_space("raw-384", "bench", vectors.shape[1], "cosine")
    ws = lg.workspaces.get("default").id
    sqlite = url.startswith("sqlite")
    columns = "id, workspace_id, space_id, segment_id, external_ref, created_at, seq, vector"
    if sqlite:
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=60)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    else:
        import psycopg  # noqa: PLC0415

        conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
    ours = theirs = 0.0
    batch = 50_000
    stamp = "2026-11-27 00:00:00.000000+00:00"
    day = stamp[:26]  # SQLite stores UTC timestamps without their offset
    for start in range(0, len(ids), batch):
        part = slice(start, start + batch)
        t = time.perf_counter()
        lg.embeddings.upsert("bench-384", dict(zip(ids[part], vectors[part], strict=True)))
        ours += time.perf_counter() - t
        t = time.perf_counter()
        if sqlite:
            conn.executemany(
                f"INSERT INTO embeddings ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        uuid.uuid4().hex,
                        ws.hex,
                        raw_space.id.hex,
                        sid.hex,
                        None,
                        day,
                        1,
                        vec.tobytes(),
                    )
                    for sid, vec in zip(ids[part], vectors[part], strict=True)
                ],
            )
        else:
            with conn.cursor().copy(f"COPY embeddings ({columns}) FROM STDIN") as copy:
                for sid, vec in zip(ids[part], vectors[part], strict=True):
                    copy.write_row(
                        (uuid.uuid4(), ws, raw_space.id, sid, None, stamp, 1, vec.tobytes())
                    )
        conn.commit()
        theirs += time.perf_counter() - t
    conn.close()
    n = len(ids)
    return {
        "docledger_vectors_per_s": round(n / ours),
        "raw_driver_vectors_per_s": round(n / theirs),
        "ratio": round(theirs / ours, 2),
    }


def bench_upsert(dialect: str, n: int) -> dict[str, Any]:
    """``embeddings.upsert`` against the raw driver on one dialect (no index, no queries)."""
    from common import docledger_url  # noqa: PLC0415
    from knn import clustered_unit  # noqa: PLC0415

    from docledger import Ledger, load_settings  # noqa: PLC0415

    vectors = clustered_unit(n, 384, max(200, n // 1000), seed=11)
    work = Path(tempfile.mkdtemp(prefix="bench-upsert-"))
    url = docledger_url(dialect, work)
    with Ledger.open(settings=load_settings(db_url=url, blob_root=str(work / "b"))) as lg:
        ids, _doc_of, _docs = _segments(lg, n)
        return {"dialect": dialect, "vectors": n, "upsert": _upserts(lg, url, ids, vectors)}


def fresh_process(url: str, blobs: str, query: np.ndarray) -> dict[str, Any]:
    """Open the store and answer one query in a new Python process: times and its RSS."""
    fresh = subprocess.run(
        [sys.executable, "-c", FRESH, url, blobs, query.astype("<f4").tobytes().hex()],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(fresh.stdout))


def against_limit(
    lg: Any,
    raw_search: Any,
    name: str,
    queries: np.ndarray,
    ids: list[uuid.UUID],
    truth: list[Any],
) -> dict[str, Any]:
    """Unfiltered top 10, docledger and the bare index in turn query by query (machine noise
    hits both alike): p50/p99, docledger's recall@10 and its share of the limit's rate."""
    from knn import recall  # noqa: PLC0415

    # a million UUIDs and rows live in this process: without a frozen heap, Python's
    # full collections land in query timings (the caller's heap, not the search's cost)
    gc.collect()
    gc.freeze()
    ours, limit, hits = [], [], []
    lg.search.vector(queries[0], k=K, space="bench-384")  # maps the index / warms the plan
    raw_search(queries[0])
    for q in queries:
        t = time.perf_counter()
        raw_search(q)
        limit.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        hits.append(lg.search.vector(q, k=K, space="bench-384"))
        ours.append((time.perf_counter() - t) * 1000)
    want = [[ids[i] for i in r] for r in truth]
    out: dict[str, Any] = {
        "docledger": {
            **summary(ours),
            "recall_at_10": round(recall([[h.segment_id for h in r] for r in hits], want), 4),
        },
        f"{name}_same_index": summary(limit),
    }
    out[f"qps_ratio_vs_{name}"] = round(
        out[f"{name}_same_index"]["p50_ms"] / out["docledger"]["p50_ms"], 2
    )
    print("unfiltered", out, file=sys.stderr)
    return out


def filtered(
    lg: Any,
    vectors: np.ndarray,
    queries: np.ndarray,
    ids: list[uuid.UUID],
    doc_of: np.ndarray,
    docs: list[uuid.UUID],
) -> dict[str, Any]:
    """1% (one document) and 10% (one page) filters: latency, always k, recall@10 against
    numpy's exact top 10 over the matching rows."""
    from knn import numpy_top, recall  # noqa: PLC0415

    n, out = len(vectors), {}
    for label, rows, kwargs in (
        ("filtered_1pct", np.flatnonzero(doc_of == 0), {"documents": [docs[0]]}),
        ("filtered_10pct", np.flatnonzero(np.arange(n) % (n // DOCS) % 10 == 0),
         {"pages": (1, 1)}),
    ):  # fmt: skip
        sub = vectors[rows]
        f_want = [[ids[rows[i]] for i in numpy_top(sub, q, K)] for q in queries]
        f_times, f_hits = latencies(
            lambda q, kw=kwargs: lg.search.vector(q, k=K, space="bench-384", **kw), queries
        )
        out[label] = {
            **summary(f_times),
            "matching_rows": len(rows),
            "always_k": all(len(r) == K for r in f_hits),
            "recall_at_10": round(recall([[h.segment_id for h in r] for r in f_hits], f_want), 4),
        }
        print(label, out[label], file=sys.stderr)
    return out


def bench_ann(
    n: int, queries_n: int, lancedb_python: str | None = None, *, raw_build: bool = True
) -> dict[str, Any]:
    from knn import bench_sqlite_vec, clustered_unit, numpy_top  # noqa: PLC0415
    from usearch.index import Index  # noqa: PLC0415

    from docledger import Ledger, load_settings  # noqa: PLC0415
    from docledger.services import vector_ann  # noqa: PLC0415

    data = clustered_unit(n + queries_n, 384, max(200, n // 1000), seed=11)
    vectors, queries = data[:n], data[n:]
    work = Path(tempfile.mkdtemp(prefix="bench-ann-"))
    print("store in", work, file=sys.stderr)  # kept: re-run queries against it
    db, blobs = work / "ann.db", str(work / "blobs")
    url = f"sqlite:///{db}"
    out: dict[str, Any] = {"vectors": n, "dims": 384, "k": K, "queries": queries_n}
    with Ledger.open(settings=load_settings(db_url=url, blob_root=blobs)) as lg:
        t = time.perf_counter()
        ids, doc_of, docs = _segments(lg, n)
        out["segments_s"] = round(time.perf_counter() - t, 1)
        out["upsert"] = _upserts(lg, url, ids, vectors)
        print("upsert", out["upsert"], file=sys.stderr)
        t = time.perf_counter()
        lg.search.vector(queries[0], k=K, space="bench-384", exact=True)
        out["catch_up_files_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        lg.search.build_index("bench-384")
        out["build_index_s"] = round(time.perf_counter() - t, 1)
        folder = db.with_name(db.name + ".vectors")
        index_file = max(folder.rglob("*.usearch"), key=lambda p: p.stat().st_mtime)
        out["index_file_mb"] = round(index_file.stat().st_size / 2**20)
        out["vector_file_mb"] = round(next(folder.rglob("vectors.f32")).stat().st_size / 2**20)
        print("built", out["build_index_s"], file=sys.stderr)

        if raw_build:
            raw = Index(ndim=384, metric="ip", dtype="i8", connectivity=vector_ann.CONNECTIVITY,
                        expansion_add=vector_ann.EXPANSION_ADD)  # fmt: skip
            t = time.perf_counter()
            raw.add(np.arange(n), vectors, threads=os.cpu_count() or 1)
            out["raw_usearch_build_s"] = round(time.perf_counter() - t, 1)
            del raw
        view = Index.restore(str(index_file), view=True)
        shortlist = K * vector_ann.SHORTLIST

        def raw_search(q: np.ndarray) -> Any:  # what docledger asks of the index, directly
            view.expansion_search = int(vector_ann.EXPANSION * shortlist)
            keys = view.search(q, shortlist, threads=1).keys
            return keys[np.argsort(-(vectors[keys] @ q))[:K]]

        truth = [numpy_top(vectors, q, K) for q in queries]
        out.update(against_limit(lg, raw_search, "raw_usearch", queries, ids, truth))
        e_times, _ = latencies(
            lambda q: lg.search.vector(q, k=K, space="bench-384", exact=True), queries[:20]
        )
        out["docledger_exact"] = summary(e_times)
        np_times, _ = latencies(lambda q: numpy_top(vectors, q, K), queries[:50])
        out["numpy_exact"] = summary(np_times)

        out.update(filtered(lg, vectors, queries, ids, doc_of, docs))

    out["fresh_process"] = fresh_process(url, blobs, queries[1])
    out["fresh_process"]["rss_vs_index_file"] = round(
        out["fresh_process"]["rss_mb"] / out["index_file_mb"], 2
    )
    sample = min(20, queries_n)
    pages = np.arange(n) % (n // DOCS) % 10 + 1
    vec = bench_sqlite_vec(
        work,
        vectors,
        pages,
        queries[:sample],
        K,
        truth[:sample],
        [
            np.flatnonzero(pages == 1)[numpy_top(vectors[pages == 1], q, K)]
            for q in queries[:sample]
        ],
    )
    out["sqlite_vec_sample"] = {"queries": sample, **vec}
    out["speedup_vs_sqlite_vec_p50"] = round(vec["p50_ms"] / out["docledger"]["p50_ms"], 1)
    if lancedb_python:
        lance = subprocess.run(
            [lancedb_python, str(Path(__file__).with_name("knn_lancedb.py")), str(n),
             str(queries_n)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        out["lancedb"] = json.loads(lance.stdout)
    return out
