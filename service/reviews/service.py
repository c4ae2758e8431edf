"""Use cases of review: rubrics, panels, automatic and manual assignment, conflicts, reviews."""

from __future__ import annotations

import uuid
from collections import defaultdict

import msgspec
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import permissions as p
from contracts import reviews as c
from contracts.common import ValidationIssue
from contracts.enums import (
    AssignmentStatus,
    CallStatus,
    ConflictSource,
    ProposalStatus,
    ReviewStatus,
    Role,
)
from scoring.assignment import ProposalToAssign, Reviewer, assign
from service.audit.service import record, snapshot
from service.calls.service import window_or_404
from service.changes import check_version, move_proposal, record_created
from service.context import RequestContext, utcnow
from service.i18n import i18n, i18n_dict
from service.persistence.models import (
    Affiliation,
    Attachment,
    BudgetLine,
    Call,
    CallWindow,
    Conflict,
    ConsensusScore,
    Criterion,
    CriterionScore,
    Membership,
    Organisation,
    Panel,
    PanelMember,
    Pcc,
    PccMember,
    Proposal,
    ProposalActionPlanItem,
    ProposalCoApplicant,
    Review,
    ReviewAssignment,
    Rubric,
    UserRole,
)
from service.problems import Conflict as ConflictProblem
from service.problems import Forbidden, IllegalTransition, InvalidInput, NotFound

PANEL_NAME = "Review panel"


def _issue(field: str, message: str) -> ValidationIssue:
    return ValidationIssue(field=field, message=message)


# --- rubrics ----------------------------------------------------------------------------------


async def rubric_read(session: AsyncSession, rubric: Rubric) -> c.RubricRead:
    criteria = list(
        (
            await session.execute(
                select(Criterion)
                .where(col(Criterion.rubric_id) == rubric.id)
                .order_by(col(Criterion.position))
            )
        ).scalars()
    )
    return c.RubricRead(
        id=rubric.id,
        key=rubric.key,
        version=rubric.version,
        name=i18n(rubric.name),
        criteria=[
            c.CriterionRead(
                id=x.id,
                code=x.code,
                position=x.position,
                name=i18n(x.name),
                guidance=i18n(x.guidance) if x.guidance else None,
                weight=x.weight,
                scale_min=x.scale_min,
                scale_max=x.scale_max,
                scale_step=x.scale_step,
                threshold=x.threshold,
                na_allowed=x.na_allowed,
            )
            for x in criteria
        ],
        overall_threshold=rubric.overall_threshold,
        tie_break=list(rubric.tie_break),
        aggregation=rubric.aggregation,
        created_at=rubric.created_at,
    )


def _validate_rubric(body: c.RubricCreate) -> None:
    issues: list[ValidationIssue] = []
    codes = [x.code for x in body.criteria]
    for n, x in enumerate(body.criteria):
        at = f"body.criteria[{n}]"
        if codes.count(x.code) > 1:
            issues.append(_issue(f"{at}.code", f"{x.code} is used twice"))
        if x.scale_min >= x.scale_max:
            issues.append(_issue(f"{at}.scale_max", "must be above scale_min"))
        elif (x.scale_max - x.scale_min) % x.scale_step:
            issues.append(_issue(f"{at}.scale_step", "must divide the scale's range"))
        if x.threshold is not None and not x.scale_min <= x.threshold <= x.scale_max:
            issues.append(_issue(f"{at}.threshold", "must lie on the scale"))
    top = max((x.scale_max for x in body.criteria), default=0)
    if body.overall_threshold is not None and body.overall_threshold > top:
        issues.append(_issue("body.overall_threshold", "above every criterion's maximum"))
    for n, code in enumerate(body.tie_break):
        if code not in codes:
            issues.append(_issue(f"body.tie_break[{n}]", f"no criterion {code}"))
    if len(set(body.tie_break)) != len(body.tie_break):
        issues.append(_issue("body.tie_break", "a criterion is listed twice"))
    if issues:
        raise InvalidInput("the rubric is not valid", issues)


