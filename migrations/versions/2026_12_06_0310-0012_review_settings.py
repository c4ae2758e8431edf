"""review settings: N/A per criterion, the panel's scores for reviewers, stored load caps

`criterion.na_allowed`: whether a reviewer may mark the criterion not applicable. Existing
criteria keep the behaviour they had (any criterion could be marked N/A): true.
`call_window.reviewers_see_panel_scores`: whether a reviewer who submitted their own review
may read the panel's scores of the proposal; false (a window opts in).
`panel_member.load_cap`: the member's load cap in the window, used by automatic assignment;
none: no cap.

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-06 03:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "criterion",
        sa.Column("na_allowed", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "call_window",
        sa.Column(
            "reviewers_see_panel_scores", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.add_column("panel_member", sa.Column("load_cap", sa.Integer(), nullable=True))
    op.create_check_constraint(
        op.f("ck_panel_member_load_cap_nonnegative"), "panel_member", "load_cap >= 0"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_panel_member_load_cap_nonnegative"), "panel_member", type_="check")
    op.drop_column("panel_member", "load_cap")
    op.drop_column("call_window", "reviewers_see_panel_scores")
    op.drop_column("criterion", "na_allowed")
