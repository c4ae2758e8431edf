"""Funding sources, and the finance views (summary, upcoming tranches, ledger export)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.common import Code, CurrencyCode, Cursor, NameText, Request
from contracts.currencies import KGS
from contracts.enums import FundingSourceKind, TrancheStatus

Description = Annotated[str, Meta(max_length=5000)]


class FundingSourceCreate(Request, kw_only=True):
    code: Code
    name: NameText
    kind: FundingSourceKind
    currency: CurrencyCode = KGS
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


# --- finance views: the summary, upcoming tranches, the ledger export ------------------------

FinanceDimension = Literal[
    "call", "window", "territory", "pcc", "action_plan_item", "funding_source", "organisation_kind"
]
"""What the finance summary groups by."""

UpcomingTrancheStatus = Literal["planned", "due", "approved"]
"""The tranche states the upcoming-tranches list can be filtered to (all still to be paid)."""

LedgerExportFormat = Literal["csv", "xlsx"]


class FinanceSummaryRow(msgspec.Struct, kw_only=True):
    """One group of the finance summary. Money in integer minor units of `currency` (the grants'
    currency). `committed` is what the grants in the group commit now (cancelled tranches are no
    longer part of it); `disbursed` is paid out net of reversals; `remaining = committed −
    disbursed`. `envelope` (and so `available = envelope − committed`) is known only when grouping
    by call, window or funding source; otherwise both are null. Grouped by territory, PCC or
    action-plan item, each tranche's amount is split equally (to the minor unit) over its items.
    The `source_*` fields and `exchange_difference` are given only when grouping by funding
    source: amounts in the source's own currency, at the commitment rate and at the payment
    rates; `exchange_difference` is disbursed at payment rates minus the same at the commitment
    rate (positive: the source paid more of its currency than committed)."""

    key: str
    label: str
    code: str | None = None
    currency: str
    envelope: int | None = None
    committed: int
    disbursed: int
    remaining: int
    available: int | None = None
    grants: int
    source_currency: str | None = None
    committed_source_amount: int | None = None
    disbursed_source_amount: int | None = None
    exchange_difference: int | None = None


class FinanceSummaryTotals(msgspec.Struct, kw_only=True):
    """The sums of the rows' money columns; `grants` counts each grant once (a grant may fall in
    several rows when grouped by item, PCC, territory or funding source)."""

    currency: str
    envelope: int | None = None
    committed: int
    disbursed: int
    remaining: int
    available: int | None = None
    grants: int


class FinanceSummaryRead(msgspec.Struct, kw_only=True):
    by: FinanceDimension
    currency: str
    call_id: uuid.UUID | None = None
    window_id: uuid.UUID | None = None
    rows: list[FinanceSummaryRow]
    totals: FinanceSummaryTotals


class UpcomingTrancheRead(msgspec.Struct, kw_only=True):
    """A tranche still to be paid. `overdue`: its planned date is before today in Bishkek;
    `days_until` is negative then."""

    id: uuid.UUID
    grant_id: uuid.UUID
    position: int
    organisation_id: uuid.UUID
    organisation_name: str
    proposal_id: uuid.UUID
    proposal_title: str
    window_id: uuid.UUID
    window_code: str
    agreement_reference: str | None
    amount: int
    currency: str
    status: TrancheStatus
    planned_date: date
    overdue: bool
    days_until: int


class UpcomingTranchePage(msgspec.Struct, kw_only=True):
    as_of: date
    """Today in Asia/Bishkek: what `overdue` and the horizon are judged against."""
    items: list[UpcomingTrancheRead]
    next_cursor: Cursor | None = None


# --- exchange rates ---------------------------------------------------------------------------

RateText = Annotated[
    str,
    Meta(
        pattern=r"^\d{1,10}(\.\d{1,8})?$",
        max_length=20,
        description="Units of the quote currency per one unit of `currency`, as a decimal string",
        examples=["89.45"],
    ),
]


class ExchangeRateCreate(Request, kw_only=True):
    """A rate of the day (e.g. the National Bank's): one per currency pair and day, never
    changed afterwards."""

    currency: CurrencyCode
    quote_currency: CurrencyCode = KGS
    rate: RateText
    valid_on: date
    source: Annotated[str, Meta(max_length=200)] | None = None


class ExchangeRateRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    currency: str
    quote_currency: str
    rate: str
    valid_on: date
    source: str | None
    created_by: uuid.UUID
    created_by_name: str | None
    created_at: datetime


class ExchangeRatePage(msgspec.Struct, kw_only=True):
    items: list[ExchangeRateRead]
    """Newest day first."""
    next_cursor: Cursor | None = None
