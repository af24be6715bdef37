"""Workspaces, users and memberships through the public Ledger API, on both dialects."""

from __future__ import annotations

import pytest

from docledger import Conflict, InvalidInput, Ledger, NotFound


def test_default_workspace_exists(ledger: Ledger) -> None:
    ws = ledger.workspaces.get()
    assert ws.slug == "default"
    assert ledger.workspaces.get("default") == ws
    assert ledger.workspaces.get(ws.id) == ws
    assert ledger.workspaces.get(str(ws.id)) == ws


def test_workspace_create_ensure_update_delete(ledger: Ledger) -> None:
    created = ledger.workspaces.create("acme", "Acme Corp", {"ocr": {"lang": "eng"}})
    assert ledger.workspaces.ensure("acme") == created  # idempotent, unchanged
    with pytest.raises(Conflict):
        ledger.workspaces.create("acme")
    updated = ledger.workspaces.update("acme", settings={"ocr": {"lang": "por"}, "k": 1})
    assert updated.settings == {"ocr": {"lang": "por"}, "k": 1}
    assert updated.updated_at >= created.updated_at
    ledger.workspaces.delete("acme")
    with pytest.raises(NotFound):
        ledger.workspaces.get("acme")
    with pytest.raises(InvalidInput):
        ledger.workspaces.delete("default")


@pytest.mark.parametrize("slug", ["", "Has Caps", "a/b", "../x", "x" * 65, "-lead"])
def test_bad_slugs_are_refused_and_nothing_is_written(ledger: Ledger, slug: str) -> None:
    with pytest.raises(InvalidInput):
        ledger.workspaces.create(slug)
    assert [ws.slug for ws in ledger.workspaces.list().items] == ["default"]


def test_create_many_is_all_or_nothing(ledger: Ledger) -> None:
    with pytest.raises(InvalidInput):
        ledger.workspaces.create_many([{"slug": "good"}, {"slug": "Bad Slug"}])
    with pytest.raises(Conflict):
        ledger.workspaces.create_many([{"slug": "one"}, {"slug": "one"}])
    assert [ws.slug for ws in ledger.workspaces.list().items] == ["default"]


def test_users_and_preferences(ledger: Ledger) -> None:
    user = ledger.users.create("  Ana@Example.ORG ", preferences={"theme": "dark", "lang": "pt"})
    assert user.email == "ana@example.org"
    assert ledger.users.get("ANA@example.org") == user
    merged = ledger.users.set_preferences(user.id, {"lang": "en", "page_size": 50})
    assert merged.preferences == {"theme": "dark", "lang": "en", "page_size": 50}
    replaced = ledger.users.set_preferences(user.email, {"x": 1}, merge=False)
    assert replaced.preferences == {"x": 1}
    assert ledger.users.ensure("ana@example.org").id == user.id
    with pytest.raises(Conflict):
        ledger.users.create("ana@example.org")
    for bad in ["no-at-sign", "a@b", "two words@x.org"]:
        with pytest.raises(InvalidInput):
            ledger.users.create(bad)
    with pytest.raises(InvalidInput):
        ledger.users.create("b@example.org", role="emperor")
    assert [u.email for u in ledger.users.list().items] == ["ana@example.org"]
    with pytest.raises(NotFound):
        ledger.users.get("nobody@example.org")


def test_memberships(ledger: Ledger) -> None:
    ledger.users.create("a@example.org")
    ledger.workspaces.create("team")
    first = ledger.memberships.create("team", "a@example.org", "viewer")
    again = ledger.memberships.create("team", "a@example.org", "owner")
    assert again.id == first.id
    assert again.role == "owner"
    assert [ms.role for ms in ledger.memberships.list(workspace="team").items] == ["owner"]
    assert len(ledger.memberships.list(user="a@example.org").items) == 1
    with pytest.raises(InvalidInput):
        ledger.memberships.create("team", "a@example.org", "god")
    with pytest.raises(NotFound):
        ledger.memberships.create("nope", "a@example.org")
    assert ledger.memberships.remove("team", "a@example.org") is True
    assert ledger.memberships.remove("team", "a@example.org") is False


def test_transaction_groups_operations(ledger: Ledger) -> None:
    with pytest.raises(Conflict), ledger.transaction() as tx:
        tx.workspaces.create("ws1")
        tx.users.create("u@example.org")
        tx.users.create("u@example.org")
    assert [ws.slug for ws in ledger.workspaces.list().items] == ["default"]
    assert ledger.users.list().items == []
    with ledger.transaction() as tx:
        ws = tx.workspaces.create("ws1")
        user = tx.users.create("u@example.org")
        tx.memberships.create(ws.id, user.id, "owner")
    assert ledger.memberships.list(workspace="ws1").items[0].user_id == user.id
