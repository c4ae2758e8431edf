"""Reviewing: what a reviewer reads of an assigned proposal, saving and submitting a review,
reopening it, the panel's reviews of a proposal, the consensus score."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import permissions as p
from contracts import reviews as c
from contracts.enums import AssignmentStatus, ProposalStatus, ReviewStatus
from service.audit.service import record, snapshot
from service.changes import check_version, move_proposal
from service.context import RequestContext, utcnow
from service.mapping import to_read
from service.persistence.models import (
    Attachment,
    BudgetLine,
    CallWindow,
    ConsensusScore,
    Criterion,
    CriterionScore,
    Organisation,
    Proposal,
    ProposalActionPlanItem,
    Review,
    ReviewAssignment,
    Rubric,
)
from service.problems import Conflict as ConflictProblem
from service.problems import Forbidden, IllegalTransition, InvalidInput, NotFound, issue
from service.reviews._common import _conflicted, _maybe_scored
from service.reviews.assignments import _my_assignment, _require_declared
from service.reviews.rubrics import rubric_read


async def reviewer_view(
    session: AsyncSession, ctx: RequestContext, assignment_id: uuid.UUID
) -> c.ReviewerProposalView:
    a, proposal = await _my_assignment(session, ctx, assignment_id)
    _require_declared(a)
    window = await session.get_one(CallWindow, proposal.window_id)
    blind = window.blind_review
    lines = (
        await session.execute(
            select(BudgetLine)
            .where(col(BudgetLine.proposal_id) == proposal.id)
            .order_by(col(BudgetLine.position))
        )
    ).scalars()
    items = list(
        (
            await session.execute(
                select(ProposalActionPlanItem.action_plan_item_id).where(
                    col(ProposalActionPlanItem.proposal_id) == proposal.id
                )
            )
        ).scalars()
    )
    files = (
        await session.execute(
            select(Attachment)
            .where(col(Attachment.proposal_id) == proposal.id)
            .order_by(col(Attachment.created_at), col(Attachment.id))
        )
    ).scalars()
    org = await session.get_one(Organisation, proposal.organisation_id)
    rubric = await session.get(Rubric, window.rubric_id) if window.rubric_id else None
    return to_read(
        c.ReviewerProposalView,
        proposal,
        blind=blind,
        budget_lines=[
            {
                "category": b.category,
                "description": b.description,
                "quantity": str(b.quantity),
                "unit_cost": b.unit_cost,
                "total": b.total,
                "currency": b.currency,
            }
            for b in lines
        ],
        action_plan_item_ids=items,
        attachments=[
            {
                "id": str(f.id),
                "kind": f.kind.value if hasattr(f.kind, "value") else f.kind,
                "content_type": f.content_type,
                "size_bytes": f.size_bytes,
                **({} if blind else {"original_name": f.original_name}),
            }
            for f in files
        ],
        organisation_name=None if blind else org.name,
        organisation_id=None if blind else org.id,
        rubric=await rubric_read(session, rubric) if rubric else None,
    )


async def reviewer_attachment(
    session: AsyncSession, ctx: RequestContext, assignment_id: uuid.UUID, attachment_id: uuid.UUID
) -> tuple[Attachment, bool]:
    """An attachment of the assigned proposal, and whether its name must be hidden (blind)."""
    a, proposal = await _my_assignment(session, ctx, assignment_id)
    _require_declared(a)
    f = await session.get(Attachment, attachment_id)
    if f is None or f.proposal_id != proposal.id:
        raise NotFound(f"attachment {attachment_id} does not exist")
    window = await session.get_one(CallWindow, proposal.window_id)
    return f, window.blind_review


def _require_in_review(proposal: Proposal) -> None:
    if proposal.status != ProposalStatus.IN_REVIEW:
        raise ConflictProblem(
            f"the proposal is {proposal.status}: reviews are closed (a programme officer may "
            "reopen one while the proposal is not yet decided)"
        )


async def _criteria(session: AsyncSession, proposal: Proposal) -> list[Criterion]:
    window = await session.get_one(CallWindow, proposal.window_id)
    if window.rubric_id is None:
        raise ConflictProblem("the window has no rubric yet")
    return list(
        (
            await session.execute(
                select(Criterion)
                .where(col(Criterion.rubric_id) == window.rubric_id)
                .order_by(col(Criterion.position))
            )
        ).scalars()
    )


async def _review_read(
    session: AsyncSession, review: Review, reviewer_id: uuid.UUID | None
) -> c.ReviewRead:
    scores = list(
        (
            await session.execute(
                select(Criterion.code, CriterionScore.value, CriterionScore.comment)
                .join(Criterion, col(Criterion.id) == col(CriterionScore.criterion_id))
                .where(col(CriterionScore.review_id) == review.id)
                .order_by(col(Criterion.position))
            )
        ).all()
    )
    return to_read(
        c.ReviewRead,
        review,
        reviewer_id=reviewer_id,
        scores=[c.CriterionScoreRead(criterion=k, value=v, comment=m) for k, v, m in scores],
    )


async def get_my_review(
    session: AsyncSession, ctx: RequestContext, assignment_id: uuid.UUID
) -> c.ReviewRead:
    a, _ = await _my_assignment(session, ctx, assignment_id)
    review = (
        (await session.execute(select(Review).where(col(Review.assignment_id) == a.id)))
        .scalars()
        .first()
    )
    if review is None:
        raise NotFound("no review saved yet")
    return await _review_read(session, review, a.reviewer_id)


async def save_review(
    session: AsyncSession, ctx: RequestContext, assignment_id: uuid.UUID, body: c.ReviewSave
) -> c.ReviewRead:
    a, proposal = await _my_assignment(session, ctx, assignment_id, lock=True)
    _require_declared(a)
    _require_in_review(proposal)
    criteria = {x.code: x for x in await _criteria(session, proposal)}
    issues = []
    seen: set[str] = set()
    for n, s in enumerate(body.scores):
        at = f"body.scores[{n}]"
        x = criteria.get(s.criterion)
        if x is None:
            issues.append(issue(f"{at}.criterion", f"no criterion {s.criterion} in the rubric"))
            continue
        if s.criterion in seen:
            issues.append(issue(f"{at}.criterion", f"{s.criterion} is scored twice"))
        seen.add(s.criterion)
        if s.value is None and not x.na_allowed:
            issues.append(
                issue(f"{at}.value", f"{s.criterion} cannot be marked not applicable: score it")
            )
        if s.value is not None and (
            not x.scale_min <= s.value <= x.scale_max or (s.value - x.scale_min) % x.scale_step
        ):
            issues.append(
                issue(
                    f"{at}.value",
                    f"{s.value / 10:g} is not on the scale {x.scale_min / 10:g}–"
                    f"{x.scale_max / 10:g} in steps of {x.scale_step / 10:g}",
                )
            )
    if issues:
        raise InvalidInput("the scores are not valid", issues)
    review = (
        (
            await session.execute(
                select(Review).where(col(Review.assignment_id) == a.id).with_for_update()
            )
        )
        .scalars()
        .first()
    )
    if review is None:
        if body.version != 0:
            raise ConflictProblem("there is no saved review yet: send version 0")
        review = Review(assignment_id=a.id)
        session.add(review)
        await session.flush()
        before = None
    else:
        check_version(review, body)
        if review.status == ReviewStatus.SUBMITTED:
            raise IllegalTransition(
                "the review was submitted: a programme officer must reopen it first", allowed=[]
            )
        before = snapshot(review)
        review.version += 1
    review.comment = body.comment
    review.recommendation = body.recommendation
    review.updated_at = utcnow()
    await session.execute(delete(CriterionScore).where(col(CriterionScore.review_id) == review.id))
    for s in body.scores:
        session.add(
            CriterionScore(
                review_id=review.id,
                criterion_id=criteria[s.criterion].id,
                value=s.value,
                comment=s.comment,
            )
        )
    await session.flush()
    await record(
        session,
        ctx,
        action="review.saved",
        entity="review",
        entity_id=review.id,
        before=before,
        after={**(snapshot(review) or {}), "scores": msgspec.to_builtins(body.scores)},
    )
    if body.submit:
        await _submit(session, ctx, a, proposal, review)
    return await _review_read(session, review, a.reviewer_id)


async def submit_review(
    session: AsyncSession, ctx: RequestContext, assignment_id: uuid.UUID, body: c.ReviewSubmit
) -> c.ReviewRead:
    a, proposal = await _my_assignment(session, ctx, assignment_id, lock=True)
    review = (
        (
            await session.execute(
                select(Review).where(col(Review.assignment_id) == a.id).with_for_update()
            )
        )
        .scalars()
        .first()
    )
    _require_in_review(proposal)
    if review is None:
        raise ConflictProblem("save the review before submitting it")
    check_version(review, body)
    if review.status == ReviewStatus.SUBMITTED:
        raise IllegalTransition("the review is already submitted", allowed=[])
    await _submit(session, ctx, a, proposal, review)
    return await _review_read(session, review, a.reviewer_id)


async def _submit(
    session: AsyncSession,
    ctx: RequestContext,
    a: ReviewAssignment,
    proposal: Proposal,
    review: Review,
) -> None:
    """The saved review submitted, once every criterion is scored (or marked not applicable);
    the proposal is scored when it was the last review pending."""
    criteria = await _criteria(session, proposal)
    scored = set(
        (
            await session.execute(
                select(CriterionScore.criterion_id).where(
                    col(CriterionScore.review_id) == review.id
                )
            )
        ).scalars()
    )
    missing = [x.code for x in criteria if x.id not in scored]
    if missing:
        raise InvalidInput(
            "score every criterion (or mark it not applicable) before submitting",
            [issue("scores", f"missing: {', '.join(missing)}")],
        )
    before = snapshot(review)
    review.status = ReviewStatus.SUBMITTED
    review.submitted_at = utcnow()
    review.version += 1
    a.status = AssignmentStatus.COMPLETED
    await session.flush()
    await record(
        session,
        ctx,
        action="review.submitted",
        entity="review",
        entity_id=review.id,
        before=before,
        after=snapshot(review),
    )
    await _maybe_scored(session, ctx, proposal)


async def reopen_review(
    session: AsyncSession, ctx: RequestContext, review_id: uuid.UUID, body: c.ReviewReopen
) -> c.ReviewRead:
    ctx.require(p.can_manage_reviews(ctx.actor))
    review = await session.get(Review, review_id, with_for_update=True)
    if review is None:
        raise NotFound(f"review {review_id} does not exist")
    check_version(review, body)
    if review.status != ReviewStatus.SUBMITTED:
        raise IllegalTransition("only a submitted review can be reopened", allowed=[])
    a = await session.get_one(ReviewAssignment, review.assignment_id, with_for_update=True)
    proposal = await session.get_one(Proposal, a.proposal_id, with_for_update=True)
    if proposal.status not in {ProposalStatus.IN_REVIEW, ProposalStatus.SCORED}:
        raise IllegalTransition(
            f"the proposal is {proposal.status}: its reviews are closed", allowed=[]
        )
    before = snapshot(review)
    review.status = ReviewStatus.REOPENED
    review.reopened_reason = body.reason
    review.version += 1
    a.status = AssignmentStatus.ASSIGNED
    if proposal.status == ProposalStatus.SCORED:
        move_proposal(proposal, ProposalStatus.IN_REVIEW)
    await session.flush()
    await record(
        session,
        ctx,
        action="review.reopened",
        entity="review",
        entity_id=review.id,
        before=before,
        after=snapshot(review),
        reason=body.reason,
    )
    return await _review_read(session, review, a.reviewer_id)


async def proposal_reviews(
    session: AsyncSession, ctx: RequestContext, proposal_id: uuid.UUID
) -> c.ReviewList:
    """The panel's reviews of a proposal: programme staff always; a reviewer only after
    submitting its own. Reviews of conflicted reviewers are left out."""
    ctx.require(p.can_list_proposals(ctx.actor))  # nobody learns whether an id exists
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(f"proposal {proposal_id} does not exist")
    staff = p.can_read_all_reviews(ctx.actor).allowed
    if not staff:
        ctx.require(p.can_review(ctx.actor))
        mine = (
            await session.execute(
                select(ReviewAssignment.id, Review.status)
                .outerjoin(Review, col(Review.assignment_id) == col(ReviewAssignment.id))
                .where(
                    col(ReviewAssignment.proposal_id) == proposal.id,
                    col(ReviewAssignment.reviewer_id) == ctx.actor.id,
                    col(ReviewAssignment.status) != AssignmentStatus.DECLINED,
                )
            )
        ).first()
        conflicted = (proposal.id, ctx.actor.id) in await _conflicted(session, [proposal.id])
        if mine is None or conflicted:
            raise NotFound(f"proposal {proposal_id} does not exist or is not assigned to you")
        window = await session.get_one(CallWindow, proposal.window_id)
        if not window.reviewers_see_panel_scores:
            raise Forbidden("this window does not show reviewers the panel's scores")
        if mine[1] != ReviewStatus.SUBMITTED:
            raise ConflictProblem("submit your own review to see the panel's scores")
    conflicted_pairs = await _conflicted(session, [proposal.id])
    rows = list(
        (
            await session.execute(
                select(Review, ReviewAssignment.reviewer_id)
                .join(ReviewAssignment, col(ReviewAssignment.id) == col(Review.assignment_id))
                .where(
                    col(ReviewAssignment.proposal_id) == proposal.id,
                    col(Review.status) == ReviewStatus.SUBMITTED,
                )
                .order_by(col(Review.submitted_at), col(Review.id))
            )
        ).all()
    )
    items = []
    for review, reviewer_id in rows:
        if (proposal.id, reviewer_id) in conflicted_pairs:
            continue
        shown = reviewer_id if staff or reviewer_id == ctx.actor.id else None
        items.append(await _review_read(session, review, shown))
    return c.ReviewList(items=items)


async def record_consensus(
    session: AsyncSession, ctx: RequestContext, proposal_id: uuid.UUID, body: c.ConsensusCreate
) -> c.ConsensusRead:
    """A programme officer records the panel's consensus on one criterion (audited, reasoned)."""
    ctx.require(p.can_manage_reviews(ctx.actor))
    proposal = await session.get(Proposal, proposal_id, with_for_update=True)
    if proposal is None:
        raise NotFound(f"proposal {proposal_id} does not exist")
    if proposal.status not in {ProposalStatus.IN_REVIEW, ProposalStatus.SCORED}:
        raise ConflictProblem(f"a {proposal.status} proposal takes no consensus score")
    criteria = {x.code: x for x in await _criteria(session, proposal)}
    x = criteria.get(body.criterion)
    if x is None:
        raise InvalidInput("no such criterion", [issue("body.criterion", "not in the rubric")])
    if not x.scale_min <= body.value <= x.scale_max or (body.value - x.scale_min) % x.scale_step:
        raise InvalidInput("off the scale", [issue("body.value", "not on the criterion's scale")])
    row = (
        (
            await session.execute(
                select(ConsensusScore)
                .where(
                    col(ConsensusScore.proposal_id) == proposal.id,
                    col(ConsensusScore.criterion_id) == x.id,
                )
                .with_for_update()
            )
        )
        .scalars()
        .first()
    )
    before = snapshot(row)
    assert ctx.actor.id is not None
    if row is None:
        row = ConsensusScore(
            proposal_id=proposal.id,
            criterion_id=x.id,
            value=body.value,
            reason=body.reason,
            recorded_by=ctx.actor.id,
        )
        session.add(row)
    else:
        row.value = body.value
        row.reason = body.reason
        row.recorded_by = ctx.actor.id
    await session.flush()
    await session.refresh(row)
    await record(
        session,
        ctx,
        action="consensus_score.recorded",
        entity="proposal",
        entity_id=proposal.id,
        before=before,
        after=snapshot(row),
        reason=body.reason,
    )
    return to_read(c.ConsensusRead, row, criterion=x.code)
