"""Retrieval over a generated corpus (tests/planted.py): one planted fact per page, a
paraphrasing question per fact. Text and hybrid search find the fact's chunk in the top 10
for at least 99% of the questions, on SQLite and on PostgreSQL, with the same hits on both;
after changing and deleting files (folder sync), no question finds an old fact or a deleted
file. The 1,000-file version of this runs in bench/extraction.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from docledger import Ledger
from docledger.config import load_settings
from tests.conftest import _migrated
from tests.planted import Fact, write

FILES = 120
CHANGED = 12
DELETED = 6


@pytest.fixture
def both(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Ledger]]:
    opened: dict[str, Ledger] = {}
    urls = []
    for dialect in ("sqlite", "postgresql"):
        gen = _migrated(dialect, request, tmp_path / dialect)
        (tmp_path / dialect).mkdir()
        url = next(gen)
        urls.append(gen)
        settings = load_settings(db_url=url, blob_root=str(tmp_path / dialect / "blobs"))
        opened[dialect] = Ledger.open(settings=settings)
    yield opened
    for ledger in opened.values():
        ledger.close()
    for gen in urls:
        for _ in gen:
            pass


def _found(ledger: Ledger, fact: Fact, mode: str) -> list[tuple[str, int | None, str]]:
    search = ledger.search.text if mode == "text" else ledger.search.hybrid
    return [(h.external_key, h.page_number, h.text or "") for h in search(fact.question, k=10)]


def _hit(hits: list[tuple[str, int | None, str]], fact: Fact) -> bool:
    return any(
        key == fact.key and page == fact.page and fact.sentence in " ".join(text.split())
        for key, page, text in hits
    )


def _pipeline(ledger: Ledger, folder: Path) -> None:
    result = ledger.documents.sync([folder])
    assert not [r for r in result.results if r.outcome == "failed"]
    outcomes = ledger.extractions.run(ledger.extractions.document_ids())
    assert not [o for o in outcomes if o.error]
    ledger.search.embed_missing()


@pytest.mark.postgres
def test_planted_facts_are_found_the_same_way_on_both_dialects(
    both: dict[str, Ledger], tmp_path: Path
) -> None:
    folder = tmp_path / "corpus"
    facts = write(folder, FILES)
    for ledger in both.values():
        _pipeline(ledger, folder)
    for mode in ("text", "hybrid"):
        results = {d: [_found(ledger, f, mode) for f in facts] for d, ledger in both.items()}
        for dialect, found in results.items():
            rate = sum(_hit(hits, f) for hits, f in zip(found, facts, strict=True)) / len(facts)
            assert rate >= 0.99, (mode, dialect, rate)
        same = [
            [(k, p) for k, p, _ in a] == [(k, p) for k, p, _ in b]
            for a, b in zip(results["sqlite"], results["postgresql"], strict=True)
        ]
        assert all(same), (mode, same.count(False))

    # change some files (new facts), delete others; sync; nothing stale is ever found
    keys = sorted({f.key for f in facts})
    changed, deleted = keys[:CHANGED], keys[CHANGED : CHANGED + DELETED]
    old = [f for f in facts if f.key in changed or f.key in deleted]
    scratch = tmp_path / "new"
    fresh = write(scratch, FILES, seed=99)
    replaced = {f.key: f for f in fresh if f.key in changed}
    for key in changed:
        shutil.copyfile(scratch / key, folder / key)
    for key in deleted:
        (folder / key).unlink()
    new_facts = [f for f in fresh if f.key in replaced]
    for ledger in both.values():
        _pipeline(ledger, folder)
        for fact in old:
            for mode in ("text", "hybrid"):
                hits = _found(ledger, fact, mode)
                assert not any(fact.sentence in " ".join(t.split()) for _, _, t in hits)
                assert not any(key in deleted for key, _, _ in hits)
        found = sum(_hit(_found(ledger, f, "text"), f) for f in new_facts)
        assert found >= 0.99 * len(new_facts)
