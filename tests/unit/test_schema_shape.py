"""Facts about the model metadata that need no database."""

from __future__ import annotations

from sqlalchemy import CheckConstraint

from docledger.db.base import Base
from docledger.services import schema

DESIGN_TABLES = {
    "workspaces",
    "users",
    "memberships",
    "blobs",
    "documents",
    "document_versions",
    "extractions",
    "segments",
    "embedding_spaces",
    "embeddings",
    "annotations",
    "annotation_events",
    "datasets",
    "dataset_items",
    "jobs",
    "job_events",
    "runs",
    "run_events",
    "lineage_edges",
    "model_versions",
    "exports",
    "findings",
    "finding_links",
    "conversations",
    "messages",
    "retrievals",
}


def test_every_design_table_exists() -> None:
    """``metrics`` is a view of ``metric_chunks`` (migration 0012); tested on both dialects in
    tests/integration/test_tracking.py."""
    assert set(Base.metadata.tables) >= DESIGN_TABLES
    assert "metric_chunks" in Base.metadata.tables


def test_every_status_like_column_has_a_check() -> None:
    enum_columns = {"status", "kind", "role", "stage", "level", "direction", "action", "metric"}
    missing = []
    for table in Base.metadata.tables.values():
        checked = " ".join(
            str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)
        )
        for column in table.columns:
            if column.name in enum_columns and column.name not in checked:
                missing.append(f"{table.name}.{column.name}")
    # findings.kind is free text on purpose: each product names its own inferred item kinds.
    assert missing == ["findings.kind"]


def test_every_constraint_and_index_is_named() -> None:
    for table in Base.metadata.tables.values():
        for item in (*table.constraints, *table.indexes):
            assert item.name, f"{table.name}: unnamed {type(item).__name__}"


def test_shipped_head_is_alembics_head() -> None:
    """Ledger.open compares the stored revision with the newest migration file's number
    (no Alembic import); that must be the revision Alembic itself calls head."""
    assert schema.shipped_head() == schema.head_revision()
    assert [rev for rev, _down, _msg in schema.history()][-1] == schema.shipped_head()
