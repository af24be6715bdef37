"""Exports benchmark (issue 16), docledger and its baseline measured in the same run.

speed   --segments annotated zones (default 50,000: 1,000 pages of 50 zones, each zone with
        one approved label annotation) exported as JSONL, COCO and Label Studio tasks through
        ``ledger.exports.create`` (read, write the file, hash it into the blob store, record the
        export and its audit events), alternating with the raw driver reading the same rows
        (segments joined to their extraction, version and document, annotations looked up the
        same way) and writing the same JSONL lines with the standard json module. Records/s,
        and the ratio for JSONL (target >= 0.5x). The Label Studio time is the anchor of the
        issue (the peer is reported to take minutes; the target is seconds).
rss     peak RSS of a fresh process that opens the store and runs the JSONL, COCO and Label
        Studio exports, at each --rss size (default 50,000 and 1,000,000 segments). Target:
        <= 200 MB at 1M, flat.

    python bench/exports.py [--dialect sqlite|postgresql] [--segments N] [--rss N ...]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import docledger_url, segment_batch, vocabulary, write

from docledger import Ledger
from docledger.db.dialect import bulk_insert
from docledger.db.session import session_scope
from docledger.db.types import utcnow
from docledger.ids import new_id
from docledger.models import Annotation as AnnotationRow
from docledger.models import Segment as SegmentRow

PER_DOCUMENT = 1000  # zones per document (20 pages of 50)


def build(ledger: Ledger, segments: int) -> None:
    """Documents with a page segment per page (its size) and 50 zones a page, every zone
    labelled (annotation rows written in bulk: how they got there is not what is timed)."""
    rng = np.random.default_rng(7)
    words = vocabulary(rng)
    docs = max(1, segments // PER_DOCUMENT)
    for d in range(docs):
        added = ledger.documents.create(f"scan {d}".encode(), external_key=f"scan-{d:06d}.pdf")
        zones = segment_batch(rng, words, PER_DOCUMENT)
        pages = [
            {"kind": "page", "page_number": p, "bbox": {"x0": 0, "y0": 0, "x1": 612, "y1": 792},
             "metadata": {"width": 612, "height": 792}}
            for p in range(1, PER_DOCUMENT // 50 + 1)
        ]  # fmt: skip
        recorded = ledger.extractions.record(added.version_id, "zone-ocr", "1", {}, pages + zones)
        with session_scope(ledger.engine) as s:
            ids = (
                s.execute(
                    SegmentRow.__table__.select()
                    .with_only_columns(SegmentRow.id)
                    .where(
                        SegmentRow.extraction_id == recorded.extraction.id,
                        SegmentRow.kind == "zone",
                    )
                )
                .scalars()
                .all()
            )
            now = utcnow()
            ws = ledger.workspaces.get().id
            rows = [
                {
                    "id": new_id(), "workspace_id": ws, "target_type": "segment",
                    "document_id": added.document_id, "version_id": added.version_id,
                    "segment_id": sid, "kind": "label",
                    "value": {"label": ("title", "field", "table")[i % 3]},
                    "status": "approved", "author_id": None, "revision": 1,
                    "created_at": now, "updated_at": now,
                }
                for i, sid in enumerate(ids)
            ]  # fmt: skip
            bulk_insert(s, AnnotationRow.__table__, rows)  # type: ignore[arg-type]


def raw_jsonl(ledger: Ledger, out: Path) -> int:
    """The baseline: the same records read with the bare driver and written with json."""
    raw: Any = ledger.engine.raw_connection()
    sqlite = ledger.engine.dialect.name == "sqlite"
    cur = raw.cursor()
    cur.execute(
        "SELECT e.id, e.extractor, v.id, v.version_number, d.id, d.external_key "
        "FROM extractions e JOIN document_versions v ON v.id = e.version_id "
        "JOIN documents d ON d.id = v.document_id ORDER BY d.external_key, d.id, e.extractor, e.id"
    )
    extractions = cur.fetchall()
    mark = "?" if sqlite else "%s"
    written = 0
    with open(out, "w", encoding="utf-8") as handle:
        for eid, extractor, vid, number, did, key in extractions:
            seg = raw.cursor()
            seg.execute(
                "SELECT id, ordinal, kind, label, page_number, bbox, text, confidence "
                f"FROM segments WHERE extraction_id = {mark} AND kind = 'zone' "
                "ORDER BY coalesce(page_number, 0), ordinal",
                (eid,),
            )
            while True:
                part = seg.fetchmany(1000)
                if not part:
                    break
                notes: dict[Any, list[dict[str, Any]]] = {}
                ann = raw.cursor()
                ann.execute(
                    "SELECT segment_id, id, kind, status, revision, value FROM annotations "
                    f"WHERE segment_id IN ({', '.join([mark] * len(part))}) "
                    "ORDER BY segment_id, created_at, id",
                    [r[0] for r in part],
                )
                for sid, aid, kind, status, revision, value in ann.fetchall():
                    notes.setdefault(sid, []).append(
                        {"id": str(aid), "kind": kind, "status": status, "revision": revision,
                         "value": json.loads(value) if isinstance(value, str) else value}
                    )  # fmt: skip
                for sid, ordinal, kind, label, page, box, text, conf in part:
                    line = {
                        "document": key, "document_id": str(did), "version": number,
                        "version_id": str(vid), "extraction_id": str(eid),
                        "extractor": extractor, "segment_id": str(sid), "ordinal": ordinal,
                        "kind": kind, "label": label, "page": page,
                        "bbox": json.loads(box) if isinstance(box, str) else box,
                        "text": text, "confidence": conf, "annotations": notes.get(sid, []),
                    }  # fmt: skip
                    handle.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
                    handle.write("\n")
                    written += 1
    raw.close()
    return written


def speed(ledger: Ledger, segments: int, rounds: int = 2) -> dict[str, Any]:
    build(ledger, segments)
    out: dict[str, Any] = {"segments": segments, "annotations": segments}
    times: dict[str, list[float]] = {"jsonl": [], "raw_jsonl": [], "coco": [], "labelstudio": []}
    records: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for fmt in ("jsonl", "coco", "labelstudio"):
                t = time.perf_counter()
                done = ledger.exports.create({"kinds": ["zone"]}, [fmt])
                times[fmt].append(time.perf_counter() - t)
                assert done.status == "succeeded", done.results
                records[fmt] = done.results[fmt]["records"]
            t = time.perf_counter()
            records["raw_jsonl"] = raw_jsonl(ledger, Path(tmp) / "raw.jsonl")
            times["raw_jsonl"].append(time.perf_counter() - t)
    best = {k: min(v) for k, v in times.items()}
    for fmt in ("jsonl", "coco", "labelstudio", "raw_jsonl"):
        out[fmt] = {
            "records": records[fmt],
            "seconds": round(best[fmt], 3),
            "records_per_s": round(segments / best[fmt]),
        }
    out["jsonl_ratio_vs_raw"] = round(best["raw_jsonl"] / best["jsonl"], 3)
    out["target_ratio"] = 0.5
    return out


def rss_child(url: str) -> None:
    """In a fresh process: export JSONL, COCO and Label Studio; print the peak RSS."""
    with Ledger.open(url) as ledger:
        t = time.perf_counter()
        done = ledger.exports.create({"kinds": ["zone"]}, ["jsonl", "coco", "labelstudio"])
        seconds = time.perf_counter() - t
        assert done.status == "succeeded", done.results
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": round(peak, 1), "seconds": round(seconds, 2)}))


def rss(dialect: str, sizes: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url = docledger_url(dialect, Path(tmp))
            with Ledger.open(url) as ledger:
                build(ledger, size)
            done = subprocess.run(
                [sys.executable, __file__, "--rss-child", url],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            out[str(size)] = json.loads(done.stdout.strip().splitlines()[-1])
    out["target_mb_at_1m"] = 200
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialect", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--segments", type=int, default=50_000)
    parser.add_argument("--rss", type=int, nargs="*", default=[50_000, 1_000_000])
    parser.add_argument("--rss-child")
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = docledger_url(args.dialect, Path(tmp))
        with Ledger.open(url) as ledger:
            result: dict[str, Any] = {
                "dialect": args.dialect,
                "speed": speed(ledger, args.segments),
            }
    if args.rss:
        result["peak_rss"] = rss(args.dialect, args.rss)
    write(f"exports_{args.dialect}", result)


if __name__ == "__main__":
    main()
