"""Use cases of grants: making them, amending them, the tranche lifecycle and the ledger.

Money rules (DESIGN.md invariants), with where each is enforced:

- the non-cancelled tranches of a grant sum exactly to its amount (checked here, in the one
  transaction that writes them; the stateful test checks it after every step);
- the grant's charges sum to its amount, no charge exceeds what its source still has available in
  the window, and a window's grants never exceed its envelope: the window row is locked
  `FOR UPDATE` first, so concurrent grants on one window are serialised and each sees the others'
  commitments;
- a tranche is paid at most once at a time: the grant and the tranche rows are locked (in that
  order), its state must be `approved`, and the partial UNIQUE index on
  `ledger_entry (tranche_id, attempt) WHERE kind = 'disbursement'` refuses a second payment even if
  the locks were bypassed; `grant_award.disbursed_amount <= amount` is a CHECK;
- the ledger is append-only (trigger, and the service's database role lacks UPDATE/DELETE);
- four eyes: the paying finance officer is not the approving officer (a CHECK on the ledger row),
  and above `second_confirmation_above` another finance officer must have confirmed the tranche.

Lock order: window → grant → tranches by position → the audit chain (see `conditions`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import awards as c
from contracts import permissions as p
from contracts.common import ValidationIssue
from contracts.enums import (
    GrantStatus,
    LedgerEntryKind,
    ProposalStatus,
    TrancheConditionKind,
    TrancheStatus,
)
from contracts.lifecycles import TRANCHE_TRANSITIONS, allowed_next, can_move
from scoring.money import allocate_pro_rata, convert, split_payment
from service.audit.service import record, snapshot
from service.awards.conditions import lock_grant, refresh_grant
from service.changes import check_version, move_proposal
from service.context import RequestContext, utcnow
from service.pagination import keyset, split_page
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    AppUser,
    CallContribution,
    CallWindow,
    FundingSource,
    Grant,
    GrantCharge,
    GrantVersion,
    Indicator,
    LedgerEntry,
    LedgerSplit,
    Proposal,
    ProposalActionPlanItem,
    Tranche,
    TrancheActionPlanItem,
    TrancheCondition,
    WindowActionPlanItem,
    WindowAllocation,
)
from service.problems import Conflict, Forbidden, IllegalTransition, InvalidInput, NotFound

BISHKEK = ZoneInfo("Asia/Bishkek")
LIVE = (TrancheStatus.PLANNED, TrancheStatus.DUE, TrancheStatus.APPROVED)
"""Tranches not yet paid nor cancelled: an amendment replaces them."""


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[ValidationIssue(field=field, message=message)])


def _rate_str(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


# --- reading ----------------------------------------------------------------------------------


async def _grant_or_404(
    session: AsyncSession, ctx: RequestContext, grant_id: uuid.UUID, *, lock: bool = False
) -> Grant:
    ctx.require(p.can_list_grants(ctx.actor))
    grant = await lock_grant(session, grant_id) if lock else await session.get(Grant, grant_id)
    if grant is None or not p.can_read_grant(ctx.actor, grant.organisation_id).allowed:
        raise NotFound(f"grant {grant_id} does not exist or is not yours to see")
    return grant


def needs_confirmation(tranche: Tranche, threshold: int) -> bool:
    return tranche.amount > threshold


async def _names(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The full names of the staff who approved, confirmed or paid (one query)."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(col(AppUser.id), col(AppUser.full_name)).where(col(AppUser.id).in_(wanted))
    )
    return {uid: name for uid, name in rows.all()}


async def _tranche_reads(
    session: AsyncSession, tranches: Sequence[Tranche], threshold: int
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
            conds[cond.tranche_id].append(
                c.ConditionRead(id=cond.id, kind=cond.kind, params=cond.params, met_at=cond.met_at)
            )
    names = await _names(
        session, [u for t in tranches for u in (t.approved_by, t.confirmed_by) if u is not None]
    )
    return [
        c.TrancheRead(
            id=t.id,
            grant_id=t.grant_id,
            position=t.position,
            amount=t.amount,
            currency=t.currency,
            planned_date=t.planned_date,
            status=t.status,
            action_plan_item_ids=items[t.id],
            conditions=conds[t.id],
            approved_by=t.approved_by,
            approved_by_name=names.get(t.approved_by) if t.approved_by else None,
            approved_at=t.approved_at,
            confirmed_by=t.confirmed_by,
            confirmed_by_name=names.get(t.confirmed_by) if t.confirmed_by else None,
            confirmed_at=t.confirmed_at,
            needs_confirmation=needs_confirmation(t, threshold),
            cancelled_reason=t.cancelled_reason,
            version=t.version,
        )
        for t in tranches
    ]


async def _grant_read(session: AsyncSession, grant: Grant, threshold: int) -> c.GrantRead:
    proposal = await session.get(Proposal, grant.proposal_id)
    window = await session.get(CallWindow, grant.window_id)
    assert proposal is not None
    assert window is not None
    tranches = list(
        (
            await session.execute(
                select(Tranche)
                .where(col(Tranche.grant_id) == grant.id)
                .order_by(col(Tranche.position))
            )
        ).scalars()
    )
    charges = (
        await session.execute(
            select(GrantCharge, col(FundingSource.code))
            .join(FundingSource, col(FundingSource.id) == GrantCharge.funding_source_id)
            .where(col(GrantCharge.grant_id) == grant.id)
            .order_by(col(FundingSource.code))
        )
    ).all()
    return c.GrantRead(
        id=grant.id,
        proposal_id=grant.proposal_id,
        organisation_id=grant.organisation_id,
        window_id=grant.window_id,
        call_id=window.call_id,
        title=proposal.title,
        amount=grant.amount,
        currency=grant.currency,
        disbursed_amount=grant.disbursed_amount,
        start_date=grant.start_date,
        end_date=grant.end_date,
        agreement_reference=grant.agreement_reference,
        agreement_signed_at=grant.agreement_signed_at,
        status=grant.status,
        version=grant.version,
        tranches=await _tranche_reads(session, tranches, threshold),
        charges=[
            c.ChargeRead(
                funding_source_id=ch.funding_source_id,
                funding_source_code=code,
                amount=ch.amount,
                currency=ch.currency,
                source_amount=ch.source_amount,
                source_currency=ch.source_currency,
                rate=_rate_str(ch.rate),
            )
            for ch, code in charges
        ],
        created_at=grant.created_at,
    )


async def get_grant(
    session: AsyncSession, ctx: RequestContext, grant_id: uuid.UUID, threshold: int
) -> c.GrantRead:
    return await _grant_read(session, await _grant_or_404(session, ctx, grant_id), threshold)


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
        items=[
            c.GrantSummary(
                id=g.id,
                proposal_id=g.proposal_id,
                organisation_id=g.organisation_id,
                window_id=g.window_id,
                title=title,
                amount=g.amount,
                currency=g.currency,
                disbursed_amount=g.disbursed_amount,
                status=g.status,
                version=g.version,
                created_at=g.created_at,
            )
            for g, title in rows
        ],
        next_cursor=next_cursor,
    )


async def list_versions(
    session: AsyncSession, ctx: RequestContext, grant_id: uuid.UUID
) -> list[c.GrantVersionRead]:
    grant = await _grant_or_404(session, ctx, grant_id)
    rows = (
        await session.execute(
            select(GrantVersion)
            .where(col(GrantVersion.grant_id) == grant.id)
            .order_by(col(GrantVersion.version))
        )
    ).scalars()
    return [
        c.GrantVersionRead(
            version=v.version,
            amount=v.amount,
            terms=v.terms,
            reason=v.reason,
            created_by=v.created_by,
            created_at=v.created_at,
        )
        for v in rows
    ]


# --- the window's money -----------------------------------------------------------------------


@dataclass
class SourceRoom:
    """A funding source of a window: its allocation, what grants already take from it, and the
    rate of its contribution to the call (call units per source unit)."""

    funding_source_id: uuid.UUID
    code: str
    currency: str
    allocation: int
    committed: int
    rate: Decimal

    @property
    def available(self) -> int:
        return self.allocation - self.committed


async def lock_window(session: AsyncSession, window_id: uuid.UUID) -> CallWindow:
    window = (
        await session.execute(
            select(CallWindow).where(col(CallWindow.id) == window_id).with_for_update()
        )
    ).scalar_one()
    return window


async def window_rooms(session: AsyncSession, window: CallWindow) -> list[SourceRoom]:
    """The window's funding sources, ordered by code (the caller holds the window's lock)."""
    committed = (
        select(col(GrantCharge.funding_source_id), func.sum(GrantCharge.amount).label("committed"))
        .join(Grant, col(Grant.id) == GrantCharge.grant_id)
        .where(col(Grant.window_id) == window.id)
        .group_by(col(GrantCharge.funding_source_id))
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                WindowAllocation,
                col(FundingSource.code),
                col(FundingSource.currency),
                col(CallContribution.rate),
                func.coalesce(committed.c.committed, 0),
            )
            .join(FundingSource, col(FundingSource.id) == WindowAllocation.funding_source_id)
            .outerjoin(
                CallContribution,
                (col(CallContribution.funding_source_id) == WindowAllocation.funding_source_id)
                & (col(CallContribution.call_id) == window.call_id),
            )
            .outerjoin(
                committed, committed.c.funding_source_id == WindowAllocation.funding_source_id
            )
            .where(col(WindowAllocation.window_id) == window.id)
            .order_by(col(FundingSource.code))
        )
    ).all()
    return [
        SourceRoom(
            funding_source_id=alloc.funding_source_id,
            code=code,
            currency=currency,
            allocation=alloc.amount,
            committed=int(used),
            rate=rate if rate is not None else Decimal(1),
        )
        for alloc, code, currency, rate, used in rows
    ]


def _plan_charges(
    rooms: list[SourceRoom], amount: int, explicit: list[c.ChargeInput] | None
) -> dict[uuid.UUID, int]:
    """How much of `amount` each source takes: explicit, or pro rata to what each has available.
    422 naming the source when a source would be over-committed, or the window's envelope when
    the amount does not fit at all."""
    by_id = {r.funding_source_id: r for r in rooms}
    available = sum(max(r.available, 0) for r in rooms)
    if explicit is None:
        if amount > available:
            raise Conflict(
                f"the window's envelope has {available} minor units left; this needs {amount}"
                f" ({amount - available} more than the envelope allows)"
            )
        weights = [max(r.available, 0) for r in rooms]
        parts = allocate_pro_rata(amount, weights)
        return {r.funding_source_id: part for r, part in zip(rooms, parts, strict=True) if part}
    plan: dict[uuid.UUID, int] = {}
    for i, charge in enumerate(explicit):
        room = by_id.get(charge.funding_source_id)
        if room is None:
            raise _invalid(
                f"body.charges[{i}].funding_source_id",
                f"funding source {charge.funding_source_id} does not fund this window",
            )
        if charge.funding_source_id in plan:
            raise _invalid(f"body.charges[{i}]", "a funding source is charged twice")
        plan[charge.funding_source_id] = charge.amount
    total = sum(plan.values())
    if total != amount:
        raise _invalid(
            "body.charges",
            f"the charges sum to {total}, the amount is {amount} (difference {amount - total})",
        )
    for source_id, part in plan.items():
        room = by_id[source_id]
        if part > room.available:
            raise Conflict(
                f"funding source {room.code} has {room.available} minor units left in this"
                f" window; {part} would over-commit it by {part - room.available}"
            )
    return plan


async def _charge(
    session: AsyncSession, grant: Grant, rooms: list[SourceRoom], plan: dict[uuid.UUID, int]
) -> None:
    """Add `plan` to the grant's charges (creating them as needed), converting at the
    contribution's recorded rate."""
    by_id = {r.funding_source_id: r for r in rooms}
    existing = {
        ch.funding_source_id: ch
        for ch in (
            await session.execute(select(GrantCharge).where(col(GrantCharge.grant_id) == grant.id))
        ).scalars()
    }
    for source_id, part in plan.items():
        room = by_id[source_id]
        rate = room.rate if room.currency != grant.currency else Decimal(1)
        charge = existing.get(source_id)
        if charge is None:
            session.add(
                GrantCharge(
                    grant_id=grant.id,
                    funding_source_id=source_id,
                    amount=part,
                    currency=grant.currency,
                    source_amount=convert(part, rate),
                    source_currency=room.currency,
                    rate=rate,
                )
            )
        else:
            charge.amount += part
            charge.source_amount += convert(part, charge.rate)


