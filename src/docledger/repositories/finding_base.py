"""What the finding modules share: naming a link's target, reading a finding confined to a
workspace, and the audited compare-and-set every review action goes through (see finding.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update

from docledger.db.types import utcnow
from docledger.errors import Conflict, InvalidInput
from docledger.ids import new_id
from docledger.models import Document as DocumentRow
from docledger.models import DocumentVersion as VersionRow
from docledger.models import Finding as FindingRow
from docledger.models import FindingEvent as EventRow
from docledger.models import Segment as SegmentRow
from docledger.repositories.base import Repository, require_uuid
from docledger.repositories.user import UserRepository
from docledger.repositories.workspace import WorkspaceRef, confine
from docledger.schemas.document import Document, DocumentVersion
from docledger.schemas.embedding import SearchHit
from docledger.schemas.extraction import Segment
from docledger.schemas.finding import (
    Finding,
)
from docledger.vocab import LinkTarget, values

#: what a link can point at: a DTO (Segment, SearchHit, DocumentVersion, Document, Finding)
#: or an explicit ``(target_type, id)`` pair
Target = tuple[str, uuid.UUID | str] | Any

TARGET_ROWS: dict[str, Any] = {
    "segment": SegmentRow,
    "version": VersionRow,
    "document": DocumentRow,
    "finding": FindingRow,
}
TYPED_COLUMNS = {
    "segment": "segment_id",
    "version": "version_id",
    "document": "document_id",
    "finding": "target_finding_id",
}
IN_LIST = 500
LINK_COLUMNS = (
    "id",
    "finding_id",
    "target_type",
    "target_id",
    "segment_id",
    "version_id",
    "document_id",
    "target_finding_id",
    "relation",
    "strength",
    "reasoning",
    "state",
    "stale_reason",
    "created_at",
)


_TARGET_TYPES = frozenset(values(LinkTarget))
#: DTO class -> (target type, the attribute holding its id)
_DTO_TARGETS: dict[type, tuple[str, str]] = {
    Segment: ("segment", "id"),
    SearchHit: ("segment", "segment_id"),
    DocumentVersion: ("version", "id"),
    Document: ("document", "id"),
    Finding: ("finding", "id"),
}


def target_key(target: Target) -> tuple[str, uuid.UUID]:
    """(target type, id) of a DTO or an explicit pair; InvalidInput for anything else."""
    if type(target) is tuple and len(target) == 2 and target[0] in _TARGET_TYPES:
        key = target[1]  # the bulk writers' common case first
        return target[0], key if type(key) is uuid.UUID else require_uuid(key, f"{target[0]} id")
    found = _DTO_TARGETS.get(type(target))
    if found is not None:
        return found[0], getattr(target, found[1])
    if isinstance(target, tuple | list) and len(target) == 2:
        kind, key = target
        if kind not in values(LinkTarget):
            raise InvalidInput(f"evidence is a {' / '.join(values(LinkTarget))}, not {kind!r}")
        return str(kind), require_uuid(key, f"{kind} id")
    raise InvalidInput(
        "evidence is a Segment, SearchHit, DocumentVersion, Document or Finding, or a "
        f"(type, id) pair, not {type(target).__name__}"
    )


class FindingBase(Repository):
    def _actor(self, actor: str | uuid.UUID | None) -> tuple[uuid.UUID | None, str | None]:
        if actor is None:
            return None, None
        user = UserRepository(self.session).get(actor)
        return user.id, user.email

    def _finding_row(self, finding: Any, workspace: WorkspaceRef | None) -> FindingRow:
        key = finding.id if isinstance(finding, Finding) else require_uuid(finding, "finding id")
        return confine(  # type: ignore[no-any-return]
            self.session, self.session.get(FindingRow, key), workspace, f"no finding {key}"
        )

    def _event(
        self,
        finding_id: uuid.UUID,
        action: str,
        revision: int,
        actor: tuple[uuid.UUID | None, str | None],
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        at: datetime,
    ) -> None:
        row = {
            "id": new_id(),
            "finding_id": finding_id,
            "action": action,
            "revision": revision,
            "actor_id": actor[0],
            "actor": actor[1],
            "before": before,
            "after": after,
            "at": at,
        }
        self.session.execute(insert(EventRow), [row])

    def _change(
        self,
        row: FindingRow,
        action: str,
        expected_revision: int | None,
        changes: dict[str, Any],
        actor: str | uuid.UUID | None,
        note: str | None = None,
    ) -> Finding:
        """Compare-and-set ``changes`` on the revision read, and audit them."""
        if expected_revision is not None and (
            isinstance(expected_revision, bool) or not isinstance(expected_revision, int)
        ):
            raise InvalidInput("expected_revision is a whole number")
        read = row.revision if expected_revision is None else expected_revision
        who = self._actor(actor)
        now = utcnow()
        before = {k: getattr(row, k) for k in changes} | {"revision": read}
        values_ = {**changes, "revision": read + 1, "updated_at": now}
        if action in {"confirm", "reject", "reopen"}:
            values_ |= {"reviewed_by": who[0], "reviewed_at": now}
        result = self.session.execute(
            update(FindingRow)
            .where(FindingRow.id == row.id, FindingRow.revision == read)
            .values(values_)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                f"finding {row.id} is not at revision {read} any more: reload and review again"
            )
        after = jsonable(changes) | {"revision": read + 1}
        if note is not None:
            after["note"] = note
        self._event(row.id, action, read + 1, who, jsonable(before), after, now)
        self.session.expire(row)
        return Finding.model_validate(self._finding_row(row.id, None))


def jsonable(values_: Mapping[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in values_.items()}
