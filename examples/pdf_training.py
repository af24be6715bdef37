"""The PDF-training product's workflow (seed 000): PDFs in, extraction snapshots, labels with
their history, a frozen dataset, a training run with metrics, a model version, and lineage
from the model back to the PDFs. It replaces the session folders and ``review.csv``.

Run: ``python examples/pdf_training.py`` (the store is DOCLEDGER_DB_URL, default
./data/docledger.db). Not yet here: exporting the labels for training (the exports issue).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docledger import Ledger

DATA = Path(__file__).resolve().parent / "data"


def main() -> dict[str, Any]:
    with Ledger.open() as ledger:
        reviewer = ledger.users.ensure("reviewer@example.org")
        added = ledger.documents.create(
            DATA / "invoice-and-plan.pdf", external_key="batch-1/plan.pdf"
        )
        (extracted,) = ledger.extractions.run([added.document_id])  # an extraction snapshot
        blocks = ledger.segments.of_extraction(extracted.extraction_id, kind="block")

        # the reviewer labels each block; every change is an event with who made it
        for block in blocks:
            label = "invoice" if "Invoice" in (block.text or "") else "drawing"
            note = ledger.annotations.create(
                "segment", block.id, "label", {"label": label}, actor=reviewer.email
            )
            note = ledger.annotations.set_status(
                note.id, "submitted", expected_revision=note.revision, actor=reviewer.email
            )
            ledger.annotations.set_status(
                note.id, "approved", expected_revision=note.revision, actor=reviewer.email
            )
        dataset = ledger.datasets.snapshot("page-labels", {"kind": "label"})

        with ledger.runs.start("train-page-classifier", "training", params={"lr": 3e-4}) as run:
            run.uses(dataset)
            for epoch in range(3):
                run.log_metrics({"loss": 1.0 / (epoch + 1), "f1": 0.6 + 0.1 * epoch}, step=epoch)
            model = ledger.model_versions.create(
                "page-classifier", run, artifact=b"trained weights", metrics={"f1": 0.8}
            )
        ledger.model_versions.promote("page-classifier", model.version, "production")

        upstream = ledger.lineage.upstream(model)
        return {
            "labels": len(blocks),
            "dataset_items": len(ledger.datasets.items(dataset.id)),
            "best_f1": ledger.runs.latest_metrics(run.id)["f1"],
            "production": ledger.model_versions.get("page-classifier", stage="production").version,
            "model_comes_from_the_pdf": ("document", str(added.document_id))
            in {(n.entity_type, n.entity_id) for n in upstream},
        }


if __name__ == "__main__":
    print(main())
