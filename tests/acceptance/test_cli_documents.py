"""``docledger add / ls / show / cat / rm / verify / gc`` as a user runs them, both dialects."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
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
    assert "5 files" in out
    code, out, _ = dl("add", str(EXAMPLES), "-r")
    assert code == 0
    assert "│ 0     │ 0           │ 5" in out  # all unchanged
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
    assert "checked 4 blobs: 0 missing, 0 corrupt" in out
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
    assert "extracted 5 documents" in out  # the PNGs by OCR
    code, out, err = dl("extract", "--all")
    assert code == 0, err
    assert "0 new, 5 unchanged, 0 skipped, 0 failed" in out
    assert "invoice-and-plan.pdf" in out
    assert "yes" not in out  # --extract already recorded them: nothing new
    code, _, err = dl("extract", "--all", "--params", '{"chunk_size": "big"}')
    assert code == 1
    assert "InvalidInput" in err
    assert "chunk_size" in err
    code, _, err = dl("extract", "--all", "--params", "[1]")
    assert code == 1
    assert "JSON object" in err
    assert "Traceback" not in err
    code, _, err = dl("extract", "--all", "--params", '{"chunk_sise": 10}')
    assert code == 1
    assert "chunk_sise" in err
    assert "Traceback" not in err
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


PLUGIN = """
class Crashy:
    name = "crashy"
    version = "1"
    media_types = ("text/markdown",)

    def extract(self, data, params):
        if b"boom" in data:
            raise ValueError("the plugin chokes on this file")
        if b"deep" in data:
            raise RecursionError("maximum recursion depth exceeded")
        return [{"kind": "chunk", "text": data.decode()}]
