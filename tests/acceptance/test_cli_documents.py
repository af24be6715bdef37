"""``docledger add / ls / show / cat / rm / verify / gc`` as a user runs them, both dialects."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .test_cli import ROOT, run

EXAMPLES = ROOT / "examples" / "data"


def test_add_ls_show_cat_rm_verify_gc(db_url: str, tmp_path: Path) -> None:
    args = ("--db", db_url)

    def dl(*more: str) -> tuple[int, str, str]:
        result = run(*args, *more, cwd=tmp_path)
        return result.returncode, result.stdout, result.stderr

    code, out, err = dl("add", str(EXAMPLES), "--recursive")
    assert code == 0, err
    assert "4 files" in out
    code, out, _ = dl("add", str(EXAMPLES), "-r")
    assert code == 0
    assert "│ 0     │ 0           │ 4" in out  # all unchanged
    code, out, _ = dl("ls")
    for key in ["invoice-and-plan.pdf", "notes/inspection.md", "features.json", "thumbnail.png"]:
        assert key in out
    code, out, _ = dl("show", "invoice-and-plan.pdf", "--json")
    detail = json.loads(out)
    assert detail["versions"][0]["page_count"] == 2
    target = tmp_path / "copy.pdf"
    code, _, _ = dl("cat", "invoice-and-plan.pdf", "-o", str(target))
    assert code == 0
    assert target.read_bytes() == (EXAMPLES / "invoice-and-plan.pdf").read_bytes()
    code, out, _ = dl("cat", "notes/inspection.md")
    assert out == (EXAMPLES / "notes" / "inspection.md").read_text()
    code, _, _ = dl("rm", "features.json")
    assert code == 0
    code, _, err = dl("show", "features.json")
    assert code == 1
    assert "NotFound" in err
    code, out, _ = dl("gc", "--dry-run", "--grace", "0")
    assert "unreferenced blob rows │ 1" in out
    code, out, _ = dl("gc", "--grace", "0")
    assert "blob files deleted     │ 1" in out
    code, out, _ = dl("verify")
    assert code == 0
    assert "checked 3 blobs: 0 missing, 0 corrupt" in out
    for blob in (tmp_path / "data" / "blobs" / "sha256").rglob("*"):
        if blob.is_file():
            blob.write_bytes(b"bit rot")
            break
    code, out, err = dl("verify")
    assert code == 1
    assert "corrupt:" in err


def test_add_bad_input(db_url: str, tmp_path: Path) -> None:
    def dl(*more: str) -> tuple[int, str, str]:
        result = run("--db", db_url, *more, cwd=tmp_path)
        return result.returncode, result.stdout, result.stderr

    code, _, err = dl("add", str(tmp_path / "missing.pdf"))
    assert code == 1
    assert "no such file" in err
    (tmp_path / "empty").mkdir()
    code, _, err = dl("add", str(tmp_path / "empty"))
    assert code == 1
    assert "nothing to add" in err
    code, _, err = dl("add", str(EXAMPLES), "-r", "--workspace", "nope")
    assert code == 1
    assert "NotFound" in err
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "ok.txt").write_text("ok")
    os.symlink(folder / "nowhere", folder / "dangling")
    code, out, err = dl("add", str(folder))
    assert code == 1
    assert "failed:" in err
    assert "│ 1     │ 0           │ 0         │ 0        │ 1" in out
    code, out, _ = dl("ls")
    assert "ok.txt" in out
    assert "Traceback" not in err


def test_extract_command(db_url: str, tmp_path: Path) -> None:
    def dl(*more: str) -> tuple[int, str, str]:
        result = run("--db", db_url, *more, cwd=tmp_path)
        return result.returncode, result.stdout, result.stderr

    code, out, err = dl("add", str(EXAMPLES), "-r", "--extract")
    assert code == 0, err
    assert "extracted 3 documents" in out  # the PNG has no extractor
    code, out, err = dl("extract", "--all")
    assert code == 0, err
    assert "skipped" in out
    assert "image/png" in out
    assert "invoice-and-plan.pdf" in out
    assert "yes" not in out  # --extract already recorded them: nothing new
    code, _, err = dl("extract")
    assert code == 1
    assert "--all" in err
    code, _, err = dl("extract", "features.json", "--extractor", "nope")
    assert code == 1
    assert "no extractor" in err


def test_import_elements_command(db_url: str, tmp_path: Path) -> None:
    elements = tmp_path / "elements.json"
    elements.write_text(
        json.dumps(
            [
                {"type": "NarrativeText", "text": "Total due", "metadata": {"page_number": 1}},
            ]
        )
    )

    def dl(*more: str) -> tuple[int, str, str]:
        result = run("--db", db_url, *more, cwd=tmp_path)
        return result.returncode, result.stdout, result.stderr

    assert dl("add", str(EXAMPLES / "invoice-and-plan.pdf"))[0] == 0
    code, out, err = dl("import", "elements", str(elements), "--document", "invoice-and-plan.pdf")
    assert code == 0, err
    assert "1 segments from unstructured (recorded" in out
    code, out, _ = dl("import", "elements", str(elements), "--document", "invoice-and-plan.pdf")
    assert "already recorded" in out
    code, _, err = dl("import", "elements", str(tmp_path / "nope.json"), "--document", "x")
    assert code == 1
    assert "no such file" in err
