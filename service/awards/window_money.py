"""The window's money: what each funding source of a window still has, charging a grant to the
sources and releasing a charge (the caller holds the window's lock, `lock_window`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import awards as c
from contracts.enums import LedgerEntryKind
from scoring.money import allocate_pro_rata, convert, split_payment
from service.awards._common import _invalid
from service.persistence.models import (
    CallContribution,
    CallWindow,
    FundingSource,
    Grant,
    GrantCharge,
    LedgerEntry,
    LedgerSplit,
    WindowAllocation,
)
from service.problems import Conflict


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
