"""The drawing-comparison product's workflow (seed 003): a project (workspace) with its
users, drawings whose revisions are versions of one document, both revisions extracted and
rendered, and a comparison session recorded as a run that used the old and the new revision,
with its alignment score and a lineage you can walk back.

Run: ``python examples/drawing_comparison.py``. Not yet here: comparisons and analysis
results as findings, chat about a session (the findings and conversations issue).
"""

from __future__ import annotations

import io
from typing import Any

from docledger import Ledger

PAGE = (612, 792)


def drawing(revision: str, lines: list[str]) -> bytes:
    """A one-page PDF standing in for a drawing revision (reportlab, a dev dependency)."""
    from reportlab.pdfgen import canvas  # noqa: PLC0415

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=PAGE, invariant=1)
    pdf.drawString(72, 740, f"Site plan revision {revision}")
    for n, line in enumerate(lines):
        pdf.drawString(72, 700 - 20 * n, line)
    pdf.save()
    return out.getvalue()


def main() -> dict[str, Any]:
    with Ledger.open() as ledger:
        project = ledger.workspaces.ensure("tower-b", "Tower B")
        lead = ledger.users.ensure("lead@example.org")
        ledger.memberships.create(project.id, lead.id, "owner")

        key = "drawings/A-101.pdf"
        old = ledger.documents.create(
            drawing("A", ["Grid A-F", "Door D1 opens east"]), external_key=key, workspace=project.id
        )
        ledger.extractions.run([old.document_id], workspace=project.id)
        new = ledger.documents.create(
            drawing("B", ["Grid A-F", "Door D1 opens west", "Stair S2 added"]),
            external_key=key,
            workspace=project.id,
        )
        ledger.extractions.run([new.document_id], workspace=project.id)
        pages = ledger.documents.render(key, dpi=72, workspace=project.id)  # for the overlay

        old_lines = {s.text for s in ledger.segments.of_version(old.version_id) if s.kind == "line"}
        new_lines = {s.text for s in ledger.segments.of_version(new.version_id) if s.kind == "line"}
        with ledger.runs.start("compare A-101 A->B", "comparison", workspace=project.id) as session:
            session.uses(("version", old.version_id), ("version", new.version_id))
            shared = len(old_lines & new_lines) / max(1, len(old_lines | new_lines))
            session.log_metrics({"alignment_score": shared, "changes": len(old_lines ^ new_lines)})
            session.log("changes", data={"added": sorted(new_lines - old_lines)})
        summary = ledger.runs.latest_metrics(session.id)
        return {
            "versions": [
                v.version_number for v in ledger.documents.versions(key, workspace=project.id)
            ],
            "rendered_pages": len(pages),
            "alignment_score": round(summary["alignment_score"], 2),
            "changes": int(summary["changes"]),
            "session_used": sorted(n.entity_type for n in ledger.lineage.edges(session.id)),
        }


if __name__ == "__main__":
    print(main())
