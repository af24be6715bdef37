"""What every search leaves out, at many documents (migration 0021).

Each search first finds the extractions it must leave out (deleted documents, versions that are
not current, failed runs, runs a newer one replaced). A store of --documents documents (default
20,000; one in ten with a second version, one in twenty re-extracted, one in fifty failed),
then, in the same run and the same transaction: docledger's statement (marked rows, 0021-0022)
against the statement before 0021 (every document and extraction of the workspace), both
checked to return the same ids; and a text search's p50 over the store.

    python bench/search_scope.py [--dialect sqlite|postgresql] [--documents 20000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Uuid, bindparam, text

sys.path.insert(0, str(Path(__file__).parent))
from common import fresh_pg_database, summary, write

from docledger import Ledger, load_settings
from docledger.db.session import session_scope
from docledger.repositories.workspace import WorkspaceRepository
from docledger.services.search_scope import excluded_extractions

#: the statement before migration 0021: a walk over the workspace's documents and extractions
BEFORE_0021 = """
SELECT e.id FROM documents d JOIN document_versions v ON v.document_id = d.id
JOIN extractions e ON e.version_id = v.id
WHERE d.workspace_id = :ws AND (d.deleted_at IS NOT NULL
  OR (d.current_version IS NOT NULL AND v.version_number != d.current_version))
UNION
SELECT e.id FROM extractions e WHERE e.workspace_id = :ws AND (e.status != 'succeeded'
  OR EXISTS (SELECT 1 FROM extractions n WHERE n.version_id = e.version_id
    AND n.extractor = e.extractor AND n.status = 'succeeded'
    AND (n.created_at > e.created_at OR (n.created_at = e.created_at AND n.id > e.id))))
"""


def _store(ledger: Ledger, n: int) -> None:
    for i in range(n):
        made = ledger.documents.create(f"doc {i}".encode(), external_key=f"d{i}")
        zones = [{"kind": "chunk", "text": f"pump valve {i} inspection"}]
        ledger.extractions.record(made.version_id, "zones", "1", {}, zones)
        if i % 10 == 0:
            again = ledger.documents.create(f"doc {i} v2".encode(), external_key=f"d{i}")
            ledger.extractions.record(again.version_id, "zones", "1", {}, zones)
        if i % 20 == 1:
            ledger.extractions.record(made.version_id, "zones", "2", {}, zones)
        if i % 50 == 2:
            ledger.extractions.record_failure(made.version_id, "ocr", "1", {}, "unreadable")


def _timed(fn: Any, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialect", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-scope-"))
    url = (
        f"sqlite:///{work / 'scope.db'}"
        if args.dialect == "sqlite"
        else fresh_pg_database("bench_search_scope")
    )
    settings = load_settings(db_url=url, blob_root=str(work / "blobs"))
    with Ledger.open(settings=settings) as ledger:
        t = time.perf_counter()
        _store(ledger, args.documents)
        built = time.perf_counter() - t
        with session_scope(ledger.engine, readonly=True) as session:
            ws = WorkspaceRepository(session).get(None).id
            before = text(BEFORE_0021).bindparams(bindparam("ws", type_=Uuid()))
            ours = set(excluded_extractions(session, ws, False))
            theirs = {uuid.UUID(str(e)) for e in session.scalars(before, {"ws": ws})}
            assert ours == theirs, "the two statements disagree"
            new: list[float] = []
            old: list[float] = []
            for _ in range(args.rounds):  # alternating, so both see the same cache state
                new += _timed(lambda: excluded_extractions(session, ws, False), 1)
                old += _timed(lambda: session.scalars(before, {"ws": ws}).all(), 1)
        ledger.search.text("pump", k=10)  # the full-text index caught up
        search = _timed(lambda: ledger.search.text("valve inspection", k=10), args.rounds)
    write(
        f"search_scope_{args.dialect}",
        {
            "documents": args.documents,
            "build_s": round(built, 1),
            "excluded_extractions": len(ours),
            "docledger": summary(new),
            "before_0021": summary(old),
            "speedup_p50": round(summary(old)["p50_ms"] / max(summary(new)["p50_ms"], 1e-6), 1),
            "text_search": summary(search),
        },
    )


if __name__ == "__main__":
    main()
