"""A PCC's action-plan progress (GetPccProgress): per item the grants and tranches financing it,
money committed and disbursed (the finance views' definitions), indicators' latest values from
accepted reports, and the items no grant finances yet (gaps).

A fixed number of queries whatever the size: the PCC, its members, its plans, their items, the
items' indicators, the tranche–item links of the tranches financing them, the latest accepted
values."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import permissions as p
from contracts import progress as c
from contracts import transparency as pub
from contracts.enums import ActionPlanStatus, ReportStatus, TrancheStatus
from contracts.pcc import PccRead
from scoring.money import allocate_pro_rata
from service.context import RequestContext
from service.i18n import i18n
from service.mapping import to_read
from service.pcc.service import _pcc_reads
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    Grant,
    Indicator,
    IndicatorValue,
    Organisation,
    Pcc,
    PccMember,
    Proposal,
    Report,
    Territory,
    Tranche,
    TrancheActionPlanItem,
)
from service.problems import NotFound
from service.timezones import BISHKEK


@dataclass
class _Money:
    committed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    disbursed: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, currency: str, committed: int, disbursed: int) -> None:
        self.committed[currency] += committed
        self.disbursed[currency] += disbursed

    @classmethod
    def of(cls, grants: list[c.GrantFunding]) -> _Money:
        """The committed and disbursed money of these grants' shares, per currency."""
        money = cls()
        for g in grants:
            money.add(g.currency, g.committed, g.disbursed)
        return money

    def merge(self, other: _Money) -> None:
        for cur, amount in other.committed.items():
            self.add(cur, amount, other.disbursed.get(cur, 0))

    def totals(self) -> list[c.MoneyTotal]:
        return [
            c.MoneyTotal(
                currency=cur,
                committed=self.committed[cur],
                disbursed=self.disbursed.get(cur, 0),
            )
            for cur in sorted(self.committed)
        ]


async def _funding(
    session: AsyncSession, item_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[c.GrantFunding]]:
    """Per item, the grants whose non-cancelled tranches finance it, with each tranche's share."""
    if not item_ids:
        return {}
    financing = (
        sa_select(col(TrancheActionPlanItem.tranche_id))
        .where(col(TrancheActionPlanItem.action_plan_item_id).in_(item_ids))
        .scalar_subquery()
    )
    rows = await session.execute(
        sa_select(
            col(Tranche.id),
            col(Tranche.position),
            col(Tranche.planned_date),
            col(Tranche.status),
            col(Tranche.amount),
            col(Tranche.currency),
            col(Grant.id),
            col(Grant.agreement_reference),
            col(Grant.status),
            col(Grant.currency),
            col(Organisation.id),
            col(Organisation.name),
            col(Proposal.title),
            col(ActionPlanItem.id),
        )
        .select_from(TrancheActionPlanItem)
        .join(Tranche, col(Tranche.id) == col(TrancheActionPlanItem.tranche_id))
        .join(Grant, col(Grant.id) == col(Tranche.grant_id))
        .join(Organisation, col(Organisation.id) == col(Grant.organisation_id))
        .join(Proposal, col(Proposal.id) == col(Grant.proposal_id))
        .join(
            ActionPlanItem,
            col(ActionPlanItem.id) == col(TrancheActionPlanItem.action_plan_item_id),
        )
        .where(
            col(Tranche.id).in_(financing),
            col(Tranche.status) != TrancheStatus.CANCELLED,
        )
        .order_by(col(Tranche.id), col(ActionPlanItem.code), col(ActionPlanItem.id))
    )
    by_tranche: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        by_tranche[row[0]].append(row)
    wanted = set(item_ids)
    # item -> grant -> (grant row, tranches)
    grants: dict[uuid.UUID, dict[uuid.UUID, tuple[Any, list[c.TrancheFunding]]]] = defaultdict(dict)
    for links in by_tranche.values():
        parts = allocate_pro_rata(links[0][4], [1] * len(links))
        for row, part in zip(links, parts, strict=True):
            item_id = row[13]
            if item_id not in wanted:
                continue
            tranche = c.TrancheFunding(
                tranche_id=row[0],
                position=row[1],
                planned_date=row[2],
                status=row[3],
                amount=row[4],
                share=part,
                item_count=len(links),
                currency=row[5],
            )
            grants[item_id].setdefault(row[6], (row, []))[1].append(tranche)
    result: dict[uuid.UUID, list[c.GrantFunding]] = {}
    for item_id, by_grant in grants.items():
        fundings = []
        for row, tranches in by_grant.values():
            tranches.sort(key=lambda t: t.position)
            fundings.append(
                c.GrantFunding(
                    grant_id=row[6],
                    agreement_reference=row[7],
                    title=row[12],
                    organisation_id=row[10],
                    organisation_name=row[11],
                    status=row[8],
                    currency=row[9],
                    committed=sum(t.share for t in tranches),
                    disbursed=sum(t.share for t in tranches if t.status == TrancheStatus.DISBURSED),
                    tranches=tranches,
                )
            )
        fundings.sort(key=lambda g: (g.organisation_name, g.agreement_reference or "", g.title))
        result[item_id] = fundings
    return result


