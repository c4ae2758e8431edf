"""The rubric and the review scores that count towards a ranking and a selection run."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.enums import AssignmentStatus, ReviewStatus
from service.persistence.models import (
    CallWindow,
    Conflict,
    Criterion,
    CriterionScore,
    Review,
    ReviewAssignment,
    Rubric,
)
from service.problems import Conflict as ConflictProblem


async def window_rubric(
    session: AsyncSession, window: CallWindow
) -> tuple[Rubric, list[Criterion]]:
    """The window's rubric and its criteria in order; 409 when the window has none."""
    if window.rubric_id is None:
        raise ConflictProblem("the window has no rubric")
    rubric = await session.get_one(Rubric, window.rubric_id)
    criteria = list(
        (
            await session.execute(
                select(Criterion)
                .where(col(Criterion.rubric_id) == rubric.id)
                .order_by(col(Criterion.position))
            )
        ).scalars()
    )
    return rubric, criteria


async def counted_scores(
    session: AsyncSession, ids: Collection[uuid.UUID], code_of: Mapping[uuid.UUID, str]
) -> list[tuple[uuid.UUID, uuid.UUID, str, int]]:
    """(proposal, reviewer, criterion code, value) of the submitted reviews of completed
    assignments on these proposals, ordered by proposal, reviewer and criterion id; a
    conflicted reviewer leaves every aggregate, and a criterion not in ``code_of`` is passed
    over."""
    if not ids:
        return []
    conflicted = set(
        (
            await session.execute(
                select(Conflict.proposal_id, Conflict.reviewer_id).where(
                    col(Conflict.proposal_id).in_(ids)
                )
            )
        ).all()
    )
    return [
        (pid, rid, code_of[crit], value)
        for pid, rid, crit, value in await session.execute(
            select(
                ReviewAssignment.proposal_id,
                ReviewAssignment.reviewer_id,
                CriterionScore.criterion_id,
                CriterionScore.value,
            )
            .join(Review, col(Review.id) == col(CriterionScore.review_id))
            .join(ReviewAssignment, col(ReviewAssignment.id) == col(Review.assignment_id))
            .where(
                col(ReviewAssignment.proposal_id).in_(ids),
                col(Review.status) == ReviewStatus.SUBMITTED,
                col(ReviewAssignment.status) == AssignmentStatus.COMPLETED,
            )
            .order_by(
                col(ReviewAssignment.proposal_id),
                col(ReviewAssignment.reviewer_id),
                col(CriterionScore.criterion_id),
            )
        )
        if (pid, rid) not in conflicted and crit in code_of
    ]
