"""The public transparency view: awarded grants of decided windows, with no personal data."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import msgspec

from contracts.common import I18nText
from contracts.enums import ActionPlanStatus, OrganisationKind
from contracts.progress import MoneyTotal


class PublicWindowRead(msgspec.Struct, kw_only=True):
    """A window whose selection was approved (a decided window)."""

    id: uuid.UUID
    call_id: uuid.UUID
    code: str
    call_title: I18nText
    title: I18nText
    decided_on: date
    """The day (Asia/Bishkek) its selection run was approved."""


class PublicPlanItemRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    objective: I18nText


class PublicGrantRead(msgspec.Struct, kw_only=True):
    """An awarded grant as published: the organisation's name and kind (never a person), the
    territory and PCC (the organisation's), the action-plan items its tranches fund, money in
    integer minor units. `committed`: its tranches not cancelled; `disbursed`: paid, net of
    reversals."""

    id: uuid.UUID
    window_id: uuid.UUID
    title: str
    organisation_name: str
    organisation_kind: OrganisationKind
    territory_code: str
    territory_name: I18nText
    pcc_id: uuid.UUID | None
    pcc_name: I18nText | None
    items: list[PublicPlanItemRead]
    currency: str
    committed: int
    disbursed: int
    start_date: date
    end_date: date


class PublicMoneyRow(msgspec.Struct, kw_only=True):
    """Money of the published grants in one group (a territory or a funding source)."""

    key: str
    code: str
    name: I18nText
    grants: int
    committed: int
    disbursed: int


class PublicIndicatorProgress(msgspec.Struct, kw_only=True):
    """An indicator of a plan item: its baseline and target, and the latest value from an
    accepted report (null when none gives one yet). The report itself, its note and its people
    are not published."""

    id: uuid.UUID
    name: I18nText
    unit: str
    baseline: Decimal | None
    latest: Decimal | None
    latest_on: date | None
    """The day (Asia/Bishkek) the report giving `latest` was accepted."""
    target: Decimal


class PublicItemProgress(msgspec.Struct, kw_only=True):
    """A plan item's progress, with the money of GetPccProgress (each non-cancelled tranche split
    equally over its items; committed: the shares, disbursed: the shares of tranches now
    disbursed), per currency, never converted."""

    id: uuid.UUID
    code: str
    objective: I18nText
    budget_estimate: int
    currency: str
    """The budget estimate's currency."""
    gap: bool
    """No non-cancelled tranche of any grant finances this item yet."""
    organisations: list[str]
    """The names of the organisations whose grants finance it (never a person), sorted."""
    totals: list[MoneyTotal]
    """Committed and disbursed for this item, one per currency present (none for a gap)."""
    indicators: list[PublicIndicatorProgress]


class PublicPlanProgress(msgspec.Struct, kw_only=True):
    """A PCC's published action plan (active or closed; drafts are never public) and its
    progress. Public for every PCC with such a plan, whether or not a window of its territory
    has been decided: the plans are the PCCs' public commitments, and their gaps are what the
    calls invite applicants to fill."""

    id: uuid.UUID
    pcc_id: uuid.UUID
    pcc_name: I18nText
    territory_code: str
    territory_name: I18nText
    title: I18nText
    period_start: date
    period_end: date
    status: ActionPlanStatus
    gap_count: int
    items: list[PublicItemProgress]
    totals: list[MoneyTotal]


class TransparencyRead(msgspec.Struct, kw_only=True):
    """Everything the public page shows, in `currency` (grants in other currencies are left
    out). Territories are every territory of the programme, with zeros where nothing was awarded;
    funding sources only those charged."""

    currency: str
    windows: list[PublicWindowRead]
    grants: list[PublicGrantRead]
    by_territory: list[PublicMoneyRow]
    by_funding_source: list[PublicMoneyRow]
    committed: int
    disbursed: int
    plans: list[PublicPlanProgress]
    """Every PCC's published plans with their progress, by territory code, newest period first.
    Their money is in every currency present (`totals`), not only `currency`."""
