"""``verify`` checks the rows against each other and ``verify --repair`` fixes what the store
itself can (issue 13, defect 10). Each invariant is broken by hand, with raw SQL, the way a
bad migration, a manual edit or a crash of another tool would."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from docledger import Ledger
from docledger.db.session import session_scope
from docledger.services import invariants
from tests.acceptance.test_cli import run


def _counts(ledger: Ledger) -> dict[str, int]:
    return {f.check: f.count for f in invariants.check(ledger.engine, ledger.blobs)}


def test_a_clean_store_has_no_findings(ledger: Ledger) -> None:
    added = ledger.documents.create(
        b"Bridges carry roads.\n\nTunnels do too.", external_key="a.txt"
    )
    ledger.extractions.run([added.document_id])
    ledger.search.embed_missing("hash-256")
    assert set(_counts(ledger).values()) == {0}


def test_each_broken_invariant_is_found_and_repaired(ledger: Ledger) -> None:
    added = ledger.documents.create(
        b"Bridges carry roads.\n\nTunnels do too.", external_key="a.txt"
    )
    ledger.extractions.run([added.document_id])
    ledger.search.embed_missing("hash-256")
    segment = ledger.segments.of_version(added.version_id)[0]
    with session_scope(ledger.engine) as s:
        s.execute(text("UPDATE documents SET current_version = 7"))
        s.execute(
            text("UPDATE segments SET content_hash = :h WHERE id = :i"),
            {
                "h": "0" * 64,
                "i": segment.id.hex if ledger.engine.dialect.name == "sqlite" else segment.id,
            },
        )
        s.execute(text("UPDATE embeddings SET vector = :v"), {"v": b"\x00" * 12})
        if ledger.engine.dialect.name == "sqlite":
            s.execute(text("INSERT INTO fts_segments (fts_segments) VALUES ('delete-all')"))
        else:
            s.execute(text("DELETE FROM fts_segments"))
    stray = ledger.blobs.put_bytes(b"bytes no row names")
    found = _counts(ledger)
    assert found["documents whose current version does not exist"] == 1
    assert found["segments whose content hash is not their text's"] == 1
    assert found["embeddings that do not match their space or segment"] >= 1
    assert found["full-text index entries missing or left over"] >= 1
    assert found["blob files no row names"] == 1
    repaired = invariants.check(ledger.engine, ledger.blobs, repair=True)
    assert {f.check for f in repaired if f.repaired} == {
        "documents whose current version does not exist",
        "segments whose content hash is not their text's",
        "embeddings that do not match their space or segment",
        "full-text index entries missing or left over",
    }
    after = _counts(ledger)
    assert after.pop("blob files no row names") == 1  # garbage for gc, not damage
    assert set(after.values()) == {0}
    assert ledger.documents.get("a.txt").current_version == 1
    assert [h.external_key for h in ledger.search.text("tunnels")] == ["a.txt"]
    assert ledger.blobs.exists(stray.sha256)


def test_verify_command_reports_and_repairs(db_url: str, tmp_path: Path) -> None:
    def dl(*more: str) -> tuple[int, str, str]:
        result = run("--db", db_url, *more, cwd=tmp_path)
        return result.returncode, result.stdout, result.stderr

    (tmp_path / "a.txt").write_text("Bridges carry roads.")
    assert dl("add", str(tmp_path / "a.txt"), "--extract")[0] == 0
    assert dl("verify")[0] == 0
    with Ledger.open(db_url) as ledger, session_scope(ledger.engine) as s:
        s.execute(text("UPDATE documents SET current_version = 9"))
    code, _, err = dl("verify")
    assert code == 1
    assert "problem: 1 documents whose current version does not exist" in err
    code, _, err = dl("verify", "--repair")
    assert code == 0, err
    assert "repaired: 1 documents" in err
    assert dl("verify")[0] == 0