async def _paid_by_source(
    session: AsyncSession, grant_id: uuid.UUID
) -> dict[uuid.UUID, tuple[int, int]]:
    """Net paid per funding source of a grant: (grant currency, at the commitment rate)."""
    sign = case((col(LedgerEntry.kind) == LedgerEntryKind.REVERSAL, -1), else_=1)
    rows = await session.execute(
        select(
            col(LedgerSplit.funding_source_id),
            func.sum(LedgerSplit.amount * sign),
            func.sum(LedgerSplit.committed_source_amount * sign),
        )
        .join(LedgerEntry, col(LedgerEntry.id) == LedgerSplit.ledger_entry_id)
        .where(col(LedgerEntry.grant_id) == grant_id)
        .group_by(col(LedgerSplit.funding_source_id))
    )
    return {sid: (int(a or 0), int(s or 0)) for sid, a, s in rows.all()}


async def _release(session: AsyncSession, grant: Grant, amount: int) -> None:
    """Take `amount` off the grant's charges, pro rata to each charge's unpaid part (the money
    returns to the window's envelope and to each source)."""
    if amount == 0:
        return
    charges = list(
        (
            await session.execute(
                select(GrantCharge)
                .where(col(GrantCharge.grant_id) == grant.id)
                .order_by(col(GrantCharge.funding_source_id))
            )
        ).scalars()
    )
    paid = await _paid_by_source(session, grant.id)
    unpaid = [ch.amount - paid.get(ch.funding_source_id, (0, 0))[0] for ch in charges]
    unpaid_src = [ch.source_amount - paid.get(ch.funding_source_id, (0, 0))[1] for ch in charges]
    for ch, (part, part_src) in zip(
        charges, split_payment(amount, unpaid, unpaid_src), strict=True
    ):
        ch.amount -= part
        ch.source_amount -= part_src


