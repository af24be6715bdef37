"""``docledger findings ...`` and ``docledger conversations ...`` as a subprocess."""

from __future__ import annotations

from pathlib import Path

from docledger import Ledger, load_settings
from docledger.schemas.extraction import SegmentIn

from .test_cli import run


def test_findings_and_conversations_commands(db_url: str, tmp_path: Path) -> None:
    settings = load_settings(db_url=db_url, blob_root=str(tmp_path / "data" / "blobs"))
    with Ledger.open(settings=settings) as ledger:
        ledger.users.ensure("lead@example.org")
        added = ledger.documents.create(b"plan", external_key="plan.pdf")
        recorded = ledger.extractions.record(
            added.version_id,
            "zones",
            "1",
            {},
            [
                SegmentIn(
                    kind="zone",
                    text="Door [bold]D1[/bold] opens east",
                    page_number=2,
                    bbox={"x0": 10, "y0": 20, "x1": 110, "y1": 40},
                )
            ],
        )
        segment = ledger.segments.of_extraction(recorded.extraction.id)[0]
        with ledger.runs.start("compare", "comparison") as session:
            pass
        talk = ledger.conversations.create(title="[red]chat[/red]", run=session.id)
        ledger.conversations.log_query(
            talk.id, "which way?", [segment], mode="text", answer="[i]east[/i]"
        )

    def dl(*args: str) -> tuple[int, str, str]:
        result = run("--db", db_url, *args, cwd=tmp_path)
        return result.returncode, result.stdout, result.stderr

    code, out, err = dl(
        "findings", "create", "feature", "[b]Door swing[/b]", "--confidence", "0.4",
        "--body", '{"area": "north"}', "--run", str(session.id),
    )  # fmt: skip
    assert code == 0, err
    finding_id = out.split()[0]
    assert "candidate revision 1" in out
    code, out, err = dl(
        "findings", "link", finding_id, "segment", str(segment.id), "--relation", "implements",
        "--strength", "0.9",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = dl("findings", "evidence", finding_id)
    assert code == 0, err
    assert "plan.pdf v1 p2 [10, 20, 110, 40]" in out
    assert "Door [bold]D1[/bold] opens east" in out  # user text printed literally
    code, out, err = dl("findings", "ls", "--queue")
    assert code == 0, err
    assert "[b]Door swing[/b]" in out
    code, out, err = dl(
        "findings", "confirm", finding_id, "--revision", "1", "--actor", "lead@example.org",
        "--note", "seen on site",
    )  # fmt: skip
    assert code == 0, err
    assert "confirmed revision 2" in out
    code, out, err = dl("findings", "reject", finding_id, "--revision", "1")
    assert code == 1
    assert "Conflict" in err
    assert "Traceback" not in err
    code, out, err = dl("findings", "create", "feature", "x", "--confidence", "1.5")
    assert code == 1
    assert "InvalidInput" in err
    code, out, err = dl("findings", "show", finding_id)
    assert code == 0, err
    assert "confirm" in out
    assert "seen on site" in out
    assert "lead@example.org" in out
    code, out, err = dl("findings", "summary", "--run", str(session.id))
    assert code == 0, err
    assert "comparisons 0" in out
    assert "feature" in out
    code, out, err = dl("findings", "summary")
    assert code == 0, err
    assert "1 findings, 0 stale" in out
    code, out, err = dl("conversations", "ls", "--run", str(session.id))
    assert code == 0, err
    assert "[red]chat[/red]" in out
    code, out, err = dl("conversations", "show", str(talk.id))
    assert code == 0, err
    assert "assistant: [i]east[/i]" in out
    assert "Door [bold]D1[/bold] opens east" in out
    code, out, err = dl("findings", "show", "not-an-id")
    assert code == 1
    assert "InvalidInput" in err
