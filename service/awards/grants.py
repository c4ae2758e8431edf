"""Making and amending grants, and signing their agreement: the schedule, the charges and the
versions of the terms."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import awards as c
from contracts import permissions as p
from contracts.enums import GrantStatus, ProposalStatus, TrancheConditionKind, TrancheStatus
from contracts.webhooks import EventType
from service.audit.service import record, snapshot
from service.awards._common import _invalid, _rate_str, grant_tranches
from service.awards.conditions import lock_grant, refresh_grant
from service.awards.reads import _grant_read, grant_or_404
from service.awards.window_money import _charge, _plan_charges, _release, lock_window, window_rooms
from service.changes import check_version, move_proposal
from service.context import RequestContext, utcnow
from service.persistence.models import (
    CallWindow,
    Grant,
    GrantCharge,
    GrantVersion,
    Indicator,
    Proposal,
    ProposalActionPlanItem,
    Tranche,
    TrancheActionPlanItem,
    TrancheCondition,
    WindowActionPlanItem,
)
from service.problems import Conflict, NotFound
from service.timezones import BISHKEK
from service.webhooks.events import emit

LIVE = (TrancheStatus.PLANNED, TrancheStatus.DUE, TrancheStatus.APPROVED)
"""Tranches not yet paid nor cancelled: an amendment replaces them."""


async def _validate_schedule(
    session: AsyncSession,
    proposal: Proposal,
    start: date,
    end: date,
    tranches: list[c.TrancheInput],
) -> None:
    allowed_items: set[uuid.UUID] = set(
        (
            await session.execute(
                select(col(ProposalActionPlanItem.action_plan_item_id)).where(
                    col(ProposalActionPlanItem.proposal_id) == proposal.id
                )
            )
        ).scalars()
    ) | set(
        (
            await session.execute(
                select(col(WindowActionPlanItem.action_plan_item_id)).where(
                    col(WindowActionPlanItem.window_id) == proposal.window_id
                )
            )
        ).scalars()
    )
    every_item = {i for t in tranches for i in t.action_plan_item_ids}
    indicators: dict[uuid.UUID, uuid.UUID] = {
        ind_id: item_id
        for ind_id, item_id in (
            await session.execute(
                select(col(Indicator.id), col(Indicator.action_plan_item_id)).where(
                    col(Indicator.action_plan_item_id).in_(list(every_item))
                )
            )
        ).all()
    }
    for i, t in enumerate(tranches):
        where = f"body.tranches[{i}]"
        if not start <= t.planned_date <= end:
            raise _invalid(
                f"{where}.planned_date",
                f"planned date {t.planned_date} is outside the grant period {start} – {end}",
            )
        if len(set(t.action_plan_item_ids)) != len(t.action_plan_item_ids):
            raise _invalid(f"{where}.action_plan_item_ids", "an action-plan item is listed twice")
        for item_id in t.action_plan_item_ids:
            if item_id not in allowed_items:
                raise _invalid(
                    f"{where}.action_plan_item_ids",
                    f"action-plan item {item_id} is not one the proposal or its window implements",
                )
        for j, cond in enumerate(t.conditions):
            cwhere = f"{where}.conditions[{j}].params"
            if cond.kind == TrancheConditionKind.AGREEMENT_SIGNED:
                if cond.params:
                    raise _invalid(cwhere, "agreement_signed takes no parameters")
            elif cond.kind == TrancheConditionKind.INDICATOR_REPORTED:
                raw = cond.params.get("indicator_id")
                try:
                    ind = uuid.UUID(str(raw))
                except ValueError:
                    raise _invalid(cwhere, "indicator_reported needs an indicator_id") from None
                if set(cond.params) != {"indicator_id"} or indicators.get(ind) not in set(
                    t.action_plan_item_ids
                ):
                    raise _invalid(
                        cwhere,
                        f"indicator {raw} is not an indicator of this tranche's action-plan items",
                    )
            else:
                count = cond.params.get("count", 1)
                if (
                    set(cond.params) - {"count"}
                    or not isinstance(count, int)
                    or isinstance(count, bool)
                    or not 1 <= count <= 20
                ):
                    raise _invalid(cwhere, f"{cond.kind} takes {{'count': 1..20}}")


def _schedule_sum_check(amount: int, paid: int, tranches: list[c.TrancheInput]) -> None:
    total = paid + sum(t.amount for t in tranches)
    if total != amount:
        diff = amount - total
        what = f"{diff} short of" if diff > 0 else f"{-diff} over"
        raise _invalid(
            "body.tranches",
            f"the tranches sum to {total}"
            + (f" (with {paid} already paid)" if paid else "")
            + f", {what} the grant amount {amount}",
        )


async def _add_tranches(
    session: AsyncSession, grant: Grant, tranches: list[c.TrancheInput], first_position: int
) -> None:
    for offset, t in enumerate(tranches):
        row = Tranche(
            grant_id=grant.id,
            position=first_position + offset,
            amount=t.amount,
            currency=grant.currency,
            planned_date=t.planned_date,
        )
        session.add(row)
        await session.flush()
        for item_id in t.action_plan_item_ids:
            session.add(TrancheActionPlanItem(tranche_id=row.id, action_plan_item_id=item_id))
        for cond in t.conditions:
            session.add(TrancheCondition(tranche_id=row.id, kind=cond.kind, params=cond.params))
    await session.flush()


async def _terms(session: AsyncSession, grant: Grant) -> dict[str, Any]:
    tranches = await grant_tranches(session, grant.id)
    charges = list(
        (
            await session.execute(
                select(GrantCharge)
                .where(col(GrantCharge.grant_id) == grant.id)
                .order_by(col(GrantCharge.funding_source_id))
            )
        ).scalars()
    )
    return {
        "amount": grant.amount,
        "currency": grant.currency,
        "start_date": grant.start_date.isoformat(),
        "end_date": grant.end_date.isoformat(),
        "agreement_reference": grant.agreement_reference,
        "tranches": [
            {
                "id": str(t.id),
                "position": t.position,
                "amount": t.amount,
                "planned_date": t.planned_date.isoformat(),
                "status": t.status.value,
            }
            for t in tranches
        ],
        "charges": [
            {
                "funding_source_id": str(ch.funding_source_id),
                "amount": ch.amount,
                "source_amount": ch.source_amount,
                "source_currency": ch.source_currency,
                "rate": _rate_str(ch.rate),
            }
            for ch in charges
        ],
    }


async def _new_version(
    session: AsyncSession, ctx: RequestContext, grant: Grant, reason: str
) -> None:
    assert ctx.actor.id is not None
    session.add(
        GrantVersion(
            grant_id=grant.id,
            version=grant.version,
            amount=grant.amount,
            terms=await _terms(session, grant),
            reason=reason,
            created_by=ctx.actor.id,
        )
    )
    await session.flush()


def _floor(window: CallWindow, requested: int) -> int:
    if window.partial_funding_floor_pct is not None:
        return -(-requested * window.partial_funding_floor_pct // 100)
    return window.min_grant


async def create_grant(
    session: AsyncSession, ctx: RequestContext, body: c.GrantCreate
) -> c.GrantRead:
    ctx.require(p.can_manage_grants(ctx.actor))
    assert ctx.actor.id is not None
    proposal = await session.get(Proposal, body.proposal_id)
    if proposal is None:
        raise NotFound(f"proposal {body.proposal_id} does not exist")
    window = await lock_window(session, proposal.window_id)
    proposal = (
        await session.execute(
            select(Proposal).where(col(Proposal.id) == body.proposal_id).with_for_update()
        )
    ).scalar_one()
    await session.refresh(proposal)
    if proposal.status != ProposalStatus.SELECTED:
        raise Conflict(
            f"only a selected proposal becomes a grant; this one is {proposal.status}"
            + (" (it already has its grant)" if proposal.status == ProposalStatus.AWARDED else "")
        )
    currency = body.currency or window.currency
    if currency != window.currency:
        raise _invalid("body.currency", f"the window's grants are in {window.currency}")
    floor = _floor(window, proposal.requested_amount)
    if body.amount > proposal.requested_amount:
        raise _invalid(
            "body.amount",
            f"the amount {body.amount} exceeds the requested {proposal.requested_amount}",
        )
    if body.amount < floor:
        raise _invalid(
            "body.amount", f"the amount {body.amount} is below the window's floor {floor}"
        )
    if body.end_date < body.start_date:
        raise _invalid("body.end_date", "the grant ends before it starts")
    _schedule_sum_check(body.amount, 0, body.tranches)
    await _validate_schedule(session, proposal, body.start_date, body.end_date, body.tranches)
    rooms = await window_rooms(session, window)
    plan = _plan_charges(rooms, body.amount, body.charges)
    if body.agreement_reference is not None:
        taken = (
            await session.execute(
                select(col(Grant.id)).where(
                    col(Grant.agreement_reference) == body.agreement_reference
                )
            )
        ).first()
        if taken is not None:
            raise Conflict(f"agreement reference {body.agreement_reference} is already used")
    grant = Grant(
        proposal_id=proposal.id,
        organisation_id=proposal.organisation_id,
        window_id=window.id,
        amount=body.amount,
        currency=currency,
        start_date=body.start_date,
        end_date=body.end_date,
        agreement_reference=body.agreement_reference,
        created_by=ctx.actor.id,
    )
    session.add(grant)
    await session.flush()
    await session.refresh(grant)
    await _charge(session, grant, rooms, plan)
    await _add_tranches(session, grant, body.tranches, 0)
    before_status = proposal.status
    move_proposal(proposal, ProposalStatus.AWARDED)
    await session.flush()
    await _new_version(session, ctx, grant, "grant made")
    await record(
        session,
        ctx,
        action="grant.created",
        entity="grant",
        entity_id=grant.id,
        after=await _terms(session, grant),
    )
    await emit(session, EventType.GRANT_CREATED, {"grant_id": grant.id, "proposal_id": proposal.id})
    await record(
        session,
        ctx,
        action="proposal.awarded",
        entity="proposal",
        entity_id=proposal.id,
        before={"status": before_status.value},
        after={"status": proposal.status.value, "grant_id": str(grant.id)},
    )
    await refresh_grant(session, ctx, grant)
    return await _grant_read(session, grant, ctx.payments)


async def amend_grant(
    session: AsyncSession,
    ctx: RequestContext,
    grant_id: uuid.UUID,
    body: c.AmendmentCreate,
) -> c.GrantRead:
    """A new version of the terms. Paid and cancelled tranches stay as they are; `tranches`
    replaces the unpaid ones (which are cancelled, "replaced by amendment N", and new ones
    created), so no paid tranche is ever edited in place."""
    ctx.require(p.can_manage_grants(ctx.actor))
    found = await grant_or_404(session, ctx, grant_id)
    window = await lock_window(session, found.window_id)
    grant = await lock_grant(session, grant_id)
    check_version(grant, body)
    if grant.status == GrantStatus.TERMINATED:
        raise Conflict("a terminated grant cannot be amended")
    proposal = await session.get(Proposal, grant.proposal_id)
    assert proposal is not None
    before = await _terms(session, grant)
    start = body.start_date if isinstance(body.start_date, date) else grant.start_date
    end = body.end_date if isinstance(body.end_date, date) else grant.end_date
    if end < start:
        raise _invalid("body.end_date", "the grant ends before it starts")
    tranches = await grant_tranches(session, grant.id, lock=True)
    changed = start != grant.start_date or end != grant.end_date
    if isinstance(body.agreement_reference, str) and (
        body.agreement_reference != grant.agreement_reference
    ):
        grant.agreement_reference = body.agreement_reference
        changed = True
    grant.start_date, grant.end_date = start, end
    if isinstance(body.tranches, list):
        paid = sum(t.amount for t in tranches if t.status == TrancheStatus.DISBURSED)
        new_amount = paid + sum(t.amount for t in body.tranches)
        if new_amount > proposal.requested_amount:
            raise _invalid(
                "body.tranches",
                f"the amended amount {new_amount} exceeds the requested"
                f" {proposal.requested_amount}",
            )
        if new_amount == 0:
            raise _invalid("body.tranches", "cancel the tranches instead of amending to zero")
        await _validate_schedule(session, proposal, start, end, body.tranches)
        delta = new_amount - grant.amount
        if delta > 0:
            rooms = await window_rooms(session, window)
            await _charge(session, grant, rooms, _plan_charges(rooms, delta, None))
        for t in tranches:
            if t.status in LIVE:
                t.status = TrancheStatus.CANCELLED
                t.cancelled_reason = f"replaced by amendment (version {grant.version + 1})"
                t.version += 1
        if delta < 0:
            await _release(session, grant, -delta)
        grant.amount = new_amount
        await session.flush()
        await _add_tranches(
            session, grant, body.tranches, max((t.position for t in tranches), default=-1) + 1
        )
        changed = True
    else:
        for t in tranches:
            if t.status in LIVE and not start <= t.planned_date <= end:
                raise _invalid(
                    "body.end_date",
                    f"tranche {t.position} is planned for {t.planned_date}, outside the new"
                    " period; send a new schedule",
                )
    if not changed:
        return await _grant_read(session, grant, ctx.payments)
    grant.version += 1
    grant.status = (
        GrantStatus.COMPLETED if grant.disbursed_amount == grant.amount else GrantStatus.ACTIVE
    )
    await session.flush()
    await _new_version(session, ctx, grant, body.reason)
    await record(
        session,
        ctx,
        action="grant.amended",
        entity="grant",
        entity_id=grant.id,
        before=before,
        after=await _terms(session, grant),
        reason=body.reason,
    )
    await refresh_grant(session, ctx, grant)
    return await _grant_read(session, grant, ctx.payments)


async def sign_agreement(
    session: AsyncSession,
    ctx: RequestContext,
    grant_id: uuid.UUID,
    body: c.AgreementSignature,
) -> c.GrantRead:
    ctx.require(p.can_manage_grants(ctx.actor))
    await grant_or_404(session, ctx, grant_id)
    grant = await lock_grant(session, grant_id)
    check_version(grant, body)
    if grant.agreement_signed_at is not None:
        raise Conflict("the agreement is already signed")
    taken = (
        await session.execute(
            select(col(Grant.id)).where(
                col(Grant.agreement_reference) == body.agreement_reference,
                col(Grant.id) != grant.id,
            )
        )
    ).first()
    if taken is not None:
        raise Conflict(f"agreement reference {body.agreement_reference} is already used")
    before = snapshot(grant)
    now = utcnow()
    signed = (
        datetime.combine(body.signed_on, time(12), BISHKEK).astimezone(now.tzinfo)
        if body.signed_on is not None
        else now
    )
    if signed > now:
        raise _invalid("body.signed_on", "the agreement cannot be signed in the future")
    grant.agreement_reference = body.agreement_reference
    grant.agreement_signed_at = signed
    grant.version += 1
    await session.flush()
    await record(
        session,
        ctx,
        action="grant.agreement_signed",
        entity="grant",
        entity_id=grant.id,
        before=before,
        after=snapshot(grant),
    )
    await refresh_grant(session, ctx, grant)
    return await _grant_read(session, grant, ctx.payments)
