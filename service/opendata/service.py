"""The awarded grants of decided windows, gathered once for the open-data files (IATI 2.03 XML,
360Giving JSON and CSV). A decided window is one whose selection run was approved.

Only organisations, territories, funding sources, calls and money are read here: no column of
a person (names, e-mails, phones of users, members or staff; nor an organisation's e-mail,
phone or address, which are often a person's) is ever selected. Five queries whatever the
number of grants."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.enums import LedgerEntryKind, OrganisationKind, TrancheStatus
from service.finance.views import BISHKEK, minor_unit_exponent
from service.persistence.models import (
    Call,
    CallWindow,
    FundingSource,
    Grant,
    GrantCharge,
    LedgerEntry,
    Organisation,
    Proposal,
    SelectionRun,
    Territory,
    Tranche,
)


def major(amount: int, currency: str) -> Decimal:
    """Integer minor units as an exact Decimal in major units with the currency's ISO 4217
    exponent: ``(15000000, "KGS")`` → ``Decimal("150000.00")``; never through a float."""
    exponent = minor_unit_exponent(currency)
    return Decimal(amount).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


@dataclass(frozen=True)
class OpenFunder:
    code: str
    name: str
    amount: int
    """The part of the grant charged to it, in the grant's currency (minor units)."""


@dataclass(frozen=True)
class OpenPayment:
    id: uuid.UUID
    kind: LedgerEntryKind
    amount: int
    """Minor units, negative for a reversal."""
    value_date: date


@dataclass(frozen=True)
class OpenTranche:
    amount: int
    planned_date: date


@dataclass
class OpenGrant:
    id: uuid.UUID
    title: str
    summary: str
    currency: str
    amount: int
    requested: int
    disbursed: int
    start_date: date
    end_date: date
    created_at: datetime
    awarded_on: date
    """The day (Asia/Bishkek) the window's selection was approved."""
    modified_at: datetime
    organisation_id: uuid.UUID
    organisation_name: str
    organisation_kind: OrganisationKind
    territory_code: str
    territory_kind: str
    """`district` or `city`."""
    territory_name: dict[str, str]
    territory_region: dict[str, str]
    window_code: str
    window_title: dict[str, str]
    call_title: dict[str, str]
    funders: list[OpenFunder] = field(default_factory=list)
    payments: list[OpenPayment] = field(default_factory=list)
    tranches: list[OpenTranche] = field(default_factory=list)


@dataclass(frozen=True)
class OpenData:
    grants: list[OpenGrant]
    modified_at: datetime | None
    """The latest change among the grants (None when there is none)."""


async def awarded_grants(session: AsyncSession) -> OpenData:
    decided_at = (
        sa_select(
            col(SelectionRun.window_id).label("window_id"),
            func.min(col(SelectionRun.approved_at)).label("decided_at"),
        )
        .where(col(SelectionRun.approved_at).is_not(None))
        .group_by(col(SelectionRun.window_id))
        .subquery()
    )
    rows = (
        await session.execute(
            sa_select(
                col(Grant.id),
                col(Proposal.title),
                col(Proposal.summary),
                col(Grant.currency),
                col(Grant.amount),
                col(Proposal.requested_amount),
                col(Grant.disbursed_amount),
                col(Grant.start_date),
                col(Grant.end_date),
                col(Grant.created_at),
                decided_at.c.decided_at,
                col(Organisation.id),
                col(Organisation.name),
                col(Organisation.kind),
                col(Territory.code),
                col(Territory.kind),
                col(Territory.name),
                col(Territory.region),
                col(CallWindow.code),
                col(CallWindow.title),
                col(Call.title),
            )
            .join(decided_at, decided_at.c.window_id == col(Grant.window_id))
            .join(Proposal, col(Proposal.id) == col(Grant.proposal_id))
            .join(Organisation, col(Organisation.id) == col(Grant.organisation_id))
            .join(Territory, col(Territory.id) == col(Organisation.territory_id))
            .join(CallWindow, col(CallWindow.id) == col(Grant.window_id))
            .join(Call, col(Call.id) == col(CallWindow.call_id))
            .order_by(decided_at.c.decided_at, col(CallWindow.code), col(Grant.id))
        )
    ).all()
    grants = [
        OpenGrant(
            id=r[0],
            title=r[1],
            summary=r[2],
            currency=r[3],
            amount=r[4],
            requested=r[5],
            disbursed=r[6],
            start_date=r[7],
            end_date=r[8],
            created_at=r[9],
            awarded_on=r[10].astimezone(BISHKEK).date(),
            modified_at=max(r[9], r[10]),
            organisation_id=r[11],
            organisation_name=r[12],
            organisation_kind=r[13],
            territory_code=r[14],
            territory_kind=r[15],
            territory_name=r[16],
            territory_region=r[17],
            window_code=r[18],
            window_title=r[19],
            call_title=r[20],
        )
        for r in rows
    ]
    by_id = {g.id: g for g in grants}
    ids = list(by_id)
    if not ids:
        return OpenData(grants=[], modified_at=None)

    for grant_id, code, name, amount in await session.execute(
        sa_select(
            col(GrantCharge.grant_id),
            col(FundingSource.code),
            col(FundingSource.name),
            col(GrantCharge.amount),
        )
        .join(FundingSource, col(FundingSource.id) == col(GrantCharge.funding_source_id))
        .where(col(GrantCharge.grant_id).in_(ids))
        .order_by(col(GrantCharge.grant_id), col(FundingSource.code))
    ):
        by_id[grant_id].funders.append(OpenFunder(code=code, name=name, amount=amount))

    for entry_id, grant_id, kind, amount, value_date, created_at in await session.execute(
        sa_select(
            col(LedgerEntry.id),
            col(LedgerEntry.grant_id),
            col(LedgerEntry.kind),
            col(LedgerEntry.amount),
            col(LedgerEntry.value_date),
            col(LedgerEntry.created_at),
        )
        .where(col(LedgerEntry.grant_id).in_(ids))
        .order_by(col(LedgerEntry.grant_id), col(LedgerEntry.value_date), col(LedgerEntry.id))
    ):
        g = by_id[grant_id]
        signed = -amount if kind == LedgerEntryKind.REVERSAL else amount
        g.payments.append(OpenPayment(entry_id, kind, signed, value_date))
        g.modified_at = max(g.modified_at, created_at)

    planned: dict[uuid.UUID, list[OpenTranche]] = defaultdict(list)
    for grant_id, amount, planned_date, created_at in await session.execute(
        sa_select(
            col(Tranche.grant_id),
            col(Tranche.amount),
            col(Tranche.planned_date),
            col(Tranche.created_at),
        )
        .where(col(Tranche.grant_id).in_(ids), col(Tranche.status) != TrancheStatus.CANCELLED)
        .order_by(col(Tranche.grant_id), col(Tranche.planned_date), col(Tranche.position))
    ):
        planned[grant_id].append(OpenTranche(amount, planned_date))
        by_id[grant_id].modified_at = max(by_id[grant_id].modified_at, created_at)
    for grant_id, tranches in planned.items():
        by_id[grant_id].tranches = tranches

    return OpenData(grants=grants, modified_at=max(g.modified_at for g in grants))
