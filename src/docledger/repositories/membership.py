"""Who may touch which workspace."""

from __future__ import annotations

from sqlalchemy import delete, select

from docledger.db.dialect import upsert
from docledger.db.types import utcnow
from docledger.deprecation import deprecated_alias
from docledger.ids import new_id
from docledger.models import Membership as MembershipRow
from docledger.repositories.base import Repository, readonly
from docledger.repositories.paging import page
from docledger.repositories.user import UserRef, UserRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository
from docledger.schemas import Membership, MembershipCreate, validate
from docledger.schemas.common import Page


class MembershipRepository(Repository):
    def create(self, workspace: WorkspaceRef, user: UserRef, role: str = "editor") -> Membership:
        """Grant a role; granting again changes the role instead of failing."""
        ws = WorkspaceRepository(self.session).get(workspace)
        usr = UserRepository(self.session).get(user)
        data = validate(MembershipCreate, {"workspace_id": ws.id, "user_id": usr.id, "role": role})
        row = {
            "id": new_id(),
            "workspace_id": data.workspace_id,
            "user_id": data.user_id,
            "role": data.role,
            "created_at": utcnow(),
        }
        upsert(
            self.session,
            MembershipRow,
            [row],
            conflict=["workspace_id", "user_id"],
            update=["role"],
        )
        return self._get(ws.id, usr.id)

    add = deprecated_alias(create, "add")

    def _get(self, workspace_id: object, user_id: object) -> Membership:
        stmt = select(MembershipRow).where(
            MembershipRow.workspace_id == workspace_id, MembershipRow.user_id == user_id
        )
        return Membership.model_validate(self.session.scalars(stmt).one())

    def remove(self, workspace: WorkspaceRef, user: UserRef) -> bool:
        """Revoke; returns whether there was a membership to revoke."""
        ws = WorkspaceRepository(self.session).get(workspace)
        usr = UserRepository(self.session).get(user)
        result = self.session.execute(
            delete(MembershipRow).where(
                MembershipRow.workspace_id == ws.id, MembershipRow.user_id == usr.id
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    @readonly
    def list(
        self,
        *,
        workspace: WorkspaceRef | None = None,
        user: UserRef | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[Membership]:
        """Memberships oldest first, of one workspace or one user when given."""
        stmt = select(MembershipRow)
        if workspace is not None:
            stmt = stmt.where(
                MembershipRow.workspace_id == WorkspaceRepository(self.session).get(workspace).id
            )
        if user is not None:
            stmt = stmt.where(MembershipRow.user_id == UserRepository(self.session).get(user).id)
        keys = [(MembershipRow.created_at, False), (MembershipRow.id, False)]
        return page(self.session, stmt, keys, Membership.model_validate, limit=limit, cursor=cursor)
