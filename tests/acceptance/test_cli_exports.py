"""``docledger export ...`` and ``docledger exports ...`` as a subprocess, on real PDFs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from docledger import Ledger, load_settings
from docledger.repositories.export import ExportRepository
from docledger.services.exports import RUNNABLE
from tests.corpus import real_pdfs

from .test_cli import run

PDFS = (
    "pdfminer.six-20191110__samples__jo.pdf",
    "pdfminer.six-20191110__samples__nonfree__dmca.pdf",
)


def test_export_commands(db_url: str, tmp_path: Path) -> None:
    found = {p.name: p for p in real_pdfs()}
    settings = load_settings(db_url=db_url, blob_root=str(tmp_path / "data" / "blobs"))
    with Ledger.open(settings=settings) as ledger:
        ledger.users.ensure("ana@example.org")
        added = ledger.documents.create_from_paths([str(found[name]) for name in PDFS])
        ledger.extractions.run([a.document_id for a in added if a.document_id is not None])
        doc = ledger.documents.get(PDFS[0])
        version = ledger.documents.version(doc.id)
        block = next(s for s in ledger.segments.of_version(version.id) if s.kind == "block")
        ledger.annotations.create(
            "segment", block.id, "label", {"label": "[b]heading[/b]"}, status="approved"
        )

    def dl(*args: str) -> tuple[int, str, str]:
        result = run("--db", db_url, *args, cwd=tmp_path)
        return result.returncode, result.stdout, result.stderr

    code, out, err = dl(
        "export", "jsonl", "coco", "labelstudio", "--filter", "kinds=block,page",
        "--option", "dpi=100", "--actor", "ana@example.org", "-o", "out",
    )  # fmt: skip
    assert code == 0, err
    assert "Traceback" not in err
    assert "succeeded" in out
    coco = json.loads((tmp_path / "out" / "coco.json").read_text())
    assert coco["info"]["dpi"] == 100
    assert "[b]heading[/b]" in {c["name"] for c in coco["categories"]}
    lines = (tmp_path / "out" / "segments.jsonl").read_text().splitlines()
    assert {json.loads(line)["kind"] for line in lines} == {"block", "page"}

    code, out, err = dl("exports", "ls")
    assert code == 0, err
    export_id = next(w for w in out.split() if w.count("-") == 4)
    code, out, err = dl("exports", "show", export_id)
    assert code == 0, err
    for action in ("create", "start", "format", "finish"):
        assert action in out
    assert "ana@example.org" in out
    code, out, err = dl("exports", "reproduce", export_id)
    assert code == 0, err
    assert "identical=True" in out
    code, out, err = dl("exports", "download", export_id, "-o", "again")
    assert code == 0, err
    assert (tmp_path / "again" / "tasks.json").read_bytes() == (
        tmp_path / "out" / "tasks.json"
    ).read_bytes()
    code, out, err = dl("exports", "import-label-studio", "out/tasks.json")
    assert code == 0, err
    assert "0 created, 1 unchanged, 0 unmatched" in out

    # bad input: a clear one-line error, exit code 2 or 1, nothing written
    code, out, err = dl("export", "pdf")
    assert code != 0
    assert "unknown export format 'pdf'" in err
    assert "Traceback" not in err
    code, out, err = dl("export", "jsonl", "--filter", "min_confidence=high")
    assert code != 0
    assert "min_confidence is a number" in err
    code, out, err = dl("exports", "resume", export_id)
    assert code != 0
    assert "only a pending, partial or failed one resumes" in err
    code, out, err = dl("exports", "ls")
    assert code == 0, err
    assert out.count(" succeeded ") == 2  # the export and its reproduction, nothing more

    # in the background: pending at once, made by a worker
    code, out, err = dl("export", "jsonl", "--background", "--filter", "kinds=block")
    assert code == 0, err
    assert "is pending" in out
    pending = out.split()[1]
    code, out, err = dl("worker", "--burst")
    assert code == 0, err
    code, out, err = dl("exports", "show", pending)
    assert code == 0, err
    assert "succeeded" in out
    code, out, err = dl("export", "jsonl", "--background", "-o", "nowhere")
    assert code != 0
    assert "not with --background" in err

    # a background export whose worker died after starting it: --force takes it over
    code, out, err = dl("export", "jsonl", "--background")
    assert code == 0, err
    stuck = out.split()[1]
    with Ledger.open(settings=settings) as ledger, ledger.transaction() as tx:
        ExportRepository(tx.session)._start(uuid.UUID(stuck), "start", None, RUNNABLE["start"])
    code, out, err = dl("exports", "resume", stuck)
    assert code != 0
    assert "force=True takes over" in err
    assert "Traceback" not in err
    code, out, err = dl("exports", "resume", stuck, "--force")
    assert code == 0, err
    assert "succeeded" in out
