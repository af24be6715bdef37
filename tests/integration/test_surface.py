"""One surface, three ways to reach it: ``ledger.X``, ``tx.X`` and ``await aledger.X`` offer the
same methods with the same arguments, and the async one runs the services and the bulk write
paths too, on every dialect."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from docledger import AsyncLedger, InvalidInput, Ledger, NotFound, every
from docledger import models as m
from docledger.db.session import session_scope
from docledger.services import maintenance
from docledger.surface import generate
from docledger.surface.registry import SURFACE, kind, methods

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
PDF = EXAMPLES / "invoice-and-plan.pdf"


def _public(obj: object) -> set[str]:
    return {
        n
        for n in dir(obj)
        if not n.startswith("_") and callable(getattr(type(obj), n, None)) and n != "session"
    }


def test_the_generated_surface_is_current() -> None:
    assert generate.main(["--check"]) == 0


def test_sync_tx_and_async_offer_the_same_names_and_arguments(db_url: str, tmp_path: Path) -> None:
    ledger = Ledger.open(db_url)
    aledger = asyncio.run(_open_async(db_url))
    try:
        with ledger.transaction() as tx:
            for attr, cls in SURFACE.items():
                expected = {name for name, _ in methods(cls)}
                assert _public(getattr(ledger, attr)) == expected, attr
                assert _public(getattr(tx, attr)) >= expected, attr
                assert _public(getattr(aledger, attr)) == expected, attr
                for name, fn in methods(cls):
                    want = list(inspect.signature(fn).parameters.values())[1:]
                    for surface in (getattr(ledger, attr), getattr(aledger, attr)):
                        got = list(inspect.signature(getattr(surface, name)).parameters.values())
                        assert [(p.name, p.kind, p.default) for p in got] == [
                            (p.name, p.kind, p.default) for p in want
                        ], f"{attr}.{name}"
                    is_async = inspect.iscoroutinefunction(
                        getattr(aledger, attr).__class__.__dict__.get(name)
                    )
                    context = getattr(fn, "__wrapped__", None) is not None and kind(fn) == "service"
                    assert is_async or context or kind(fn) == "alias", f"{attr}.{name}"
    finally:
        ledger.close()
        asyncio.run(aledger.close())


async def _open_async(url: str) -> AsyncLedger:
    return await AsyncLedger.open(url)


def _counts(ledger: Ledger) -> tuple[int, ...]:
    with session_scope(ledger.engine, readonly=True) as s:
        return tuple(
            int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (m.Document, m.DocumentVersion, m.Extraction, m.Run, m.ModelVersion)
        )


@pytest.mark.asyncio
async def test_async_runs_services_and_bulk_writes(vector_db_url: str) -> None:
    """Everything the issue found missing or broken in the async API, on every dialect."""
    async with AsyncLedger.open(vector_db_url) as aledger:
        added = await aledger.documents.create(PDF.read_bytes(), external_key="plan.pdf")
        assert added.outcome == "added"
        many = await aledger.documents.create_many(
            [b"Bridges carry roads over rivers.", EXAMPLES / "notes", b"Tunnels go under."]
        )
        assert [r.outcome for r in many] == ["added", "failed", "added"]
        with await aledger.documents.open("plan.pdf") as handle:
            assert handle.read() == PDF.read_bytes()
        pages = await aledger.documents.render("plan.pdf", pages=[1], dpi=36)
        assert [p.page_number for p in pages] == [1]

        outcomes = await aledger.extractions.run(
            [r.document_id for r in [added, *many] if r.document_id]
        )
        assert all(o.error is None for o in outcomes)
        # the bulk path (COPY / executemany) under the async engine
        recorded = await aledger.extractions.record(
            added.version_id,
            "mine",
            "1",
            {},
            [{"kind": "zone", "text": f"zone {n}", "page_number": 1} for n in range(300)],
        )
        assert recorded.segments == 300
        assert len(await aledger.segments.of_extraction(recorded.extraction.id)) == 300

        assert await aledger.search.embed_missing("hash-256") > 0
        zones = await aledger.segments.of_extraction(recorded.extraction.id)
        # a row method's bulk vector write (pgvector's COPY) through run_sync
        assert await aledger.embeddings.upsert("hash-256", {zones[0].id: [1.0] + [0.0] * 255}) == 1
        hits = await aledger.search.text("bridges roads")
        assert hits
        assert "Bridges" in hits[0].text
        assert await aledger.search.vector("bridges over rivers", space="hash-256", k=3)
        assert await aledger.search.hybrid("tunnels", space="hash-256", k=3)

        async with aledger.runs.start("train", "training") as run:
            await run.log_metrics({"loss": 0.5}, step=1)
            await run.log_metrics_batch([("loss", 0.25, 2), ("f1", 0.9, 2)])
            await run.uses(("version", added.version_id))
        assert await aledger.runs.log_metrics(run.id, {"loss": 0.1}, 3) == 1
        assert (await aledger.runs.latest_metrics(run.id))["loss"] == pytest.approx(0.1)
        assert (await aledger.runs.get(run.id)).status == "succeeded"
        model = await aledger.model_versions.create("clf", run.id, artifact=b"weights")
        upstream = await aledger.lineage.upstream(model)
        assert ("version", str(added.version_id)) in {
            (n.entity_type, n.entity_id) for n in upstream
        }
        with pytest.raises(NotFound):
            await aledger.documents.get("nope.pdf")

    with Ledger.open(vector_db_url) as ledger:  # the sync API sees what the async one wrote
        assert ledger.model_versions.get("clf").version == 1
        assert ledger.search.text("bridges roads")[0].segment_id == hits[0].segment_id


@pytest.mark.asyncio
async def test_async_transaction_is_all_or_nothing(db_url: str) -> None:
    async with AsyncLedger.open(db_url) as aledger:
        async with aledger.transaction() as atx:
            doc = await atx.documents.create(b"Kept with its extraction.", external_key="k.txt")
            await atx.extractions.run([doc.document_id])
            async with atx.runs.start("inside") as run:
                await run.log_metrics({"loss": 1.0})
            await atx.model_versions.create("m", run.id, artifact=b"w")
        with pytest.raises(RuntimeError, match="boom"):
            async with aledger.transaction() as atx:
                await atx.documents.create(b"Rolled back.", external_key="gone.txt")
                await atx.extractions.run(["gone.txt"])
                raise RuntimeError("boom")
        assert [d.external_key for d in (await aledger.documents.list()).items] == ["k.txt"]
    with Ledger.open(db_url) as ledger:
        assert _counts(ledger) == (1, 1, 1, 1, 1)


def test_sync_transaction_reaches_services_and_is_all_or_nothing(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        with ledger.transaction() as tx:
            doc = tx.documents.create(b"Bridges carry roads.", external_key="a.txt")
            (outcome,) = tx.extractions.run([doc.document_id])
            assert outcome.segments > 0
            assert tx.search.text("bridges")[0].document_id == doc.document_id
            with tx.runs.start("train") as run:
                run.log_metrics({"loss": 0.5})
                run.uses(("version", doc.version_id))
            model = tx.model_versions.create("clf", run.id, artifact=b"weights")
            assert ("version", str(doc.version_id)) in {
                (n.entity_type, n.entity_id) for n in tx.lineage.upstream(model)
            }
        before = _counts(ledger)
        assert before == (1, 1, 1, 1, 1)
        with pytest.raises(RuntimeError, match="boom"), ledger.transaction() as tx:
            tx.documents.create(b"Tunnels too.", external_key="b.txt")
            tx.extractions.run(["b.txt"])
            tx.model_versions.create("clf", artifact=b"more weights")
            raise RuntimeError("boom")
        assert _counts(ledger) == before
        # the rolled-back bytes have no row: gc may take them, and verify stays clean
        report = maintenance.gc(ledger.engine, ledger.blobs, grace_s=0)
        assert report.orphan_files == 2


def test_old_names_warn_and_still_work(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        with pytest.warns(DeprecationWarning, match="use create"):
            added = ledger.documents.add(b"old name", external_key="old.txt")
        assert added.outcome == "added"
        with pytest.warns(DeprecationWarning, match="model_versions"):
            registry = ledger.models
        with pytest.warns(DeprecationWarning, match="use create"):
            assert registry.register("clf").version == 1


def test_every_listing_pages_with_a_cursor(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        for n in range(5):
            ledger.workspaces.create(f"ws{n}")
            user = ledger.users.create(f"u{n}@example.org")
            ledger.memberships.create(f"ws{n}", user.id, "viewer")
            ledger.jobs.enqueue("t", {"n": n}, workspace=f"ws{n}")
            ledger.runs.create(f"run {n}")
            ledger.model_versions.create("clf")
            ledger.documents.create(f"doc {n}".encode(), external_key=f"d{n}.txt")
        listings: dict[str, Any] = {
            "workspaces": ledger.workspaces.list,
            "users": ledger.users.list,
            "memberships": ledger.memberships.list,
            "jobs": ledger.jobs.list,
            "runs": ledger.runs.list,
            "model_versions": ledger.model_versions.list,
            "documents": ledger.documents.list,
        }
        for name, listing in listings.items():
            whole = listing(limit=100)
            assert whole.next_cursor is None, name
            assert len(whole.items) >= 5, name
            paged = list(every(listing, limit=2))
            assert paged == whole.items, name  # same rows, same order, none twice
            first = listing(limit=2)
            listing_filter = {} if name != "runs" else {"kind": "pipeline"}
            assert (
                listing(limit=2, cursor=first.next_cursor, **listing_filter).items
                == (whole.items[2:4])
            ), name
            with pytest.raises(InvalidInput):
                listing(cursor="bm90IGEgY3Vyc29y")
        # a row inserted after the first page never shifts the next one
        first = ledger.runs.list(limit=2)
        ledger.runs.create("newest")
        assert (
            ledger.runs.list(limit=2, cursor=first.next_cursor).items
            == (ledger.runs.list(limit=100).items[3:5])
        )
        assert ledger.jobs.get(ledger.jobs.list(limit=1).items[0].id).workspace_id == (
            ledger.workspaces.get("ws4").id
        )


def test_renamed_arguments_warn_and_refuse_both(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        added = ledger.documents.create(b"x", external_key="x.txt")
        ledger.users.create("ana@example.org")
        with pytest.warns(DeprecationWarning, match="use actor="):
            note = ledger.annotations.create(
                "document", added.document_id, "label", {"label": "a"}, author="ana@example.org"
            )
        assert ledger.annotations.history(note.id)[0].actor == "ana@example.org"
        with pytest.raises(InvalidInput, match="actor= only"):
            ledger.annotations.create(
                "document",
                added.document_id,
                "label",
                {"label": "b"},
                author="ana@example.org",
                actor="ana@example.org",
            )
        with pytest.warns(DeprecationWarning, match="use workspace="):
            job = ledger.jobs.enqueue("t", workspace_id=ledger.workspaces.get().id)
        assert job.workspace_id == ledger.workspaces.get().id
