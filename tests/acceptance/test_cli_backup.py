"""``docledger backup`` and ``docledger restore`` as subprocesses, both dialects."""

from __future__ import annotations

from pathlib import Path

from .test_cli import run


def test_backup_then_restore(db_url: str, second_db_url: str, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "odd name [v2].txt").write_text("Compressor C-7 overhauled.")
    here = {"DOCLEDGER_BLOB_ROOT": str(tmp_path / "blobs")}
    there = {"DOCLEDGER_BLOB_ROOT": str(tmp_path / "blobs2")}
    done = run("add", "in", "--extract", url=db_url, cwd=tmp_path, env=here)
    assert done.returncode == 0, done.stderr
    done = run("backup", "bk", url=db_url, cwd=tmp_path, env=here)
    assert done.returncode == 0, done.stderr
    assert "1 blobs (1 new" in done.stdout
    done = run("restore", "bk", url=second_db_url, cwd=tmp_path, env=there)
    assert done.returncode == 0, done.stderr
    assert "restored" in done.stdout
    done = run("search", "compressor", "--mode", "text", url=second_db_url, cwd=tmp_path, env=there)
    assert done.returncode == 0, done.stderr
    assert "odd name [v2].txt" in done.stdout
    done = run("verify", url=second_db_url, cwd=tmp_path, env=there)
    assert done.returncode == 0, done.stderr
    again = run("restore", "bk", url=second_db_url, cwd=tmp_path, env=there)
    assert again.returncode != 0
    assert "not empty" in again.stderr
    assert "Traceback" not in again.stderr