"""


def test_a_crashing_extractor_fails_one_document_not_the_batch(db_url: str, tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    info = plugins / "crashy-1.0.dist-info"
    info.mkdir(parents=True)
    (plugins / "crashy.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: crashy\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[docledger.extractors]\ncrashy = crashy:Crashy\n")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, body in [("a.md", "fine"), ("b.md", "boom"), ("c.md", "deep"), ("d.md", "also fine")]:
        (inbox / name).write_text(body)
    env = {"PYTHONPATH": str(plugins)}

    def dl(*more: str) -> tuple[int, str, str]:
        result = run("--db", db_url, *more, cwd=tmp_path, env=env)
        return result.returncode, result.stdout, result.stderr

    assert dl("add", str(inbox))[0] == 0
    code, out, err = dl("extract", "--all", "--extractor", "crashy")
    assert code == 1
    assert "Traceback" not in err
    assert "Traceback" not in out
    failures = [line for line in err.splitlines() if line.startswith("extract failed:")]
    assert failures == [
        "extract failed: b.md: ValueError: the plugin chokes on this file",
        "extract failed: c.md: RecursionError: maximum recursion depth exceeded",
    ]
    assert "2 new, 0 unchanged, 0 skipped, 2 failed" in out
    code, out, _ = dl("search", "fine", "--mode", "text", "--json")
    assert code == 0
    assert sorted(json.loads(line)["external_key"] for line in out.splitlines()) == ["a.md", "d.md"]
    # a re-run retries only what failed, and records the failure again
    code, out, err = dl("extract", "--all", "--extractor", "crashy")
    assert code == 1
    assert "0 new, 2 unchanged, 0 skipped, 2 failed" in out


def test_sync_removes_vanished_files_from_search(db_url: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "keep.md").write_text("The boiler room door is locked at night.")
    (inbox / "gone.md").write_text("The boiler was serviced in March.")

    def dl(*more: str) -> tuple[int, str, str]:
        result = run("--db", db_url, *more, cwd=tmp_path)
        return result.returncode, result.stdout, result.stderr

    assert dl("add", str(inbox), "--sync", "--extract")[0] == 0
    code, out, _ = dl("search", "boiler", "--mode", "text", "--json")
    assert sorted(json.loads(line)["external_key"] for line in out.splitlines()) == [
        "gone.md",
        "keep.md",
    ]
    (inbox / "gone.md").unlink()
    code, out, err = dl("add", str(inbox), "--sync")
    assert code == 0, err
    assert "removed" in out
    code, out, _ = dl("search", "boiler", "--mode", "text", "--json")
    assert [json.loads(line)["external_key"] for line in out.splitlines()] == ["keep.md"]
    code, out, _ = dl("ls")
    assert "gone.md" not in out
    (inbox / "gone.md").write_text("The boiler was serviced in March.")
    assert dl("add", str(inbox), "--sync")[0] == 0  # the file is back: so is its document
    code, out, _ = dl("search", "boiler", "--mode", "text", "--json")
    assert len(out.splitlines()) == 2


def test_render_command(db_url: str, tmp_path: Path) -> None:
    def dl(*more: str) -> tuple[int, str, str]:
        result = run("--db", db_url, *more, cwd=tmp_path)
        return result.returncode, result.stdout, result.stderr

    assert dl("add", str(EXAMPLES / "invoice-and-plan.pdf"))[0] == 0
    code, out, err = dl(
        "render", "invoice-and-plan.pdf", "--page", "2", "-o", str(tmp_path / "png")
    )
    assert code == 0, err
    (png,) = (tmp_path / "png").iterdir()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "1190x1684" in out  # A4 at 144 dpi
    code, _, err = dl("render", "invoice-and-plan.pdf", "--page", "9")
    assert code == 1
    assert "no page 9" in err
    code, _, err = dl("render", "invoice-and-plan.pdf", "--dpi", "5")
    assert code != 0
    assert "Traceback" not in err


def test_bad_calls_are_one_line_errors_and_write_nothing(db_url: str, tmp_path: Path) -> None:
    """Issue 13, defect 6: each of these printed a traceback, or wrote something anyway."""

    def dl(*more: str) -> tuple[int, str, str]:
        result = run("--db", db_url, *more, cwd=tmp_path)
        return result.returncode, result.stdout, result.stderr

    (tmp_path / "a.txt").write_text("some text")
    code, _, err = dl("add", str(tmp_path / "a.txt"))
    assert code == 0, err
    (tmp_path / "out").mkdir()
    bad = [
        ("cat", "a.txt", "-o", str(tmp_path / "missing" / "f")),
        ("cat", "a.txt", "-o", str(tmp_path / "out")),
        ("cat", "a.txt", "--version", str(10**20)),
        ("gc", "--grace", "inf"),
        ("gc", "--grace", "nan"),
        ("jobs", "enqueue", "t", "--run-in", "nan"),
        ("datasets", "snapshot", "d", "--filter", "[1]"),
        ("runs", "metrics", "01234567-89ab-7def-8123-456789abcdef", "--plot", "p.png"),
        ("runs", "metrics", "01234567-89ab-7def-8123-456789abcdef"),
        ("search", "x", "--workspace", "nope"),
    ]
    for args in bad:
        code, out, err = dl(*args)
        assert code in {1, 2}, (args, out, err)  # 2: refused by the option parser itself
        assert "error" in err.lower(), (args, err)
        assert "Traceback" not in err, (args, err)
    assert not (tmp_path / "p.png").exists()
    code, _, err = dl("search", "x", "--workspace", "nope")
    assert "no workspace nope" in err
    code, out, _ = dl("jobs", "ls")
    assert "t" not in out.split()
    code, out, _ = dl("datasets", "ls")
    assert " d " not in out
    missing = tmp_path / "no" / "such" / "dir" / "x.db"
    result = run("--db", f"sqlite:///{missing}", "ls", cwd=tmp_path)
    assert result.returncode == 1
    assert "does not exist" in result.stderr
    assert not (tmp_path / "no").exists()


def test_unpack_all_opens_archives_within_archives(db_url: str, tmp_path: Path) -> None:
    """``add`` a folder with a zip holding a tar.gz, a broken zip and a note; ``unpack --all``
    adds the zip's files, then the tar's, says the broken one failed and goes on; ``extract
    --all`` then reads the innermost file; naming nothing is a one-line error."""
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        body = b"# Survey\n\nCrack width at grid C4 is 0.4 mm.\n"
        info = tarfile.TarInfo("survey/c4.md")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    folder = tmp_path / "inbox"
    folder.mkdir()
    with zipfile.ZipFile(folder / "delivery.zip", "w") as z:
        z.writestr("readme.txt", "delivery of 2026-12-06\n")
        z.writestr("nested/survey.tar.gz", inner.getvalue())
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 broken")
    (folder / "note.txt").write_text("not an archive\n")
    args = ("--db", db_url)
    assert run(*args, "add", str(folder), cwd=tmp_path).returncode == 0
    done = run(*args, "unpack", "--all", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "failed" in done.stdout  # the broken zip, said in its row
    for key in ("delivery.zip/readme.txt", "delivery.zip/nested/survey.tar.gz",
                "delivery.zip/nested/survey.tar.gz/survey/c4.md"):  # fmt: skip
        assert run(*args, "show", key, cwd=tmp_path).returncode == 0, key
    assert run(*args, "extract", "--all", cwd=tmp_path).returncode == 0
    found = run(*args, "search", "crack width grid", "--mode", "text", cwd=tmp_path)
    assert "c4.md" in found.stdout
    again = run(*args, "unpack", "--all", cwd=tmp_path)
    assert "added" not in again.stdout
    nothing = run(*args, "unpack", cwd=tmp_path)
    assert nothing.returncode == 1
    assert "pass --all" in nothing.stderr
