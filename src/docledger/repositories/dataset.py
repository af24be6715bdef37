"""Frozen, content-hashed training-set snapshots of approved annotations."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select

from docledger.db.types import utcnow
from docledger.errors import InvalidInput, NotFound
from docledger.ids import new_id
from docledger.models import Annotation as AnnotationRow
from docledger.models import Dataset as DatasetRow
from docledger.models import DatasetItem as ItemRow
from docledger.repositories.base import Repository, as_uuid, readonly, where_given
from docledger.repositories.lineage import LineageRepository
from docledger.repositories.paging import page
from docledger.repositories.run import RunRepository
from docledger.repositories.workspace import WorkspaceRef, WorkspaceRepository, confine
from docledger.schemas.common import Page
from docledger.schemas.dataset import Dataset, DatasetItem

FILTER_KEYS = {"kind", "kinds", "document_ids", "label"}


def _digest(items: list[dict[str, Any]]) -> str:
    """Hash of the snapshot's content: the same labels give the same hash, whatever the order
    they were made in or the moment of the snapshot."""
    canonical = json.dumps(
        [
            [
                str(i["annotation_id"]),
                i["annotation_revision"],
                i["target_type"],
                str(i["target_id"]),
                i["kind"],
                i["value"],
            ]
            for i in items
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class DatasetRepository(Repository):
    def snapshot(
        self,
        name: str,
        filter: dict[str, Any] | None = None,  # noqa: A002 - the issue's and seeds' word
        *,
        workspace: WorkspaceRef | None = None,
    ) -> Dataset:
        """Freeze the approved annotations matching ``filter`` (kind / kinds / document_ids /
        label) as dataset ``name`` version n+1, or return the existing version when the
        content is unchanged. Later edits never change a snapshot: values are copied."""
        if not name or len(name) > 200:
            raise InvalidInput("a dataset needs a name of 1..200 characters")
        if filter is not None and not isinstance(filter, Mapping):
            raise InvalidInput("a dataset filter is a JSON object")
        flt = dict(filter or {})
        unknown = set(flt) - FILTER_KEYS
        if unknown:
            raise InvalidInput(f"unknown dataset filter keys {sorted(unknown)}")
        ws = WorkspaceRepository(self.session).get(workspace)
        stmt = select(AnnotationRow).where(
            AnnotationRow.workspace_id == ws.id, AnnotationRow.status == "approved"
        )
        kinds = flt.get("kinds") or ([flt["kind"]] if "kind" in flt else None)
        if kinds:
            stmt = stmt.where(AnnotationRow.kind.in_(list(kinds)))
        if flt.get("document_ids"):
            ids = [as_uuid(d) for d in flt["document_ids"]]
            if None in ids:
                raise InvalidInput("document_ids must be UUIDs")
            stmt = stmt.where(AnnotationRow.document_id.in_(ids))
        rows = list(self.session.scalars(stmt.order_by(AnnotationRow.id)))
        if "label" in flt:
            rows = [r for r in rows if r.value.get("label") == flt["label"]]
        items = [
            {
                "annotation_id": r.id,
                "annotation_revision": r.revision,
                "target_type": r.target_type,
                "target_id": r.segment_id or r.version_id or r.document_id,
                "kind": r.kind,
                "value": r.value,
            }
            for r in rows
        ]
        digest = _digest(items)
        newest = self.session.scalars(
            select(DatasetRow)
            .where(DatasetRow.workspace_id == ws.id, DatasetRow.name == name)
            .order_by(DatasetRow.version.desc())
            .limit(1)
        ).first()
        if newest is not None and newest.content_hash == digest:
            return Dataset.model_validate(newest)  # unchanged since the latest version
        latest = newest.version if newest is not None else 0
        dataset_id = new_id()
        row = {
            "id": dataset_id,
            "workspace_id": ws.id,
            "name": name,
            "version": (latest or 0) + 1,
            "content_hash": digest,
            "filter": flt,
            "item_count": len(items),
            "created_at": utcnow(),
        }
        self.session.execute(insert(DatasetRow), [row])
        if items:
            self.session.execute(
                insert(ItemRow),
                [{"dataset_id": row["id"], "ordinal": n, **item} for n, item in enumerate(items)],
            )
        self._lineage(ws.id, name, dataset_id, rows)
        return Dataset.model_validate(row)

    def _lineage(
        self, ws_id: uuid.UUID, name: str, dataset_id: uuid.UUID, rows: list[AnnotationRow]
    ) -> None:
        """A snapshot run: the versions its annotations label (the document, for labels on a
        whole document) in, the dataset out; so upstream(model) reaches the files."""
        versions = {r.version_id for r in rows if r.version_id is not None}
        documents = {r.document_id for r in rows if r.version_id is None}
        runs = RunRepository(self.session)
        lineage = LineageRepository(self.session)
        run = runs.create(f"snapshot {name}", "pipeline", workspace=ws_id)
        lineage.link(
            run.id,
            "in",
            [("version", v) for v in sorted(versions, key=str)]
            + [("document", d) for d in sorted(documents, key=str)],
        )
        lineage.link(run.id, "out", [("dataset", dataset_id)])
        runs.finish(run.id)

    def _row(
        self, name_or_id: str | uuid.UUID, version: int | None, workspace: WorkspaceRef | None
    ) -> DatasetRow:
        key = as_uuid(name_or_id)
        found = None
        if key is not None:
            found = self.session.get(DatasetRow, key)
            if found is not None:
                return confine(  # type: ignore[no-any-return]
                    self.session, found, workspace, f"no dataset {name_or_id}"
                )
        if found is None:
            ws = WorkspaceRepository(self.session).get(workspace)
            stmt = select(DatasetRow).where(
                DatasetRow.workspace_id == ws.id, DatasetRow.name == str(name_or_id)
            )
            stmt = (
                stmt.where(DatasetRow.version == version)
                if version is not None
                else stmt.order_by(DatasetRow.version.desc()).limit(1)
            )
            found = self.session.scalars(stmt).first()
        if found is None:
            raise NotFound(f"no dataset {name_or_id}" + (f" v{version}" if version else ""))
        return found

    @readonly
    def get(
        self,
        name_or_id: str | uuid.UUID,
        version: int | None = None,
        *,
        workspace: WorkspaceRef | None = None,
    ) -> Dataset:
        """A dataset by id, or by name (newest version unless ``version``)."""
        return Dataset.model_validate(self._row(name_or_id, version, workspace))

    @readonly
    def items(
        self,
        name_or_id: str | uuid.UUID,
        version: int | None = None,
        *,
        workspace: WorkspaceRef | None = None,
    ) -> list[DatasetItem]:
        row = self._row(name_or_id, version, workspace)
        stmt = select(ItemRow).where(ItemRow.dataset_id == row.id).order_by(ItemRow.ordinal)
        return [DatasetItem.model_validate(i) for i in self.session.scalars(stmt)]

    @readonly
    def list(
        self,
        *,
        name: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        workspace: WorkspaceRef | None = None,
    ) -> Page[Dataset]:
        """Datasets by name and version, every version of ``name`` when given."""
        ws = WorkspaceRepository(self.session).get(workspace)
        stmt = where_given(
            select(DatasetRow).where(DatasetRow.workspace_id == ws.id), (DatasetRow.name, name)
        )
        keys = [(DatasetRow.name, False), (DatasetRow.version, False), (DatasetRow.id, False)]
        return page(self.session, stmt, keys, Dataset.model_validate, limit=limit, cursor=cursor)
