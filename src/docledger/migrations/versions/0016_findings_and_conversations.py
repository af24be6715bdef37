"""Findings with review history, typed evidence, outputs; conversations with pinned citations

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26

``findings``: the free-text ``body`` becomes ``summary`` and the JSON ``data`` becomes ``body``
(validated against the kind's schema); ``revision`` for optimistic concurrency; ``stale`` and
its reason for findings whose evidence disappeared in a new version; ``merged_into_id``; the
producing run's deletion now deletes the finding (a comparison session's results go with it).
``finding_links`` gain a typed column per target (existing rows are filled from target_id),
a state (current / changed / stale) and a CHECK that the relation is named.
New: ``finding_events`` (the review audit), ``finding_kinds`` (user-registered kinds),
``finding_outputs`` (versioned outputs), ``finding_blobs`` (attached files),
``message_feedback``. ``conversations`` may belong to a run or a finding; ``retrievals`` copy
the citation they were answered from (version, page, box, text, the query and its mode).
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import docledger.db.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DT = docledger.db.types.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ACTIONS = (
    "'create', 'edit', 'confirm', 'reject', 'reopen', 'merge', 'link', 'unlink', 'carry', 'stale'"
)
ENTITIES_BEFORE = (
    "'blob', 'document', 'version', 'extraction', 'segment', 'embedding_space', 'annotation', "
    "'dataset', 'run', 'model_version', 'export', 'finding', 'conversation', 'message'"
)
ENTITIES = ENTITIES_BEFORE.replace("'finding', ", "'finding', 'finding_output', ")
TYPED = {"segment": "segment_id", "version": "version_id", "document": "document_id"}


def _partial(table: str, column: str) -> None:
    where = sa.text(f"{column} IS NOT NULL")
    op.create_index(
        f"ix_{table}_{column}", table, [column], sqlite_where=where, postgresql_where=where
    )


def upgrade() -> None:
    op.create_table(
        "finding_kinds",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("body_schema", JSON, nullable=True),
        sa.Column("relations", JSON, nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_finding_kinds_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_kinds")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_finding_kinds_workspace_id_name")
        ),
    )
    op.create_table(
        "finding_blobs",
        sa.Column("finding_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_finding_blobs_finding_id_findings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["blobs.sha256"],
            name=op.f("fk_finding_blobs_sha256_blobs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("finding_id", "name", name=op.f("pk_finding_blobs")),
    )
    op.create_index(op.f("ix_finding_blobs_sha256"), "finding_blobs", ["sha256"])
    op.create_table(
        "finding_events",
        sa.Column("finding_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=True),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column("at", UTC_DT, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(f"action IN ({ACTIONS})", name=op.f("ck_finding_events_action_valid")),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_finding_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_finding_events_finding_id_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_events")),
    )
    _partial("finding_events", "actor_id")
    op.create_index("ix_finding_events_finding_id_at", "finding_events", ["finding_id", "at"])
    op.create_table(
        "finding_outputs",
        sa.Column("finding_id", sa.Uuid(), nullable=False),
        sa.Column("output_type", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_finding_outputs_version_min")),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_finding_outputs_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_finding_outputs_finding_id_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_outputs")),
        sa.UniqueConstraint(
            "finding_id",
            "output_type",
            "version",
            name=op.f("uq_finding_outputs_finding_id_output_type_version"),
        ),
    )
    _create_message_feedback()

    with op.batch_alter_table("findings") as batch:
        batch.alter_column("body", new_column_name="summary", existing_type=sa.Text())
    with op.batch_alter_table("findings") as batch:
        batch.alter_column("data", new_column_name="body", existing_type=JSON)
        batch.add_column(
            sa.Column("revision", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        batch.add_column(
            sa.Column("stale", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch.add_column(sa.Column("stale_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa.Uuid(), nullable=True))
        batch.create_check_constraint("revision_min", "revision >= 1")
        batch.drop_constraint(op.f("fk_findings_run_id_runs"), type_="foreignkey")
        batch.create_foreign_key(
            "fk_findings_run_id_runs", "runs", ["run_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_foreign_key(
            "fk_findings_merged_into_id_findings",
            "findings",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _partial("findings", "merged_into_id")
    op.create_index(
        "ix_findings_workspace_id_status_confidence",
        "findings",
        ["workspace_id", "status", "confidence"],
    )

    _entity_checks(ENTITIES)
    with op.batch_alter_table("finding_links") as batch:
        for column in ("segment_id", "version_id", "document_id", "target_finding_id"):
            batch.add_column(sa.Column(column, sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column(
                "state", sa.String(length=16), server_default=sa.text("'current'"), nullable=False
            )
        )
        batch.add_column(sa.Column("stale_reason", sa.Text(), nullable=True))
        batch.create_check_constraint("state_valid", "state IN ('current', 'changed', 'stale')")
        batch.create_check_constraint("relation_named", "relation <> ''")
        for column, table, ondelete in (
            ("segment_id", "segments", "SET NULL"),
            ("version_id", "document_versions", "SET NULL"),
            ("document_id", "documents", "SET NULL"),
            ("target_finding_id", "findings", "SET NULL"),
        ):
            batch.create_foreign_key(
                f"fk_finding_links_{column}_{table}", table, [column], ["id"], ondelete=ondelete
            )
    for column in ("segment_id", "version_id", "document_id", "target_finding_id"):
        _partial("finding_links", column)
    _fill_typed_targets()

    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("run_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("finding_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_conversations_run_id_runs", "runs", ["run_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_foreign_key(
            "fk_conversations_finding_id_findings",
            "findings",
            ["finding_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _partial("conversations", "run_id")
    _partial("conversations", "finding_id")

    with op.batch_alter_table("retrievals") as batch:
        batch.add_column(sa.Column("mode", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("query", sa.Text(), nullable=True))
        batch.add_column(sa.Column("document_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("version_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("page_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("bbox", JSON, nullable=True))
        batch.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch.create_check_constraint(
            "mode_valid", "mode IS NULL OR mode IN ('vector', 'text', 'hybrid', 'manual')"
        )


def _create_message_feedback() -> None:
    op.create_table(
        "message_feedback",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("finding_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.CheckConstraint("rating IN (-1, 1)", name=op.f("ck_message_feedback_rating_valid")),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_message_feedback_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_message_feedback_finding_id_findings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_feedback_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_feedback")),
    )
    op.create_index("ix_message_feedback_message_id", "message_feedback", ["message_id"])
    _partial("message_feedback", "actor_id")
    _partial("message_feedback", "finding_id")
    _partial("finding_outputs", "actor_id")


def _entity_checks(allowed: str) -> None:
    """The entity types lineage edges and evidence may name (0016 adds finding_output)."""
    for table, column in (("lineage_edges", "entity_type"), ("finding_links", "target_type")):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_{column}_valid"), type_="check")
            batch.create_check_constraint(f"{column}_valid", f"{column} IN ({allowed})")


def _fill_typed_targets() -> None:
    """Links written by hand before 0016 name their target in target_id only: fill the typed
    column where the id is a UUID of a row that exists (the rest stay untyped, and read as
    stale evidence)."""
    bind = op.get_bind()
    links = sa.table(
        "finding_links",
        sa.column("id", sa.Uuid()),
        sa.column("target_type", sa.String()),
        sa.column("target_id", sa.String()),
        *(sa.column(c, sa.Uuid()) for c in (*TYPED.values(), "target_finding_id")),
    )
    columns = {**TYPED, "finding": "target_finding_id"}
    tables = {"segment": "segments", "version": "document_versions", "document": "documents"}
    tables["finding"] = "findings"
    rows = bind.execute(sa.select(links.c.id, links.c.target_type, links.c.target_id)).all()
    for link_id, target_type, target_id in rows:
        if target_type not in columns:
            continue
        try:
            key = uuid.UUID(str(target_id))
        except ValueError:
            continue
        target = sa.table(tables[target_type], sa.column("id", sa.Uuid()))
        if bind.execute(sa.select(target.c.id).where(target.c.id == key)).first() is None:
            continue
        bind.execute(
            sa.update(links)
            .where(links.c.id == link_id)
            .values({columns[target_type]: key, "target_id": str(key)})
        )


def downgrade() -> None:
    with op.batch_alter_table("retrievals") as batch:
        batch.drop_constraint(op.f("ck_retrievals_mode_valid"), type_="check")
        for column in ("text", "bbox", "page_number", "version_id", "document_id", "query", "mode"):
            batch.drop_column(column)
    op.drop_index("ix_conversations_finding_id", table_name="conversations")
    op.drop_index("ix_conversations_run_id", table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint(op.f("fk_conversations_finding_id_findings"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_conversations_run_id_runs"), type_="foreignkey")
        batch.drop_column("finding_id")
        batch.drop_column("run_id")
    for column in ("segment_id", "version_id", "document_id", "target_finding_id"):
        op.drop_index(f"ix_finding_links_{column}", table_name="finding_links")
    with op.batch_alter_table("finding_links") as batch:
        for column, table in (
            ("segment_id", "segments"),
            ("version_id", "document_versions"),
            ("document_id", "documents"),
            ("target_finding_id", "findings"),
        ):
            batch.drop_constraint(op.f(f"fk_finding_links_{column}_{table}"), type_="foreignkey")
        batch.drop_constraint(op.f("ck_finding_links_relation_named"), type_="check")
        batch.drop_constraint(op.f("ck_finding_links_state_valid"), type_="check")
        for column in (
            "stale_reason",
            "state",
            "target_finding_id",
            "document_id",
            "version_id",
            "segment_id",
        ):
            batch.drop_column(column)
    op.execute("DELETE FROM lineage_edges WHERE entity_type = 'finding_output'")
    _entity_checks(ENTITIES_BEFORE)
    op.drop_index("ix_findings_workspace_id_status_confidence", table_name="findings")
    op.drop_index("ix_findings_merged_into_id", table_name="findings")
    with op.batch_alter_table("findings") as batch:
        batch.drop_constraint(op.f("fk_findings_merged_into_id_findings"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_findings_run_id_runs"), type_="foreignkey")
        batch.create_foreign_key(
            "fk_findings_run_id_runs", "runs", ["run_id"], ["id"], ondelete="SET NULL"
        )
        batch.drop_constraint(op.f("ck_findings_revision_min"), type_="check")
        for column in ("merged_into_id", "stale_reason", "stale", "revision"):
            batch.drop_column(column)
        batch.alter_column("body", new_column_name="data", existing_type=JSON)
    with op.batch_alter_table("findings") as batch:
        batch.alter_column("summary", new_column_name="body", existing_type=sa.Text())
    op.drop_index("ix_message_feedback_finding_id", table_name="message_feedback")
    op.drop_index("ix_message_feedback_actor_id", table_name="message_feedback")
    op.drop_index("ix_finding_outputs_actor_id", table_name="finding_outputs")
    op.drop_index("ix_message_feedback_message_id", table_name="message_feedback")
    op.drop_table("message_feedback")
    op.drop_table("finding_outputs")
    op.drop_index("ix_finding_events_finding_id_at", table_name="finding_events")
    op.drop_index("ix_finding_events_actor_id", table_name="finding_events")
    op.drop_table("finding_events")
    op.drop_index(op.f("ix_finding_blobs_sha256"), table_name="finding_blobs")
    op.drop_table("finding_blobs")
    op.drop_table("finding_kinds")
