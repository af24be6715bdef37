"""Each seed product's example script runs its workflow end to end, on both dialects."""

from __future__ import annotations

import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from docledger.worker import registry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXPECTED: dict[str, Callable[[dict[str, Any]], None]] = {}


def expect(name: str) -> Callable[[Callable[[dict[str, Any]], None]], None]:
    def register(check: Callable[[dict[str, Any]], None]) -> None:
        EXPECTED[name] = check

    return register


@expect("pdf_training")
def _pdf_training(out: dict[str, Any]) -> None:
    assert out["labels"] == 2
    assert out["dataset_items"] == 2
    assert out["production"] == 1
    assert out["model_comes_from_the_pdf"] is True


@expect("zone_ocr")
def _zone_ocr(out: dict[str, Any]) -> None:
    assert out["job"] == "succeeded"
    assert out["history"] == ["enqueued", "claimed", "succeeded"]
    assert out["zones"] >= 5
    assert out["boxes_on_page"] is True
    assert out["to_review"] >= 1
    assert out["corrected_from"]
    assert out["preferences"]["page_size"] == 25


@expect("rag_module")
def _rag_module(out: dict[str, Any]) -> None:
    assert out["first"] == ["added", "added"]
    assert out["again"] == ["unchanged", "unchanged"]
    assert out["changed"] == "new_version"
    assert out["embedded"] >= 2
    assert out["top_hit"] == "handbook/stairs.md"
    assert out["run_events"] == ["ingested"]
    assert out["logged"] == [("user", 2), ("user", 0), ("assistant", 1)]
    assert out["citation_kept"] is True
    assert out["review_item"] == "answer_feedback"


@expect("drawing_comparison")
def _drawing_comparison(out: dict[str, Any]) -> None:
    assert out["versions"] == [1, 2]
    assert out["rendered_pages"] == 1
    assert 0 < out["alignment_score"] < 1
    assert out["changes"] >= 3
    assert out["session_used"] == ["version", "version"]
    assert (out["comparisons"], out["successful_analyses"]) == (1, 1)
    assert out["average_alignment"] == out["alignment_score"]
    assert out["chat_cites"] == ["Door D1 opens west", "Site plan revision B", "Stair S2 added"]
    assert out["analysis_evidence"] == out["chat_cites"]
    assert out["overlay_was_png"] is True
    assert out["left_after_delete"] == 0
    assert out["drawings_kept"] == 2


@expect("feature_engine")
def _feature_engine(out: dict[str, Any]) -> None:
    assert out["dedupe"] == "unchanged"
    assert out["job"] == "succeeded"
    assert out["attempts"] == 2
    assert out["history"] == ["enqueued", "claimed", "failed", "claimed", "succeeded"]
    assert out["evidence_hits"] == 3
    assert out["cites"] == {("specs/inspection.md", True)}
    assert out["copy"] == ("duplicate", True)
    assert out["above_threshold"] is True
    assert out["evidence"] == 2
    assert out["audit"] == [
        ("create", None),
        ("edit", "architect@example.org"),
        ("confirm", "architect@example.org"),
    ]
    assert out["outputs"] == [("epic", 2), ("story", 1)]
    assert out["story_made_from"] == ["document", "finding", "segment"]


def test_every_example_is_checked() -> None:
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if p.stem != "make_samples"}
    assert scripts == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(
    name: str, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCLEDGER_DB_URL", db_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    out = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="example")["main"]()
    EXPECTED[name](out)
