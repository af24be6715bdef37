"""Model names are numbered per workspace

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05

``model_versions`` was unique by (name, version) across the store, so two workspaces could not
each have their own "ocr" v1, and a tenant registering a name another workspace used got a
Conflict for a row it cannot see. Now (workspace, name, version) is unique for workspaces'
models and (name, version) for store-wide ones (no workspace), and "one production version"
holds per name and workspace. The partial index on ``workspace_id`` is covered by the new
unique one. Downgrading restores the store-wide rules and fails if two workspaces share a name.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MINE = "workspace_id IS NOT NULL"
_SHARED = "workspace_id IS NULL"
_PRODUCTION = "stage = 'production'"


def _unique(batch: object, name: str, columns: list[str], where: str) -> None:
    batch.create_index(  # type: ignore[attr-defined]
        name,
        columns,
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_constraint("uq_model_versions_name_version", type_="unique")
        batch.drop_index("ux_model_versions_production")
        batch.drop_index("ix_model_versions_workspace_id")
        _unique(batch, "ux_model_versions_version", ["workspace_id", "name", "version"], _MINE)
        _unique(batch, "ux_model_versions_version_shared", ["name", "version"], _SHARED)
        _unique(
            batch,
            "ux_model_versions_production",
            ["workspace_id", "name"],
            f"{_MINE} AND {_PRODUCTION}",
        )
        _unique(
            batch, "ux_model_versions_production_shared", ["name"], f"{_SHARED} AND {_PRODUCTION}"
        )


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        for name in (
            "ux_model_versions_production_shared",
            "ux_model_versions_production",
            "ux_model_versions_version_shared",
            "ux_model_versions_version",
        ):
            batch.drop_index(name)
        batch.create_unique_constraint("uq_model_versions_name_version", ["name", "version"])
        _unique(batch, "ux_model_versions_production", ["name"], _PRODUCTION)
        batch.create_index(
            "ix_model_versions_workspace_id",
            ["workspace_id"],
            unique=False,
            sqlite_where=sa.text(_MINE),
            postgresql_where=sa.text(_MINE),
        )
