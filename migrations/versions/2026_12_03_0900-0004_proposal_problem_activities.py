"""proposal problem statement and activities

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("proposal", sa.Column("problem_statement", sa.Text(), nullable=True))
    op.add_column("proposal", sa.Column("activities", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("proposal", "activities")
    op.drop_column("proposal", "problem_statement")
