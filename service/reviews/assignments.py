"""Assignments: automatic and manual assignment of reviewers to proposals, the lists of them, and
a reviewer's declaration of no conflict or of a conflict on its own assignment."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import permissions as p
from contracts import reviews as c
from contracts.enums import AssignmentStatus, ConflictSource, ProposalStatus, ReviewStatus, Role
from contracts.notifications import NotificationKind
from scoring.assignment import ProposalToAssign, Reviewer, assign
from service.audit.service import record, snapshot
from service.calls.service import window_or_404
from service.changes import move_proposal, record_created
from service.context import RequestContext, utcnow
from service.i18n import i18n
from service.mapping import to_read
from service.notifications.service import notify_assignment
from service.persistence.models import (
    Call,
    CallWindow,
    Conflict,
    Organisation,
    Pcc,
    PccMember,
    Proposal,
    Review,
    ReviewAssignment,
    UserRole,
)
from service.problems import Conflict as ConflictProblem
from service.problems import InvalidInput, NotFound, issue
from service.reviews._common import _conflicted, _maybe_scored
from service.reviews.panels import (
    _caps_by_reviewer,
    _detected_conflicts,
    _panel_caps,
    _panel_ids,
    _record_detected,
)


async def _assignment_reads(
    session: AsyncSession, rows: list[ReviewAssignment]
) -> list[c.AssignmentRead]:
    pids = {a.proposal_id for a in rows}
    props: dict[uuid.UUID, Proposal] = {}
    windows: dict[uuid.UUID, tuple[CallWindow, Call]] = {}
    if pids:
        for x, window, call in await session.execute(
            select(Proposal, CallWindow, Call)
            .join(CallWindow, col(CallWindow.id) == col(Proposal.window_id))
            .join(Call, col(Call.id) == col(CallWindow.call_id))
            .where(col(Proposal.id).in_(pids))
        ):
            props[x.id] = x
            windows[window.id] = (window, call)
    reviews: dict[uuid.UUID, ReviewStatus] = {}
    if rows:
        for aid, status in await session.execute(
            select(Review.assignment_id, Review.status).where(
                col(Review.assignment_id).in_([a.id for a in rows])
            )
        ):
            reviews[aid] = ReviewStatus(status)
    reads = []
    for a in rows:
        proposal = props[a.proposal_id]
        window, call = windows[proposal.window_id]
        reads.append(
            to_read(
                c.AssignmentRead,
                a,
                proposal_title=proposal.title,
                window_id=proposal.window_id,
                review_status=reviews.get(a.id),
                receipt_number=proposal.receipt_number,
                call_id=call.id,
                call_title=i18n(call.title),
                window_title=i18n(window.title),
                blind=window.blind_review,
                review_deadline=window.review_deadline,
            )
        )
    return reads


async def auto_assign(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, body: c.AutoAssign
) -> c.AssignmentList:
    """Give each eligible proposal the window's number of reviewers from its panel."""
    ctx.require(p.can_manage_reviews(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id, lock=True)
    reviewer_ids = await _panel_ids(session, window.id)
    if not reviewer_ids:
        raise ConflictProblem("the window has no review panel yet")
    proposals = list(
        (
            await session.execute(
                select(Proposal)
                .where(
                    col(Proposal.window_id) == window.id,
                    col(Proposal.status).in_([ProposalStatus.ELIGIBLE, ProposalStatus.IN_REVIEW]),
                )
                .order_by(col(Proposal.id))
                .with_for_update()
            )
        ).scalars()
    )
    found = await _detected_conflicts(session, window, proposals, reviewer_ids)
    await _record_detected(session, ctx, found)
    conflicted = await _conflicted(session, [x.id for x in proposals])
    existing = (
        list(
            (
                await session.execute(
                    select(ReviewAssignment.proposal_id, ReviewAssignment.reviewer_id).where(
                        col(ReviewAssignment.proposal_id).in_([x.id for x in proposals]),
                        col(ReviewAssignment.status) != AssignmentStatus.DECLINED,
                    )
                )
            ).all()
        )
        if proposals
        else []
    )
    territory_of = (
        dict(
            (
                await session.execute(
                    select(Organisation.id, Organisation.territory_id).where(
                        col(Organisation.id).in_({x.organisation_id for x in proposals})
                    )
                )
            ).all()
        )
        if proposals
        else {}
    )
    reviewer_places: dict[uuid.UUID, set[str]] = defaultdict(set)
    for uid, tid in await session.execute(
        select(PccMember.user_id, Pcc.territory_id)
        .join(Pcc, col(Pcc.id) == col(PccMember.pcc_id))
        .where(col(PccMember.user_id).in_(reviewer_ids))
    ):
        if uid is not None:
            reviewer_places[uid].add(str(tid))
    result = assign(
        [
            ProposalToAssign(
                id=str(x.id),
                territory=str(territory_of[x.organisation_id]),
                organisations=frozenset({str(x.organisation_id)}),
            )
            for x in proposals
        ],
        [Reviewer(id=str(r), territories=frozenset(reviewer_places[r])) for r in reviewer_ids],
        window.reviewers_per_proposal,
        body.seed.encode("utf-8"),
        declared_conflicts=frozenset((str(a), str(b)) for a, b in conflicted),
        avoid_same_territory=window.avoid_same_territory_reviewers,
        cap=body.cap,
        existing=[(str(a), str(b)) for a, b in existing],
        caps={
            str(k): v
            for k, v in {
                **await _panel_caps(session, window.id),
                **_caps_by_reviewer(body.caps),
            }.items()
        },
    )
    created: list[ReviewAssignment] = []
    for pid, rid in result.assignments:
        row = ReviewAssignment(
            proposal_id=uuid.UUID(pid),
            reviewer_id=uuid.UUID(rid),
            assigned_by=ctx.actor.id,
        )
        session.add(row)
        created.append(row)
    await session.flush()
    for row in created:
        await record_created(session, ctx, "review_assignment", row)
        await notify_assignment(session, NotificationKind.REVIEW_ASSIGNED, row.id)
    for proposal in proposals:
        if proposal.status == ProposalStatus.ELIGIBLE and any(
            a.proposal_id == proposal.id for a in created
        ):
            await _start_review(session, ctx, proposal)
    await record(
        session,
        ctx,
        action="window.reviewers_assigned",
        entity="window",
        entity_id=window.id,
        after={"seed": body.seed, "assigned": len(created), "short": dict(result.short)},
    )
    return c.AssignmentList(
        items=await _assignment_reads(session, created), short=dict(result.short)
    )


async def _start_review(session: AsyncSession, ctx: RequestContext, proposal: Proposal) -> None:
    """An eligible proposal given its first reviewer moves to review, audited."""
    move_proposal(proposal, ProposalStatus.IN_REVIEW)
    await session.flush()
    await record(
        session,
        ctx,
        action="proposal.in_review",
        entity="proposal",
        entity_id=proposal.id,
        before={"status": "eligible"},
        after={"status": "in_review"},
    )


async def assign_manually(
    session: AsyncSession, ctx: RequestContext, proposal_id: uuid.UUID, body: c.AssignmentCreate
) -> c.AssignmentRead:
    ctx.require(p.can_manage_reviews(ctx.actor))
    proposal = await session.get(Proposal, proposal_id, with_for_update=True)
    if proposal is None:
        raise NotFound(f"proposal {proposal_id} does not exist")
    window, _ = await window_or_404(session, ctx, proposal.window_id)
    is_reviewer = (
        await session.execute(
            select(UserRole.user_id).where(
                col(UserRole.user_id) == body.reviewer_id, col(UserRole.role) == Role.REVIEWER
            )
        )
    ).first()
    if is_reviewer is None:
        raise InvalidInput("not a reviewer", [issue("body.reviewer_id", "not a reviewer")])
    if proposal.status not in {ProposalStatus.ELIGIBLE, ProposalStatus.IN_REVIEW}:
        raise ConflictProblem(f"a {proposal.status} proposal is not reviewed")
    found = await _detected_conflicts(session, window, [proposal], [body.reviewer_id])
    await _record_detected(session, ctx, found)
    if (proposal.id, body.reviewer_id) in await _conflicted(session, [proposal.id]):
        raise ConflictProblem("this reviewer has a conflict of interest with the proposal")
    taken = (
        await session.execute(
            select(ReviewAssignment.id).where(
                col(ReviewAssignment.proposal_id) == proposal.id,
                col(ReviewAssignment.reviewer_id) == body.reviewer_id,
            )
        )
    ).first()
    if taken:
        raise ConflictProblem("this reviewer is already assigned to the proposal")
    row = ReviewAssignment(
        proposal_id=proposal.id, reviewer_id=body.reviewer_id, assigned_by=ctx.actor.id
    )
    session.add(row)
    await session.flush()
    await record_created(session, ctx, "review_assignment", row)
    await notify_assignment(session, NotificationKind.REVIEW_ASSIGNED, row.id)
    if proposal.status == ProposalStatus.ELIGIBLE:
        await _start_review(session, ctx, proposal)
    return (await _assignment_reads(session, [row]))[0]


REVIEWED = frozenset({ProposalStatus.ELIGIBLE, ProposalStatus.IN_REVIEW})
"""The statuses in which a proposal takes reviewers."""


async def assign_batch(
    session: AsyncSession,
    ctx: RequestContext,
    window_id: uuid.UUID,
    body: c.AssignmentBatchCreate,
) -> c.AssignmentList:
    """Explicit assignments of the window's proposals, all or nothing. Each pair is checked as
    `assign_manually` checks it (a reviewer, a proposal of this window under review, no conflict
    of interest, detected or declared, not assigned already) and the pairs against each other
    (each at most once). Every refused pair is named by index in one problem: 422 when a pair
    names what does not exist or repeats another, else 409; nothing is written. Done: each
    assignment is audited and notified as a single one is, and an eligible proposal moves to
    review."""
    ctx.require(p.can_manage_reviews(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id, lock=True)
    pids = sorted({x.proposal_id for x in body.items})
    rids = sorted({x.reviewer_id for x in body.items})
    proposals = {
        x.id: x
        for x in (
            await session.execute(
                select(Proposal)
                .where(col(Proposal.id).in_(pids))
                .order_by(col(Proposal.id))
                .with_for_update()
            )
        ).scalars()
    }
    reviewers = set(
        (
            await session.execute(
                select(UserRole.user_id).where(
                    col(UserRole.user_id).in_(rids), col(UserRole.role) == Role.REVIEWER
                )
            )
        ).scalars()
    )
    ours = [x for x in proposals.values() if x.window_id == window.id]
    found = await _detected_conflicts(session, window, ours, sorted(reviewers))
    wanted = {(x.proposal_id, x.reviewer_id) for x in body.items}
    await _record_detected(session, ctx, {k: v for k, v in found.items() if k in wanted})
    conflicted = await _conflicted(session, [x.id for x in ours])
    taken = (
        set(
            (
                await session.execute(
                    select(ReviewAssignment.proposal_id, ReviewAssignment.reviewer_id).where(
                        col(ReviewAssignment.proposal_id).in_([x.id for x in ours]),
                        col(ReviewAssignment.reviewer_id).in_(rids),
                    )
                )
            ).all()
        )
        if ours
        else set()
    )
    invalid, refused = [], []
    first_at: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    for n, pair in enumerate(body.items):
        at = f"body.items[{n}]"
        key = (pair.proposal_id, pair.reviewer_id)
        proposal = proposals.get(pair.proposal_id)
        if key in first_at:
            invalid.append(issue(at, f"the same pair as body.items[{first_at[key]}]"))
            continue
        first_at[key] = n
        if proposal is None or proposal.window_id != window.id:
            invalid.append(issue(f"{at}.proposal_id", "no such proposal in this window"))
        if pair.reviewer_id not in reviewers:
            invalid.append(issue(f"{at}.reviewer_id", "not a reviewer"))
        if proposal is None or proposal.window_id != window.id or pair.reviewer_id not in reviewers:
            continue
        if proposal.status not in REVIEWED:
            refused.append(
                issue(f"{at}.proposal_id", f"a {proposal.status} proposal is not reviewed")
            )
        elif key in conflicted:
            refused.append(issue(at, "this reviewer has a conflict of interest with the proposal"))
        elif key in taken:
            refused.append(issue(at, "this reviewer is already assigned to the proposal"))
    if invalid:
        raise InvalidInput(
            f"{len({e.field.split('.')[1] for e in invalid})} of {len(body.items)} pairs "
            "are not valid; nothing was assigned",
            invalid + refused,
        )
    if refused:
        raise ConflictProblem(
            f"{len(refused)} of {len(body.items)} pairs cannot be assigned; nothing was assigned",
            errors=refused,
        )
    created = [
        ReviewAssignment(
            proposal_id=pair.proposal_id, reviewer_id=pair.reviewer_id, assigned_by=ctx.actor.id
        )
        for pair in body.items
    ]
    session.add_all(created)
    await session.flush()
    for row in created:
        await record_created(session, ctx, "review_assignment", row)
        await notify_assignment(session, NotificationKind.REVIEW_ASSIGNED, row.id)
    for pid in pids:
        if proposals[pid].status == ProposalStatus.ELIGIBLE:
            await _start_review(session, ctx, proposals[pid])
    return c.AssignmentList(items=await _assignment_reads(session, created))


async def list_window_assignments(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID
) -> c.AssignmentList:
    """Who reviews what in a window: the oversight view for programme staff and auditors."""
    ctx.require(p.can_read_conflicts(ctx.actor))
    await window_or_404(session, ctx, window_id)
    rows = list(
        (
            await session.execute(
                select(ReviewAssignment)
                .join(Proposal, col(Proposal.id) == col(ReviewAssignment.proposal_id))
                .where(col(Proposal.window_id) == window_id)
                .order_by(col(ReviewAssignment.created_at), col(ReviewAssignment.id))
            )
        ).scalars()
    )
    return c.AssignmentList(items=await _assignment_reads(session, rows))


async def list_my_assignments(session: AsyncSession, ctx: RequestContext) -> c.AssignmentList:
    ctx.require(p.can_review(ctx.actor))
    rows = list(
        (
            await session.execute(
                select(ReviewAssignment)
                .where(col(ReviewAssignment.reviewer_id) == ctx.actor.id)
                .order_by(col(ReviewAssignment.created_at), col(ReviewAssignment.id))
            )
        ).scalars()
    )
    return c.AssignmentList(items=await _assignment_reads(session, rows))


async def _my_assignment(
    session: AsyncSession, ctx: RequestContext, assignment_id: uuid.UUID, *, lock: bool = False
) -> tuple[ReviewAssignment, Proposal]:
    """The caller's own, live assignment; a conflicted one does not exist for it (404)."""
    ctx.require(p.can_review(ctx.actor))
    a = await session.get(ReviewAssignment, assignment_id, with_for_update=lock)
    if a is None or a.reviewer_id != ctx.actor.id or a.status == AssignmentStatus.DECLINED:
        raise NotFound(f"assignment {assignment_id} does not exist or is not yours")
    if (a.proposal_id, a.reviewer_id) in await _conflicted(session, [a.proposal_id]):
        raise NotFound(f"assignment {assignment_id} does not exist or is not yours")
    proposal = await session.get_one(Proposal, a.proposal_id)
    return a, proposal


def _require_declared(a: ReviewAssignment) -> None:
    """The proposal is read, and scored, only after the reviewer declared no conflict."""
    if a.no_conflict_declared_at is None:
        raise ConflictProblem(
            "declare whether you have a conflict of interest with this proposal first "
            "(POST …/no-conflict-declaration, or …/conflict to step back)"
        )


async def declare_no_conflict(
    session: AsyncSession, ctx: RequestContext, assignment_id: uuid.UUID
) -> c.AssignmentRead:
    """The reviewer declares no conflict of interest: the proposal opens to it. Declaring again
    keeps the first moment; a conflict may still be declared later."""
    a, _ = await _my_assignment(session, ctx, assignment_id, lock=True)
    if a.no_conflict_declared_at is None:
        before = snapshot(a)
        a.no_conflict_declared_at = utcnow()
        await session.flush()
        await record(
            session,
            ctx,
            action="review_assignment.no_conflict_declared",
            entity="review_assignment",
            entity_id=a.id,
            before=before,
            after=snapshot(a),
        )
    return (await _assignment_reads(session, [a]))[0]


async def declare_conflict(
    session: AsyncSession, ctx: RequestContext, assignment_id: uuid.UUID, body: c.ConflictCreate
) -> c.ConflictRead:
    """Declared before reading the proposal: the reviewer steps back and leaves every aggregate."""
    a, proposal = await _my_assignment(session, ctx, assignment_id, lock=True)
    row = Conflict(
        proposal_id=proposal.id,
        reviewer_id=a.reviewer_id,
        source=ConflictSource.DECLARED,
        reason=body.reason,
    )
    session.add(row)
    before = snapshot(a)
    a.status = AssignmentStatus.DECLINED
    await session.flush()
    await session.refresh(row)
    await record_created(session, ctx, "conflict", row)
    await record(
        session,
        ctx,
        action="review_assignment.declined",
        entity="review_assignment",
        entity_id=a.id,
        before=before,
        after=snapshot(a),
        reason=body.reason,
    )
    await _maybe_scored(session, ctx, proposal)
    return to_read(c.ConflictRead, row)