async def _submitted_count(session: AsyncSession, window_id: uuid.UUID) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(Proposal)
                .where(
                    col(Proposal.window_id) == window_id, col(Proposal.submitted_at).is_not(None)
                )
            )
        ).scalar_one()
    )


async def set_window_rubric(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, body: c.RubricCreate
) -> c.RubricRead:
    """A new rubric version for the window; refused once proposals were submitted to it."""
    ctx.require(p.can_manage_reviews(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id, lock=True)
    check_version(window, body)
    _validate_rubric(body)
    if submitted := await _submitted_count(session, window.id):
        raise ConflictProblem(
            f"{submitted} proposal(s) were submitted to this window: its rubric is frozen"
        )
    key = f"window:{window.id}"
    latest = (
        await session.execute(select(func.max(Rubric.version)).where(col(Rubric.key) == key))
    ).scalar_one_or_none()
    assert ctx.actor.id is not None
    rubric = Rubric(
        key=key,
        version=(latest or 0) + 1,
        name=i18n_dict(body.name),
        overall_threshold=body.overall_threshold,
        tie_break=list(body.tie_break),
        aggregation=body.aggregation,
        created_by=ctx.actor.id,
    )
    session.add(rubric)
    await session.flush()
    for n, x in enumerate(body.criteria):
        session.add(
            Criterion(
                rubric_id=rubric.id,
                code=x.code,
                position=n,
                name=i18n_dict(x.name),
                guidance=i18n_dict(x.guidance) if x.guidance else None,
                weight=x.weight,
                scale_min=x.scale_min,
                scale_max=x.scale_max,
                scale_step=x.scale_step,
                threshold=x.threshold,
                na_allowed=x.na_allowed,
            )
        )
    await session.flush()
    await session.refresh(rubric)
    await record_created(
        session, ctx, "rubric", rubric, extra={"criteria": msgspec.to_builtins(body.criteria)}
    )
    before = {"rubric_id": str(window.rubric_id) if window.rubric_id else None}
    window.rubric_id = rubric.id
    window.version += 1
    await session.flush()
    await record(
        session,
        ctx,
        action="window.rubric_replaced",
        entity="window",
        entity_id=window.id,
        before=before,
        after={"rubric_id": str(rubric.id), "rubric_version": rubric.version},
    )
    return await rubric_read(session, rubric)


async def get_rubric(
    session: AsyncSession, ctx: RequestContext, rubric_id: uuid.UUID
) -> c.RubricRead:
    ctx.require(p.can_read_published_calls(ctx.actor))
    rubric = await session.get(Rubric, rubric_id)
    call_status = (
        (
            await session.execute(
                select(Call.status)
                .join(CallWindow, col(CallWindow.call_id) == col(Call.id))
                .where(col(CallWindow.rubric_id) == rubric_id)
            )
        )
        .scalars()
        .first()
    )
    hidden = call_status in (None, CallStatus.DRAFT) and not p.sees_draft_calls(ctx.actor)
    if rubric is None or hidden:
        raise NotFound(f"rubric {rubric_id} does not exist")
    return await rubric_read(session, rubric)


# --- panels -----------------------------------------------------------------------------------


async def _panel(session: AsyncSession, window: CallWindow) -> Panel:
    panel = (
        (await session.execute(select(Panel).where(col(Panel.window_id) == window.id)))
        .scalars()
        .first()
    )
    if panel is None:
        panel = Panel(window_id=window.id, name=PANEL_NAME)
        session.add(panel)
        await session.flush()
    return panel


async def _panel_ids(session: AsyncSession, window_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        (
            await session.execute(
                select(PanelMember.user_id)
                .join(Panel, col(Panel.id) == col(PanelMember.panel_id))
                .where(col(Panel.window_id) == window_id)
                .order_by(col(PanelMember.user_id))
            )
        ).scalars()
    )


async def _panel_caps(session: AsyncSession, window_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """The stored load caps of the window's panel members (members without one left out)."""
    return {
        uid: cap
        for uid, cap in (
            await session.execute(
                select(PanelMember.user_id, PanelMember.load_cap)
                .join(Panel, col(Panel.id) == col(PanelMember.panel_id))
                .where(col(Panel.window_id) == window_id, col(PanelMember.load_cap).is_not(None))
            )
        ).all()
        if cap is not None
    }


def _caps_by_reviewer(caps: list[c.ReviewerCap]) -> dict[uuid.UUID, int]:
    """The request's load caps as a mapping; a reviewer named twice is refused."""
    by_reviewer: dict[uuid.UUID, int] = {}
    twice: set[str] = set()
    for entry in caps:
        if entry.reviewer_id in by_reviewer:
            twice.add(str(entry.reviewer_id))
        by_reviewer[entry.reviewer_id] = entry.cap
    if twice:
        raise InvalidInput(
            "a reviewer has one load cap",
            [_issue("body.caps", f"reviewers named more than once: {sorted(twice)}")],
        )
    return by_reviewer


def _caps_read(caps: dict[uuid.UUID, int]) -> list[c.ReviewerCap]:
    return [
        c.ReviewerCap(reviewer_id=k, cap=v)
        for k, v in sorted(caps.items(), key=lambda kv: str(kv[0]))
    ]


async def replace_panel(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, body: c.PanelReplace
) -> c.PanelRead:
    ctx.require(p.can_manage_reviews(ctx.actor))
    window, _ = await window_or_404(session, ctx, window_id, lock=True)
    wanted = set(body.reviewer_ids)
    reviewers = (
        set(
            (
                await session.execute(
                    select(UserRole.user_id).where(
                        col(UserRole.user_id).in_(wanted), col(UserRole.role) == Role.REVIEWER
                    )
                )
            ).scalars()
        )
        if wanted
        else set()
    )
    if wanted - reviewers:
        raise InvalidInput(
            "only reviewers sit on a panel",
            [_issue("body.reviewer_ids", f"not reviewers: {sorted(map(str, wanted - reviewers))}")],
        )
    asked = None if body.caps is None else _caps_by_reviewer(body.caps)
    if asked is not None and (strangers := set(asked) - wanted):
        raise InvalidInput(
            "load caps are for the panel's members",
            [
                _issue("body.caps", f"{k} is not a member of the panel")
                for k in sorted(strangers, key=str)
            ],
        )
    panel = await _panel(session, window)
    stored = await _panel_caps(session, window.id)
    caps = {k: v for k, v in stored.items() if k in wanted} if asked is None else asked
    before = {
        "reviewer_ids": sorted(map(str, await _panel_ids(session, window.id))),
        "caps": {str(k): v for k, v in sorted(stored.items(), key=lambda kv: str(kv[0]))},
    }
    await session.execute(delete(PanelMember).where(col(PanelMember.panel_id) == panel.id))
    for rid in sorted(wanted):
        session.add(PanelMember(panel_id=panel.id, user_id=rid, load_cap=caps.get(rid)))
    await session.flush()
    after = {
        "reviewer_ids": sorted(map(str, wanted)),
        "caps": {str(k): v for k, v in sorted(caps.items(), key=lambda kv: str(kv[0]))},
    }
    await record(
        session,
        ctx,
        action="panel.replaced",
        entity="window",
        entity_id=window.id,
        before=before,
        after=after,
    )
    return c.PanelRead(window_id=window.id, reviewer_ids=sorted(wanted), caps=_caps_read(caps))


# --- conflicts --------------------------------------------------------------------------------


async def _detected_conflicts(
    session: AsyncSession,
    window: CallWindow,
    proposals: list[Proposal],
    reviewer_ids: list[uuid.UUID],
) -> dict[tuple[uuid.UUID, uuid.UUID], str]:
    """(proposal, reviewer) → reason, for ties the system can see."""
    if not proposals or not reviewer_ids:
        return {}
    pids = [x.id for x in proposals]
    orgs_of: dict[uuid.UUID, set[uuid.UUID]] = {x.id: {x.organisation_id} for x in proposals}
    for pid, oid in await session.execute(
        select(ProposalCoApplicant.proposal_id, ProposalCoApplicant.organisation_id).where(
            col(ProposalCoApplicant.proposal_id).in_(pids)
        )
    ):
        orgs_of[pid].add(oid)
    ties: dict[uuid.UUID, dict[uuid.UUID, str]] = defaultdict(dict)
    for uid, oid in await session.execute(
        select(Membership.user_id, Membership.organisation_id).where(
            col(Membership.user_id).in_(reviewer_ids)
        )
    ):
        ties[uid][oid] = "is a member of"
    for uid, oid in await session.execute(
        select(Affiliation.user_id, Affiliation.organisation_id).where(
            col(Affiliation.user_id).in_(reviewer_ids)
        )
    ):
        ties[uid].setdefault(oid, "declared an affiliation with")
    territory_of = dict(
        (
            await session.execute(
                select(Organisation.id, Organisation.territory_id).where(
                    col(Organisation.id).in_({x.organisation_id for x in proposals})
                )
            )
        ).all()
    )
    pcc_territories: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    if window.pcc_membership_is_conflict:
        for uid, tid in await session.execute(
            select(PccMember.user_id, Pcc.territory_id)
            .join(Pcc, col(Pcc.id) == col(PccMember.pcc_id))
            .where(col(PccMember.user_id).in_(reviewer_ids))
        ):
            if uid is not None:
                pcc_territories[uid].add(tid)
    names = dict(
        (
            await session.execute(
                select(Organisation.id, Organisation.name).where(
                    col(Organisation.id).in_(set().union(*orgs_of.values()))
                )
            )
        ).all()
    )
    found: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
    for proposal in proposals:
        for rid in reviewer_ids:
            for oid in sorted(orgs_of[proposal.id] & set(ties[rid])):
                found[(proposal.id, rid)] = f"the reviewer {ties[rid][oid]} {names.get(oid, oid)}"
                break
            else:
                if territory_of[proposal.organisation_id] in pcc_territories[rid]:
                    found[(proposal.id, rid)] = (
                        "the reviewer sits on the PCC of the applicant's territory"
                    )
    return found


async def _record_detected(
    session: AsyncSession, ctx: RequestContext, found: dict[tuple[uuid.UUID, uuid.UUID], str]
) -> None:
    if not found:
        return
    existing = set(
        (
            await session.execute(
                select(Conflict.proposal_id, Conflict.reviewer_id).where(
                    col(Conflict.source) == ConflictSource.DETECTED,
                    col(Conflict.proposal_id).in_({pid for pid, _ in found}),
                )
            )
        ).all()
    )
    for (pid, rid), reason in sorted(found.items()):
        if (pid, rid) in existing:
            continue
        row = Conflict(
            proposal_id=pid, reviewer_id=rid, source=ConflictSource.DETECTED, reason=reason
        )
        session.add(row)
        await session.flush()
        await record_created(session, ctx, "conflict", row)


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


async def list_conflicts(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID
) -> c.ConflictList:
    ctx.require(p.can_read_conflicts(ctx.actor))
    await window_or_404(session, ctx, window_id)
    rows = (
        await session.execute(
            select(Conflict)
            .join(Proposal, col(Proposal.id) == col(Conflict.proposal_id))
            .where(col(Proposal.window_id) == window_id)
            .order_by(col(Conflict.created_at), col(Conflict.id))
        )
    ).scalars()
    return c.ConflictList(
        items=[
            c.ConflictRead(
                id=x.id,
                proposal_id=x.proposal_id,
                reviewer_id=x.reviewer_id,
                source=x.source,
                reason=x.reason,
                created_at=x.created_at,
            )
            for x in rows
        ]
    )


# --- assignments ------------------------------------------------------------------------------


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
    return [
        c.AssignmentRead(
            id=a.id,
            proposal_id=a.proposal_id,
            reviewer_id=a.reviewer_id,
            status=a.status,
            proposal_title=props[a.proposal_id].title,
            window_id=props[a.proposal_id].window_id,
            review_status=reviews.get(a.id),
            created_at=a.created_at,
            receipt_number=props[a.proposal_id].receipt_number,
            call_id=windows[props[a.proposal_id].window_id][1].id,
            call_title=i18n(windows[props[a.proposal_id].window_id][1].title),
            window_title=i18n(windows[props[a.proposal_id].window_id][0].title),
            blind=windows[props[a.proposal_id].window_id][0].blind_review,
            review_deadline=windows[props[a.proposal_id].window_id][0].review_deadline,
            no_conflict_declared_at=a.no_conflict_declared_at,
        )
        for a in rows
    ]


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
    for proposal in proposals:
        if proposal.status == ProposalStatus.ELIGIBLE and any(
            a.proposal_id == proposal.id for a in created
        ):
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
        raise InvalidInput("not a reviewer", [_issue("body.reviewer_id", "not a reviewer")])
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
    if proposal.status == ProposalStatus.ELIGIBLE:
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
    return (await _assignment_reads(session, [row]))[0]


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
    return c.ConflictRead(
        id=row.id,
        proposal_id=row.proposal_id,
        reviewer_id=row.reviewer_id,
        source=row.source,
        reason=row.reason,
        created_at=row.created_at,
    )


# --- what a reviewer reads --------------------------------------------------------------------


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
    return c.ReviewerProposalView(
        id=proposal.id,
        window_id=proposal.window_id,
        blind=blind,
        title=proposal.title,
        summary=proposal.summary,
        requested_amount=proposal.requested_amount,
        currency=proposal.currency,
        target_groups=list(proposal.target_groups),
        gender_marker=proposal.gender_marker,
        gender_justification=proposal.gender_justification,
        conflict_sensitivity=proposal.conflict_sensitivity,
        timeline=list(proposal.timeline),
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


# --- reviews ----------------------------------------------------------------------------------


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
    return c.ReviewRead(
        id=review.id,
        assignment_id=review.assignment_id,
        reviewer_id=reviewer_id,
        status=review.status,
        recommendation=review.recommendation,
        comment=review.comment,
        scores=[c.CriterionScoreRead(criterion=k, value=v, comment=m) for k, v, m in scores],
        submitted_at=review.submitted_at,
        version=review.version,
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
            issues.append(_issue(f"{at}.criterion", f"no criterion {s.criterion} in the rubric"))
            continue
        if s.criterion in seen:
            issues.append(_issue(f"{at}.criterion", f"{s.criterion} is scored twice"))
        seen.add(s.criterion)
        if s.value is None and not x.na_allowed:
            issues.append(
                _issue(f"{at}.value", f"{s.criterion} cannot be marked not applicable: score it")
            )
        if s.value is not None and (
            not x.scale_min <= s.value <= x.scale_max or (s.value - x.scale_min) % x.scale_step
        ):
            issues.append(
                _issue(
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
            [_issue("scores", f"missing: {', '.join(missing)}")],
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
    return await _review_read(session, review, a.reviewer_id)


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
        raise InvalidInput("no such criterion", [_issue("body.criterion", "not in the rubric")])
    if not x.scale_min <= body.value <= x.scale_max or (body.value - x.scale_min) % x.scale_step:
        raise InvalidInput("off the scale", [_issue("body.value", "not on the criterion's scale")])
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
    return c.ConsensusRead(
        proposal_id=proposal.id,
        criterion=x.code,
        value=row.value,
        reason=row.reason,
        created_at=row.created_at,
    )
