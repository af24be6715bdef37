"""Re-recording benchmark (issue 4), docledger and its baseline in the same run.

rerecord  10,000 unchanged chunks of 100 documents recorded again (the RAG module's re-run)
          vs LangChain's indexing API re-run with its SQL record manager on a SQLite file.

    python bench/rerecord.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import (
    median,
    vocabulary,
    write,
)


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


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    write("content_rerecord", bench_rerecord())


if __name__ == "__main__":
    main()
