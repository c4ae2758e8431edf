"""Grants, their tranche schedules and charges, amendments, and the disbursement ledger."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.common import CurrencyCode, Cursor, PositiveMinorUnits, Request
from contracts.enums import GrantStatus, LedgerEntryKind, TrancheConditionKind, TrancheStatus

Rate = Annotated[
    str,
    Meta(
        pattern=r"^\d{1,10}(\.\d{1,8})?$",
        max_length=20,
        description="Exchange rate as a decimal string: units of the grant's currency per unit"
        " of the other currency (e.g. `89.4500` KGS per USD)",
        examples=["89.45"],
    ),
]
Reason = Annotated[str, Meta(min_length=3, max_length=2000)]
Reference = Annotated[str, Meta(min_length=1, max_length=120)]


class ConditionInput(Request, kw_only=True):
    """A release condition. `params` by kind: `agreement_signed` none; `progress_report_accepted`
    and `financial_report_accepted` `{"count": n}` (n accepted reports of that kind, default 1);
    `indicator_reported` `{"indicator_id": "…"}` (an accepted report gives a value for it)."""

    kind: TrancheConditionKind
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class TrancheInput(Request, kw_only=True):
    amount: PositiveMinorUnits
    planned_date: date
    action_plan_item_ids: Annotated[list[uuid.UUID], Meta(min_length=1, max_length=20)]
    conditions: Annotated[list[ConditionInput], Meta(max_length=10)] = msgspec.field(
        default_factory=list
    )


class ChargeInput(Request, kw_only=True):
    """An explicit charge to one of the window's funding sources, in the grant's currency."""

    funding_source_id: uuid.UUID
    amount: PositiveMinorUnits


class GrantCreate(Request, kw_only=True):
    """Turn a selected proposal into a grant. `charges` omitted: charged to the window's funding
    sources pro rata to what each still has available in the window."""

    proposal_id: uuid.UUID
    amount: PositiveMinorUnits
    currency: CurrencyCode | None = None
    start_date: date
    end_date: date
    agreement_reference: Annotated[str, Meta(min_length=1, max_length=80)] | None = None
    tranches: Annotated[list[TrancheInput], Meta(min_length=1, max_length=24)]
    charges: Annotated[list[ChargeInput], Meta(min_length=1, max_length=20)] | None = None


class AmendmentCreate(Request, kw_only=True):
    """Change a grant's terms. `tranches` replaces the schedule of the tranches not yet paid
    (disbursed tranches stay as they are); the new amount is what is paid plus the new schedule.
    A lower amount releases money back to the window pro rata to the charges' unpaid parts."""

    version: Annotated[int, Meta(ge=1)]
    reason: Reason
    start_date: date | UnsetType = UNSET
    end_date: date | UnsetType = UNSET
    agreement_reference: Annotated[str, Meta(min_length=1, max_length=80)] | UnsetType = UNSET
    tranches: Annotated[list[TrancheInput], Meta(max_length=24)] | UnsetType = UNSET


class AgreementSignature(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]
    agreement_reference: Annotated[str, Meta(min_length=1, max_length=80)]
    signed_on: date | None = None


class ConditionRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: TrancheConditionKind
    params: dict[str, Any]
    met_at: datetime | None


class TrancheRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    grant_id: uuid.UUID
    position: int
    amount: int
    currency: str
    planned_date: date
    status: TrancheStatus
    action_plan_item_ids: list[uuid.UUID]
    conditions: list[ConditionRead]
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    confirmed_by: uuid.UUID | None
    confirmed_at: datetime | None
    needs_confirmation: bool
    cancelled_reason: str | None
    version: int
    approved_by_name: str | None = None
    """The full name of the programme officer who approved it (the four eyes, shown plainly)."""
    confirmed_by_name: str | None = None
    """The full name of the finance officer who confirmed it."""


class ChargeRead(msgspec.Struct, kw_only=True):
    funding_source_id: uuid.UUID
    funding_source_code: str
    amount: int
    currency: str
    source_amount: int
    source_currency: str
    rate: str


class GrantRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    proposal_id: uuid.UUID
    organisation_id: uuid.UUID
    window_id: uuid.UUID
    call_id: uuid.UUID
    title: str
    amount: int
    currency: str
    disbursed_amount: int
    start_date: date
    end_date: date
    agreement_reference: str | None
    agreement_signed_at: datetime | None
    status: GrantStatus
    version: int
    tranches: list[TrancheRead]
    charges: list[ChargeRead]
    created_at: datetime


class GrantSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    proposal_id: uuid.UUID
    organisation_id: uuid.UUID
    window_id: uuid.UUID
    title: str
    amount: int
    currency: str
    disbursed_amount: int
    status: GrantStatus
    version: int
    created_at: datetime


class GrantPage(msgspec.Struct, kw_only=True):
    items: list[GrantSummary]
    next_cursor: Cursor | None = None


class GrantVersionRead(msgspec.Struct, kw_only=True):
    version: int
    amount: int
    terms: dict[str, Any]
    reason: str
    created_by: uuid.UUID
    created_at: datetime


class TrancheTransition(Request, kw_only=True):
    """Approve (programme officer) or confirm (a second finance officer) a tranche."""

    version: Annotated[int, Meta(ge=1)]
    comment: Annotated[str, Meta(max_length=2000)] | None = None


class TrancheCancellation(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]
    reason: Reason


class TrancheDuePage(msgspec.Struct, kw_only=True):
    items: list[TrancheRead]
    next_cursor: Cursor | None = None


class DisbursementCreate(Request, kw_only=True):
    """Pay a tranche: `amount` must equal the tranche's. `rates` gives, for each funding-source
    currency other than the grant's, the rate of the day (grant units per source unit); it is
    required for those currencies. `paid_currency`/`paid_rate`: when the transfer itself was made
    in another currency than the grant's."""

    amount: PositiveMinorUnits
    value_date: date
    reference: Reference
    bank_details: dict[str, Annotated[str, Meta(max_length=200)]] = msgspec.field(
        default_factory=dict
    )
    rates: dict[CurrencyCode, Rate] = msgspec.field(default_factory=dict)
    paid_currency: CurrencyCode | None = None
    paid_rate: Rate | None = None


class ReversalCreate(Request, kw_only=True):
    reason: Reason
    value_date: date
    reference: Reference


class LedgerSplitRead(msgspec.Struct, kw_only=True):
    funding_source_id: uuid.UUID
    funding_source_code: str
    amount: int
    currency: str
    source_amount: int
    committed_source_amount: int
    exchange_difference: int
    source_currency: str
    rate: str


class LedgerEntryRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    tranche_id: uuid.UUID
    grant_id: uuid.UUID
    kind: LedgerEntryKind
    amount: int
    currency: str
    source_amount: int
    source_currency: str
    rate: str
    value_date: date
    reference: str
    bank_details: dict[str, Any]
    reverses_id: uuid.UUID | None
    reason: str | None
    attempt: int
    approved_by: uuid.UUID | None
    confirmed_by: uuid.UUID | None
    created_by: uuid.UUID
    created_at: datetime
    splits: list[LedgerSplitRead]
    created_by_name: str | None = None
    """The full name of the finance officer who recorded the entry (the payer)."""


class LedgerPage(msgspec.Struct, kw_only=True):
    items: list[LedgerEntryRead]
    next_cursor: Cursor | None = None
