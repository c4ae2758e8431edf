"""The disbursement ledger: reading it, paying a tranche exactly once, reversing a payment."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import awards as c
from contracts import permissions as p
from contracts.enums import GrantStatus, LedgerEntryKind, TrancheStatus
from contracts.lifecycles import TRANCHE_TRANSITIONS, allowed_next
from contracts.webhooks import EventType
from scoring.money import convert, split_payment
from service.audit.service import Event, record, record_many, snapshot
from service.awards._common import _invalid, _names, _rate_str
from service.awards.tranches import _audit_tranche, _move, _tranche_for_update
from service.awards.window_money import _paid_by_source
from service.context import RequestContext
from service.mapping import to_read
from service.pagination import keyset, split_page
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    FundingSource,
    Grant,
    GrantCharge,
    LedgerEntry,
    LedgerSplit,
    TrancheActionPlanItem,
)
from service.problems import Conflict, Forbidden, IllegalTransition, NotFound
from service.webhooks.events import emit


def _split_read(s: LedgerSplit, code: str, kind: LedgerEntryKind) -> c.LedgerSplitRead:
    sign = -1 if kind == LedgerEntryKind.REVERSAL else 1
    return to_read(
        c.LedgerSplitRead,
        s,
        funding_source_code=code,
        exchange_difference=sign * (s.source_amount - s.committed_source_amount),
        rate=_rate_str(s.rate),
    )


async def ledger_reads(
    session: AsyncSession,
    entries: Sequence[LedgerEntry],
    known_splits: dict[uuid.UUID, list[c.LedgerSplitRead]] | None = None,
) -> list[c.LedgerEntryRead]:
    """The entries as read; `known_splits` (all of the entries' splits, already built from rows
    just written) saves reading them back."""
    ids = [e.id for e in entries]
    splits: dict[uuid.UUID, list[c.LedgerSplitRead]] = {i: [] for i in ids}
    if known_splits is not None:
        for i in ids:
            splits[i] = sorted(known_splits.get(i, []), key=lambda r: r.funding_source_code)
    elif ids:
        rows = await session.execute(
            select(LedgerSplit, col(FundingSource.code))
            .join(FundingSource, col(FundingSource.id) == LedgerSplit.funding_source_id)
            .where(col(LedgerSplit.ledger_entry_id).in_(ids))
            .order_by(col(FundingSource.code))
        )
        kinds = {e.id: e.kind for e in entries}
        for s, code in rows.all():
            splits[s.ledger_entry_id].append(_split_read(s, code, kinds[s.ledger_entry_id]))
    names = await _names(session, [e.created_by for e in entries])
    return [
        to_read(
            c.LedgerEntryRead,
            e,
            rate=_rate_str(e.rate),
            created_by_name=names.get(e.created_by),
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
    if ctx.payments.needs_confirmation(tranche.amount):
        if tranche.confirmed_by is None:
            raise Conflict(
                f"a payment above {ctx.payments.second_confirmation_above} needs a second finance"
                " officer's confirmation first"
            )
        if tranche.confirmed_by == ctx.actor.id:
            raise Forbidden("four eyes: the officer who confirmed the tranche cannot also pay it")
    if grant.disbursed_amount + body.amount > grant.amount:  # pragma: no cover  (schedule sums)
        raise Conflict("the payment would exceed the grant's amount")
    charged = (
        await session.execute(
            select(GrantCharge, col(FundingSource.code))
            .join(FundingSource, col(FundingSource.id) == GrantCharge.funding_source_id)
            .where(col(GrantCharge.grant_id) == grant.id)
            .order_by(col(GrantCharge.funding_source_id))
        )
    ).all()
    charges = [ch for ch, _ in charged]
    codes = {ch.funding_source_id: code for ch, code in charged}
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
    written: list[LedgerSplit] = []
    for ch, (part, committed_src) in zip(charges, parts, strict=True):
        if part == 0 and committed_src == 0:
            continue
        rate = rates[ch.source_currency]
        written.append(
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
    session.add_all(written)
    before = snapshot(tranche)
    _move(tranche, TrancheStatus.DISBURSED)
    tranche.version += 1
    grant.disbursed_amount += body.amount
    if grant.disbursed_amount == grant.amount:
        grant.status = GrantStatus.COMPLETED
    await session.flush()
    # the payment's event and the tranche's, chained in one statement (as two `record`s would)
    await record_many(
        session,
        ctx,
        [
            Event("ledger.disbursement", "ledger_entry", entry.id, after=snapshot(entry)),
            Event("tranche.disbursed", "tranche", tranche.id, before, snapshot(tranche)),
        ],
    )
    await emit(
        session, EventType.TRANCHE_DISBURSED, {"tranche_id": tranche.id, "grant_id": grant.id}
    )
    # the splits just written, not read back (flushed above: their ids are set)
    known = {entry.id: [_split_read(s, codes[s.funding_source_id], entry.kind) for s in written]}
    return (await ledger_reads(session, [entry], known))[0]


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