# --- making and amending grants ---------------------------------------------------------------


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
    tranches = list(
        (
            await session.execute(
                select(Tranche)
                .where(col(Tranche.grant_id) == grant.id)
                .order_by(col(Tranche.position))
            )
        ).scalars()
    )
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
    session: AsyncSession, ctx: RequestContext, body: c.GrantCreate, threshold: int
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
    return await _grant_read(session, grant, threshold)


async def amend_grant(
    session: AsyncSession,
    ctx: RequestContext,
    grant_id: uuid.UUID,
    body: c.AmendmentCreate,
    threshold: int,
) -> c.GrantRead:
    """A new version of the terms. Paid and cancelled tranches stay as they are; `tranches`
    replaces the unpaid ones (which are cancelled, "replaced by amendment N", and new ones
    created), so no paid tranche is ever edited in place."""
    ctx.require(p.can_manage_grants(ctx.actor))
    found = await _grant_or_404(session, ctx, grant_id)
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
    tranches = list(
        (
            await session.execute(
                select(Tranche)
                .where(col(Tranche.grant_id) == grant.id)
                .order_by(col(Tranche.position))
                .with_for_update()
            )
        ).scalars()
    )
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
        return await _grant_read(session, grant, threshold)
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
    return await _grant_read(session, grant, threshold)


