"""Funding sources: the donors and partners contributing to the pooled fund."""

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from contracts.enums import FundingSourceKind
from service.persistence.base import (
    created_at_field,
    currency_check,
    currency_field,
    enum_field,
    fk_field,
    id_field,
    text_field,
)


class FundingSource(SQLModel, table=True):
    __tablename__ = "funding_source"
    __table_args__ = (currency_check(),)

    id: uuid.UUID = id_field()
    code: str = Field(sa_column=sa.Column(sa.String(40), nullable=False, unique=True))
    name: str = text_field(max_length=300)
    kind: FundingSourceKind = enum_field(FundingSourceKind, "funding_source_kind")
    currency: str = currency_field()
    description: str | None = text_field(nullable=True)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="1")
    )
    created_at: datetime = created_at_field()


class ExchangeRate(SQLModel, table=True):
    """A rate of the day entered by a finance officer: units of `quote_currency` (the grants'
    currency) per one unit of `currency`. Append-only history; one rate per pair and day."""

    __tablename__ = "exchange_rate"
    __table_args__ = (
        currency_check(),
        currency_check("quote_currency"),
        sa.CheckConstraint("rate > 0", name="rate_positive"),
        sa.CheckConstraint("currency <> quote_currency", name="distinct_currencies"),
        sa.UniqueConstraint("currency", "quote_currency", "valid_on"),
    )

    id: uuid.UUID = id_field()
    currency: str = currency_field(default=None)
    quote_currency: str = currency_field()
    rate: Decimal = Field(sa_column=sa.Column(sa.Numeric(18, 8), nullable=False))
    valid_on: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    source: str | None = text_field(nullable=True, max_length=200)
    created_by: uuid.UUID = fk_field("app_user.id")
    created_at: datetime = created_at_field()
