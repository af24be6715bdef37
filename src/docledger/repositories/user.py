"""Users and their preferences."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update

from docledger.db.dialect import insert_ignore
from docledger.db.types import utcnow
from docledger.errors import NotFound
from docledger.ids import new_id
from docledger.models import User as UserRow
from docledger.repositories.base import Repository, as_uuid, readonly
from docledger.repositories.paging import page
from docledger.schemas import User, UserCreate, validate
from docledger.schemas.common import Page

UserRef = uuid.UUID | str


class UserRepository(Repository):
    def _rows(self, items: Iterable[UserCreate | Mapping[str, Any]]) -> list[dict[str, Any]]:
        now = utcnow()
        rows = []
        for item in items:
            data = validate(UserCreate, item)
            rows.append(
                {
                    "id": new_id(),
                    "email": data.email,
                    "name": data.name or data.email.split("@")[0],
                    "role": data.role,
                    "preferences": data.preferences,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        return rows

    def create_many(self, items: Iterable[UserCreate | Mapping[str, Any]]) -> list[User]:
        """Create users; an existing email raises Conflict and nothing is written."""
        rows = self._rows(items)
        if rows:
            self.session.execute(insert(UserRow), rows)
        return [User.model_validate(row) for row in rows]

    def create(
        self,
        email: str,
        name: str | None = None,
        role: str = "member",
        preferences: dict[str, Any] | None = None,
    ) -> User:
        item = {"email": email, "name": name, "role": role, "preferences": preferences or {}}
        return self.create_many([item])[0]

    def ensure(self, email: str, name: str | None = None) -> User:
        """The user with this email, created if missing (safe under concurrency)."""
        rows = self._rows([{"email": email, "name": name}])
        insert_ignore(self.session, UserRow, rows, conflict=["email"])
        return self.get(rows[0]["email"])

    def _row(self, ref: UserRef) -> UserRow:
        key = as_uuid(ref)
        cond = UserRow.id == key if key is not None else UserRow.email == str(ref).strip().lower()
        row = self.session.scalars(select(UserRow).where(cond)).one_or_none()
        if row is None:
            raise NotFound(f"no user {ref!s}")
        return row

    @readonly
    def get(self, ref: UserRef) -> User:
        """A user by id or email."""
        return User.model_validate(self._row(ref))

    @readonly
    def list(self, *, limit: int = 100, cursor: str | None = None) -> Page[User]:
        """Users by email."""
        keys = [(UserRow.email, False), (UserRow.id, False)]
        return page(
            self.session, select(UserRow), keys, User.model_validate, limit=limit, cursor=cursor
        )

    def set_preferences(
        self, ref: UserRef, preferences: dict[str, Any], *, merge: bool = True
    ) -> User:
        """Replace or merge preferences. The row is locked for the read-modify-write."""
        row = self.session.scalars(
            select(UserRow).where(UserRow.id == self._row(ref).id).with_for_update()
        ).one()
        new = {**row.preferences, **preferences} if merge else dict(preferences)
        self.session.execute(
            update(UserRow).where(UserRow.id == row.id).values(preferences=new, updated_at=utcnow())
        )
        self.session.expire(row)
        return User.model_validate(self._row(row.id))

    def delete(self, ref: UserRef) -> None:
        row = self._row(ref)
        self.session.execute(delete(UserRow).where(UserRow.id == row.id))
