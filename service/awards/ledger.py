"""The disbursement ledger: reading it, paying a tranche exactly once, reversing a payment."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from contracts import awards as c
from contracts import permissions as p
from contracts.enums import GrantStatus, LedgerEntryKind, TrancheStatus
from contracts.lifecycles import TRANCHE_TRANSITIONS, allowed_next, can_move
from contracts.webhooks import EventType
from scoring.money import convert, split_payment
from service.audit.service import AUDIT_LOCK_KEY, Event, record, record_many, snapshot
from service.awards._common import _invalid, _names, _rate_str
from service.awards.tranches import _audit_tranche, _move, _tranche_for_update
from service.context import RequestContext
from service.mapping import to_read
from service.notifications.service import TranchePaid
from service.pagination import keyset, split_page
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    AppUser,
    FundingSource,
    Grant,
    GrantCharge,
    LedgerEntry,
    LedgerSplit,
    Tranche,
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


_ENTRY: sa.Table = LedgerEntry.__table__  # type: ignore[attr-defined]  # SQLModel tables have one
_SPLIT: sa.Table = LedgerSplit.__table__  # type: ignore[attr-defined]  # (the same)
_GRANT: sa.Table = Grant.__table__  # type: ignore[attr-defined]  # (the same)
_TRANCHE: sa.Table = Tranche.__table__  # type: ignore[attr-defined]  # (the same)
_ENTRY_FIELDS = (
    "id",
    "tranche_id",
    "grant_id",
    "kind",
    "amount",
    "currency",
    "source_amount",
    "source_currency",
    "rate",
    "value_date",
    "reference",
    "bank_details",
    "attempt",
    "approved_by",
    "confirmed_by",
    "created_by",
)
_SPLIT_FIELDS = (
    "id",
    "ledger_entry_id",
    "funding_source_id",
    "amount",
    "currency",
    "source_amount",
    "committed_source_amount",
    "source_currency",
    "rate",
)
_SIGN = sa.case((_ENTRY.c.kind == LedgerEntryKind.REVERSAL.value, -1), else_=1)
_PAID = (
    sa.select(
        _SPLIT.c.funding_source_id,
        sa.func.sum(_SPLIT.c.amount * _SIGN).label("paid"),
        sa.func.sum(_SPLIT.c.committed_source_amount * _SIGN).label("paid_src"),
    )
    .join(_ENTRY, _ENTRY.c.id == _SPLIT.c.ledger_entry_id)
    .where(_ENTRY.c.grant_id == sa.bindparam("grant_id"))
    .group_by(_SPLIT.c.funding_source_id)
    .subquery("paid")
)
_ATTEMPT = (
    sa.select(sa.func.count())
    .select_from(_ENTRY)
    .where(
        _ENTRY.c.tranche_id == sa.bindparam("tranche_id"),
        _ENTRY.c.kind == LedgerEntryKind.REVERSAL.value,
    )
    .scalar_subquery()
)
_PAYER_NAME = (
    sa.select(col(AppUser.full_name)).where(col(AppUser.id) == sa.bindparam("actor_id"))
).scalar_subquery()
_CHARGES = (
    sa.select(
        col(GrantCharge.funding_source_id),
        col(GrantCharge.amount),
        col(GrantCharge.source_amount),
        col(GrantCharge.source_currency),
        col(FundingSource.code),
        sa.func.coalesce(_PAID.c.paid, 0).label("paid"),
        sa.func.coalesce(_PAID.c.paid_src, 0).label("paid_src"),
    )
    .join(FundingSource, col(FundingSource.id) == GrantCharge.funding_source_id)
    .outerjoin(_PAID, _PAID.c.funding_source_id == GrantCharge.funding_source_id)
    .where(col(GrantCharge.grant_id) == sa.bindparam("grant_id"))
    .subquery("charges")
)
_ONCE = sa.select(_ATTEMPT.label("attempt"), _PAYER_NAME.label("payer_name")).subquery("once")
_PAYMENT_FACTS = (
    sa.select(_ONCE, _CHARGES)
    .select_from(_ONCE.outerjoin(_CHARGES, sa.true()))
    .order_by(_CHARGES.c.funding_source_id)
)
"""What a payment needs once the grant and the tranche are locked, in one statement (built once):
the number of the tranche's reversals (the payment's `attempt`) and the payer's name (the
answer's `created_by_name`) on every row, and one row per charge of the grant (by funding source;
one row of NULLs when it has none) with its funding source's code and what the source has paid
net of reversals so far. Read after the locks, so every earlier payment of the
grant is visible."""


@functools.cache
def _pay(n_splits: int) -> sa.Select[Any]:
    """The payment's writes in one statement (built once per number of splits): the ledger entry
    (its `created_at` returned), its splits, the grant's disbursed amount and status, the
    tranche's status and version, and the audit chain's lock (taken last, after the grant's and
    the tranche's locks, as `record` would; the audit append that follows is a statement of its
    own, so its snapshot sees the event of the writer that held the lock before)."""
    entry = (
        sa.insert(_ENTRY)
        .values({f: sa.bindparam(f"e_{f}", type_=_ENTRY.c[f].type) for f in _ENTRY_FIELDS})
        .returning(_ENTRY.c.created_at)
        .cte("entry")
    )
    grant = (
        sa.update(_GRANT)
        .where(_GRANT.c.id == sa.bindparam("g_id", type_=_GRANT.c.id.type))
        .values(
            disbursed_amount=sa.bindparam(
                "g_disbursed_amount", type_=_GRANT.c.disbursed_amount.type
            ),
            status=sa.bindparam("g_status", type_=_GRANT.c.status.type),
        )
        .returning(_GRANT.c.id)
        .cte("grant_paid")
    )
    tranche = (
        sa.update(_TRANCHE)
        .where(_TRANCHE.c.id == sa.bindparam("t_id", type_=_TRANCHE.c.id.type))
        .values(
            status=sa.bindparam("t_status", type_=_TRANCHE.c.status.type),
            version=sa.bindparam("t_version", type_=_TRANCHE.c.version.type),
        )
        .returning(_TRANCHE.c.id)
        .cte("tranche_paid")
    )
    ctes: list[Any] = [grant, tranche]
    if n_splits:
        ctes.append(
            sa.insert(_SPLIT)
            .values(
                [
                    {f: sa.bindparam(f"s{i}_{f}", type_=_SPLIT.c[f].type) for f in _SPLIT_FIELDS}
                    for i in range(n_splits)
                ]
            )
            .returning(_SPLIT.c.id)
            .cte("splits")
        )
    return sa.select(
        entry.c.created_at, sa.func.pg_advisory_xact_lock(AUDIT_LOCK_KEY).label("audit_lock")
    ).add_cte(*ctes)


async def disburse(
    session: AsyncSession,
    ctx: RequestContext,
    tranche_id: uuid.UUID,
    body: c.DisbursementCreate,
) -> c.LedgerEntryRead:
    """Pay an approved tranche. Seven statements: the grant's lock, the tranche's, the facts of
    the payment (`_PAYMENT_FACTS`), its writes (`_pay`), the audit append, and the event with its
    e-mails (`emit`: its recipients, the outbox rows, their jobs). Core statements built once:
    the ORM's unit of work is not used for the writes (the loaded grant and tranche are given
    their new values as committed ones, so the session sees the payment)."""
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
    rows = (
        await session.execute(
            _PAYMENT_FACTS,
            {"grant_id": grant.id, "tranche_id": tranche.id, "actor_id": ctx.actor.id},
        )
    ).all()
    facts = rows[0]
    charges = [r._mapping for r in rows if r.funding_source_id is not None]
    codes = {ch["funding_source_id"]: ch["code"] for ch in charges}
    rates: dict[str, Decimal] = {}
    for ch in charges:
        currency = ch["source_currency"]
        if currency == grant.currency:
            rates[currency] = Decimal(1)
            continue
        raw = body.rates.get(currency)
        if raw is None:
            raise _invalid(
                "body.rates",
                f"a rate for {currency} (a funding source's currency) is required",
            )
        rates[currency] = _parse_rate(f"body.rates.{currency}", raw)
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
    remaining = [ch["amount"] - int(ch["paid"]) for ch in charges]
    remaining_src = [ch["source_amount"] - int(ch["paid_src"]) for ch in charges]
    parts = split_payment(body.amount, remaining, remaining_src)
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
        attempt=int(facts.attempt),
        approved_by=tranche.approved_by,
        confirmed_by=tranche.confirmed_by,
        created_by=ctx.actor.id,
    )
    params: dict[str, Any] = {f"e_{f}": getattr(entry, f) for f in _ENTRY_FIELDS}
    written: list[c.LedgerSplitRead] = []
    for ch, (part, committed_src) in zip(charges, parts, strict=True):
        if part == 0 and committed_src == 0:
            continue
        rate = rates[ch["source_currency"]]
        split = {
            "id": uuid.uuid4(),
            "ledger_entry_id": entry.id,
            "funding_source_id": ch["funding_source_id"],
            "amount": part,
            "currency": grant.currency,
            "source_amount": convert(part, rate),
            "committed_source_amount": committed_src,
            "source_currency": ch["source_currency"],
            "rate": rate,
        }
        params.update({f"s{len(written)}_{k}": v for k, v in split.items()})
        written.append(
            c.LedgerSplitRead(
                funding_source_id=split["funding_source_id"],
                funding_source_code=codes[split["funding_source_id"]],
                amount=part,
                currency=grant.currency,
                source_amount=split["source_amount"],
                committed_source_amount=committed_src,
                source_currency=ch["source_currency"],
                rate=_rate_str(rate),
                exchange_difference=split["source_amount"] - committed_src,
            )
        )
    before = snapshot(tranche)
    if not can_move(TRANCHE_TRANSITIONS, tranche.status, TrancheStatus.DISBURSED):
        raise IllegalTransition(  # pragma: no cover  (approved → disbursed is a transition)
            f"a {tranche.status} tranche cannot become {TrancheStatus.DISBURSED}",
            allowed=[s.value for s in allowed_next(TRANCHE_TRANSITIONS, tranche.status)],
        )
    disbursed = grant.disbursed_amount + body.amount
    grant_status = GrantStatus.COMPLETED if disbursed == grant.amount else grant.status
    params |= {
        "g_id": grant.id,
        "g_disbursed_amount": disbursed,
        "g_status": grant_status,
        "t_id": tranche.id,
        "t_status": TrancheStatus.DISBURSED,
        "t_version": tranche.version + 1,
    }
    entry.created_at = (await session.execute(_pay(len(written)), params)).scalar_one()
    # the session's loaded rows as the database now has them (not dirty: nothing to flush)
    set_committed_value(tranche, "status", TrancheStatus.DISBURSED)
    set_committed_value(tranche, "version", tranche.version + 1)
    set_committed_value(grant, "disbursed_amount", disbursed)
    set_committed_value(grant, "status", grant_status)
    # the payment's event and the tranche's, chained in one statement (the lock taken above)
    await record_many(
        session,
        ctx,
        [
            Event("ledger.disbursement", "ledger_entry", entry.id, after=snapshot(entry)),
            Event("tranche.disbursed", "tranche", tranche.id, before, snapshot(tranche)),
        ],
        locked=True,
    )
    await emit(
        session,
        EventType.TRANCHE_DISBURSED,
        {"tranche_id": tranche.id, "grant_id": grant.id},
        known=TranchePaid(grant=grant, tranche=tranche, entry=entry),
    )
    written.sort(key=lambda r: r.funding_source_code)
    return to_read(
        c.LedgerEntryRead,
        entry,
        rate=_rate_str(entry.rate),
        created_by_name=facts.payer_name,
        splits=written,
    )


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
