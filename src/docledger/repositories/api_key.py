"""API keys: issued once, stored hashed, revoked for good."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid

from sqlalchemy import select, update

from docledger.db.types import utcnow
from docledger.errors import InvalidInput, Unauthenticated
from docledger.ids import new_id
from docledger.models import ApiKey as ApiKeyRow
from docledger.repositories.base import Repository, readonly, require_uuid
from docledger.repositories.paging import page
from docledger.repositories.user import UserRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository, confine
from docledger.schemas import validate
from docledger.schemas.api_key import ApiKey, ApiKeyCreate, IssuedApiKey
from docledger.schemas.common import Page

#: ``dlk_<prefix>.<secret>``: 12 hex characters that find the row, then the secret
_KEY = re.compile(r"dlk_([0-9a-f]{12})\.([A-Za-z0-9_-]{20,100})")
#: a constant-time comparison against this when the prefix is unknown, so an unknown key
#: costs what a wrong secret costs
_DECOY = hashlib.sha256(b"docledger-no-such-key").hexdigest()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyRepository(Repository):
    def create(
        self,
        workspace: WorkspaceRef,
        name: str,
        role: str = "viewer",
        *,
        actor: str | None = None,
    ) -> IssuedApiKey:
        """Issue a key for one workspace with one role (owner / editor / viewer). The key
        itself is in the result only: the store keeps its SHA-256, so it cannot be shown
        again (revoke it and issue another when it is lost). ``actor``: the user (email or
        id) the key acts for, whom every change made with it is recorded under."""
        ws = WorkspaceRepository(self.session).get(workspace)
        if actor is not None:
            actor = UserRepository(self.session).get(actor).email
        data = validate(
            ApiKeyCreate, {"workspace_id": ws.id, "name": name, "role": role, "actor": actor}
        )
        prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        row = ApiKeyRow(
            id=new_id(),
            workspace_id=data.workspace_id,
            name=data.name,
            role=data.role,
            prefix=prefix,
            secret_sha256=_digest(secret),
            actor=data.actor,
            created_at=utcnow(),
        )
        self.session.add(row)
        self.session.flush()
        return IssuedApiKey(key=ApiKey.model_validate(row), secret=f"dlk_{prefix}.{secret}")

    def _row(self, key: uuid.UUID | str, workspace: WorkspaceRef | None) -> ApiKeyRow:
        """By id, or by the prefix a listing shows."""
        if isinstance(key, str) and re.fullmatch(r"[0-9a-f]{12}", key):
            found = self.session.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix == key)).first()
        else:
            found = self.session.get(ApiKeyRow, require_uuid(key, "API key id"))
        return confine(self.session, found, workspace, f"no API key {key}")  # type: ignore[no-any-return]

    @readonly
    def get(self, key: uuid.UUID | str, *, workspace: WorkspaceRef | None = None) -> ApiKey:
        """A key's record (never its secret), by id or prefix."""
        return ApiKey.model_validate(self._row(key, workspace))

    @readonly
    def list(
        self,
        *,
        workspace: WorkspaceRef | None = None,
        include_revoked: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[ApiKey]:
        """A workspace's keys, oldest first (the default workspace when none is named)."""
        ws = WorkspaceRepository(self.session).get(workspace).id
        stmt = select(ApiKeyRow).where(ApiKeyRow.workspace_id == ws)
        if not include_revoked:
            stmt = stmt.where(ApiKeyRow.revoked_at.is_(None))
        keys = [(ApiKeyRow.created_at, False), (ApiKeyRow.id, False)]
        return page(self.session, stmt, keys, ApiKey.model_validate, limit=limit, cursor=cursor)

    def revoke(self, key: uuid.UUID | str, *, workspace: WorkspaceRef | None = None) -> ApiKey:
        """Revoke for good: every later request with the key is refused. Revoking a revoked
        key changes nothing."""
        row = self._row(key, workspace)
        if row.revoked_at is None:
            self.session.execute(
                update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(revoked_at=utcnow())
            )
            self.session.refresh(row)
        return ApiKey.model_validate(row)

    @readonly
    def authenticate(self, key: str) -> ApiKey:
        """The live key a client sent, or Unauthenticated: the same answer for a malformed,
        unknown, wrong or revoked key, after the same constant-time comparison."""
        if not isinstance(key, str):
            raise InvalidInput("an API key is text")
        parsed = _KEY.fullmatch(key.strip())
        prefix, secret = parsed.groups() if parsed else ("", "")
        row = (
            self.session.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix)).first()
            if parsed
            else None
        )
        expected = row.secret_sha256 if row is not None else _DECOY
        matches = hmac.compare_digest(_digest(secret), expected)
        if row is None or not matches or row.revoked_at is not None:
            raise Unauthenticated()
        return ApiKey.model_validate(row)
