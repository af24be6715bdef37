"""The feature inference engine's workflow (seed 004): documents unique by file hash, a
persistent queue that loses nothing (a job that fails is retried, and a restart resumes it),
evidence with embeddings and vector search filtered to one document and above a similarity
threshold, features linked to that evidence, a review with an audit trail, and versioned
outputs (epics, stories) whose lineage reaches the document.

Run: ``python examples/feature_engine.py``. Not yet here: backup and restore (the operations
issue).
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
        # the same bytes under another name: one document per file hash
        copy = ledger.documents.create(
            spec, external_key="uploads/copy-of-inspection.md", on_duplicate_content="skip"
        )
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
        similar = ledger.search.vector(
            "which doors must stay closed", space="hash-256", k=10, min_score=0.05
        )

        # a feature inferred from the evidence, reviewed, and turned into versioned outputs
        reviewer = ledger.users.ensure("architect@example.org")
        feature = ledger.findings.create(
            "feature",
            "Self-closing fire doors",
            body={"category": "safety"},
            confidence=0.55,
            evidence=[
                {"target": h, "relation": "implements", "strength": round(h.score, 3)}
                for h in hits[:2]
            ],
        )
        ledger.findings.update(feature.id, confidence=0.8, actor=reviewer.email)
        ledger.findings.confirm(feature.id, expected_revision=2, actor=reviewer.email)
        ledger.findings.create_output(feature.id, "epic", {"title": "Fire safety"})
        ledger.findings.create_output(feature.id, "epic", {"title": "Fire safety (doors)"})
        story = ledger.findings.create_output(feature.id, "story", {"as": "inspector"})
        made_from = {n.entity_type for n in ledger.lineage.upstream(story)}
        return {
            "dedupe": again.outcome,
            "job": done.status,
            "attempts": done.attempts,
            "history": [e.event for e in done.events],
            "evidence_hits": len(hits),
            "cites": {(h.external_key, h.page_number is None or h.page_number >= 1) for h in hits},
            "copy": (copy.outcome, copy.document_id == first.document_id),
            "above_threshold": all(h.score >= 0.05 for h in similar),
            "evidence": len(ledger.findings.evidence(feature.id)),
            "audit": [(e.action, e.actor) for e in ledger.findings.history(feature.id)],
            "outputs": [
                (o.output_type, o.version) for o in ledger.findings.outputs(feature.id, latest=True)
            ],
            "story_made_from": sorted(made_from & {"finding", "segment", "document"}),
        }


if __name__ == "__main__":
    print(main())
