"""Use cases of territories, PCCs, action plans and their items."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import pcc as c
from contracts import permissions as p
from contracts.common import ValidationIssue
from contracts.enums import ActionPlanStatus
from service.audit.service import record, snapshot
from service.changes import check_version, delete_audited, record_created, update_versioned
from service.context import RequestContext
from service.i18n import i18n, i18n_dict
from service.mapping import to_read
from service.pagination import keyset, split_page
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    Indicator,
    IndicatorValue,
    Pcc,
    PccMember,
    Territory,
)
from service.problems import Conflict, InvalidInput, NotFound

# --- territories and PCCs ---------------------------------------------------------------------


def _territory_read(t: Territory, pcc_id: uuid.UUID | None) -> c.TerritoryRead:
    return to_read(c.TerritoryRead, t, name=i18n(t.name), region=i18n(t.region), pcc_id=pcc_id)


_TERRITORIES = select(Territory, Pcc.id).outerjoin(Pcc, col(Pcc.territory_id) == col(Territory.id))


async def list_territories(session: AsyncSession, ctx: RequestContext) -> c.TerritoryList:
    ctx.require(p.can_read_territories(ctx.actor))
    rows = await session.execute(_TERRITORIES.order_by(Territory.code))
    return c.TerritoryList(items=[_territory_read(t, pid) for t, pid in rows])


async def get_territory(
    session: AsyncSession, ctx: RequestContext, territory_id: uuid.UUID
) -> c.TerritoryRead:
    ctx.require(p.can_read_territories(ctx.actor))
    row = (await session.execute(_TERRITORIES.where(Territory.id == territory_id))).one_or_none()
    if row is None:
        raise NotFound(f"territory {territory_id} does not exist")
    return _territory_read(row[0], row[1])


async def _pcc_reads(session: AsyncSession, pccs: list[Pcc]) -> list[c.PccRead]:
    members: dict[uuid.UUID, list[c.PccMemberRead]] = defaultdict(list)
    if pccs:
        rows = await session.execute(
            select(PccMember)
            .where(col(PccMember.pcc_id).in_([x.id for x in pccs]))
            .order_by(PccMember.pillar, PccMember.full_name)
        )
        for m in rows.scalars():
            members[m.pcc_id].append(to_read(c.PccMemberRead, m))
    return [to_read(c.PccRead, x, name=i18n(x.name), members=members[x.id]) for x in pccs]


async def list_pccs(session: AsyncSession, ctx: RequestContext) -> list[c.PccRead]:
    ctx.require(p.can_read_territories(ctx.actor))
    pccs = list(
        (
            await session.execute(
                select(Pcc)
                .join(Territory, col(Territory.id) == col(Pcc.territory_id))
                .order_by(Territory.code)
            )
        ).scalars()
    )
    return await _pcc_reads(session, pccs)


async def get_pcc(session: AsyncSession, ctx: RequestContext, pcc_id: uuid.UUID) -> c.PccRead:
    ctx.require(p.can_read_territories(ctx.actor))
    pcc = await session.get(Pcc, pcc_id)
    if pcc is None:
        raise NotFound(f"PCC {pcc_id} does not exist")
    return (await _pcc_reads(session, [pcc]))[0]


# --- action plans -----------------------------------------------------------------------------

_ITEM_STATS = (
    select(
        ActionPlanItem.action_plan_id,
        func.count().label("n"),
        func.coalesce(func.sum(ActionPlanItem.budget_estimate), 0).label("total"),
    )
    .group_by(col(ActionPlanItem.action_plan_id))
    .subquery()
)
_PLANS = select(
    ActionPlan,
    func.coalesce(_ITEM_STATS.c.n, 0),
    func.coalesce(_ITEM_STATS.c.total, 0),
).outerjoin(_ITEM_STATS, _ITEM_STATS.c.action_plan_id == ActionPlan.id)


def _plan_read(plan: ActionPlan, n: int, total: int) -> c.ActionPlanRead:
    return to_read(
        c.ActionPlanRead, plan, title=i18n(plan.title), item_count=int(n), budget_total=int(total)
    )


async def list_action_plans(
    session: AsyncSession,
    ctx: RequestContext,
    pcc_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> c.ActionPlanPage:
    ctx.require(p.can_read_action_plans(ctx.actor))
    stmt = _PLANS
    if not p.sees_draft_action_plans(ctx.actor):
        stmt = stmt.where(col(ActionPlan.status) != ActionPlanStatus.DRAFT)
    if pcc_id is not None:
        stmt = stmt.where(ActionPlan.pcc_id == pcc_id)
    rows = list(
        (
            await session.execute(keyset(stmt, ActionPlan.created_at, ActionPlan.id, cursor, limit))
        ).all()
    )
    rows, next_cursor = split_page(rows, limit, lambda r: (r[0].created_at, r[0].id))
    return c.ActionPlanPage(items=[_plan_read(*r) for r in rows], next_cursor=next_cursor)


async def _plan_or_404(
    session: AsyncSession, plan_id: uuid.UUID, *, lock: bool = False
) -> ActionPlan:
    plan = await session.get(ActionPlan, plan_id, with_for_update=lock)
    if plan is None:
        raise NotFound(f"action plan {plan_id} does not exist")
    return plan


async def _readable_plan(
    session: AsyncSession, ctx: RequestContext, plan_id: uuid.UUID
) -> ActionPlan:
    """The plan if this actor may read it; drafts do not exist for those who may not see them."""
    ctx.require(p.can_read_action_plans(ctx.actor))
    plan = await _plan_or_404(session, plan_id)
    if not p.can_read_action_plan(ctx.actor, plan.status).allowed:
        raise NotFound(f"action plan {plan_id} does not exist")
    return plan


async def _read_plan(session: AsyncSession, plan_id: uuid.UUID) -> c.ActionPlanRead:
    row = (await session.execute(_PLANS.where(ActionPlan.id == plan_id))).one()
    return _plan_read(row[0], row[1], row[2])


async def get_action_plan(
    session: AsyncSession, ctx: RequestContext, plan_id: uuid.UUID
) -> c.ActionPlanRead:
    await _readable_plan(session, ctx, plan_id)
    return await _read_plan(session, plan_id)


def _check_period(start: Any, end: Any) -> None:
    if end < start:
        raise InvalidInput(
            "the period ends before it starts",
            [ValidationIssue(field="body.period_end", message=f"{end} is before {start}")],
        )


async def create_action_plan(
    session: AsyncSession, ctx: RequestContext, body: c.ActionPlanCreate
) -> c.ActionPlanRead:
    ctx.require(p.can_manage_action_plans(ctx.actor))
    if await session.get(Pcc, body.pcc_id) is None:
        raise InvalidInput(
            "no such PCC", [ValidationIssue(field="body.pcc_id", message="unknown PCC")]
        )
    _check_period(body.period_start, body.period_end)
    plan = ActionPlan(
        pcc_id=body.pcc_id,
        title=i18n_dict(body.title),
        period_start=body.period_start,
        period_end=body.period_end,
        status=body.status,
    )
    session.add(plan)
    await session.flush()
    await session.refresh(plan)
    await record_created(session, ctx, "action_plan", plan)
    return _plan_read(plan, 0, 0)


async def update_action_plan(
    session: AsyncSession, ctx: RequestContext, plan_id: uuid.UUID, body: c.ActionPlanUpdate
) -> c.ActionPlanRead:
    ctx.require(p.can_manage_action_plans(ctx.actor))
    plan = await _plan_or_404(session, plan_id, lock=True)
    await update_versioned(
        session,
        ctx,
        plan,
        body,
        entity="action_plan",
        validate=lambda row: _check_period(row.period_start, row.period_end),
    )
    return await _read_plan(session, plan.id)


async def delete_action_plan(
    session: AsyncSession, ctx: RequestContext, plan_id: uuid.UUID
) -> None:
    ctx.require(p.can_manage_action_plans(ctx.actor))
    plan = await _plan_or_404(session, plan_id, lock=True)
    if plan.status != "draft":
        raise Conflict(f"only draft action plans can be deleted; this one is {plan.status}")
    await delete_audited(session, ctx, "action_plan", plan)


# --- items and indicators ---------------------------------------------------------------------


def _indicator_read(i: Indicator) -> c.IndicatorRead:
    return to_read(c.IndicatorRead, i, name=i18n(i.name))


async def _item_reads(
    session: AsyncSession, items: list[ActionPlanItem]
) -> list[c.ActionPlanItemRead]:
    indicators: dict[uuid.UUID, list[c.IndicatorRead]] = defaultdict(list)
    if items:
        rows = await session.execute(
            select(Indicator)
            .where(col(Indicator.action_plan_item_id).in_([i.id for i in items]))
            .order_by(col(Indicator.action_plan_item_id), col(Indicator.unit), col(Indicator.id))
        )
        for ind in rows.scalars():
            indicators[ind.action_plan_item_id].append(_indicator_read(ind))
    return [
        to_read(c.ActionPlanItemRead, i, objective=i18n(i.objective), indicators=indicators[i.id])
        for i in items
    ]


async def list_items(
    session: AsyncSession, ctx: RequestContext, plan_id: uuid.UUID
) -> c.ActionPlanItemList:
    await _readable_plan(session, ctx, plan_id)
    items = list(
        (
            await session.execute(
                select(ActionPlanItem)
                .where(ActionPlanItem.action_plan_id == plan_id)
                .order_by(ActionPlanItem.code)
            )
        ).scalars()
    )
    return c.ActionPlanItemList(items=await _item_reads(session, items))


async def _item_or_404(
    session: AsyncSession, item_id: uuid.UUID, *, lock: bool = False
) -> ActionPlanItem:
    item = await session.get(ActionPlanItem, item_id, with_for_update=lock)
    if item is None:
        raise NotFound(f"action-plan item {item_id} does not exist")
    return item


async def get_item(
    session: AsyncSession, ctx: RequestContext, item_id: uuid.UUID
) -> c.ActionPlanItemRead:
    ctx.require(p.can_read_action_plans(ctx.actor))
    item = await _item_or_404(session, item_id)
    await _readable_plan(session, ctx, item.action_plan_id)
    return (await _item_reads(session, [item]))[0]


async def _check_code_free(
    session: AsyncSession, plan_id: uuid.UUID, code: str, except_id: uuid.UUID | None = None
) -> None:
    stmt = select(ActionPlanItem.id).where(
        ActionPlanItem.action_plan_id == plan_id, ActionPlanItem.code == code
    )
    if except_id is not None:
        stmt = stmt.where(ActionPlanItem.id != except_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"this action plan already has an item with code {code}")


INDICATOR_LIMIT = Decimal(10) ** 14  # NUMERIC(18, 4)


def _check_indicator(body: c.IndicatorCreate, field: str) -> None:
    for name in ("target", "baseline"):
        value = getattr(body, name)
        if value is None:
            continue
        if not value.is_finite() or abs(value) >= INDICATOR_LIMIT:
            raise InvalidInput(
                f"indicator {name} must be a finite number below 10^14",
                [ValidationIssue(field=f"{field}.{name}", message=f"{value} is not allowed")],
            )


def _new_indicator(item_id: uuid.UUID, body: c.IndicatorCreate) -> Indicator:
    return Indicator(
        action_plan_item_id=item_id,
        name=i18n_dict(body.name),
        unit=body.unit,
        target=body.target,
        baseline=body.baseline,
    )


async def create_item(
    session: AsyncSession, ctx: RequestContext, plan_id: uuid.UUID, body: c.ActionPlanItemCreate
) -> c.ActionPlanItemRead:
    ctx.require(p.can_manage_action_plans(ctx.actor))
    plan = await _plan_or_404(session, plan_id, lock=True)
    for n, ind in enumerate(body.indicators):
        _check_indicator(ind, f"body.indicators[{n}]")
    await _check_code_free(session, plan.id, body.code)
    item = ActionPlanItem(
        action_plan_id=plan.id,
        code=body.code,
        objective=i18n_dict(body.objective),
        activities=body.activities,
        budget_estimate=body.budget_estimate,
        currency=body.currency,
        target_groups=list(body.target_groups),
        gender_responsive=body.gender_responsive,
        conflict_sensitive=body.conflict_sensitive,
    )
    session.add(item)
    await session.flush()
    for ind in body.indicators:
        session.add(_new_indicator(item.id, ind))
    await session.flush()
    await session.refresh(item)
    await record(
        session,
        ctx,
        action="action_plan_item.created",
        entity="action_plan_item",
        entity_id=item.id,
        after={**(snapshot(item) or {}), "indicators": msgspec.to_builtins(body.indicators)},
    )
    return (await _item_reads(session, [item]))[0]


async def update_item(
    session: AsyncSession, ctx: RequestContext, item_id: uuid.UUID, body: c.ActionPlanItemUpdate
) -> c.ActionPlanItemRead:
    ctx.require(p.can_manage_action_plans(ctx.actor))
    item = await _item_or_404(session, item_id, lock=True)
    check_version(item, body)
    if isinstance(body.code, str):
        await _check_code_free(session, item.action_plan_id, body.code, except_id=item.id)
    await update_versioned(session, ctx, item, body, entity="action_plan_item")
    return (await _item_reads(session, [item]))[0]


async def delete_item(session: AsyncSession, ctx: RequestContext, item_id: uuid.UUID) -> None:
    ctx.require(p.can_manage_action_plans(ctx.actor))
    item = await _item_or_404(session, item_id, lock=True)
    await delete_audited(session, ctx, "action_plan_item", item)


async def add_indicator(
    session: AsyncSession, ctx: RequestContext, item_id: uuid.UUID, body: c.IndicatorCreate
) -> c.IndicatorRead:
    ctx.require(p.can_manage_action_plans(ctx.actor))
    item = await _item_or_404(session, item_id, lock=True)
    _check_indicator(body, "body")
    ind = _new_indicator(item.id, body)
    session.add(ind)
    await session.flush()
    await record_created(session, ctx, "indicator", ind)
    return _indicator_read(ind)


async def _indicator_of_item(
    session: AsyncSession, item_id: uuid.UUID, indicator_id: uuid.UUID
) -> Indicator:
    ind = await session.get(Indicator, indicator_id, with_for_update=True)
    if ind is None or ind.action_plan_item_id != item_id:
        raise NotFound(f"indicator {indicator_id} of item {item_id} does not exist")
    return ind


async def update_indicator(
    session: AsyncSession,
    ctx: RequestContext,
    item_id: uuid.UUID,
    indicator_id: uuid.UUID,
    body: c.IndicatorUpdate,
) -> c.IndicatorRead:
    """Change an indicator's name, unit, target or baseline; unchanged, nothing is written."""
    ctx.require(p.can_manage_action_plans(ctx.actor))
    await _item_or_404(session, item_id, lock=True)
    ind = await _indicator_of_item(session, item_id, indicator_id)
    for name in ("target", "baseline"):
        value = getattr(body, name)
        if isinstance(value, Decimal) and (not value.is_finite() or abs(value) >= INDICATOR_LIMIT):
            raise InvalidInput(
                f"indicator {name} must be a finite number below 10^14",
                [ValidationIssue(field=f"body.{name}", message=f"{value} is not allowed")],
            )
    before = snapshot(ind)
    changes: dict[str, Any] = {}
    if not isinstance(body.name, msgspec.UnsetType):
        changes["name"] = i18n_dict(body.name)
    for name in ("unit", "target", "baseline"):
        value = getattr(body, name)
        if not isinstance(value, msgspec.UnsetType):
            changes[name] = value
    changed = {k: v for k, v in changes.items() if getattr(ind, k) != v}
    if changed:
        for key, value in changed.items():
            setattr(ind, key, value)
        await session.flush()
        await record(
            session,
            ctx,
            action="indicator.updated",
            entity="indicator",
            entity_id=ind.id,
            before=before,
            after=snapshot(ind),
        )
    return _indicator_read(ind)


async def delete_indicator(
    session: AsyncSession, ctx: RequestContext, item_id: uuid.UUID, indicator_id: uuid.UUID
) -> None:
    """Delete an indicator no report has given a value for (409 otherwise)."""
    ctx.require(p.can_manage_action_plans(ctx.actor))
    await _item_or_404(session, item_id, lock=True)
    ind = await _indicator_of_item(session, item_id, indicator_id)
    used = await session.execute(
        select(IndicatorValue.id).where(col(IndicatorValue.indicator_id) == ind.id).limit(1)
    )
    if used.first() is not None:
        raise Conflict("grantee reports hold values for this indicator; it cannot be deleted")
    await delete_audited(session, ctx, "indicator", ind)
