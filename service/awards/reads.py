"""Reading grants, their tranches and their versions, with the permission checks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import awards as c
from contracts import permissions as p
from contracts.enums import GrantStatus
from service.awards._common import _names, _rate_str, grant_tranches
from service.awards.conditions import lock_grant
from service.context import PaymentPolicy, RequestContext
from service.mapping import to_read
from service.pagination import keyset, split_page
from service.persistence.models import (
    CallWindow,
    FundingSource,
    Grant,
    GrantCharge,
    GrantVersion,
    Proposal,
    Tranche,
    TrancheActionPlanItem,
    TrancheCondition,
)
from service.problems import NotFound


def _sees_grant(ctx: RequestContext, organisation_id: uuid.UUID) -> bool:
    return p.can_read_grant(ctx.actor, organisation_id).allowed


async def grant_or_404(
    session: AsyncSession,
    ctx: RequestContext,
    grant_id: uuid.UUID,
    *,
    lock: bool = False,
    visible: Callable[[RequestContext, uuid.UUID], bool] | None = None,
) -> Grant:
    """The grant, or 404 when it does not exist or is not the caller's to see (one answer for
    both: nobody learns which ids exist). By default the grants' own rules: the caller may list
    grants (else 401/403) and read this grant's organisation's. Another context that checked its
    own access first passes `visible` (reports: whoever may read the organisation's reports)."""
    if visible is None:
        ctx.require(p.can_list_grants(ctx.actor))
        visible = _sees_grant
    grant = await lock_grant(session, grant_id) if lock else await session.get(Grant, grant_id)
    if grant is None or not visible(ctx, grant.organisation_id):
        raise NotFound(f"grant {grant_id} does not exist or is not yours to see")
    return grant


async def _tranche_reads(
    session: AsyncSession, tranches: Sequence[Tranche], payments: PaymentPolicy
) -> list[c.TrancheRead]:
    ids = [t.id for t in tranches]
    items: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
    conds: dict[uuid.UUID, list[c.ConditionRead]] = {i: [] for i in ids}
    if ids:
        for tid, item_id in (
            await session.execute(
                select(
                    col(TrancheActionPlanItem.tranche_id),
                    col(TrancheActionPlanItem.action_plan_item_id),
                )
                .where(col(TrancheActionPlanItem.tranche_id).in_(ids))
                .order_by(col(TrancheActionPlanItem.action_plan_item_id))
            )
        ).all():
            items[tid].append(item_id)
        for cond in (
            await session.execute(
                select(TrancheCondition)
                .where(col(TrancheCondition.tranche_id).in_(ids))
                .order_by(col(TrancheCondition.kind), col(TrancheCondition.id))
            )
        ).scalars():
            conds[cond.tranche_id].append(to_read(c.ConditionRead, cond))
    names = await _names(
        session, [u for t in tranches for u in (t.approved_by, t.confirmed_by) if u is not None]
    )
    return [
        to_read(
            c.TrancheRead,
            t,
            action_plan_item_ids=items[t.id],
            conditions=conds[t.id],
            approved_by_name=names.get(t.approved_by) if t.approved_by else None,
            confirmed_by_name=names.get(t.confirmed_by) if t.confirmed_by else None,
            needs_confirmation=payments.needs_confirmation(t.amount),
        )
        for t in tranches
    ]


async def _grant_read(session: AsyncSession, grant: Grant, payments: PaymentPolicy) -> c.GrantRead:
    proposal = await session.get(Proposal, grant.proposal_id)
    window = await session.get(CallWindow, grant.window_id)
    assert proposal is not None
    assert window is not None
    tranches = await grant_tranches(session, grant.id)
    charges = (
        await session.execute(
            select(GrantCharge, col(FundingSource.code))
            .join(FundingSource, col(FundingSource.id) == GrantCharge.funding_source_id)
            .where(col(GrantCharge.grant_id) == grant.id)
            .order_by(col(FundingSource.code))
        )
    ).all()
    return to_read(
        c.GrantRead,
        grant,
        call_id=window.call_id,
        title=proposal.title,
        tranches=await _tranche_reads(session, tranches, payments),
        charges=[
            to_read(c.ChargeRead, ch, funding_source_code=code, rate=_rate_str(ch.rate))
            for ch, code in charges
        ],
    )


async def get_grant(session: AsyncSession, ctx: RequestContext, grant_id: uuid.UUID) -> c.GrantRead:
    grant = await grant_or_404(session, ctx, grant_id)
    return await _grant_read(session, grant, ctx.payments)


async def list_grants(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    window_id: uuid.UUID | None,
    organisation_id: uuid.UUID | None,
    status: GrantStatus | None,
    cursor: str | None,
    limit: int,
) -> c.GrantPage:
    ctx.require(p.can_list_grants(ctx.actor))
    stmt = select(Grant, col(Proposal.title)).join(Proposal, col(Proposal.id) == Grant.proposal_id)
    if not p.sees_all_grants(ctx.actor):
        stmt = stmt.where(col(Grant.organisation_id).in_(list(ctx.actor.organisation_ids)))
    if window_id is not None:
        stmt = stmt.where(col(Grant.window_id) == window_id)
    if organisation_id is not None:
        stmt = stmt.where(col(Grant.organisation_id) == organisation_id)
    if status is not None:
        stmt = stmt.where(col(Grant.status) == status)
    rows = list(
        (await session.execute(keyset(stmt, Grant.created_at, Grant.id, cursor, limit))).all()
    )
    rows, next_cursor = split_page(rows, limit, lambda r: (r[0].created_at, r[0].id))
    return c.GrantPage(
        items=[to_read(c.GrantSummary, g, title=title) for g, title in rows],
        next_cursor=next_cursor,
    )


async def list_versions(
    session: AsyncSession, ctx: RequestContext, grant_id: uuid.UUID
) -> list[c.GrantVersionRead]:
    grant = await grant_or_404(session, ctx, grant_id)
    rows = (
        await session.execute(
            select(GrantVersion)
            .where(col(GrantVersion.grant_id) == grant.id)
            .order_by(col(GrantVersion.version))
        )
    ).scalars()
    return [to_read(c.GrantVersionRead, v) for v in rows]