async def sign_agreement(
    session: AsyncSession,
    ctx: RequestContext,
    grant_id: uuid.UUID,
    body: c.AgreementSignature,
    threshold: int,
) -> c.GrantRead:
    ctx.require(p.can_manage_grants(ctx.actor))
    await _grant_or_404(session, ctx, grant_id)
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
    return await _grant_read(session, grant, threshold)


# --- tranches ---------------------------------------------------------------------------------


async def _tranche_for_update(
    session: AsyncSession, ctx: RequestContext, tranche_id: uuid.UUID
) -> tuple[Grant, Tranche]:
    """The tranche and its grant, both locked (grant first), or 404."""
    found = await session.get(Tranche, tranche_id)
    if found is None:
        raise NotFound(f"tranche {tranche_id} does not exist")
    await _grant_or_404(session, ctx, found.grant_id)
    grant = await lock_grant(session, found.grant_id)
    tranche = (
        await session.execute(
            select(Tranche).where(col(Tranche.id) == tranche_id).with_for_update()
        )
    ).scalar_one()
    await session.refresh(tranche)
    return grant, tranche


async def _audit_tranche(
    session: AsyncSession,
    ctx: RequestContext,
    tranche: Tranche,
    what: str,
    before: dict[str, Any] | None,
    reason: str | None = None,
) -> None:
    """The audit event of a change to a tranche (`tranche.<what>`), before → as it is now."""
    await record(
        session,
        ctx,
        action=f"tranche.{what}",
        entity="tranche",
        entity_id=tranche.id,
        before=before,
        after=snapshot(tranche),
        reason=reason,
    )


def _move(tranche: Tranche, target: TrancheStatus) -> None:
    if not can_move(TRANCHE_TRANSITIONS, tranche.status, target):
        raise IllegalTransition(
            f"a {tranche.status} tranche cannot become {target}",
            allowed=[s.value for s in allowed_next(TRANCHE_TRANSITIONS, tranche.status)],
        )
    tranche.status = target


