"""Vector search benchmark (issue 4), docledger and its baselines in the same run.

knn       100,000 x 384 clustered, normalised vectors: docledger top-10 (exact path; on
          PostgreSQL also the pgvector HNSW path on a throw-away PostgreSQL with pgvector) vs
          numpy's brute force on the same matrix and sqlite-vec's vec0 (through apsw, since
          this Python's sqlite3 cannot load extensions); unfiltered and with a filter matching
          10% of the rows.

    python bench/knn.py [--dialect sqlite|postgresql] [--vectors N]

ann       the embedded default's ANN index at 1,000,000 vectors (bench/knn_ann.py):

    python bench/knn.py --ann [--vectors 1000000] [--queries 200] [--lancedb-python PY]

          and the same figures on PostgreSQL with pgvector's HNSW (bench/knn_pgvector.py):

    python bench/knn.py --ann --dialect postgresql [--vectors 1000000]

upsert    ``embeddings.upsert`` vs the raw driver writing the same rows (both dialects):

    python bench/knn.py --upsert [--dialect sqlite|postgresql] [--vectors 100000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import (
    docledger_url,
    latencies,
    summary,
    write,
)


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dialect", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--vectors", type=int, default=None)
    parser.add_argument("--ann", action="store_true", help="the SQLite ANN index at scale")
    parser.add_argument("--upsert", action="store_true", help="embeddings.upsert vs the driver")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--lancedb-python", help="a Python with lancedb (see bench/knn_lancedb.py)")
    parser.add_argument(
        "--no-raw-build",
        action="store_true",
        help="skip usearch building its own index (a build-rate baseline only: ~5 min at 1M)",
    )
    args = parser.parse_args()
    if args.upsert:
        from knn_ann import bench_upsert  # noqa: PLC0415

        write(f"knn_upsert_{args.dialect}", bench_upsert(args.dialect, args.vectors or 100_000))
        return
    if args.ann and args.dialect == "postgresql":
        from knn_pgvector import bench_pgvector  # noqa: PLC0415

        write("knn_ann_pgvector", bench_pgvector(args.vectors or 1_000_000, args.queries))
        return
    if args.ann:
        from knn_ann import bench_ann  # noqa: PLC0415

        write(
            "knn_ann_sqlite",
            bench_ann(
                args.vectors or 1_000_000,
                args.queries,
                args.lancedb_python,
                raw_build=not args.no_raw_build,
            ),
        )
        return
    write(f"content_knn_{args.dialect}", bench_knn(args.dialect, args.vectors or 100_000))


if __name__ == "__main__":
    main()
