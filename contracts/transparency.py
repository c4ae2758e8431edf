"""The public transparency view: awarded grants of decided windows, with no personal data."""

from __future__ import annotations

import uuid
from datetime import date

import msgspec

from contracts.common import I18nText
from contracts.enums import OrganisationKind


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
