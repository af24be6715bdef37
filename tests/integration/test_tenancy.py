"""Tenant isolation enforced by the database (issue 17, part 3).

On PostgreSQL, ``enable_rls`` confines the ``docledger_tenant`` role to the workspace its
transaction names; a ledger opened with ``workspace="a"`` runs every transaction that way. The
tests walk every public method addressed by id (test_isolation's table) with workspace B's ids
through a ledger opened for A, and then try raw SQL as the tenant role: reads, writes, moves of
rows across workspaces, switching the policies off. Nothing of B is reachable. On SQLite the
same walk runs on the application's own checks, and enabling RLS is refused with the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from docledger import (
    AsyncLedger,
    InvalidInput,
    Ledger,
    NotFound,
    PermissionDenied,
    load_settings,
)
from docledger.db import ownership, tenancy
from docledger.services import portable
from tests.integration.test_isolation import CALLS, _counts, victim

__all__ = ["victim"]  # the fixture, shared with test_isolation

LOGIN = "docledger_app_test"


@pytest.fixture
def tenant_a(ledger: Ledger, db_url: str, blob_root: Path, dialect: str) -> Iterator[Ledger]:
    """A ledger opened for workspace "a" (created by ``victim``), with RLS on PostgreSQL."""
    if dialect == "postgresql":
        assert ledger.maintenance.enable_rls()
    settings = load_settings(db_url=db_url, blob_root=str(blob_root))
    with Ledger.open(settings=settings, workspace="a") as opened:
        yield opened


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_tenant_ledger_reaches_nothing_of_another_workspace(
    ledger: Ledger, victim: dict[str, Any], tenant_a: Ledger, name: str
) -> None:
    before = _counts(ledger)
    owner, method = name.split(".")
    args, kwargs = CALLS[name](victim)
    call = getattr(getattr(tenant_a, owner), method)
    if name == "documents.current_many":
        assert call(*args, **kwargs) == {}
    elif name == "jobs.get_many":  # a batch read leaves out what it cannot see
        assert call(*args, **kwargs) == []
    elif name == "extractions.run":
        (outcome,) = call(*args, **kwargs)
        assert outcome.extraction_id is None
    else:
        with pytest.raises(NotFound):
            result = call(*args, **kwargs)
            if hasattr(result, "read"):
                result.read()
    # naming B outright does not help: to the tenant, B does not exist
    with pytest.raises(NotFound):
        call(*args, **kwargs, workspace="b")
    assert _counts(ledger) == before


def test_a_tenant_ledger_works_in_its_own_workspace(
    ledger: Ledger, victim: dict[str, Any], tenant_a: Ledger
) -> None:
    added = tenant_a.documents.create(b"Valve V-9 replaced.\n\nTurbine checked.", external_key="v")
    tenant_a.extractions.run([added.document_id])
    tenant_a.search.embed_missing("hash-256")
    assert [d.external_key for d in tenant_a.documents.list().items] == ["v"]
    assert tenant_a.search.text("turbine")
    assert tenant_a.search.vector("valve", space="hash-256", k=3)
    segment = tenant_a.segments.of_version(added.version_id)[0]
    note = tenant_a.annotations.create("segment", segment.id, "label", {"label": "ok"})
    assert len(tenant_a.annotations.history(note.id)) == 1
    # bulk writes (COPY elsewhere; PostgreSQL refuses COPY under row-level security)
    many = [{"kind": "zone", "page_number": 1, "text": f"zone {i}"} for i in range(300)]
    recorded = tenant_a.extractions.record(added.version_id, "bulk", "1", {}, many)
    assert len(tenant_a.segments.of_extraction(recorded.extraction.id)) == 300
    assert tenant_a.search.text("zone", k=5)
    run = tenant_a.runs.create("train", "training")
    tenant_a.runs.log_metrics(run.id, {"loss": 0.5})
    tenant_a.runs.log_metrics_batch(run.id, [("acc", i / 500, i) for i in range(500)])
    assert len(tenant_a.runs.metric_series(run.id, "acc")) == 500
    job = tenant_a.jobs.enqueue("noop", {})
    assert tenant_a.jobs.get(job.id).workspace_id == tenant_a.workspaces.get().id
    assert [w.slug for w in tenant_a.workspaces.list().items] == ["a"]
    # B is where it was, seen by the owner
    assert ledger.documents.get(victim["document"], workspace="b")
    assert [d.external_key for d in ledger.documents.list(workspace="a").items] == ["v"]


@pytest.fixture
def as_tenant(ledger: Ledger, victim: dict[str, Any], dialect: str) -> Iterator[Any]:
    """Raw connections logged in as a role that is only a member of the tenant role."""
    if dialect != "postgresql":
        pytest.skip("row-level security is PostgreSQL's (the SQLite case is tested below)")
    ledger.maintenance.enable_rls()
    with ledger.engine.begin() as conn:
        conn.execute(
            text(
                f"DO $$ BEGIN CREATE ROLE {LOGIN} LOGIN; EXCEPTION WHEN duplicate_object "
                "OR unique_violation THEN NULL; END $$"
            )
        )
        conn.execute(text(f"GRANT {tenancy.ROLE} TO {LOGIN}"))
        conn.execute(text(f"ALTER ROLE {LOGIN} SET role = {tenancy.ROLE}"))
    url = make_url(ledger.engine.url).set(username=LOGIN, drivername="postgresql+psycopg")
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _ids(ledger: Ledger, slug: str) -> uuid.UUID:
    return ledger.workspaces.get(slug).id


def test_raw_sql_as_the_tenant_role_sees_and_writes_one_workspace(
    ledger: Ledger, victim: dict[str, Any], as_tenant: Any
) -> None:
    a, b = _ids(ledger, "a"), _ids(ledger, "b")
    ledger.documents.create(b"A's own.", external_key="mine.txt", workspace="a")
    confined = tenancy.confined_tables(ledger.engine.connect().execution_options())
    with ledger.engine.connect() as owner:
        expected = {
            table.name: int(
                owner.execute(select(func.count()).select_from(table).where(where)).scalar_one()
            )
            for table in portable.tables()
            if (where := portable.workspace_filters(a).get(table.name)) is not None
        }
    with as_tenant.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == tenancy.ROLE
        # no workspace named: nothing of any workspace
        for name in confined:
            assert conn.execute(text(f"SELECT count(*) FROM {name}")).scalar() == 0, name
        conn.rollback()
        with conn.begin():
            conn.execute(text(f"SELECT set_config('{tenancy.SETTING}', '{a}', true)"))
            for name, count in expected.items():
                seen = conn.execute(text(f"SELECT count(*) FROM {name}")).scalar()
                assert seen == count, name
            assert expected["documents"] == 1
            assert expected["segments"] == 0  # B's segments exist but are not A's
            # B's rows cannot be changed or removed
            gone = conn.execute(text("DELETE FROM documents WHERE workspace_id = :b"), {"b": b})
            assert gone.rowcount == 0
            moved = conn.execute(
                text("UPDATE segments SET text = 'x' WHERE workspace_id = :b"), {"b": b}
            )
            assert moved.rowcount == 0
    with as_tenant.connect() as conn:
        conn.execute(text(f"SELECT set_config('{tenancy.SETTING}', '{a}', false)"))
        conn.commit()  # a session setting, kept past the rollbacks below
        # neither written into B, nor moved there
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(
                text(
                    "INSERT INTO workspaces (id, slug, name, settings, created_at, updated_at) "
                    "VALUES (:i, 'c', 'c', '{}', now(), now())"
                ),
                {"i": uuid.uuid4()},
            )
        conn.rollback()
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(text("UPDATE documents SET workspace_id = :b"), {"b": b})
        conn.rollback()
        # and the tenant cannot switch the policies off or become the owner
        with pytest.raises(DBAPIError, match=r"owner|permission"):
            conn.execute(text("ALTER TABLE documents DISABLE ROW LEVEL SECURITY"))
        conn.rollback()
        with pytest.raises(DBAPIError, match="permission"):
            conn.execute(text("SET ROLE postgres"))
        conn.rollback()
    assert ledger.documents.get(victim["document"], workspace="b").title != "x"


def test_every_workspace_table_has_a_policy(ledger: Ledger, dialect: str) -> None:
    if dialect != "postgresql":
        with pytest.raises(InvalidInput, match="PostgreSQL"):
            ledger.maintenance.enable_rls()
        return
    confined = set(ledger.maintenance.enable_rls())
    owned = {t.name for t in portable.tables() if not ownership.shared(t) or "workspace_id" in t.c}
    assert owned <= confined
    with ledger.engine.connect() as conn:
        policies = {
            row[0]
            for row in conn.execute(
                text("SELECT tablename FROM pg_policies WHERE policyname = :p"),
                {"p": tenancy.POLICY},
            )
        }
    assert policies == confined
    ledger.maintenance.disable_rls()
    assert ledger.maintenance.enable_rls()  # again: idempotent


def test_a_write_the_policy_refuses_is_permission_denied(
    ledger: Ledger, victim: dict[str, Any], tenant_a: Ledger, dialect: str
) -> None:
    if dialect != "postgresql":
        with pytest.raises(NotFound):
            tenant_a.workspaces.get("b")
        return
    with pytest.raises(PermissionDenied):
        tenant_a.workspaces.create("c")  # a tenant does not make workspaces
    assert [w.slug for w in ledger.workspaces.list().items] == ["a", "b", "default"]


def test_opening_for_a_workspace_that_does_not_exist_is_not_found(
    ledger: Ledger, db_url: str, blob_root: Path
) -> None:
    settings = load_settings(db_url=db_url, blob_root=str(blob_root))
    with pytest.raises(NotFound):
        Ledger.open(settings=settings, workspace="nobody")


@pytest.mark.asyncio
async def test_an_async_ledger_opened_for_a_workspace_is_confined_the_same_way(
    ledger: Ledger, victim: dict[str, Any], db_url: str, blob_root: Path, dialect: str
) -> None:
    if dialect == "postgresql":
        ledger.maintenance.enable_rls()
    mine = ledger.documents.create(b"A's note.", external_key="a-note.txt", workspace="a")
    settings = load_settings(db_url=db_url, blob_root=str(blob_root))
    async with AsyncLedger.open(settings=settings, workspace="a") as tenant:
        listed = await tenant.documents.list()
        assert [d.id for d in listed.items] == [mine.document_id]
        with pytest.raises(NotFound):
            await tenant.documents.get(victim["document"])
        with pytest.raises(NotFound):
            await tenant.documents.list(workspace="b")
        # a service (run on the ledger's sync engine in a thread) is confined as well
        with pytest.raises(NotFound):
            await tenant.findings.get(victim["finding"])
        assert (await tenant.workspaces.get()).slug == "a"


@pytest.mark.asyncio
async def test_views_of_one_ledger_are_confined_and_share_its_pool(
    ledger: Ledger, victim: dict[str, Any], db_url: str, blob_root: Path, dialect: str
) -> None:
    """``confined_to``: one pool, one view per workspace (what the HTTP server runs each
    request on); under RLS the database itself answers raw SQL with the view's rows only."""
    if dialect == "postgresql":
        ledger.maintenance.enable_rls()
    mine = ledger.documents.create(b"A's note.", external_key="a-note.txt", workspace="a")
    with ledger.engine.connect() as conn:
        who = tenancy.tenant(conn, "a")
    view = ledger.confined_to(who)
    assert [d.id for d in view.documents.list().items] == [mine.document_id]
    with pytest.raises(NotFound):
        view.documents.get(victim["document"])
    with view.transaction(readonly=True) as tx:
        seen = tx.session.execute(text("SELECT count(*) FROM documents")).scalar()
    assert seen == (1 if dialect == "postgresql" else 2)  # the database's own answer
    view.close()  # a view closes nothing: the ledger goes on
    assert ledger.documents.get(victim["document"], workspace="b").id == victim["document"]
    settings = load_settings(db_url=db_url, blob_root=str(blob_root))
    async with AsyncLedger.open(settings=settings) as store:
        aview = store.confined_to(who)
        assert [d.id for d in (await aview.documents.list()).items] == [mine.document_id]
        raw = await aview.run(
            lambda tx: tx.session.execute(text("SELECT count(*) FROM documents")).scalar()
        )
        assert raw == (1 if dialect == "postgresql" else 2)
        await aview.close()
        assert (await store.documents.get(victim["document"], workspace="b")).id
