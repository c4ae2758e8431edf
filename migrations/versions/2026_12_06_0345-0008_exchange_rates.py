"""exchange rates: the rates of the day entered by finance officers, kept as a history

`exchange_rate` (currency, quote currency, rate, the day it is valid on, where it came from, who
entered it): one rate per pair and day, never updated (a later day's rate is a new row).

Revision ID: 0008
Revises: 0013
Create Date: 2026-12-06 03:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_rate",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("quote_currency", sa.CHAR(3), nullable=False),
        sa.Column("rate", sa.Numeric(18, 8), nullable=False),
        sa.Column("valid_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "currency ~ '^[A-Z]{3}$'", name=op.f("ck_exchange_rate_currency_iso4217")
        ),
        sa.CheckConstraint(
            "quote_currency ~ '^[A-Z]{3}$'", name=op.f("ck_exchange_rate_quote_currency_iso4217")
        ),
        sa.CheckConstraint("rate > 0", name=op.f("ck_exchange_rate_rate_positive")),
        sa.CheckConstraint(
            "currency <> quote_currency", name=op.f("ck_exchange_rate_distinct_currencies")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["app_user.id"],
            name=op.f("fk_exchange_rate_created_by_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_rate")),
        sa.UniqueConstraint(
            "currency",
            "quote_currency",
            "valid_on",
            name=op.f("uq_exchange_rate_currency_quote_currency_valid_on"),
        ),
    )
    op.create_index(
        op.f("ix_exchange_rate_created_by"), "exchange_rate", ["created_by"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_exchange_rate_created_by"), table_name="exchange_rate")
    op.drop_table("exchange_rate")