async def get_tranche(
    session: AsyncSession, ctx: RequestContext, tranche_id: uuid.UUID, threshold: int
) -> c.TrancheRead:
    tranche = await session.get(Tranche, tranche_id)
    if tranche is None:
        raise NotFound(f"tranche {tranche_id} does not exist")
    await _grant_or_404(session, ctx, tranche.grant_id)
    return (await _tranche_reads(session, [tranche], threshold))[0]


async def approve_tranche(
    session: AsyncSession,
    ctx: RequestContext,
    tranche_id: uuid.UUID,
    body: c.TrancheTransition,
    threshold: int,
) -> c.TrancheRead:
    ctx.require(p.can_approve_tranche(ctx.actor))
    _, tranche = await _tranche_for_update(session, ctx, tranche_id)
    check_version(tranche, body)
    before = snapshot(tranche)
    _move(tranche, TrancheStatus.APPROVED)
    tranche.approved_by = ctx.actor.id
    tranche.approved_at = utcnow()
    tranche.version += 1
    await session.flush()
    await _audit_tranche(session, ctx, tranche, "approved", before, reason=body.comment)
    return (await _tranche_reads(session, [tranche], threshold))[0]


async def confirm_tranche(
    session: AsyncSession,
    ctx: RequestContext,
    tranche_id: uuid.UUID,
    body: c.TrancheTransition,
    threshold: int,
) -> c.TrancheRead:
    """The second finance officer's confirmation of a large payment, before it is made."""
    ctx.require(p.can_disburse(ctx.actor))
    _, tranche = await _tranche_for_update(session, ctx, tranche_id)
    check_version(tranche, body)
    if tranche.status != TrancheStatus.APPROVED:
        raise Conflict(f"only an approved tranche is confirmed; this one is {tranche.status}")
    if not needs_confirmation(tranche, threshold):
        raise Conflict(
            f"a tranche of {tranche.amount} is paid without a second confirmation"
            f" (only above {threshold})"
        )
    if tranche.confirmed_by is not None:
        raise Conflict("the tranche is already confirmed")
    if tranche.approved_by == ctx.actor.id:
        raise Forbidden("four eyes: the officer who approved the tranche cannot confirm it")
    before = snapshot(tranche)
    tranche.confirmed_by = ctx.actor.id
    tranche.confirmed_at = utcnow()
    tranche.version += 1
    await session.flush()
    await _audit_tranche(session, ctx, tranche, "confirmed", before, reason=body.comment)
    return (await _tranche_reads(session, [tranche], threshold))[0]


async def cancel_tranche(
    session: AsyncSession,
    ctx: RequestContext,
    tranche_id: uuid.UUID,
    body: c.TrancheCancellation,
    threshold: int,
) -> c.TrancheRead:
    """Cancel an unpaid tranche: the grant's amount falls by it, its charges release it pro rata
    to their unpaid parts, and a new version of the grant's terms is recorded."""
    ctx.require(p.can_manage_grants(ctx.actor))
    found = await session.get(Tranche, tranche_id)
    if found is None:
        raise NotFound(f"tranche {tranche_id} does not exist")
    found_grant = await _grant_or_404(session, ctx, found.grant_id)
    await lock_window(session, found_grant.window_id)
    grant, tranche = await _tranche_for_update(session, ctx, tranche_id)
    check_version(tranche, body)
    before = snapshot(tranche)
    grant_before = await _terms(session, grant)
    _move(tranche, TrancheStatus.CANCELLED)
    tranche.cancelled_reason = body.reason
    tranche.version += 1
    await _release(session, grant, tranche.amount)
    grant.amount -= tranche.amount
    grant.version += 1
    if grant.amount == 0:
        grant.status = GrantStatus.TERMINATED
    elif grant.disbursed_amount == grant.amount:
        grant.status = GrantStatus.COMPLETED
    await session.flush()
    await _new_version(session, ctx, grant, f"tranche {tranche.position} cancelled: {body.reason}")
    await _audit_tranche(session, ctx, tranche, "cancelled", before, reason=body.reason)
    await record(
        session,
        ctx,
        action="grant.amended",
        entity="grant",
        entity_id=grant.id,
        before=grant_before,
        after=await _terms(session, grant),
        reason=f"tranche {tranche.position} cancelled",
    )
    return (await _tranche_reads(session, [tranche], threshold))[0]


