"""Dataset versions compare with the latest only

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26

A snapshot whose content equals the dataset's *latest* version returns that version; any
other content is version n+1, even when an older version held the same items (labels that
were approved, un-approved and approved again). So ``(workspace, name, content_hash)`` is no
longer unique. Downgrading restores the constraint and fails if such repeats exist.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_constraint("uq_datasets_workspace_id_name_content_hash", type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.create_unique_constraint(
            "uq_datasets_workspace_id_name_content_hash", ["workspace_id", "name", "content_hash"]
        )
