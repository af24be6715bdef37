"""The zone-OCR platform's workflow (seed 001): documents and their zones (page, box,
confidence), processing jobs with their full history, a review queue of low-confidence zones,
a user's corrections and preferences.

Run: ``python examples/zone_ocr.py``. Not yet here: export records with their audit trail
(the exports issue), database roles and the load targets (the operations issue).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docledger
from docledger import Ledger
from docledger.worker import Worker

DATA = Path(__file__).resolve().parent / "data"


@docledger.task("ocr")
def ocr(ctx: docledger.TaskContext) -> dict[str, Any]:
    """A worker's OCR step: the built-in image extractor finds the zones; the job's result and
    the extraction are stored as the job finishes."""
    (outcome,) = ctx.ledger.extractions.run([ctx.job.payload["document"]])
    return {"zones": outcome.segments, "error": outcome.error}


def main() -> dict[str, Any]:
    with Ledger.open() as ledger:
        ana = ledger.users.ensure("ana@example.org")
        ledger.users.set_preferences(ana.id, {"zone_colors": "by-confidence", "page_size": 25})
        scan = ledger.documents.create(DATA / "scan.png", external_key="inbox/scan.png")
        job = ledger.jobs.enqueue(
            "ocr", {"document": str(scan.document_id)}, idempotency_key=f"ocr:{scan.version_id}"
        )
        Worker(ledger, concurrency=1).run(burst=True)
        detail = ledger.jobs.get(job.id)  # the job and its processing history

        zones = ledger.segments.of_version(scan.version_id)
        review = ledger.segments.low_confidence(0.99, limit=10)  # the review queue
        corrected = None
        if review:
            first = review[0]
            corrected = ledger.annotations.create(
                "segment",
                first.id,
                "correction",
                {"corrected": (first.text or "").upper()},
                actor=ana.email,
            )
        return {
            "job": detail.status,
            "history": [e.event for e in detail.events],
            "zones": len(zones),
            "boxes_on_page": all(
                z.bbox is not None and z.page_number == 1 for z in zones if z.kind != "page"
            ),
            "to_review": len(review),
            "corrected_from": corrected.value["original"] if corrected else None,
            "preferences": ledger.users.get(ana.id).preferences,
        }


if __name__ == "__main__":
    print(main())
