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


def test_dump_load_and_move_across_dialects(
    db_url: str, other_dialect_url: str, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "odd name [v2].txt").write_text("Compressor C-7 overhauled.")
    (tmp_path / "in" / "b.txt").write_text("Gearbox G-2 inspected.")
    here = {"DOCLEDGER_BLOB_ROOT": str(tmp_path / "blobs")}
    there = {"DOCLEDGER_BLOB_ROOT": str(tmp_path / "blobs2")}
    assert run("add", "in", "--extract", url=db_url, cwd=tmp_path, env=here).returncode == 0
    done = run("dump", "d1", url=db_url, cwd=tmp_path, env=here)
    assert done.returncode == 0, done.stderr
    assert "2 blobs" in done.stdout
    done = run("load", "d1", url=other_dialect_url, cwd=tmp_path, env=there)
    assert done.returncode == 0, done.stderr
    assert "(0 already there)" in done.stdout
    done = run("search", "compressor", "--mode", "text", url=other_dialect_url, env=there)
    assert done.returncode == 0, done.stderr
    assert "odd name [v2].txt" in done.stdout
    # a second move of the same rows adds nothing; the target stays whole
    done = run("move", "--to", other_dialect_url, url=db_url, cwd=tmp_path, env=here)
    assert done.returncode == 0, done.stderr
    assert "moved 0 rows" in done.stdout
    assert run("verify", url=other_dialect_url, cwd=tmp_path, env=there).returncode == 0
    for bad in (("move", "--to", db_url), ("load", "nowhere"), ("dump", "d1")):
        failed = run(*bad, url=db_url, cwd=tmp_path, env=here)
        assert failed.returncode == 1, bad
        assert failed.stderr.strip().startswith("error: InvalidInput"), failed.stderr
        assert "Traceback" not in failed.stderr
    failed = run("move", "--to", "not a <url>", url=db_url, cwd=tmp_path, env=here)
    assert failed.returncode == 1
    assert failed.stderr.strip().startswith("error: ConfigurationError"), failed.stderr
