"""The drawing-comparison product's workflow (seed 003): a project (workspace) with its
users, drawings whose revisions are versions of one document, both revisions extracted and
rendered, and a comparison session recorded as a run that used the old and the new revision.
The session's comparison (old / new drawing, alignment score, overlay image) and its change
analysis are findings; a chat about the session cites the changed lines; the session summary
is one query, and deleting the session takes exactly what it produced.

Run: ``python examples/drawing_comparison.py``.
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


def overlay(size: tuple[int, int], boxes: list[dict[str, Any]]) -> bytes:
    """The comparison's overlay: the changed regions in red on a blank page (at 72 dpi a box's
    points are pixels)."""
    from PIL import Image, ImageDraw  # noqa: PLC0415

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for box in boxes:
        draw.rectangle((box["x0"], box["y0"], box["x1"], box["y1"]), outline="red", width=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
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
            comparison = ledger.findings.create(
                "comparison",
                "A-101 rev A -> B",
                body={"drawing_name": "A-101", "alignment_score": shared, "changes_detected": True},
                run=session.id,
                evidence=[
                    {"target": ("version", old.version_id), "relation": "old"},
                    {"target": ("version", new.version_id), "relation": "new"},
                ],
                workspace=project.id,
            )
            changed = [
                s
                for s in ledger.segments.of_version(new.version_id)
                if s.text in new_lines - old_lines
            ]
            ledger.findings.attach(
                comparison.id,
                "overlay",
                overlay((pages[0].width, pages[0].height), [s.bbox for s in changed if s.bbox]),
                media_type="image/png",
                workspace=project.id,
            )
            analysis = ledger.findings.create(
                "change_analysis",
                "Door swing reversed, stair added",
                body={"success": True, "changes_found": sorted(new_lines - old_lines)},
                run=session.id,
                evidence=[{"target": comparison, "relation": "analyzes"}]
                + [{"target": s, "relation": "supports"} for s in changed if s.kind == "line"],
                workspace=project.id,
            )
            chat = ledger.conversations.create(
                title="What changed on A-101?",
                user=lead.email,
                run=session.id,
                workspace=project.id,
            )
            ledger.conversations.log_query(
                chat.id,
                "What changed on A-101?",
                [s for s in changed if s.kind == "line"],
                mode="manual",
                answer="Door D1 now opens west and stair S2 was added.",
                answer_metadata={"model": "vision-model", "tokens_out": 11},
                workspace=project.id,
            )
        summary = ledger.runs.latest_metrics(session.id)
        session_used = sorted(n.entity_type for n in ledger.lineage.edges(session.id))
        session_summary = ledger.findings.summarize_run(session.id, workspace=project.id)
        cited = [c.text for c in ledger.conversations.messages(chat.id)[-1].citations]
        overlay_png = ledger.findings.read_attachment(comparison.id, "overlay")
        evidence = [e.text for e in ledger.findings.evidence(analysis.id) if e.text]
        ledger.runs.delete(session.id, workspace=project.id)
        return {
            "versions": [
                v.version_number for v in ledger.documents.versions(key, workspace=project.id)
            ],
            "rendered_pages": len(pages),
            "alignment_score": round(summary["alignment_score"], 2),
            "changes": int(summary["changes"]),
            "session_used": session_used,
            "comparisons": session_summary.comparisons,
            "successful_analyses": session_summary.successful_analyses,
            "average_alignment": round(session_summary.average_alignment or 0, 2),
            "chat_cites": sorted(t or "" for t in cited),
            "analysis_evidence": sorted(evidence),
            "left_after_delete": len(ledger.findings.list(workspace=project.id).items),
            "drawings_kept": len(ledger.documents.versions(key, workspace=project.id)),
            "overlay_was_png": overlay_png.startswith(b"\x89PNG"),
        }


if __name__ == "__main__":
    print(main())
