"""A PCC's action-plan progress: per plan item, the grants and tranches that finance it, the money
committed and disbursed for it, and each indicator's latest value from accepted reports.

Money follows the finance views (docs/finance.md): each non-cancelled tranche's amount is split
equally over its action-plan items (largest remainder, in item-code order), an item's committed
money is the sum of its parts, its disbursed money the parts of tranches now disbursed. Amounts
are integer minor units and are never converted: totals are given per currency (`MoneyTotal`,
one per currency present, in currency order)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import msgspec

from contracts.common import I18nText
from contracts.enums import ActionPlanStatus, GrantStatus, ReportKind, TrancheStatus


class MoneyTotal(msgspec.Struct, kw_only=True):
    """Committed and disbursed money in one currency (integer minor units)."""

    currency: str
    committed: int
    disbursed: int


class TrancheFunding(msgspec.Struct, kw_only=True):
    """A tranche that pays (in part) for the item: its whole amount and this item's share."""

    tranche_id: uuid.UUID
    position: int
    planned_date: date
    status: TrancheStatus
    amount: int
    share: int
    """The part of `amount` counted for this item (the tranche split equally over its items)."""
    item_count: int
    """How many action-plan items the tranche pays for."""
    currency: str


class GrantFunding(msgspec.Struct, kw_only=True):
    """A grant with at least one non-cancelled tranche financing the item."""

    grant_id: uuid.UUID
    agreement_reference: str | None
    title: str
    organisation_id: uuid.UUID
    organisation_name: str
    status: GrantStatus
    currency: str
    committed: int
    """Σ of this grant's tranche shares for the item."""
    disbursed: int
    """Σ of the shares of this grant's tranches now disbursed."""
    tranches: list[TrancheFunding]


class IndicatorSource(msgspec.Struct, kw_only=True):
    """The accepted report a latest value comes from. Reports have no period of their own: the
    tranche they report for (its position and planned date) stands for it, when there is one."""

    report_id: uuid.UUID
    kind: ReportKind
    grant_id: uuid.UUID
    agreement_reference: str | None
    organisation_name: str
    tranche_position: int | None
    tranche_planned_date: date | None
    submitted_at: datetime | None
    accepted_at: datetime


class IndicatorProgress(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: I18nText
    unit: str
    baseline: Decimal | None
    target: Decimal
    latest: Decimal | None
    """The value of the most recently accepted report giving one; null when none does yet."""
    note: str | None
    source: IndicatorSource | None


class ItemProgress(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    objective: I18nText
    budget_estimate: int
    currency: str
    gap: bool
    """No non-cancelled tranche of any grant finances this item yet."""
    grants: list[GrantFunding]
    totals: list[MoneyTotal]
    indicators: list[IndicatorProgress]


class PlanProgress(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    title: I18nText
    period_start: date
    period_end: date
    status: ActionPlanStatus
    gap_count: int
    items: list[ItemProgress]
    totals: list[MoneyTotal]


class PccProgress(msgspec.Struct, kw_only=True):
    """A PCC's action plans (drafts only for programme staff), newest period first."""

    pcc_id: uuid.UUID
    name: I18nText
    territory_id: uuid.UUID
    territory_name: I18nText
    plans: list[PlanProgress]
    totals: list[MoneyTotal]
