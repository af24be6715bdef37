"""Segment benchmarks (issue 4), each measuring docledger and its baselines in the same run.

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

    python bench/segments.py segments [--dialect sqlite|postgresql] [--rows N]
    python bench/segments.py lookups --url URL
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
from common import (
    PER_EXTRACTION,
    RESULTS,
    docledger_url,
    fresh_pg_database,
    segment_batch,
    summary,
    vocabulary,
    write,
)

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
    parser.add_argument("part", choices=["segments", "lookups"])
    parser.add_argument("--url", help="lookups: a database the segments part grew")
    parser.add_argument("--dialect", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.part == "segments":
        write(f"content_segments_{args.dialect}", bench_segments(args.dialect, args.rows))
    else:
        dialect = "sqlite" if args.url.startswith("sqlite") else "postgresql"
        write(f"content_lookups_{dialect}", bench_lookups(args.url))


if __name__ == "__main__":
    main()
