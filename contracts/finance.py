"""Funding sources."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.common import Code, CurrencyCode, Cursor, NameText, Request
from contracts.enums import FundingSourceKind

Description = Annotated[str, Meta(max_length=5000)]


class FundingSourceCreate(Request, kw_only=True):
    code: Code
    name: NameText
    kind: FundingSourceKind
    currency: CurrencyCode = "KGS"
    description: Description | None = None


class FundingSourceUpdate(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]
    name: NameText | UnsetType = UNSET
    kind: FundingSourceKind | UnsetType = UNSET
    currency: CurrencyCode | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET


class FundingSourceRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    kind: FundingSourceKind
    currency: str
    description: str | None
    version: int
    created_at: datetime


class FundingSourcePage(msgspec.Struct, kw_only=True):
    items: list[FundingSourceRead]
    next_cursor: Cursor | None = None