# --- the ledger -------------------------------------------------------------------------------


async def ledger_reads(
    session: AsyncSession, entries: Sequence[LedgerEntry]
) -> list[c.LedgerEntryRead]:
    ids = [e.id for e in entries]
    splits: dict[uuid.UUID, list[c.LedgerSplitRead]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(LedgerSplit, col(FundingSource.code))
            .join(FundingSource, col(FundingSource.id) == LedgerSplit.funding_source_id)
            .where(col(LedgerSplit.ledger_entry_id).in_(ids))
            .order_by(col(FundingSource.code))
        )
        kinds = {e.id: e.kind for e in entries}
        for s, code in rows.all():
            sign = -1 if kinds[s.ledger_entry_id] == LedgerEntryKind.REVERSAL else 1
            splits[s.ledger_entry_id].append(
                c.LedgerSplitRead(
                    funding_source_id=s.funding_source_id,
                    funding_source_code=code,
                    amount=s.amount,
                    currency=s.currency,
                    source_amount=s.source_amount,
                    committed_source_amount=s.committed_source_amount,
                    exchange_difference=sign * (s.source_amount - s.committed_source_amount),
                    source_currency=s.source_currency,
                    rate=_rate_str(s.rate),
                )
            )
    names = await _names(session, [e.created_by for e in entries])
    return [
        c.LedgerEntryRead(
            id=e.id,
            tranche_id=e.tranche_id,
            grant_id=e.grant_id,
            kind=e.kind,
            amount=e.amount,
            currency=e.currency,
            source_amount=e.source_amount,
            source_currency=e.source_currency,
            rate=_rate_str(e.rate),
            value_date=e.value_date,
            reference=e.reference,
            bank_details=e.bank_details,
            reverses_id=e.reverses_id,
            reason=e.reason,
            attempt=e.attempt,
            approved_by=e.approved_by,
            confirmed_by=e.confirmed_by,
            created_by=e.created_by,
            created_by_name=names.get(e.created_by),
            created_at=e.created_at,
            splits=splits[e.id],
        )
        for e in entries
    ]


