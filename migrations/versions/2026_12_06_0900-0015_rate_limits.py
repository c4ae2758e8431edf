"""rate limits: request counts per fixed window, shared by every worker (issue 18)

`rate_limit_count` is UNLOGGED: counts of a minute need no WAL, no replica and no crash safety
(after a crash PostgreSQL empties it and the counts start again). The window comes first in the
primary key, so that deleting the ended windows is a range scan of it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_count",
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_rate_limit_count_used_not_negative")),
        sa.PrimaryKeyConstraint("window_start", "subject", name=op.f("pk_rate_limit_count")),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("rate_limit_count")
