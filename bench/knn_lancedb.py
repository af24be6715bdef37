"""LanceDB's embedded vector index on the same vectors as bench/knn_ann.py (run by it with
``--lancedb-python PATH``: LanceDB and pyarrow live in their own virtual environment,
``python3 -m venv /tmp/lancevenv && /tmp/lancevenv/bin/pip install lancedb numpy``).

    /tmp/lancevenv/bin/python bench/knn_lancedb.py N QUERIES   # prints one JSON object

The data are regenerated with the same generator and seed as ``knn.clustered_unit`` (copied
here because this environment has no docledger); the index is LanceDB's IVF-HNSW with
scalar quantisation (its HNSW flavour), searched with a refine step, so it is compared with
docledger's int8 HNSW plus exact re-scoring like for like.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time

import numpy as np


def clustered_unit(n: int, dims: int, clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dims))
    points = centres[rng.integers(0, clusters, size=n)] + 0.6 * rng.normal(size=(n, dims))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32)


def main() -> None:
    import lancedb  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415

    n, queries_n = int(sys.argv[1]), int(sys.argv[2])
    data = clustered_unit(n + queries_n, 384, max(200, n // 1000), seed=11)
    vectors, queries = data[:n], data[n:]
    db = lancedb.connect(tempfile.mkdtemp(prefix="bench-lance-"))
    table = pa.table(
        {
            "id": pa.array(np.arange(n)),
            "page": pa.array(np.arange(n) % (n // 100) % 10 + 1),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), 384),
        }
    )
    t = time.perf_counter()
    tbl = db.create_table("v", table)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    tbl.create_index(metric="cosine", vector_column_name="vector", index_type="IVF_HNSW_SQ")
    build_s = time.perf_counter() - t
    truth = [set(np.argpartition(-(vectors @ q), 10)[:10].tolist()) for q in queries]
    page1 = np.flatnonzero(np.arange(n) % (n // 100) % 10 == 0)
    f_truth = [
        set(page1[np.argpartition(-(vectors[page1] @ q), 10)[:10]].tolist()) for q in queries
    ]
    out = {"vectors": n, "load_s": round(load_s, 1), "build_s": round(build_s, 1)}
    for label, where, want in (
        ("unfiltered", None, truth),
        ("filtered_10pct", "page = 1", f_truth),
    ):
        times, found, sizes = [], 0, []
        for q, expected in zip(queries, want, strict=True):
            t = time.perf_counter()
            search = tbl.search(q).metric("cosine").limit(10).refine_factor(10)
            if where:
                search = search.where(where, prefilter=True)
            ids = search.select(["id"]).to_arrow()["id"].to_pylist()
            times.append((time.perf_counter() - t) * 1000)
            found += len(set(ids) & expected)
            sizes.append(len(ids))
        out[label] = {
            "p50_ms": round(float(np.median(times)), 3),
            "p99_ms": round(float(np.percentile(times, 99)), 3),
            "recall_at_10": round(found / (10 * len(want)), 4),
            "always_k": all(s == 10 for s in sizes),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
