"""The tranche lifecycle: approval, the second confirmation of a large payment, cancellation."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import awards as c
from contracts import permissions as p
from contracts.enums import GrantStatus, TrancheStatus
from contracts.lifecycles import TRANCHE_TRANSITIONS, allowed_next, can_move
from service.audit.service import record, snapshot
from service.awards.grants import _new_version, _terms
from service.awards.reads import _sees_grant, _tranche_reads, grant_or_404
from service.awards.window_money import _release, lock_window
from service.changes import check_version
from service.context import RequestContext, utcnow
from service.persistence.models import Grant, Tranche
from service.problems import Conflict, Forbidden, IllegalTransition, NotFound

_GRANT_OF_TRANCHE = (
    select(Grant)
    .where(
        col(Grant.id)
        == select(col(Tranche.grant_id))
        .where(col(Tranche.id) == bindparam("tranche_id"))
        .scalar_subquery()
    )
    .with_for_update()
    .execution_options(populate_existing=True)  # the locked row's values: no refresh
)
_TRANCHE_LOCKED = (
    select(Tranche)
    .where(col(Tranche.id) == bindparam("tranche_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


async def _tranche_for_update(
    session: AsyncSession, ctx: RequestContext, tranche_id: uuid.UUID
) -> tuple[Grant, Tranche]:
    """The tranche and its grant, both locked (grant first), or 404. Two statements built once:
    the grant found by the tranche's id and locked (a tranche never changes its grant), then the
    tranche."""
    grant = (
        await session.execute(_GRANT_OF_TRANCHE, {"tranche_id": tranche_id})
    ).scalar_one_or_none()
    if grant is None:
        raise NotFound(f"tranche {tranche_id} does not exist")
    ctx.require(p.can_list_grants(ctx.actor))  # as grant_or_404: the answers in the same order
    if not _sees_grant(ctx, grant.organisation_id):
        raise NotFound(f"grant {grant.id} does not exist or is not yours to see")
    tranche = (await session.execute(_TRANCHE_LOCKED, {"tranche_id": tranche_id})).scalar_one()
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
    session: AsyncSession, ctx: RequestContext, tranche_id: uuid.UUID
) -> c.TrancheRead:
    tranche = await session.get(Tranche, tranche_id)
    if tranche is None:
        raise NotFound(f"tranche {tranche_id} does not exist")
    await grant_or_404(session, ctx, tranche.grant_id)
    return (await _tranche_reads(session, [tranche], ctx.payments))[0]


async def approve_tranche(
    session: AsyncSession,
    ctx: RequestContext,
    tranche_id: uuid.UUID,
    body: c.TrancheTransition,
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
    return (await _tranche_reads(session, [tranche], ctx.payments))[0]


async def confirm_tranche(
    session: AsyncSession,
    ctx: RequestContext,
    tranche_id: uuid.UUID,
    body: c.TrancheTransition,
) -> c.TrancheRead:
    """The second finance officer's confirmation of a large payment, before it is made."""
    ctx.require(p.can_disburse(ctx.actor))
    _, tranche = await _tranche_for_update(session, ctx, tranche_id)
    check_version(tranche, body)
    if tranche.status != TrancheStatus.APPROVED:
        raise Conflict(f"only an approved tranche is confirmed; this one is {tranche.status}")
    if not ctx.payments.needs_confirmation(tranche.amount):
        raise Conflict(
            f"a tranche of {tranche.amount} is paid without a second confirmation"
            f" (only above {ctx.payments.second_confirmation_above})"
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
    return (await _tranche_reads(session, [tranche], ctx.payments))[0]


async def cancel_tranche(
    session: AsyncSession,
    ctx: RequestContext,
    tranche_id: uuid.UUID,
    body: c.TrancheCancellation,
) -> c.TrancheRead:
    """Cancel an unpaid tranche: the grant's amount falls by it, its charges release it pro rata
    to their unpaid parts, and a new version of the grant's terms is recorded."""
    ctx.require(p.can_manage_grants(ctx.actor))
    found = await session.get(Tranche, tranche_id)
    if found is None:
        raise NotFound(f"tranche {tranche_id} does not exist")
    found_grant = await grant_or_404(session, ctx, found.grant_id)
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
    return (await _tranche_reads(session, [tranche], ctx.payments))[0]
