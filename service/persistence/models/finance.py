"""Funding sources: the donors and partners contributing to the pooled fund."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from contracts.enums import FundingSourceKind
from service.persistence.base import (
    created_at_field,
    currency_check,
    currency_field,
    enum_field,
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