async def _latest_values(
    session: AsyncSession, indicator_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[Any, c.IndicatorSource]]:
    """Per indicator, the value of the most recently accepted report giving one."""
    if not indicator_ids:
        return {}
    rows = await session.execute(
        sa_select(
            col(IndicatorValue.indicator_id),
            col(IndicatorValue.value),
            col(IndicatorValue.note),
            col(Report.id),
            col(Report.kind),
            col(Report.submitted_at),
            col(Report.decided_at),
            col(Grant.id),
            col(Grant.agreement_reference),
            col(Organisation.name),
            col(Tranche.position),
            col(Tranche.planned_date),
        )
        .select_from(IndicatorValue)
        .join(Report, col(Report.id) == col(IndicatorValue.report_id))
        .join(Grant, col(Grant.id) == col(Report.grant_id))
        .join(Organisation, col(Organisation.id) == col(Grant.organisation_id))
        .outerjoin(Tranche, col(Tranche.id) == col(Report.tranche_id))
        .where(
            col(IndicatorValue.indicator_id).in_(indicator_ids),
            col(Report.status) == ReportStatus.ACCEPTED,
        )
        .distinct(col(IndicatorValue.indicator_id))
        .order_by(
            col(IndicatorValue.indicator_id),
            col(Report.decided_at).desc(),
            col(Report.id).desc(),
        )
    )
    result: dict[uuid.UUID, tuple[Any, c.IndicatorSource]] = {}
    for row in rows:
        accepted_at = row[6]
        assert accepted_at is not None
        result[row[0]] = (
            row,
            c.IndicatorSource(
                report_id=row[3],
                kind=row[4],
                grant_id=row[7],
                agreement_reference=row[8],
                organisation_name=row[9],
                tranche_position=row[10],
                tranche_planned_date=row[11],
                submitted_at=row[5],
                accepted_at=accepted_at,
            ),
        )
    return result


def _by_item(
    items: list[ActionPlanItem],
    indicators: dict[uuid.UUID, list[Indicator]],
    funding: dict[uuid.UUID, list[c.GrantFunding]],
    latest: dict[uuid.UUID, tuple[Any, c.IndicatorSource]],
    money_by_plan: dict[uuid.UUID, _Money],
) -> Iterator[
    tuple[
        ActionPlanItem,
        list[c.GrantFunding],
        _Money,
        list[tuple[Indicator, tuple[Any, c.IndicatorSource] | None]],
    ]
]:
    """Each item with the grants financing it, their money (added to its plan's in
    ``money_by_plan``) and its indicators with their latest value (None when there is none)."""
    for item in items:
        grants = funding.get(item.id, [])
        money = _Money.of(grants)
        money_by_plan[item.action_plan_id].merge(money)
        measured = [(ind, latest.get(ind.id)) for ind in indicators.get(item.id, [])]
        yield item, grants, money, measured


