"""Use case: list every decision on a window's proposals, oldest first, in one query."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import decisions as c
from contracts import permissions as p
from service.calls.queries import window_or_404
from service.context import RequestContext
from service.persistence.models import AppUser, Decision, Proposal


async def list_window_decisions(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID
) -> list[c.DecisionHistoryEntry]:
    ctx.require(p.can_read_selection(ctx.actor))
    await window_or_404(session, ctx, window_id)
    rows = await session.execute(
        select(Decision, Proposal.title, Proposal.receipt_number, AppUser.full_name)
        .join(Proposal, col(Proposal.id) == col(Decision.proposal_id))
        .join(AppUser, col(AppUser.id) == col(Decision.actor_id))
        .where(col(Proposal.window_id) == window_id)
        .order_by(col(Decision.created_at), col(Decision.id))
    )
    return [
        c.DecisionHistoryEntry(
            id=d.id,
            proposal_id=d.proposal_id,
            proposal_title=title,
            receipt_number=receipt,
            outcome=d.outcome,
            reason=d.reason,
            run_id=d.run_id,
            actor_id=d.actor_id,
            actor_name=name,
            current=d.is_current,
            created_at=d.created_at,
        )
        for d, title, receipt, name in rows.all()
    ]
