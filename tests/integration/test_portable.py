"""Portable dump / load / move (issue 17, part 2), on both dialects as source and target.

A store round-trips SQLite -> PostgreSQL -> SQLite (and the other way) with every row equal:
ids, timestamps, vectors bit for bit, annotation histories, job events, metric chunks; search
answers the same on the target and ``check`` finds the full-text index and the vectors whole.
A workspace dump merges into a store that holds other workspaces without touching them, and
loads twice without adding anything. A damaged dump, a schema mismatch or a clash fails with a
clear error and changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from docledger import Ledger, load_settings
from docledger.errors import Conflict, InvalidInput, NotFound
from docledger.services import portable

SPACE_AT = [c.name for c in portable.table_named("embeddings").c].index("space_id")
WORDS = ("valve", "turbine", "gasket", "flange", "rotor", "bearing", "nozzle", "impeller")


def _open(url: str, blobs: Path) -> Ledger:
    return Ledger.open(settings=load_settings(db_url=url, blob_root=str(blobs)))


def _fill(ledger: Ledger, workspace: str, count: int = 4) -> dict[str, Any]:
    """Something of every kind of record, in one workspace."""
    if not any(w.slug == workspace for w in ledger.workspaces.list().items):
        ledger.workspaces.create(workspace)
    docs = []
    for i in range(count):
        text = f"Inspection {i} of {workspace}: the {WORDS[i % 8]} was replaced.\n\nAll good."
        added = ledger.documents.create(
            text.encode(), external_key=f"{workspace}-{i}.txt", workspace=workspace
        )
        docs.append(added)
    ledger.extractions.run([d.document_id for d in docs], workspace=workspace)
    ledger.search.embed_missing("hash-256", workspace=workspace)
    (extraction,) = ledger.extractions.of_version(docs[0].version_id)
    segment = ledger.segments.of_extraction(extraction.id)[-1]
    note = ledger.annotations.create("segment", segment.id, "label", {"label": "x"})
    ledger.annotations.update(note.id, expected_revision=1, value={"label": "y"})
    ledger.datasets.snapshot("train", workspace=workspace)
    run = ledger.runs.create("train", "training", workspace=workspace)
    for step in range(3):
        ledger.runs.log_metrics(run.id, {"loss": 1.0 / (step + 1)}, step=step)
    ledger.lineage.link(run.id, "in", [("document", docs[0].document_id)])
    found = ledger.findings.create(
        "feature", "a feature", run=run.id, evidence=[{"target": segment}], workspace=workspace
    )
    ledger.findings.attach(found.id, "overlay", f"overlay of {workspace}".encode())
    ledger.findings.create_output(found.id, "epic", {"title": "epic"})
    ledger.findings.confirm(found.id)
    talk = ledger.conversations.create(title="chat", workspace=workspace)
    ledger.conversations.log_query(talk.id, "valve?", [segment], answer="replaced")
    ledger.jobs.enqueue("noop", {"n": 1}, workspace=workspace)
    return {"run": run.id, "segment": segment.id, "finding": found.id}


def _merged(rows: dict[str, list[str]]) -> dict[str, list[str]]:
    """The rows as a merge keeps them: a vector's space id is the target's own space of that
    name (the built-in space each store made), and metric chunks are numbered by the target
    (integer keys are not ids: the target's own runs held these numbers)."""
    out = dict(rows)
    out["embeddings"] = sorted(
        json.dumps([v for i, v in enumerate(json.loads(line)) if i != SPACE_AT])
        for line in rows["embeddings"]
    )
    out["metric_chunks"] = sorted(
        json.dumps(json.loads(line)[1:]) for line in rows["metric_chunks"]
    )
    return out


def _rows(engine: Engine, workspace: str | None = None) -> dict[str, list[str]]:
    """Every table's rows in the portable encoding, sorted (of one workspace when named)."""
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        filters = None
        if workspace is not None:
            table = portable.table_named("workspaces")
            key = conn.execute(select(table.c.id).where(table.c.slug == workspace)).scalar_one()
            filters = portable.workspace_filters(key)
        for table in portable.tables():
            query = select(*table.c)
            if filters is not None:
                if table.name not in filters:
                    continue
                query = query.where(filters[table.name])
            codecs = portable.encoders(table)
            out[table.name] = sorted(_line(row, codecs) for row in conn.execute(query))
    return out


def _line(row: Any, codecs: list[Any]) -> str:
    """A row as comparable text: JSON objects with sorted keys (JSONB reorders them)."""
    values = json.loads(portable.encode_line(row, codecs))
    return json.dumps(values, sort_keys=True)


def test_a_store_round_trips_between_dialects(
    ledger: Ledger, other_dialect_url: str, second_db_url: str, tmp_path: Path
) -> None:
    _fill(ledger, "acme")
    _fill(ledger, "globex", 2)
    before = _rows(ledger.engine)
    hits = [h.segment_id for h in ledger.search.text("turbine", k=10, workspace="acme")]
    near = ledger.search.vector("valve replaced", space="hash-256", k=5, workspace="acme")
    assert hits
    assert near
    assert all(before[name] for name in ("embeddings", "annotation_events", "job_events"))

    report = ledger.maintenance.dump(tmp_path / "dump")
    assert report.rows == {name: len(rows) for name, rows in before.items()}
    with _open(other_dialect_url, tmp_path / "other-blobs") as other:
        loaded = other.maintenance.load(tmp_path / "dump")
        assert loaded.inserted == report.rows
        assert loaded.blobs_copied == report.blobs
        assert _rows(other.engine) == before
        assert [h.segment_id for h in other.search.text("turbine", k=10, workspace="acme")] == (
            hits
        )
        again = other.search.vector("valve replaced", space="hash-256", k=5, workspace="acme")
        assert [(h.segment_id, h.score) for h in again] == [(h.segment_id, h.score) for h in near]
        assert [c.check for c in other.maintenance.check() if c.count] == []
        assert other.maintenance.verify_blobs().ok
        if other.engine.dialect.name == "postgresql":  # the bulk build put everything back
            with other.engine.connect() as conn:
                kinds = conn.execute(
                    text(
                        "SELECT contype FROM pg_constraint "
                        "WHERE conrelid = 'fts_segments'::regclass ORDER BY contype"
                    )
                ).scalars()
                assert list(kinds) == ["f", "p"]
                assert conn.execute(text("SELECT to_regclass('fts_segments_tsv')")).scalar()
        other.maintenance.dump(tmp_path / "back")
    with _open(second_db_url, tmp_path / "second-blobs") as third:
        third.maintenance.load(tmp_path / "back")
        assert _rows(third.engine) == before


def test_move_copies_a_store_in_one_call(
    ledger: Ledger, other_dialect_url: str, tmp_path: Path
) -> None:
    _fill(ledger, "acme", 3)
    before = _rows(ledger.engine)
    seen: list[int] = []
    with _open(other_dialect_url, tmp_path / "other-blobs") as other:
        report = ledger.maintenance.move(other, progress=seen.append)
        assert _rows(other.engine) == before
        assert sum(seen) == sum(len(rows) for rows in before.values())
        assert report.skipped == 0
        assert [c.check for c in other.maintenance.check() if c.count] == []


def test_a_workspace_merges_into_a_store_with_others(
    ledger: Ledger, dialect: str, other_dialect_url: str, tmp_path: Path
) -> None:
    _fill(ledger, "acme")
    _fill(ledger, "globex", 2)
    acme = _rows(ledger.engine, "acme")
    with _open(other_dialect_url, tmp_path / "other-blobs") as other:
        _fill(other, "initech", 3)
        initech = _rows(other.engine, "initech")
        ledger.maintenance.dump(tmp_path / "acme", workspace="acme")
        first = other.maintenance.load(tmp_path / "acme")
        assert first.inserted["segments"] == len(acme["segments"])
        assert first.inserted["embedding_spaces"] == 0  # the target's own hash-256 serves
        assert _merged(_rows(other.engine, "acme")) == _merged(acme)
        assert _rows(other.engine, "initech") == initech
        slugs = sorted(w.slug for w in other.workspaces.list().items)
        assert slugs == ["acme", "default", "initech"]  # globex stayed behind
        second = other.maintenance.load(tmp_path / "acme")
        assert sum(second.inserted.values()) == 0
        assert second.skipped == sum(first.rows.values())
        assert _merged(_rows(other.engine, "acme")) == _merged(acme)
        series = other.runs.metric_series(
            next(r.id for r in other.runs.list(workspace="acme").items), "loss"
        )
        assert [p.step for p in series] == [0, 1, 2]
        assert other.search.text("turbine", k=5, workspace="acme")


def test_a_damaged_dump_or_a_clash_changes_nothing(
    ledger: Ledger, other_dialect_url: str, tmp_path: Path
) -> None:
    _fill(ledger, "acme", 2)
    ledger.maintenance.dump(tmp_path / "dump", workspace="acme")
    manifest_path = tmp_path / "dump" / portable.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    with _open(other_dialect_url, tmp_path / "other-blobs") as other:
        _fill(other, "initech", 1)
        untouched = _rows(other.engine)

        segments = tmp_path / "dump" / "tables" / "segments.jsonl"
        whole = segments.read_bytes()
        segments.write_bytes(whole[: len(whole) // 2])
        with pytest.raises(InvalidInput, match=r"segments\.jsonl is damaged"):
            other.maintenance.load(tmp_path / "dump")
        segments.write_bytes(whole)

        sha = sorted(manifest["blobs"])[0]
        blob = next((tmp_path / "dump" / "blobs").rglob(sha))
        kept = blob.read_bytes()
        blob.unlink()
        with pytest.raises(InvalidInput, match=f"missing blob {sha}"):
            other.maintenance.load(tmp_path / "dump")
        blob.write_bytes(kept)

        manifest_path.write_text(json.dumps({**manifest, "revision": "0001"}))
        with pytest.raises(InvalidInput, match="schema revision"):
            other.maintenance.load(tmp_path / "dump")
        manifest_path.write_text(json.dumps({**manifest, "kind": "other"}))
        with pytest.raises(InvalidInput, match="not a dump manifest"):
            other.maintenance.load(tmp_path / "dump")
        for hostile in (
            {**manifest, "tables": ["segments"]},
            {**manifest, "tables": {"segments": {"rows": "many", "sha256": "x"}}},
            {**manifest, "tables": {"no_such_table": {"rows": 1, "sha256": "x"}}},
            {**manifest, "blobs": {"abc": None}},
            {**manifest, "revision": None},
            [1, 2, 3],
        ):
            manifest_path.write_text(json.dumps(hostile))
            with pytest.raises(InvalidInput):
                other.maintenance.load(tmp_path / "dump")
        manifest_path.write_text("{not json")
        with pytest.raises(InvalidInput, match="not JSON"):
            other.maintenance.load(tmp_path / "dump")
        manifest_path.write_text(json.dumps(manifest))
        assert _rows(other.engine) == untouched
        with pytest.raises(InvalidInput, match="not a docledger dump"):
            other.maintenance.load(tmp_path)

        # a workspace "acme" of the target's own, holding rows, under another id
        other.workspaces.create("acme")
        other.documents.create(b"mine", external_key="mine.txt", workspace="acme")
        untouched = _rows(other.engine)
        with pytest.raises(Conflict, match="acme"):
            other.maintenance.load(tmp_path / "dump")
        assert _rows(other.engine) == untouched

    with pytest.raises(InvalidInput, match="not an empty folder"):
        ledger.maintenance.dump(tmp_path / "dump")
    with pytest.raises(NotFound):
        ledger.maintenance.dump(tmp_path / "nobody", workspace="nobody")
    assert not (tmp_path / "nobody").exists()  # a failed dump leaves nothing behind
    assert ledger.maintenance.dump(tmp_path / "nobody", workspace="acme").rows["documents"] == 2