async def _plan_contents(
    session: AsyncSession, plan_ids: list[uuid.UUID]
) -> tuple[
    list[ActionPlanItem],
    dict[uuid.UUID, list[Indicator]],
    dict[uuid.UUID, list[c.GrantFunding]],
    dict[uuid.UUID, tuple[Any, c.IndicatorSource]],
]:
    """The plans' items (by code), each item's indicators (by English name), the grants financing
    each item and each indicator's latest accepted value: one query per kind of row, shared by
    the PCC's own progress and the public one."""
    items: list[ActionPlanItem] = []
    if plan_ids:
        items = list(
            (
                await session.execute(
                    select(ActionPlanItem)
                    .where(col(ActionPlanItem.action_plan_id).in_(plan_ids))
                    .order_by(col(ActionPlanItem.code), col(ActionPlanItem.id))
                )
            ).scalars()
        )
    indicators: dict[uuid.UUID, list[Indicator]] = defaultdict(list)
    if items:
        for ind in (
            await session.execute(
                select(Indicator)
                .where(col(Indicator.action_plan_item_id).in_([x.id for x in items]))
                .order_by(col(Indicator.id))
            )
        ).scalars():
            indicators[ind.action_plan_item_id].append(ind)
    for values in indicators.values():
        values.sort(key=lambda ind: (i18n(ind.name).en, str(ind.id)))
    funding = await _funding(session, [x.id for x in items])
    latest = await _latest_values(session, [ind.id for inds in indicators.values() for ind in inds])
    return items, indicators, funding, latest


