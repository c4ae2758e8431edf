"""API key rotation: a successor key names the key it replaces (issue 18)

`api_key.rotated_from_id`: the key this one was issued to replace (`CreateApiKeyRotation`); NULL
for a key created afresh. Unique: a key has at most one successor, so a retried rotation cannot
fork a key into two live successors. The old key's end of overlap is its `expires_at`.

Revision ID: 0014
Revises: 0017
Create Date: 2026-12-06 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_key", sa.Column("rotated_from_id", sa.Uuid(), nullable=True))
    op.create_unique_constraint(op.f("uq_api_key_rotated_from_id"), "api_key", ["rotated_from_id"])
    op.create_foreign_key(
        op.f("fk_api_key_rotated_from_id_api_key"),
        "api_key",
        "api_key",
        ["rotated_from_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_check_constraint(
        op.f("ck_api_key_not_rotated_from_itself"), "api_key", "rotated_from_id <> id"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_api_key_not_rotated_from_itself"), "api_key", type_="check")
    op.drop_constraint(op.f("fk_api_key_rotated_from_id_api_key"), "api_key", type_="foreignkey")
    op.drop_constraint(op.f("uq_api_key_rotated_from_id"), "api_key", type_="unique")
    op.drop_column("api_key", "rotated_from_id")
