"""Small helpers shared by the review modules (package-private): the conflicted (proposal,
reviewer) pairs, and moving a proposal to `scored`."""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.enums import AssignmentStatus, ProposalStatus
from service.audit.service import record
from service.changes import move_proposal
from service.context import RequestContext
from service.persistence.models import Conflict, Proposal, ReviewAssignment


async def _conflicted(
    session: AsyncSession, proposal_ids: list[uuid.UUID]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    if not proposal_ids:
        return set()
    return set(
        (
            await session.execute(
                select(Conflict.proposal_id, Conflict.reviewer_id).where(
                    col(Conflict.proposal_id).in_(proposal_ids)
                )
            )
        ).all()
    )


async def _maybe_scored(session: AsyncSession, ctx: RequestContext, proposal: Proposal) -> None:
    """A proposal is scored when no live assignment is pending and at least one review is in."""
    counts = dict(
        (
            await session.execute(
                select(ReviewAssignment.status, func.count())
                .where(col(ReviewAssignment.proposal_id) == proposal.id)
                .group_by(col(ReviewAssignment.status))
            )
        ).all()
    )
    pending = counts.get(AssignmentStatus.ASSIGNED, 0)
    done = counts.get(AssignmentStatus.COMPLETED, 0)
    if pending == 0 and done > 0 and proposal.status == ProposalStatus.IN_REVIEW:
        move_proposal(proposal, ProposalStatus.SCORED)
        await session.flush()
        await record(
            session,
            ctx,
            action="proposal.scored",
            entity="proposal",
            entity_id=proposal.id,
            before={"status": "in_review"},
            after={"status": "scored"},
        )