async def get_pcc_progress(
    session: AsyncSession, ctx: RequestContext, pcc_id: uuid.UUID
) -> c.PccProgress:
    found = (
        await session.execute(
            select(Pcc, Territory)
            .join(Territory, col(Territory.id) == col(Pcc.territory_id))
            .where(col(Pcc.id) == pcc_id)
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"PCC {pcc_id} does not exist")
    pcc, territory = found
    member_ids = set(
        (
            await session.execute(
                select(PccMember.user_id).where(
                    col(PccMember.pcc_id) == pcc_id, col(PccMember.user_id).is_not(None)
                )
            )
        ).scalars()
    )
    ctx.require(p.can_read_pcc_progress(ctx.actor, {m for m in member_ids if m is not None}))

    plan_query = select(ActionPlan).where(col(ActionPlan.pcc_id) == pcc_id)
    if not p.sees_draft_action_plans(ctx.actor):
        plan_query = plan_query.where(col(ActionPlan.status) != ActionPlanStatus.DRAFT)
    plans = list(
        (
            await session.execute(
                plan_query.order_by(col(ActionPlan.period_start).desc(), col(ActionPlan.id))
            )
        ).scalars()
    )
    items, indicators, funding, latest = await _plan_contents(session, [x.id for x in plans])

    items_by_plan: dict[uuid.UUID, list[c.ItemProgress]] = defaultdict(list)
    money_by_plan: dict[uuid.UUID, _Money] = defaultdict(_Money)
    for item, grants, money, measured in _by_item(
        items, indicators, funding, latest, money_by_plan
    ):
        progress = [
            to_read(
                c.IndicatorProgress,
                ind,
                name=i18n(ind.name),
                latest=found_value[0][1] if found_value else None,
                note=found_value[0][2] if found_value else None,
                source=found_value[1] if found_value else None,
            )
            for ind, found_value in measured
        ]
        items_by_plan[item.action_plan_id].append(
            to_read(
                c.ItemProgress,
                item,
                objective=i18n(item.objective),
                gap=not grants,
                grants=grants,
                totals=money.totals(),
                indicators=progress,
            )
        )
    overall = _Money()
    plan_reads = []
    for plan in plans:
        plan_items = items_by_plan.get(plan.id, [])
        overall.merge(money_by_plan[plan.id])
        plan_reads.append(
            to_read(
                c.PlanProgress,
                plan,
                title=i18n(plan.title),
                gap_count=sum(1 for x in plan_items if x.gap),
                items=plan_items,
                totals=money_by_plan[plan.id].totals(),
            )
        )
    return c.PccProgress(
        pcc_id=pcc.id,
        name=i18n(pcc.name),
        territory_id=territory.id,
        territory_name=i18n(territory.name),
        plans=plan_reads,
        totals=overall.totals(),
    )


async def public_plan_progress(session: AsyncSession) -> list[pub.PublicPlanProgress]:
    """Every PCC's published (non-draft) plans with the progress GetPccProgress gives, minus
    what is not public: no report (id, note, kind), no grant reference, no person; the
    financing organisations by name only. Five queries whatever the number of plans: plans
    (with their PCC and territory), items, indicators, funding, latest values (the last four
    only when there is something to look up)."""
    plans = list(
        (
            await session.execute(
                select(ActionPlan, Pcc, Territory)
                .join(Pcc, col(Pcc.id) == col(ActionPlan.pcc_id))
                .join(Territory, col(Territory.id) == col(Pcc.territory_id))
                .where(col(ActionPlan.status) != ActionPlanStatus.DRAFT)
                .order_by(
                    col(Territory.code), col(ActionPlan.period_start).desc(), col(ActionPlan.id)
                )
            )
        ).all()
    )
    if not plans:
        return []
    items, indicators, funding, latest = await _plan_contents(
        session, [plan.id for plan, _, _ in plans]
    )

    items_by_plan: dict[uuid.UUID, list[pub.PublicItemProgress]] = defaultdict(list)
    money_by_plan: dict[uuid.UUID, _Money] = defaultdict(_Money)
    for item, grants, money, measured in _by_item(
        items, indicators, funding, latest, money_by_plan
    ):
        progress = [
            to_read(
                pub.PublicIndicatorProgress,
                ind,
                name=i18n(ind.name),
                latest=found[0][1] if found else None,
                latest_on=found[1].accepted_at.astimezone(BISHKEK).date() if found else None,
            )
            for ind, found in measured
        ]
        items_by_plan[item.action_plan_id].append(
            to_read(
                pub.PublicItemProgress,
                item,
                objective=i18n(item.objective),
                gap=not grants,
                organisations=sorted({g.organisation_name for g in grants}),
                totals=money.totals(),
                indicators=progress,
            )
        )
    result = []
    for plan, pcc, territory in plans:
        plan_items = items_by_plan.get(plan.id, [])
        result.append(
            pub.PublicPlanProgress(
                id=plan.id,
                pcc_id=pcc.id,
                pcc_name=i18n(pcc.name),
                territory_code=territory.code,
                territory_name=i18n(territory.name),
                title=i18n(plan.title),
                period_start=plan.period_start,
                period_end=plan.period_end,
                status=plan.status,
                gap_count=sum(1 for x in plan_items if x.gap),
                items=plan_items,
                totals=money_by_plan[plan.id].totals(),
            )
        )
    return result


async def list_my_pccs(session: AsyncSession, ctx: RequestContext) -> list[PccRead]:
    """The PCCs the signed-in person sits on (a member linked to their account)."""
    ctx.require(p.can_list_my_pccs(ctx.actor))
    mine = select(PccMember.pcc_id).where(col(PccMember.user_id) == ctx.actor.id)
    pccs = list(
        (
            await session.execute(
                select(Pcc)
                .join(Territory, col(Territory.id) == col(Pcc.territory_id))
                .where(col(Pcc.id).in_(mine))
                .order_by(col(Territory.code))
            )
        ).scalars()
    )
    return await _pcc_reads(session, pccs)
