"""A complete review in one call: UpdateReview with `submit: true` saves and submits, checked as
CreateReviewSubmission checks it; refused, nothing is saved."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.client import ApiError
from contracts.enums import AssignmentStatus, ProposalStatus, ReviewStatus
from contracts.reviews import AssignmentCreate, ReviewSave, ReviewSubmit
from service.persistence.models import AuditEvent, CriterionScore, Review, ReviewAssignment
from tests.conftest import MakeUser, Person
from tests.factories import criterion_scores, make_reviewers, submitted_proposal
from tests.journey import Programme

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


@dataclass
class Assigned:
    proposal_id: uuid.UUID
    assignment_id: uuid.UUID
    reviewer: Person


@pytest.fixture
async def assigned(programme: Programme, make_user: MakeUser) -> Assigned:
    """One eligible proposal, one reviewer assigned to it who declared no conflict."""
    w = programme
    _, proposal_id = await submitted_proposal(w)
    (reviewer,) = await make_reviewers(make_user, 1)
    a = await w.officer.create_assignment(proposal_id, AssignmentCreate(reviewer_id=reviewer.id))
    await reviewer.client.create_no_conflict_declaration(a.id)
    return Assigned(proposal_id, a.id, reviewer)


async def counts(session: AsyncSession) -> dict[str, int]:
    return {
        t.__name__: int((await session.execute(select(func.count()).select_from(t))).scalar_one())
        for t in (Review, CriterionScore, AuditEvent)
    }


async def test_scores_are_saved_and_submitted_in_one_call(
    programme: Programme, assigned: Assigned, session: AsyncSession
) -> None:
    r = assigned.reviewer
    done = await r.client.update_review(
        assigned.assignment_id,
        ReviewSave(scores=criterion_scores(35, 40, None), comment="Solid", submit=True),
    )
    assert done.status == ReviewStatus.SUBMITTED
    assert done.submitted_at is not None
    assert [(s.criterion, s.value) for s in done.scores] == [
        ("relevance", 35),
        ("feasibility", 40),
        ("gender", None),
    ]
    assert done.comment == "Solid"
    assert done.version == 2  # saved (1), then submitted (2), as two calls would leave it
    assert await r.client.get_review(assigned.assignment_id) == done
    assignment = await session.get_one(ReviewAssignment, assigned.assignment_id)
    await session.refresh(assignment)
    assert assignment.status == AssignmentStatus.COMPLETED
    # its only reviewer submitted: the proposal is scored
    proposal = await programme.officer.get_proposal(assigned.proposal_id)
    assert proposal.status == ProposalStatus.SCORED
    actions = list(
        (
            await session.execute(
                select(AuditEvent.action)
                .where(col(AuditEvent.entity_id) == str(done.id))
                .order_by(col(AuditEvent.seq))
            )
        ).scalars()
    )
    assert actions == ["review.saved", "review.submitted"]


async def test_an_incomplete_review_is_refused_and_nothing_is_saved(
    assigned: Assigned, session: AsyncSession
) -> None:
    r = assigned.reviewer
    before = await counts(session)
    with pytest.raises(ApiError) as incomplete:
        await r.client.update_review(
            assigned.assignment_id,
            ReviewSave(scores=criterion_scores(35, 40, None)[:2], submit=True),
        )
    assert incomplete.value.status == 422
    assert [(e.field, e.message) for e in incomplete.value.problem.errors or []] == [
        ("scores", "missing: gender")
    ]
    assert await counts(session) == before
    with pytest.raises(ApiError) as nothing:
        await r.client.get_review(assigned.assignment_id)
    assert nothing.value.status == 404

    # a saved draft stays as it was when the save-and-submit is refused
    draft = await r.client.update_review(
        assigned.assignment_id, ReviewSave(scores=criterion_scores(35, 40, None)[:1])
    )
    before = await counts(session)
    with pytest.raises(ApiError) as still_incomplete:
        await r.client.update_review(
            assigned.assignment_id,
            ReviewSave(
                version=draft.version, scores=criterion_scores(45, 40, None)[:2], submit=True
            ),
        )
    assert still_incomplete.value.status == 422
    assert await counts(session) == before
    assert await r.client.get_review(assigned.assignment_id) == draft


async def test_a_score_off_the_scale_is_refused_before_anything_is_saved(
    assigned: Assigned, session: AsyncSession
) -> None:
    before = await counts(session)
    with pytest.raises(ApiError) as off_scale:
        await assigned.reviewer.client.update_review(
            assigned.assignment_id, ReviewSave(scores=criterion_scores(33, 40, None), submit=True)
        )
    assert off_scale.value.status == 422
    assert [e.field for e in off_scale.value.problem.errors or []] == ["body.scores[0].value"]
    assert await counts(session) == before


async def test_a_submitted_review_is_not_saved_again(
    assigned: Assigned, session: AsyncSession
) -> None:
    r = assigned.reviewer
    draft = await r.client.update_review(
        assigned.assignment_id, ReviewSave(scores=criterion_scores(35, 40, None))
    )
    done = await r.client.create_review_submission(
        assigned.assignment_id, ReviewSubmit(version=draft.version)
    )
    before = await counts(session)
    with pytest.raises(ApiError) as closed:
        await r.client.update_review(
            assigned.assignment_id,
            ReviewSave(version=done.version, scores=criterion_scores(50, 50, 50), submit=True),
        )
    assert closed.value.status == 409
    assert await counts(session) == before
    assert await r.client.get_review(assigned.assignment_id) == done


async def test_without_submit_the_save_stays_a_draft(assigned: Assigned) -> None:
    saved = await assigned.reviewer.client.update_review(
        assigned.assignment_id, ReviewSave(scores=criterion_scores(35, 40, None))
    )
    assert (saved.status, saved.submitted_at, saved.version) == (ReviewStatus.DRAFT, None, 1)
