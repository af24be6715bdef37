"""API keys in the library, on both dialects: issued once, stored hashed, found by id or
prefix within their workspace, revoked for good; bad input changes nothing."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from docledger import AsyncLedger, InvalidInput, Ledger, NotFound, Unauthenticated
from docledger import models as m
from docledger.db.session import session_scope


def _rows(ledger: Ledger) -> int:
    with session_scope(ledger.engine, readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(m.ApiKey)) or 0)


def test_a_key_is_issued_once_and_stored_hashed(ledger: Ledger) -> None:
    ledger.users.create("ana@example.org")
    issued = ledger.api_keys.create("default", "ci", "editor", actor="ana@example.org")
    assert issued.secret.startswith(f"dlk_{issued.key.prefix}.")
    assert issued.key.actor == "ana@example.org"
    secret_part = issued.secret.split(".", 1)[1]
    with session_scope(ledger.engine, readonly=True) as s:
        row = s.get(m.ApiKey, issued.key.id)
        assert row is not None
        assert row.secret_sha256 == hashlib.sha256(secret_part.encode()).hexdigest()
        assert secret_part not in str(vars(row))
    assert ledger.api_keys.authenticate(issued.secret) == issued.key
    assert ledger.api_keys.get(issued.key.prefix) == issued.key
    assert ledger.api_keys.get(issued.key.id) == issued.key
    assert [k.id for k in ledger.api_keys.list().items] == [issued.key.id]


@pytest.mark.parametrize(
    "sent",
    ["", "dlk_", "nonsense", "dlk_0123456789ab.short", "Bearer dlk_0123456789ab." + "a" * 40],
)
def test_malformed_and_unknown_keys_are_unauthenticated(ledger: Ledger, sent: str) -> None:
    ledger.api_keys.create("default", "ci")
    with pytest.raises(Unauthenticated):
        ledger.api_keys.authenticate(sent)


def test_a_wrong_secret_and_a_revoked_key_are_refused(ledger: Ledger) -> None:
    issued = ledger.api_keys.create("default", "ci", "owner")
    prefix, secret = issued.secret.split(".", 1)
    with pytest.raises(Unauthenticated):
        ledger.api_keys.authenticate(f"{prefix}.{secret[::-1]}")
    revoked = ledger.api_keys.revoke(issued.key.prefix)
    assert revoked.revoked_at is not None
    assert ledger.api_keys.revoke(issued.key.id).revoked_at == revoked.revoked_at
    with pytest.raises(Unauthenticated):
        ledger.api_keys.authenticate(issued.secret)
    assert ledger.api_keys.list().items == []
    assert [k.id for k in ledger.api_keys.list(include_revoked=True).items] == [issued.key.id]


def test_keys_are_confined_to_their_workspace(ledger: Ledger) -> None:
    ledger.workspaces.create("a")
    ledger.workspaces.create("b")
    theirs = ledger.api_keys.create("b", "theirs")
    with pytest.raises(NotFound):
        ledger.api_keys.get(theirs.key.id, workspace="a")
    with pytest.raises(NotFound):
        ledger.api_keys.revoke(theirs.key.prefix, workspace="a")
    assert ledger.api_keys.list(workspace="a").items == []
    assert ledger.api_keys.get(theirs.key.id).revoked_at is None


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        (("default", "ci", "admin"), {}, InvalidInput),
        (("default", "", "viewer"), {}, InvalidInput),
        (("default", "x" * 201, "viewer"), {}, InvalidInput),
        (("default", "ci\x00", "viewer"), {}, InvalidInput),
        (("nowhere", "ci", "viewer"), {}, NotFound),
        (("default", "ci", "viewer"), {"actor": "nobody@example.org"}, NotFound),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    ledger: Ledger, args: tuple[str, ...], kwargs: dict[str, str], error: type[Exception]
) -> None:
    with pytest.raises(error):
        ledger.api_keys.create(*args, **kwargs)
    assert _rows(ledger) == 0
    with pytest.raises(InvalidInput):
        ledger.api_keys.get("not-a-key")
    with pytest.raises(NotFound):
        ledger.api_keys.revoke("0123456789ab")


def test_deleting_a_workspace_deletes_its_keys(ledger: Ledger) -> None:
    ledger.workspaces.create("gone")
    issued = ledger.api_keys.create("gone", "ci")
    ledger.workspaces.delete("gone")
    assert _rows(ledger) == 0
    with pytest.raises(Unauthenticated):
        ledger.api_keys.authenticate(issued.secret)


@pytest.mark.asyncio
async def test_async_twin(db_url: str) -> None:
    async with AsyncLedger.open(db_url) as aledger:
        issued = await aledger.api_keys.create("default", "async", "viewer")
        assert (await aledger.api_keys.authenticate(issued.secret)).id == issued.key.id
        await aledger.api_keys.revoke(issued.key.id)
        with pytest.raises(Unauthenticated):
            await aledger.api_keys.authenticate(issued.secret)
