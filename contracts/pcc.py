"""Territories, PCCs, action plans, items and indicators."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from contracts.common import Code, CurrencyCode, Cursor, I18nText, LongText, MinorUnits, Request
from contracts.currencies import KGS
from contracts.enums import ActionPlanStatus, Pillar

TargetGroups = Annotated[
    list[Annotated[str, Meta(min_length=1, max_length=100)]], Meta(max_length=30)
]
IndicatorValue = Annotated[
    Decimal,
    Meta(
        description="A decimal number, sent as a string: below 10^14, at most 4 decimals",
        extra_json_schema={"pattern": r"^-?[0-9]{1,14}(\.[0-9]{1,4})?$"},
    ),
]
Unit = Annotated[str, Meta(min_length=1, max_length=40)]


class PccMemberRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    full_name: str
    pillar: Pillar
    position: str | None


class PccRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    territory_id: uuid.UUID
    name: I18nText
    established_year: int | None
    members: list[PccMemberRead]


class TerritoryRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    kind: str
    name: I18nText
    region: I18nText
    pcc_id: uuid.UUID | None


class TerritoryList(msgspec.Struct, kw_only=True):
    items: list[TerritoryRead]


class IndicatorCreate(Request, kw_only=True):
    name: I18nText
    unit: Unit
    target: IndicatorValue
    baseline: IndicatorValue | None = None


class IndicatorUpdate(Request, kw_only=True):
    """Change an indicator: the fields sent replace the stored ones (`baseline: null` clears
    it). Indicators carry no version: the last change wins."""

    name: I18nText | UnsetType = UNSET
    unit: Unit | UnsetType = UNSET
    target: IndicatorValue | UnsetType = UNSET
    baseline: IndicatorValue | UnsetType | None = UNSET


class IndicatorRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: I18nText
    unit: str
    baseline: Decimal | None
    target: Decimal
    actual: Decimal | None


class ActionPlanItemCreate(Request, kw_only=True):
    code: Code
    objective: I18nText
    activities: LongText
    budget_estimate: MinorUnits
    currency: CurrencyCode = KGS
    target_groups: TargetGroups = []
    gender_responsive: bool = False
    conflict_sensitive: bool = False
    indicators: Annotated[list[IndicatorCreate], Meta(max_length=50)] = []


class ActionPlanItemUpdate(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]
    code: Code | UnsetType = UNSET
    objective: I18nText | UnsetType = UNSET
    activities: LongText | UnsetType = UNSET
    budget_estimate: MinorUnits | UnsetType = UNSET
    currency: CurrencyCode | UnsetType = UNSET
    target_groups: TargetGroups | UnsetType = UNSET
    gender_responsive: bool | UnsetType = UNSET
    conflict_sensitive: bool | UnsetType = UNSET


class ActionPlanItemRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    action_plan_id: uuid.UUID
    code: str
    objective: I18nText
    activities: str
    budget_estimate: int
    currency: str
    target_groups: list[str]
    gender_responsive: bool
    conflict_sensitive: bool
    indicators: list[IndicatorRead]
    version: int
    created_at: datetime


class ActionPlanItemList(msgspec.Struct, kw_only=True):
    items: list[ActionPlanItemRead]


class ActionPlanCreate(Request, kw_only=True):
    pcc_id: uuid.UUID
    title: I18nText
    period_start: date
    period_end: date
    status: ActionPlanStatus = ActionPlanStatus.DRAFT


class ActionPlanUpdate(Request, kw_only=True):
    version: Annotated[int, Meta(ge=1)]
    title: I18nText | UnsetType = UNSET
    period_start: date | UnsetType = UNSET
    period_end: date | UnsetType = UNSET
    status: ActionPlanStatus | UnsetType = UNSET


class ActionPlanRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    pcc_id: uuid.UUID
    title: I18nText
    period_start: date
    period_end: date
    status: ActionPlanStatus
    item_count: int
    budget_total: int
    version: int
    created_at: datetime


class ActionPlanPage(msgspec.Struct, kw_only=True):
    items: list[ActionPlanRead]
    next_cursor: Cursor | None = None
