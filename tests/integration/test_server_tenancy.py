"""The server under PostgreSQL row-level security: each request runs on a view of the store
that the database confines to the key's workspace (raw SQL through it sees that workspace's
rows only), and the API works as before. On SQLite there is nothing to enforce: requests use
the store's ledger and the library's own confinement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from docledger import Ledger, Tx
from tests.integration.server_api import Api, assert_problem, serve, settings_for

TEXT = b"Pump P1 runs at 40 bar.\n\nValve V7 is closed during start-up.\n"


def _count_documents(api: Api, workspace: Any) -> Any:
    tenants = api.client.app.state.tenants  # type: ignore[attr-defined]

    async def count() -> Any:
        view = await tenants.ledger(workspace)

        def raw(tx: Tx) -> Any:
            return tx.session.execute(text("SELECT count(*) FROM documents")).scalar()

        return view, await view.run(raw)

    return api.client.portal.call(count)  # type: ignore[union-attr]


def test_requests_run_confined_to_their_workspace(db_url: str, blob_root: Path) -> None:
    with Ledger.open(settings=settings_for(db_url, blob_root)) as ledger:
        rls = ledger.engine.dialect.name == "postgresql"
        if rls:
            ledger.maintenance.enable_rls()
    try:
        with serve(db_url, blob_root) as api:  # a server started with RLS enabled
            tenants = api.client.app.state.tenants  # type: ignore[attr-defined]
            assert tenants.enforced is rls
            theirs = api.upload("secret.txt", TEXT, who="other", extract="true").json()
            mine = api.upload("notes.txt", TEXT, extract="true")
            assert mine.status_code == 201, mine.text
            a = api.get("/whoami").json()["workspace"]["id"]
            b = api.client.get("/api/v1/whoami", headers=api.as_("other")).json()
            view, seen = _count_documents(api, a)
            assert seen == (1 if rls else 2)  # raw SQL: the database's answer, not the code's
            if rls:
                assert view is not tenants.store
                assert view is _count_documents(api, a)[0]  # one view per workspace, kept
                assert _count_documents(api, b["workspace"]["id"])[1] == 1
            else:
                assert view is tenants.store
            hits = api.post("/search", "viewer", json={"query": "valve", "mode": "text"}).json()
            assert {h["document_id"] for h in hits} == {mine.json()["document_id"]}
            assert_problem(api.get(f"/documents/{theirs['document_id']}", "owner"), 404)
            made = api.post(
                "/annotations",
                json={"target_type": "document", "target_id": mine.json()["document_id"],
                      "kind": "label", "value": {"label": "pumps"}},
            )  # fmt: skip
            assert made.status_code == 201, made.text
            assert made.json()["workspace_id"] == a
    finally:
        if rls:
            with Ledger.open(settings=settings_for(db_url, blob_root)) as ledger:
                ledger.maintenance.disable_rls()