async def list_ledger(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    grant_id: uuid.UUID | None,
    tranche_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
    window_id: uuid.UUID | None = None,
    pcc_id: uuid.UUID | None = None,
    funding_source_id: uuid.UUID | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> c.LedgerPage:
    """The ledger, newest last, filtered by grant, tranche, the grant's window, a PCC (entries
    of tranches financing one of its action-plan items), a funding source (entries with a part
    charged to it) and the value date (from/to, inclusive)."""
    ctx.require(p.can_read_ledger(ctx.actor))
    stmt = select(LedgerEntry)
    if grant_id is not None:
        stmt = stmt.where(col(LedgerEntry.grant_id) == grant_id)
    if tranche_id is not None:
        stmt = stmt.where(col(LedgerEntry.tranche_id) == tranche_id)
    if window_id is not None:
        stmt = stmt.where(
            col(LedgerEntry.grant_id).in_(
                select(col(Grant.id)).where(col(Grant.window_id) == window_id)
            )
        )
    if pcc_id is not None:
        stmt = stmt.where(
            col(LedgerEntry.tranche_id).in_(
                select(col(TrancheActionPlanItem.tranche_id))
                .join(
                    ActionPlanItem,
                    col(ActionPlanItem.id) == TrancheActionPlanItem.action_plan_item_id,
                )
                .join(ActionPlan, col(ActionPlan.id) == ActionPlanItem.action_plan_id)
                .where(col(ActionPlan.pcc_id) == pcc_id)
            )
        )
    if funding_source_id is not None:
        stmt = stmt.where(
            col(LedgerEntry.id).in_(
                select(col(LedgerSplit.ledger_entry_id)).where(
                    col(LedgerSplit.funding_source_id) == funding_source_id
                )
            )
        )
    if date_from is not None:
        stmt = stmt.where(col(LedgerEntry.value_date) >= date_from)
    if date_to is not None:
        stmt = stmt.where(col(LedgerEntry.value_date) <= date_to)
    rows = list(
        (
            await session.execute(
                keyset(stmt, LedgerEntry.created_at, LedgerEntry.id, cursor, limit)
            )
        ).scalars()
    )
    rows, next_cursor = split_page(rows, limit, lambda e: (e.created_at, e.id))
    return c.LedgerPage(items=await ledger_reads(session, rows), next_cursor=next_cursor)


async def get_ledger_entry(
    session: AsyncSession, ctx: RequestContext, entry_id: uuid.UUID
) -> c.LedgerEntryRead:
    ctx.require(p.can_read_ledger(ctx.actor))
    entry = await session.get(LedgerEntry, entry_id)
    if entry is None:
        raise NotFound(f"ledger entry {entry_id} does not exist")
    return (await ledger_reads(session, [entry]))[0]


def _parse_rate(field: str, raw: str) -> Decimal:
    rate = Decimal(raw)
    if rate <= 0:
        raise _invalid(field, "a rate must be > 0")
    return rate


async def disburse(
    session: AsyncSession,
    ctx: RequestContext,
    tranche_id: uuid.UUID,
    body: c.DisbursementCreate,
    threshold: int,
) -> c.LedgerEntryRead:
    ctx.require(p.can_disburse(ctx.actor))
    assert ctx.actor.id is not None
    grant, tranche = await _tranche_for_update(session, ctx, tranche_id)
    if tranche.status == TrancheStatus.DISBURSED:
        raise Conflict("the tranche is already disbursed")
    if tranche.status != TrancheStatus.APPROVED:
        raise IllegalTransition(
            f"only an approved tranche is paid; this one is {tranche.status}",
            allowed=[s.value for s in allowed_next(TRANCHE_TRANSITIONS, tranche.status)],
        )
    if body.amount != tranche.amount:
        raise _invalid(
            "body.amount",
            f"the payment must be the tranche's amount {tranche.amount}, not {body.amount}",
        )
    if tranche.approved_by == ctx.actor.id:
        raise Forbidden("four eyes: the officer who approved the tranche cannot pay it")
    if needs_confirmation(tranche, threshold):
        if tranche.confirmed_by is None:
            raise Conflict(
                f"a payment above {threshold} needs a second finance officer's confirmation first"
            )
        if tranche.confirmed_by == ctx.actor.id:
            raise Forbidden("four eyes: the officer who confirmed the tranche cannot also pay it")
    if grant.disbursed_amount + body.amount > grant.amount:  # pragma: no cover  (schedule sums)
        raise Conflict("the payment would exceed the grant's amount")
    charges = list(
        (
            await session.execute(
                select(GrantCharge)
                .where(col(GrantCharge.grant_id) == grant.id)
                .order_by(col(GrantCharge.funding_source_id))
            )
        ).scalars()
    )
    rates: dict[str, Decimal] = {}
    for ch in charges:
        if ch.source_currency == grant.currency:
            rates[ch.source_currency] = Decimal(1)
            continue
        raw = body.rates.get(ch.source_currency)
        if raw is None:
            raise _invalid(
                "body.rates",
                f"a rate for {ch.source_currency} (a funding source's currency) is required",
            )
        rates[ch.source_currency] = _parse_rate(f"body.rates.{ch.source_currency}", raw)
    paid_currency = body.paid_currency or grant.currency
    if paid_currency != grant.currency:
        if body.paid_rate is None:
            raise _invalid("body.paid_rate", f"a rate for the paid currency {paid_currency}")
        paid_rate = _parse_rate("body.paid_rate", body.paid_rate)
    else:
        paid_rate = Decimal(1)
    paid_amount = convert(body.amount, paid_rate)
    if paid_amount == 0:
        raise _invalid(
            "body.paid_rate",
            f"{body.amount} minor units of {grant.currency} are worth nothing in"
            f" {paid_currency} at {paid_rate}: pay it in {grant.currency}",
        )
    paid = await _paid_by_source(session, grant.id)
    remaining = [ch.amount - paid.get(ch.funding_source_id, (0, 0))[0] for ch in charges]
    remaining_src = [ch.source_amount - paid.get(ch.funding_source_id, (0, 0))[1] for ch in charges]
    parts = split_payment(body.amount, remaining, remaining_src)
    attempt = (
        await session.execute(
            select(func.count())
            .select_from(LedgerEntry)
            .where(
                col(LedgerEntry.tranche_id) == tranche.id,
                col(LedgerEntry.kind) == LedgerEntryKind.REVERSAL,
            )
        )
    ).scalar_one()
    entry = LedgerEntry(
        tranche_id=tranche.id,
        grant_id=grant.id,
        kind=LedgerEntryKind.DISBURSEMENT,
        amount=body.amount,
        currency=grant.currency,
        source_amount=paid_amount,
        source_currency=paid_currency,
        rate=paid_rate,
        value_date=body.value_date,
        reference=body.reference,
        bank_details=dict(body.bank_details),
        attempt=attempt,
        approved_by=tranche.approved_by,
        confirmed_by=tranche.confirmed_by,
        created_by=ctx.actor.id,
    )
    session.add(entry)
    await session.flush()
    for ch, (part, committed_src) in zip(charges, parts, strict=True):
        if part == 0 and committed_src == 0:
            continue
        rate = rates[ch.source_currency]
        session.add(
            LedgerSplit(
                ledger_entry_id=entry.id,
                funding_source_id=ch.funding_source_id,
                amount=part,
                currency=grant.currency,
                source_amount=convert(part, rate),
                committed_source_amount=committed_src,
                source_currency=ch.source_currency,
                rate=rate,
            )
        )
    before = snapshot(tranche)
    _move(tranche, TrancheStatus.DISBURSED)
    tranche.version += 1
    grant.disbursed_amount += body.amount
    if grant.disbursed_amount == grant.amount:
        grant.status = GrantStatus.COMPLETED
    await session.flush()
    await session.refresh(entry)
    await record(
        session,
        ctx,
        action="ledger.disbursement",
        entity="ledger_entry",
        entity_id=entry.id,
        after=snapshot(entry),
    )
    await _audit_tranche(session, ctx, tranche, "disbursed", before)
    return (await ledger_reads(session, [entry]))[0]


async def reverse(
    session: AsyncSession, ctx: RequestContext, entry_id: uuid.UUID, body: c.ReversalCreate
) -> c.LedgerEntryRead:
    """Undo a mistaken payment with a reversal entry (the original stays): the grant's disbursed
    amount falls back, and the tranche returns to `due` for a fresh approval and payment."""
    ctx.require(p.can_disburse(ctx.actor))
    assert ctx.actor.id is not None
    original = await session.get(LedgerEntry, entry_id)
    if original is None:
        raise NotFound(f"ledger entry {entry_id} does not exist")
    if original.kind != LedgerEntryKind.DISBURSEMENT:
        raise Conflict("only a disbursement is reversed")
    grant, tranche = await _tranche_for_update(session, ctx, original.tranche_id)
    already = (
        await session.execute(
            select(col(LedgerEntry.id)).where(col(LedgerEntry.reverses_id) == original.id)
        )
    ).first()
    if already is not None:
        raise Conflict("this disbursement is already reversed")
    if original.created_by == ctx.actor.id:
        # a reversal moves money too: a second finance officer checks and records it
        raise Forbidden("four eyes: the officer who made the payment cannot reverse it")
    entry = LedgerEntry(
        tranche_id=tranche.id,
        grant_id=grant.id,
        kind=LedgerEntryKind.REVERSAL,
        amount=original.amount,
        currency=original.currency,
        source_amount=original.source_amount,
        source_currency=original.source_currency,
        rate=original.rate,
        value_date=body.value_date,
        reference=body.reference,
        bank_details={},
        reverses_id=original.id,
        reason=body.reason,
        attempt=original.attempt,
        created_by=ctx.actor.id,
    )
    session.add(entry)
    await session.flush()
    for s in (
        await session.execute(
            select(LedgerSplit).where(col(LedgerSplit.ledger_entry_id) == original.id)
        )
    ).scalars():
        session.add(
            LedgerSplit(
                ledger_entry_id=entry.id,
                funding_source_id=s.funding_source_id,
                amount=s.amount,
                currency=s.currency,
                source_amount=s.source_amount,
                committed_source_amount=s.committed_source_amount,
                source_currency=s.source_currency,
                rate=s.rate,
            )
        )
    before = snapshot(tranche)
    _move(tranche, TrancheStatus.DUE)
    tranche.approved_by = None
    tranche.approved_at = None
    tranche.confirmed_by = None
    tranche.confirmed_at = None
    tranche.version += 1
    grant.disbursed_amount -= original.amount
    if grant.status == GrantStatus.COMPLETED:
        grant.status = GrantStatus.ACTIVE
    await session.flush()
    await session.refresh(entry)
    await record(
        session,
        ctx,
        action="ledger.reversal",
        entity="ledger_entry",
        entity_id=entry.id,
        after=snapshot(entry),
        reason=body.reason,
    )
    await _audit_tranche(session, ctx, tranche, "reversed", before, reason=body.reason)
    return (await ledger_reads(session, [entry]))[0]
