"""proposal co-funding amount

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "proposal",
        sa.Column("co_funding_amount", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_proposal_co_funding_amount_nonnegative"), "proposal", "co_funding_amount >= 0"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_proposal_co_funding_amount_nonnegative"), "proposal", type_="check")
    op.drop_column("proposal", "co_funding_amount")
