"""review queue: the window's review deadline, the reviewer's no-conflict declaration

`call_window.review_deadline`: when the panel's reviews are due (shown in the reviewer's queue).
`review_assignment.no_conflict_declared_at`: when the reviewer declared having no conflict of
interest; the proposal is shown only after it. Assignments that already have a review were
opened before the rule: their review's creation time stands for the declaration.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 02:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "call_window", sa.Column("review_deadline", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "review_assignment",
        sa.Column("no_conflict_declared_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute(
        "UPDATE review_assignment AS a SET no_conflict_declared_at = r.created_at "
        "FROM review AS r WHERE r.assignment_id = a.id"
    )


def downgrade() -> None:
    op.drop_column("review_assignment", "no_conflict_declared_at")
    op.drop_column("call_window", "review_deadline")
