"""Use cases of the programme officer's boards: the panel board (every reviewer with their load,
progress, conflicts and the reminders sent), reminders, removing an assignment, and a window's
ranking board computed by the scoring core from the submitted reviews."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import permissions as p
from contracts import ranking as c
from contracts.enums import (
    AggregationMethod,
    AssignmentStatus,
    ProposalStatus,
    ReviewStatus,
    Role,
    SelectionRunStatus,
)
from scoring.aggregation import (
    Method,
    Score,
    aggregate_proposals,
    disagreement_flags,
    krippendorff_alpha,
    severity_model,
    z_calibrate,
)
from scoring.ranking import DECIDED_BY_LOTTERY, rank
from service.audit.service import record, snapshot
from service.calls.service import window_or_404
from service.context import RequestContext, utcnow
from service.i18n import i18n
from service.persistence.models import (
    AppUser,
    AuditEvent,
    Conflict,
    ConsensusScore,
    CriterionScore,
    Panel,
    PanelMember,
    Proposal,
    Review,
    ReviewAssignment,
    SelectionRun,
    UserRole,
)
from service.problems import Conflict as ConflictProblem
from service.problems import InvalidInput, NotFound, issue
from service.selection.compute import DISAGREEMENT_SPREAD, scoring_rubric
from service.selection.scores import counted_scores, window_rubric

REMINDER_ACTION = "panel.reminder_sent"
OUTLIER_Z = 2.0
RANKED_STATUSES = (
    ProposalStatus.IN_REVIEW,
    ProposalStatus.SCORED,
    ProposalStatus.SELECTED,
    ProposalStatus.RESERVE,
    ProposalStatus.NOT_SELECTED,
    ProposalStatus.AWARDED,
)
_TWO = Decimal("0.01")
_FOUR = Decimal("0.0001")


def points(tenths: Fraction | int | float) -> str:
    """Tenths as points, two decimal places, half to even, from the exact value."""
    value = Fraction(tenths) / 10
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(_TWO, rounding=ROUND_HALF_EVEN))


def four(value: float) -> str:
    return str(Decimal(repr(value)).quantize(_FOUR, rounding=ROUND_HALF_EVEN))


# --- the panel board --------------------------------------------------------------------------


async def panel_board(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID
) -> c.PanelBoardRead:
    """Every reviewer, the window's panel members first, with their load in the window."""
    ctx.require(p.can_read_conflicts(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id)
    caps: dict[uuid.UUID, int | None] = dict(
        (
            await session.execute(
                select(PanelMember.user_id, PanelMember.load_cap)
                .join(Panel, col(Panel.id) == col(PanelMember.panel_id))
                .where(col(Panel.window_id) == window.id)
            )
        ).all()
    )
    members = set(caps)
    people = list(
        (
            await session.execute(
                select(AppUser)
                .join(UserRole, col(UserRole.user_id) == col(AppUser.id))
                .where(col(UserRole.role) == Role.REVIEWER)
                .where(col(AppUser.is_active) | col(AppUser.id).in_(members))
                .order_by(col(AppUser.full_name), col(AppUser.id))
            )
        ).scalars()
    )
    assigned: dict[uuid.UUID, int] = defaultdict(int)
    submitted: dict[uuid.UUID, int] = defaultdict(int)
    for rid, review_status in await session.execute(
        select(ReviewAssignment.reviewer_id, Review.status)
        .join(Proposal, col(Proposal.id) == col(ReviewAssignment.proposal_id))
        .outerjoin(Review, col(Review.assignment_id) == col(ReviewAssignment.id))
        .where(
            col(Proposal.window_id) == window.id,
            col(ReviewAssignment.status) != AssignmentStatus.DECLINED,
        )
    ):
        assigned[rid] += 1
        if review_status == ReviewStatus.SUBMITTED:
            submitted[rid] += 1
    conflicts = dict(
        (
            await session.execute(
                select(Conflict.reviewer_id, func.count(func.distinct(Conflict.proposal_id)))
                .join(Proposal, col(Proposal.id) == col(Conflict.proposal_id))
                .where(col(Proposal.window_id) == window.id)
                .group_by(col(Conflict.reviewer_id))
            )
        ).all()
    )
    reminded: dict[str, Any] = {}
    for after, at in await session.execute(
        select(AuditEvent.after, AuditEvent.at)
        .where(
            col(AuditEvent.action) == REMINDER_ACTION,
            col(AuditEvent.entity) == "window",
            col(AuditEvent.entity_id) == str(window.id),
        )
        .order_by(col(AuditEvent.seq))
    ):
        if after and "reviewer_id" in after:
            reminded[str(after["reviewer_id"])] = at
    deadline = window.review_deadline
    rows = [
        c.PanelReviewerRead(
            id=u.id,
            full_name=u.full_name,
            email=u.email,
            member=u.id in members,
            assigned=assigned[u.id],
            submitted=submitted[u.id],
            outstanding=assigned[u.id] - submitted[u.id],
            conflicts=int(conflicts.get(u.id, 0)),
            overdue=deadline is not None
            and deadline < utcnow()
            and assigned[u.id] > submitted[u.id],
            last_reminded_at=reminded.get(str(u.id)),
            load_cap=caps.get(u.id),
        )
        for u in people
    ]
    rows.sort(key=lambda r: not r.member)
    return c.PanelBoardRead(
        window_id=window.id,
        reviewers_per_proposal=window.reviewers_per_proposal,
        review_deadline=deadline,
        reviewers=rows,
    )


async def create_reminder(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, body: c.ReminderCreate
) -> c.ReminderRead:
    """Record (audited) that the officer reminded a reviewer of the reviews it still owes."""
    ctx.require(p.can_manage_reviews(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id)
    board = await panel_board(session, ctx, window.id)
    row = next((r for r in board.reviewers if r.id == body.reviewer_id), None)
    if row is None or (not row.member and not row.assigned):
        raise InvalidInput(
            "only a reviewer of this window is reminded",
            [issue("body.reviewer_id", "not a reviewer of this window")],
        )
    if row.outstanding == 0:
        raise ConflictProblem("this reviewer owes no review in the window")
    event = await record(
        session,
        ctx,
        action=REMINDER_ACTION,
        entity="window",
        entity_id=window.id,
        after={"reviewer_id": str(body.reviewer_id), "outstanding": row.outstanding},
    )
    return c.ReminderRead(
        window_id=window.id,
        reviewer_id=body.reviewer_id,
        outstanding=row.outstanding,
        created_at=event.at,
    )


async def my_reminders(session: AsyncSession, ctx: RequestContext) -> c.ReminderList:
    """The reminders sent to the signed-in reviewer, newest first."""
    ctx.require(p.can_review(ctx.actor))
    me = str(ctx.actor.id)
    rows = (
        await session.execute(
            select(AuditEvent.entity_id, AuditEvent.after, AuditEvent.at)
            .where(
                col(AuditEvent.action) == REMINDER_ACTION,
                AuditEvent.after["reviewer_id"].astext == me,  # type: ignore[index]
            )
            .order_by(col(AuditEvent.seq).desc())
            .limit(100)
        )
    ).all()
    return c.ReminderList(
        items=[
            c.ReminderRead(
                window_id=uuid.UUID(entity_id),
                reviewer_id=uuid.UUID(me),
                outstanding=int((after or {}).get("outstanding", 0)),
                created_at=at,
            )
            for entity_id, after, at in rows
        ]
    )


async def remove_assignment(
    session: AsyncSession, ctx: RequestContext, assignment_id: uuid.UUID
) -> None:
    """Take a proposal away from a reviewer (a draft review goes with it, recorded in the
    audit event); refused once the review is submitted."""
    ctx.require(p.can_manage_reviews(ctx.actor))
    row = await session.get(ReviewAssignment, assignment_id, with_for_update=True)
    if row is None:
        raise NotFound(f"assignment {assignment_id} does not exist")
    review = (
        (await session.execute(select(Review).where(col(Review.assignment_id) == row.id)))
        .scalars()
        .first()
    )
    if review is not None and review.status == ReviewStatus.SUBMITTED:
        raise ConflictProblem("the review is submitted: reopen it first, or keep the assignment")
    before = snapshot(row) or {}
    if review is not None:
        before["draft_review"] = snapshot(review)
        await session.execute(
            delete(CriterionScore).where(col(CriterionScore.review_id) == review.id)
        )
        await session.delete(review)
        await session.flush()
    await session.delete(row)
    await session.flush()
    await record(
        session,
        ctx,
        action="review_assignment.removed",
        entity="review_assignment",
        entity_id=assignment_id,
        before=before,
    )


# --- the ranking board ------------------------------------------------------------------------


async def window_ranking(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID
) -> c.WindowRankingRead:
    ctx.require(p.can_read_ranking(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id)
    rubric, criteria = await window_rubric(session, window)
    code_of = {x.id: x.code for x in criteria}
    proposals = list(
        (
            await session.execute(
                select(Proposal.id, Proposal.title)
                .where(
                    col(Proposal.window_id) == window.id,
                    col(Proposal.status).in_(RANKED_STATUSES),
                )
                .order_by(col(Proposal.id))
            )
        ).all()
    )
    title_of = {pid: title for pid, title in proposals}
    ids = list(title_of)
    scores: list[Score] = []
    reviews_of: dict[str, set[str]] = defaultdict(set)
    consensus: dict[tuple[str, str], int | None] = {}
    if ids:
        for scored, scorer, code, value in await counted_scores(session, ids, code_of):
            scores.append(Score(str(scored), str(scorer), code, value))
            reviews_of[str(scored)].add(str(scorer))
        for pid, criterion_id, value in await session.execute(
            select(
                ConsensusScore.proposal_id,
                ConsensusScore.criterion_id,
                ConsensusScore.value,
            ).where(col(ConsensusScore.proposal_id).in_(ids))
        ):
            if criterion_id in code_of:
                consensus[str(pid), code_of[criterion_id]] = value

    model = scoring_rubric(criteria, rubric.overall_threshold, rubric.tie_break)
    method = Method(str(rubric.aggregation))
    pids = [str(x) for x in ids]
    raw = aggregate_proposals(model, scores, method, consensus, proposals=pids)
    setting = str(window.calibration.get("method", "none"))
    calibration: Any = "z" if setting == "z" else "severity"
    reviewers = sorted({s.reviewer for s in scores})
    fit = severity_model(scores, model) if len(reviewers) > 1 else None
    calibrated = raw
    if calibration == "z" and scores:
        values = z_calibrate(scores, model).values
        calibrated = aggregate_proposals(
            model, scores, method, consensus, proposals=pids, require_steps=False, values=values
        )
    elif fit is not None:
        calibrated = aggregate_proposals(
            model, scores, method, consensus, proposals=pids, require_steps=False, values=fit.values
        )
    ranked_by: Any = "calibrated" if setting in ("z", "severity") else "raw"
    used = calibrated if ranked_by == "calibrated" else raw

    run = (
        (
            await session.execute(
                select(SelectionRun)
                .where(col(SelectionRun.window_id) == window.id)
                .order_by(col(SelectionRun.created_at).desc(), col(SelectionRun.id).desc())
            )
        )
        .scalars()
        .first()
    )
    revealed = run is not None and run.status != SelectionRunStatus.PENDING
    seed = run.seed if run is not None and revealed else None
    drawn = seed is not None
    ranked = rank(used, model, (seed or f"board:{window.id}").encode())

    flags = disagreement_flags(scores, DISAGREEMENT_SPREAD)
    spread_of: dict[tuple[str, str], int] = {}
    lo_hi: dict[tuple[str, str], tuple[int, int]] = {}
    for s in scores:
        if s.value is not None:
            key = (s.proposal, s.criterion)
            lo, hi = lo_hi.get(key, (s.value, s.value))
            lo_hi[key] = (min(lo, s.value), max(hi, s.value))
    for key, (lo, hi) in lo_hi.items():
        spread_of[key] = hi - lo
    flagged = {(d.proposal, d.criterion) for d in flags}

    entries = []
    place = 0  # the one rank of the contract: among the proposals passing every threshold
    for r in ranked:
        agg, cal = raw[r.proposal], calibrated[r.proposal]
        eligible = r.rank is not None and used[r.proposal].passes_all
        place += eligible
        rows = []
        for crit in agg.criteria:
            cal_value = cal.criterion(crit.code).value
            spread = spread_of.get((r.proposal, crit.code))
            rows.append(
                c.RankingCriterionValue(
                    code=crit.code,
                    raw=None if crit.value is None else points(crit.value),
                    calibrated=None if cal_value is None else points(cal_value),
                    scores=len(crit.scores),
                    not_applicable=crit.not_applicable,
                    consensus=crit.consensus,
                    passed=crit.passed,
                    spread=None if spread is None else points(spread),
                    disagreement=(r.proposal, crit.code) in flagged,
                )
            )
        decided = r.decided_by
        if decided == DECIDED_BY_LOTTERY and not drawn:
            decided = "tie"
        entries.append(
            c.RankingEntry(
                proposal_id=uuid.UUID(r.proposal),
                title=title_of[uuid.UUID(r.proposal)],
                rank=place if eligible else None,
                raw_score=None if agg.overall is None else points(agg.overall),
                calibrated_score=None if cal.overall is None else points(cal.overall),
                decided_by=decided,
                passes_all=used[r.proposal].passes_all,
                reviews=len(reviews_of[r.proposal]),
                disagreement=any(x.disagreement for x in rows),
                criteria=rows,
            )
        )

    names = dict(
        (
            await session.execute(
                select(AppUser.id, AppUser.full_name).where(
                    col(AppUser.id).in_([uuid.UUID(x) for x in reviewers])
                )
            )
        ).all()
        if reviewers
        else []
    )
    counts: dict[str, int] = defaultdict(int)
    for s in scores:
        if s.value is not None:
            counts[s.reviewer] += 1
    panel = []
    if fit is not None:
        for rid in reviewers:
            t = fit.t_statistic(rid)
            panel.append(
                c.RankingReviewer(
                    reviewer_id=uuid.UUID(rid),
                    full_name=names.get(uuid.UUID(rid), ""),
                    scores=counts[rid],
                    bias=points(fit.reviewer_bias[rid]),
                    t_statistic=None if t is None else four(t),
                    outlier=t is not None and abs(t) > OUTLIER_Z,
                )
            )
    alpha = krippendorff_alpha(scores) if scores else None
    return c.WindowRankingRead(
        window_id=window.id,
        aggregation=AggregationMethod(str(rubric.aggregation)),
        calibration=calibration,
        ranked_by=ranked_by,
        tie_break=list(rubric.tie_break),
        disagreement_spread=points(DISAGREEMENT_SPREAD),
        outlier_z=four(OUTLIER_Z)[:-2],
        submitted_reviews=len({(s.proposal, s.reviewer) for s in scores}),
        alpha=None if alpha is None else four(alpha),
        criteria=[
            c.RankingCriterion(
                code=x.code,
                name=i18n(x.name),
                weight=x.weight,
                scale_min=x.scale_min,
                scale_max=x.scale_max,
                threshold=x.threshold,
                alpha=None if (a := krippendorff_alpha(scores, x.code)) is None else four(a),
            )
            for x in criteria
        ],
        entries=entries,
        reviewers=panel,
        lottery=None
        if run is None
        else c.RankingLottery(
            run_id=run.id,
            status=run.status,
            seed_hash=run.seed_hash,
            seed=run.seed if revealed else None,
            created_at=run.created_at,
        ),
    )
