"""``docledger annotate / history / datasets / runs / models / lineage`` as a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from docledger import Ledger, load_settings

from .test_cli import run


def test_tracking_commands(db_url: str, tmp_path: Path) -> None:
    settings = load_settings(db_url=db_url, blob_root=str(tmp_path / "data" / "blobs"))
    with Ledger.open(settings=settings) as ledger:
        doc = ledger.documents.create(b"%PDF-1.4 x", external_key="a.pdf")
        with ledger.runs.start("train", "training") as train:
            train.uses(("document", doc.document_id))
            train.log_metrics_batch([("loss", 0.5, 1), ("loss", 0.25, 2)])
        run_id = str(train.id)

    def dl(*args: str) -> tuple[int, str, str]:
        result = run("--db", db_url, *args, cwd=tmp_path)
        return result.returncode, result.stdout, result.stderr

    code, out, err = dl(
        "annotate",
        "document",
        str(doc.document_id),
        "label",
        "--value",
        '{"label": "invoice"}',
        "--status",
        "submitted",
    )
    assert code == 0, err
    note_id = out.split()[0]
    code, out, err = dl("annotate", "document", str(doc.document_id), "label", "--value", "[]")
    assert code == 1
    assert "InvalidInput" in err
    code, out, _ = dl("history", note_id)
    assert "create" in out
    code, out, _ = dl("datasets", "snapshot", "train", "--filter", '{"kind": "label"}')
    assert code == 0
    assert "train v1: 0 items" in out
    code, out, _ = dl("runs", "ls")
    assert run_id[:8] in out
    code, out, _ = dl("runs", "metrics", run_id)
    assert "0.25" in out
    png = tmp_path / "curves.png"
    code, out, err = dl("runs", "metrics", run_id, "--plot", str(png))
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, _ = dl("runs", "show", run_id)
    assert " in document" in out
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"weights")
    code, out, err = dl(
        "models",
        "register",
        "clf",
        "--artifact",
        str(weights),
        "--run",
        run_id,
        "--metrics",
        json.dumps({"f1": 0.9}),
    )
    assert code == 0, err
    assert "clf v1" in out
    code, out, _ = dl("models", "promote", "clf", "1", "production")
    assert "production" in out
    code, out, _ = dl("models", "ls")
    assert "production" in out
    code, out, _ = dl("lineage", "document", str(doc.document_id), "--down")
    assert "model_version" in out
    code, out, _ = dl("models", "promote", "clf", "9", "production")
    assert code == 1
