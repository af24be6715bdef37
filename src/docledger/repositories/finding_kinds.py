"""The kinds of finding: the built-in ones (the seed products' features, comparisons and change
analyses, and the review items answers' down-votes open) and those a workspace registers, each
with its closed set of evidence relations and an optional JSON schema for its bodies."""

from __future__ import annotations

import builtins
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select

from docledger.db.types import utcnow
from docledger.errors import Conflict, InvalidInput
from docledger.ids import new_id
from docledger.models import FindingKind as KindRow
from docledger.repositories.base import Repository, is_number, readonly
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository
from docledger.schemas.finding import FindingKind

_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,99}$")
_RELATION = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")

_UNIT = {"type": "number", "minimum": 0, "maximum": 1}

BUILTIN: dict[str, FindingKind] = {
    kind.name: kind
    for kind in (
        FindingKind(
            name="feature",
            relations=["implements", "supports", "constrains", "extends"],
            description="a feature the feature engine found in the documents",
            builtin=True,
        ),
        FindingKind(
            name="comparison",
            relations=["old", "new"],
            body_schema={
                "type": "object",
                "properties": {
                    "drawing_name": {"type": "string"},
                    "alignment_score": _UNIT,
                    "changes_detected": {"type": "boolean"},
                },
            },
            description="two revisions of a drawing compared (evidence: the old and new version)",
            builtin=True,
        ),
        FindingKind(
            name="change_analysis",
            relations=["analyzes", "supports", "old", "new"],
            body_schema={
                "type": "object",
                "properties": {
                    "success": {"type": "boolean"},
                    "changes_found": {"type": "array"},
                    "critical_change": {"type": ["string", "null"]},
                    "recommendations": {"type": "array"},
                    "error_message": {"type": ["string", "null"]},
                },
            },
            description="what changed between two revisions (evidence: the comparison)",
            builtin=True,
        ),
        FindingKind(
            name="answer_feedback",
            relations=["cited"],
            description="an answer a user voted down, with the evidence it cited",
            builtin=True,
        ),
    )
}


def validate_body(kind: FindingKind, body: object) -> dict[str, Any]:
    """The body when it is a JSON object that passes the kind's schema, else InvalidInput
    naming the first problem."""
    if not isinstance(body, Mapping):
        raise InvalidInput("a finding's body is a JSON object")
    body = dict(body)
    if kind.body_schema is not None:
        from jsonschema import (  # noqa: PLC0415 - 40 ms, on use
            Draft202012Validator,
        )

        error = next(iter(Draft202012Validator(kind.body_schema).iter_errors(body)), None)
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(the body)"
            raise InvalidInput(
                f"the body fails kind {kind.name!r}'s schema at {where}: {error.message}"
            )
    return body


def check_unit(value: object, what: str) -> float | None:
    """A score from 0 to 1, or None."""
    if value is None:
        return None
    if not is_number(value) or not 0 <= float(value) <= 1:  # type: ignore[arg-type]
        raise InvalidInput(f"{what} is a number from 0 to 1, not {value!r}")
    return float(value)  # type: ignore[arg-type]


class FindingKindRepository(Repository):
    """Kinds per workspace. The built-in kinds exist in every workspace and cannot be
    registered again under the same name."""

    def create_kind(
        self,
        workspace_id: uuid.UUID,
        name: str,
        *,
        relations: Sequence[str],
        body_schema: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> FindingKind:
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidInput(
                f"a kind name is lower-case letters, digits, '_', '.' or '-' (at most 100), "
                f"not {name!r}"
            )
        if name in BUILTIN:
            raise Conflict(f"{name!r} is a built-in kind")
        if isinstance(relations, str) or not relations:
            raise InvalidInput("a kind names at least one relation (a list of names)")
        clean = []
        for relation in relations:
            if not isinstance(relation, str) or not _RELATION.match(relation):
                raise InvalidInput(f"relation names are lower-case words, not {relation!r}")
            if relation not in clean:
                clean.append(relation)
        schema = None if body_schema is None else dict(body_schema)
        if schema is not None:
            from jsonschema import (  # noqa: PLC0415
                Draft202012Validator,
            )
            from jsonschema.exceptions import (  # noqa: PLC0415
                SchemaError,
            )

            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as exc:
                raise InvalidInput(f"body_schema is not a JSON schema: {exc.message}") from exc
        if self._row(workspace_id, name) is not None:
            raise Conflict(f"kind {name!r} exists in this workspace")
        row = {
            "id": new_id(),
            "workspace_id": workspace_id,
            "name": name,
            "relations": clean,
            "body_schema": schema,
            "description": description,
            "created_at": utcnow(),
        }
        self.session.execute(insert(KindRow), [row])
        return FindingKind(name=name, relations=clean, body_schema=schema, description=description)

    def _row(self, workspace_id: uuid.UUID, name: str) -> KindRow | None:
        return self.session.scalar(
            select(KindRow).where(KindRow.workspace_id == workspace_id, KindRow.name == name)
        )

    def kind(self, workspace_id: uuid.UUID, name: object) -> FindingKind:
        """The kind by name, InvalidInput when neither built in nor registered here."""
        if not isinstance(name, str):
            raise InvalidInput(f"a finding kind is a name, not {name!r}")
        if name in BUILTIN:
            return BUILTIN[name]
        row = self._row(workspace_id, name)
        if row is None:
            known = ", ".join(sorted(BUILTIN))
            raise InvalidInput(
                f"unknown finding kind {name!r}: one of {known}, or register it first "
                "(findings.create_kind)"
            )
        return FindingKind(
            name=row.name,
            relations=list(row.relations),
            body_schema=row.body_schema,
            description=row.description,
        )

    def kinds(self, workspace_id: uuid.UUID) -> list[FindingKind]:
        rows = self.session.scalars(
            select(KindRow).where(KindRow.workspace_id == workspace_id).order_by(KindRow.name)
        )
        registered = [
            FindingKind(
                name=r.name,
                relations=list(r.relations),
                body_schema=r.body_schema,
                description=r.description,
            )
            for r in rows
        ]
        return [*BUILTIN.values(), *registered]


class FindingKinds(Repository):
    """The kind methods of ``ledger.findings``."""

    def create_kind(
        self,
        name: str,
        *,
        relations: Sequence[str],
        body_schema: Mapping[str, Any] | None = None,
        description: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> FindingKind:
        """Register a kind in a workspace: the relations its evidence may have (a closed set)
        and, optionally, the JSON schema every body of the kind must pass."""
        ws = WorkspaceRepository(self.session).get(workspace).id
        return FindingKindRepository(self.session).create_kind(
            ws, name, relations=relations, body_schema=body_schema, description=description
        )

    @readonly
    def kinds(self, *, workspace: WorkspaceRef | None = None) -> builtins.list[FindingKind]:
        """The built-in kinds, then the workspace's registered ones by name."""
        ws = WorkspaceRepository(self.session).get(workspace).id
        return FindingKindRepository(self.session).kinds(ws)
