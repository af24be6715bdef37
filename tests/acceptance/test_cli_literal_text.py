"""User text is printed literally by every command (issue 13, defect 4): keys, segment text
and snippets holding Rich markup or emoji codes neither crash the CLI nor come out altered."""

from __future__ import annotations

import json
from pathlib import Path

from .test_cli import run

NAMES = ["a[/i].txt", "[quote]said[/quote].md", ":smile: [bold]b.txt"]
BODY = "Closing tag [/i] and [red]colour[/red] and :thumbs_up: stay as typed.\n"


def test_markup_in_keys_text_and_snippets_prints_literally(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in NAMES:  # a "/" in a key is a folder on disk
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(BODY)

    def dl(*more: str) -> tuple[int, str, str]:
        result = run("--db", db_url, *more, cwd=tmp_path)
        return result.returncode, result.stdout, result.stderr

    code, out, err = dl("add", str(folder), "--recursive")
    assert code == 0, err
    assert "3 files" in out
    for _ in range(2):  # every later ls too
        code, out, err = dl("ls")
        assert code == 0, err
        for name in NAMES:
            assert name in out
    for name in NAMES:
        code, out, err = dl("show", name)
        assert code == 0, err
        assert out.splitlines()[0].startswith(name)
        code, out, _ = dl("cat", name)
        assert out == BODY
    code, out, err = dl("extract", "--all")
    assert code == 0, err
    code, out, err = dl("search", "closing", "--mode", "text")
    assert code == 0, err
    assert "[/i]" in out
    assert "[red]colour[/red]" in out
    assert ":thumbs_up:" in out
    code, out, err = dl("search", "closing", "--mode", "text", "--json")
    hits = [json.loads(line) for line in out.splitlines()]
    assert len(hits) == 3
    assert {hit["text"].strip() for hit in hits} == {BODY.strip()}
    code, _, err = dl("show", "[/nope]")  # an error message quoting the key
    assert code == 1
    assert "[/nope]" in err
    assert "Traceback" not in err
