"""The ``docledger`` command as a user runs it: a subprocess, on both dialects."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from docledger.services import schema

ROOT = Path(__file__).resolve().parents[2]


def docledger_bin() -> str:
    found = shutil.which("docledger", path=str(Path(sys.executable).parent))
    assert found, "the docledger console script is not installed next to this Python"
    return found


def run(
    *args: str,
    url: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCLEDGER_", "DATABASE_URL"))}
    env["COLUMNS"] = "200"
    env.update(extra)
    if url is not None:
        env["DOCLEDGER_DB_URL"] = url
    return subprocess.run(
        [docledger_bin(), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_init_tables_check_doctor(empty_db_url: str) -> None:
    first = run("init", url=empty_db_url)
    assert first.returncode == 0, first.stderr
    again = run("init", url=empty_db_url)
    assert again.returncode == 0, again.stderr
    tables = run("tables", url=empty_db_url)
    assert tables.returncode == 0, tables.stderr
    for name in ["documents", "segments", "jobs", "model_versions", "retrievals", "workspaces"]:
        assert re.search(rf"\b{name}\b", tables.stdout), name
    assert re.search(r"workspaces\s*│\s*1\b", tables.stdout)
    check = run("db", "check", url=empty_db_url)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no drift" in check.stdout
    doctor = run("doctor", url=empty_db_url)
    assert doctor.returncode == 0, doctor.stderr
    head = schema.head_revision()
    assert f"{head} (head {head})" in doctor.stdout
    current = run("db", "current", url=empty_db_url)
    assert "(head)" in current.stdout


def test_downgrade_then_open_says_upgrade(empty_db_url: str) -> None:
    assert run("init", url=empty_db_url).returncode == 0
    assert run("db", "downgrade", "0002", url=empty_db_url).returncode == 0
    listed = run("workspaces", "ls", url=empty_db_url)
    assert listed.returncode == 1
    assert "docledger db upgrade" in listed.stderr
    doctor = run("doctor", url=empty_db_url)
    assert doctor.returncode == 1
    assert run("db", "upgrade", url=empty_db_url).returncode == 0
    assert run("workspaces", "ls", url=empty_db_url).returncode == 0


def test_users_and_workspaces_commands(db_url: str) -> None:
    assert run("workspaces", "create", "acme", "--name", "Acme", url=db_url).returncode == 0
    created = run("users", "create", "ana@example.org", "--workspace", "acme", url=db_url)
    assert created.returncode == 0, created.stderr
    duplicate = run("users", "create", "ana@example.org", url=db_url)
    assert duplicate.returncode == 1
    assert "Conflict" in duplicate.stderr
    prefs = run("users", "prefs", "ana@example.org", "--set", '{"theme": "dark"}', url=db_url)
    assert prefs.returncode == 0, prefs.stderr
    assert '"theme": "dark"' in prefs.stdout
    bad = run("users", "prefs", "ana@example.org", "--set", "[1]", url=db_url)
    assert bad.returncode == 1
    assert "InvalidInput" in bad.stderr
    assert "ana@example.org" in run("users", "ls", url=db_url).stdout
    assert "acme" in run("workspaces", "ls", url=db_url).stdout


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("mysql://u@127.0.0.1/x", "DOCLEDGER_DB_URL"),
        ("postgresql://u@127.0.0.1:1/x", "Unavailable"),
    ],
)
def test_bad_database_urls_fail_clearly(url: str, needle: str) -> None:
    result = run("tables", url=url)
    assert result.returncode == 1
    assert result.stderr.startswith("error:")
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_readme_main_job_runs(tmp_path: Path) -> None:
    """The docledger part of the README's first command, in a fresh copy of the repo's
    examples (so the sample folder path in the README is exercised as written)."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```sh\n(.+?)\n```", readme, re.S)
    assert first_block
    steps = [s.strip() for s in first_block.group(1).split("&&")]
    commands = [shlex.split(s)[1:] for s in steps if s.startswith(".venv/bin/docledger")]
    assert commands, "the README's first command must run docledger"
    for args in commands:
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "docledger.db").exists()
    listed = run("ls", cwd=tmp_path)
    for key in ["invoice-and-plan.pdf", "scan.png", "notes/inspection.md", "features.json"]:
        assert key in listed.stdout
    last = run(*commands[-1], "--json", cwd=tmp_path)
    assert commands[-1][0] == "search"
    hits = [json.loads(line) for line in last.stdout.splitlines()]
    best = [hit["external_key"] for hit in hits[:3]]
    assert "scan.png" in best  # read by OCR from the scanned note
    assert "notes/inspection.md" in best
    scan = next(hit for hit in hits if hit["external_key"] == "scan.png")
    assert "Fire door D9 does not close" in scan["text"]
    assert scan["bbox"]["unit"] == "px"
    assert len(scan["sha256"]) == 64
