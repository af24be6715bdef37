"""Exports with several formats, per-format results, the exporter version and an audit trail

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27

``exports``: ``scope`` becomes ``selection``; the single ``format`` becomes a ``formats`` list
(existing rows keep theirs as a one-item list); ``options``, per-format ``results``, the
``exporter_version``, the ``run`` whose lineage edges name what the export was made from, and
the acting user's name; status ``completed`` becomes ``succeeded`` and ``partial`` joins the
vocabulary. ``export_files`` record their format, size and record count. New:
``export_events`` (one row per step: create, start, format, fail, finish, resume, reproduce).
Runs may be of kind ``export``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import docledger.db.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DT = docledger.db.types.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
RUN_KINDS = (
    "'pipeline', 'ingest', 'extraction', 'embedding', 'training', 'evaluation', 'comparison', "
    "'other'"
)
ACTIONS = "'create', 'start', 'format', 'fail', 'finish', 'resume', 'reproduce'"


def _partial(table: str, column: str) -> None:
    where = sa.text(f"{column} IS NOT NULL")
    op.create_index(
        f"ix_{table}_{column}", table, [column], sqlite_where=where, postgresql_where=where
    )


def _run_kinds(allowed: str) -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint(op.f("ck_runs_kind_valid"), type_="check")
        batch.create_check_constraint("kind_valid", f"kind IN ({allowed})")


def upgrade() -> None:
    _run_kinds(RUN_KINDS.replace("'other'", "'export', 'other'"))
    with op.batch_alter_table("exports") as batch:
        batch.drop_constraint(op.f("ck_exports_status_valid"), type_="check")
        batch.alter_column("scope", new_column_name="selection", existing_type=JSON)
        batch.add_column(sa.Column("formats", JSON, nullable=True))
        batch.add_column(sa.Column("options", JSON, nullable=True))
        batch.add_column(sa.Column("results", JSON, nullable=True))
        batch.add_column(
            sa.Column(
                "exporter_version",
                sa.String(length=50),
                server_default=sa.text("''"),
                nullable=False,
            )
        )
        batch.add_column(sa.Column("run_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("actor", sa.String(length=320), nullable=True))
        batch.create_foreign_key(
            "fk_exports_run_id_runs", "runs", ["run_id"], ["id"], ondelete="SET NULL"
        )
    exports = sa.table(
        "exports",
        sa.column("format", sa.String()),
        sa.column("formats", sa.JSON()),
        sa.column("options", sa.JSON()),
        sa.column("results", sa.JSON()),
        sa.column("status", sa.String()),
    )
    bind = op.get_bind()
    for (fmt,) in bind.execute(sa.select(exports.c.format).distinct()).all():
        bind.execute(
            sa.update(exports)
            .where(exports.c.format == fmt)
            .values(formats=[fmt], options={}, results={})
        )
    bind.execute(
        sa.update(exports).where(exports.c.status == "completed").values(status="succeeded")
    )
    with op.batch_alter_table("exports") as batch:
        batch.drop_column("format")
        batch.alter_column("formats", existing_type=JSON, nullable=False)
        batch.alter_column("options", existing_type=JSON, nullable=False)
        batch.alter_column("results", existing_type=JSON, nullable=False)
        batch.create_check_constraint(
            "status_valid", "status IN ('pending', 'running', 'succeeded', 'partial', 'failed')"
        )
    _partial("exports", "run_id")

    with op.batch_alter_table("export_files") as batch:
        batch.add_column(
            sa.Column("format", sa.String(length=50), server_default=sa.text("''"), nullable=False)
        )
        batch.add_column(
            sa.Column("size_bytes", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column("records", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column(
                "media_type",
                sa.String(length=255),
                server_default=sa.text("'application/octet-stream'"),
                nullable=False,
            )
        )
        batch.create_check_constraint("size_bytes_min", "size_bytes >= 0")
        batch.create_check_constraint("records_min", "records >= 0")

    op.create_table(
        "export_events",
        sa.Column("export_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=50), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("at", UTC_DT, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(f"action IN ({ACTIONS})", name=op.f("ck_export_events_action_valid")),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_export_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["export_id"],
            ["exports.id"],
            name=op.f("fk_export_events_export_id_exports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_events")),
    )
    op.create_index("ix_export_events_export_id_at", "export_events", ["export_id", "at"])
    _partial("export_events", "actor_id")


def downgrade() -> None:
    op.drop_table("export_events")
    with op.batch_alter_table("export_files") as batch:
        batch.drop_constraint(op.f("ck_export_files_records_min"), type_="check")
        batch.drop_constraint(op.f("ck_export_files_size_bytes_min"), type_="check")
        for column in ("media_type", "records", "size_bytes", "format"):
            batch.drop_column(column)
    op.drop_index("ix_exports_run_id", table_name="exports")
    with op.batch_alter_table("exports") as batch:
        batch.drop_constraint(op.f("ck_exports_status_valid"), type_="check")
        batch.add_column(
            sa.Column("format", sa.String(length=50), server_default=sa.text("''"), nullable=False)
        )
    exports = sa.table(
        "exports",
        sa.column("format", sa.String()),
        sa.column("formats", sa.JSON()),
        sa.column("id", sa.Uuid()),
        sa.column("status", sa.String()),
    )
    bind = op.get_bind()
    for key, formats in bind.execute(sa.select(exports.c.id, exports.c.formats)).all():
        first = formats[0] if formats else ""
        bind.execute(sa.update(exports).where(exports.c.id == key).values(format=str(first)[:50]))
    bind.execute(
        sa.update(exports)
        .where(exports.c.status.in_(["succeeded", "partial"]))
        .values(status="completed")
    )
    with op.batch_alter_table("exports") as batch:
        batch.drop_constraint("fk_exports_run_id_runs", type_="foreignkey")
        for column in ("actor", "run_id", "exporter_version", "results", "options", "formats"):
            batch.drop_column(column)
        batch.alter_column("selection", new_column_name="scope", existing_type=JSON)
        batch.create_check_constraint(
            "status_valid", "status IN ('pending', 'running', 'completed', 'failed')"
        )
    op.execute(sa.text("DELETE FROM runs WHERE kind = 'export'"))
    _run_kinds(RUN_KINDS)
