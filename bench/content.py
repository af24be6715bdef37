"""Content benchmarks (issue 4). Each part measures docledger and its baselines in the same run.

segments  1,000,000 segments recorded through ``ledger.extractions.record`` (250 per extraction,
          one transaction each) into a table already holding 1,000,000, alternating batch by
          batch with (a) the raw driver writing the same rows into docledger's own table
          (sqlite3 executemany / psycopg COPY; rows prepared outside the timing) and (b) the
          raw driver writing them into the naive schema the seeds hand-write (UUID4 text keys,
          an index per foreign key, (version, page), UNIQUE(extraction, ordinal)), in its own
          database holding 1,000,000 too. Then point look-ups by id and "segments of one
          version" on the grown table, p50/p99.
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
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import fresh_pg_database, median, percentile, write

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
        self.conn.execute("INSERT INTO documents VALUES (%s, %s)".replace("%s", self.mark), (doc, doc))
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
                lg.documents.add(f"{prefix}{n}".encode(), external_key=f"{prefix}{n}").version_id
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
                    [{"id": extraction, "workspace_id": ws, "version_id": version, "extractor": "raw",
                      "extractor_version": "1", "params": {}, "params_hash": extraction.hex,
                      "status": "succeeded", "stats": {}, "created_at": now}],
                )
                dialect_ = conn.dialect
            tuples = [
                (new_id(), ws, extraction, version, i, s["kind"], s["label"], s["page_number"],
                 s["bbox"], s["text"], None, s["confidence"], None, None, {}, now)
                for i, s in enumerate(segs)
            ]
            processors = [SEGMENTS.c[c].type.dialect_impl(dialect_).bind_processor(dialect_) for c in SEGMENT_COLUMNS]
            return extraction, _convert(tuples, processors)

        def raw_write(converted: list[Any]) -> None:
            raw = engine.raw_connection()
            try:
                driver = raw.driver_connection
                cols = ", ".join(SEGMENT_COLUMNS)
                if dialect == "sqlite":
                    cur = driver.cursor()
                    cur.execute("BEGIN IMMEDIATE")
                    cur.executemany(
                        f"INSERT INTO segments ({cols}) VALUES ({', '.join('?' * len(SEGMENT_COLUMNS))})",
                        converted,
                    )
                    cur.execute("COMMIT")
                else:
                    with driver.cursor() as cur, cur.copy(f"COPY segments ({cols}) FROM STDIN") as copy:
                        for row in converted:
                            copy.write_row(row)
                    driver.commit()
            finally:
                raw.close()

        # Preload 1,000,000 rows into both databases (untimed, raw paths).
        print(f"preloading {rows} rows into each database ...", file=sys.stderr)
        t0 = time.perf_counter()
        pre_versions = new_versions(batches, "pre")
        for b in range(batches):
            segs = segment_batch(rng, words, PER_EXTRACTION)
            _, converted = raw_prepare(pre_versions[b], segs)
            raw_write(converted)
            nv = naive.version()
            ext, nrows = naive.rows(nv, segs)
            naive.write(nv, ext, nrows)
        preload_s = time.perf_counter() - t0
        from docledger.db.dialect import refresh_statistics  # noqa: PLC0415

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
            _, converted = raw_prepare(raw_versions[b], segs)
            t = time.perf_counter()
            raw_write(converted)
            timings["raw_same_table"] += time.perf_counter() - t
            nv = naive.version()
            ext, nrows = naive.rows(nv, segs)
            t = time.perf_counter()
            naive.write(nv, ext, nrows)
            timings["naive_schema"] += time.perf_counter() - t
        rates = {k: batches * PER_EXTRACTION / v for k, v in timings.items()}

        # Look-ups on the grown table.
        from sqlalchemy import func, select  # noqa: PLC0415

        from docledger.models import Segment  # noqa: PLC0415

        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(Segment)).scalar()
        ids = []
        for _ in range(40):
            segs_of = lg.segments.of_version(dl_versions[int(rng.integers(0, batches))])
            ids.extend(s.id for s in rng.choice(np.array(segs_of, dtype=object), 50))
        point = []
        for sid in ids:
            t = time.perf_counter()
            lg.segments.get(sid)
            point.append((time.perf_counter() - t) * 1000)
        of_version = []
        page = []
        for _ in range(500):
            v = dl_versions[int(rng.integers(0, batches))]
            t = time.perf_counter()
            got = lg.segments.of_version(v)
            of_version.append((time.perf_counter() - t) * 1000)
            assert len(got) == PER_EXTRACTION
            t = time.perf_counter()
            got = lg.segments.of_version(v, page=3)
            page.append((time.perf_counter() - t) * 1000)
            assert len(got) == 50
    return {
        "dialect": dialect,
        "rows_preloaded_each": rows,
        "rows_timed_each": batches * PER_EXTRACTION,
        "segments_per_extraction": PER_EXTRACTION,
        "preload_s": round(preload_s, 1),
        "rows_per_s": {k: round(v) for k, v in rates.items()},
        "ratio_vs_raw_same_table": round(rates["docledger"] / rates["raw_same_table"], 3),
        "ratio_vs_naive_schema": round(rates["docledger"] / rates["naive_schema"], 3),
        "segments_in_table_at_lookup": total,
        "lookup_ms": {
            "get_by_id": {"p50": round(median(point), 3), "p99": round(percentile(point, 99), 3)},
            "of_version_250": {
                "p50": round(median(of_version), 3),
                "p99": round(percentile(of_version, 99), 3),
            },
            "of_version_one_page_50": {
                "p50": round(median(page), 3),
                "p99": round(percentile(page, 99), 3),
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["segments", "knn", "rerecord"])
    parser.add_argument("--dialect", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--vectors", type=int, default=100_000)
    args = parser.parse_args()
    if args.part == "segments":
        write(f"content_segments_{args.dialect}", bench_segments(args.dialect, args.rows))


if __name__ == "__main__":
    main()
