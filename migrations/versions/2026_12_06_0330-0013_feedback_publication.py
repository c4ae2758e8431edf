"""feedback published deliberately: a window's applicants read their feedback once a programme
officer publishes it, after the selection's approval (and any decision changes)

`call_window` gains `feedback_published_at` / `feedback_published_by` (both or neither). Windows
whose selection run was approved before this migration keep their feedback visible: they count as
published by the run's approver at the approval's time, as applicants already read it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 03:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "call_window",
        sa.Column("feedback_published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column("call_window", sa.Column("feedback_published_by", sa.Uuid(), nullable=True))
    op.create_index(
        op.f("ix_call_window_feedback_published_by"),
        "call_window",
        ["feedback_published_by"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_call_window_feedback_published_by_app_user"),
        "call_window",
        "app_user",
        ["feedback_published_by"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.execute(
        "UPDATE call_window AS w SET feedback_published_at = r.approved_at,"
        " feedback_published_by = r.approved_by"
        " FROM selection_run AS r"
        " WHERE r.window_id = w.id AND r.status = 'approved'"
        " AND r.approved_by IS NOT NULL AND r.approved_at IS NOT NULL"
    )
    op.create_check_constraint(
        op.f("ck_call_window_feedback_publication_pair"),
        "call_window",
        "(feedback_published_at IS NULL) = (feedback_published_by IS NULL)",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_call_window_feedback_publication_pair"), "call_window", type_="check"
    )
    op.drop_constraint(
        op.f("fk_call_window_feedback_published_by_app_user"), "call_window", type_="foreignkey"
    )
    op.drop_index(op.f("ix_call_window_feedback_published_by"), table_name="call_window")
    op.drop_column("call_window", "feedback_published_by")
    op.drop_column("call_window", "feedback_published_at")
