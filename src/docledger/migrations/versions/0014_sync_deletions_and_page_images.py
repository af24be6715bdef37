"""Folder sync deletions and page images

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26

``documents.deleted_at``: a folder sync marks documents whose source file vanished as deleted
instead of deleting them, so their history stays and a returning file restores them; search
and listings leave them out. ``page_images``: pages rendered to PNG (for OCR and for drawing
boxes over the page), one row per (version, page, dpi) naming a blob, so gc keeps the image
while the row exists and a deleted version takes its images' rows with it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import docledger.db.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "page_images",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("page_number", sa.Integer(), nullable=False),
        sa.Column("dpi", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", docledger.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("dpi >= 1", name=op.f("ck_page_images_dpi_min")),
        sa.CheckConstraint("page_number >= 1", name=op.f("ck_page_images_page_number_min")),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["blobs.sha256"],
            name=op.f("fk_page_images_sha256_blobs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["document_versions.id"],
            name=op.f("fk_page_images_version_id_document_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_images")),
        sa.UniqueConstraint(
            "version_id",
            "page_number",
            "dpi",
            name=op.f("uq_page_images_version_id_page_number_dpi"),
        ),
    )
    with op.batch_alter_table("page_images", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_images_sha256"), ["sha256"], unique=False)

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("deleted_at", docledger.db.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")

    with op.batch_alter_table("page_images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_images_sha256"))

    op.drop_table("page_images")
