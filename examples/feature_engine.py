"""The feature inference engine's workflow (seed 004): documents unique by file hash, a
persistent queue that loses nothing (a job that fails is retried, and a restart resumes it),
evidence with embeddings and vector search filtered to one document.

Run: ``python examples/feature_engine.py``. Not yet here: features, feature-evidence links,
their outputs and review audit (the findings issue); backup and restore (the operations issue).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docledger
from docledger import Ledger
from docledger.worker import Worker

DATA = Path(__file__).resolve().parent / "data"


@docledger.task("infer-evidence")
def infer_evidence(ctx: docledger.TaskContext) -> dict[str, Any]:
    """Extract a document's evidence; the first attempt fails the way a flaky model server
    does, and the queue retries it."""
    if ctx.job.attempt == 1:
        raise ConnectionError("model server not ready")
    (outcome,) = ctx.ledger.extractions.run([ctx.job.payload["document"]])
    return {"evidence": outcome.segments}


def main() -> dict[str, Any]:
    with Ledger.open() as ledger:
        spec = (DATA / "notes" / "inspection.md").read_bytes()
        first = ledger.documents.create(spec, external_key="specs/inspection.md")
        again = ledger.documents.create(spec, external_key="specs/inspection.md")  # same hash
        job = ledger.jobs.enqueue(
            "infer-evidence", {"document": str(first.document_id)}, max_attempts=3
        )
        worker = Worker(ledger, concurrency=1, backoff_base_s=0.0)
        worker.run(burst=True)  # the first attempt fails and is queued again
        Worker(ledger, concurrency=1, backoff_base_s=0.0).run(burst=True)  # a restart resumes
        done = ledger.jobs.get(job.id)

        ledger.search.embed_missing("hash-256")
        hits = ledger.search.vector(
            "which doors must stay closed", space="hash-256", k=3, documents=[first.document_id]
        )
        return {
            "dedupe": again.outcome,
            "job": done.status,
            "attempts": done.attempts,
            "history": [e.event for e in done.events],
            "evidence_hits": len(hits),
            "cites": {(h.external_key, h.page_number is None or h.page_number >= 1) for h in hits},
        }


if __name__ == "__main__":
    print(main())
