"""The demo's call (`data/call.yaml`): a published two-window call and proposals at every stage
this far.

Made through the same use cases as the API (so every row is validated and audited as the acting
officer or applicant), after `service.demo.base` has created the places, sources, organisations
and people. Idempotent: nothing happens when the call exists.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.calls import (
    AllocationCreate,
    CallCreate,
    CallTransition,
    ContributionCreate,
    WindowCreate,
)
from contracts.enums import CallStatus, ProposalStatus, Role
from contracts.permissions import Actor
from contracts.proposals import (
    BudgetLineCreate,
    BudgetLinesReplace,
    EligibilityOverride,
    ProposalCreate,
    ProposalSubmit,
    ProposalUpdate,
    ProposalWithdraw,
)
from contracts.reviews import (
    AssignmentCreate,
    AutoAssign,
    CriterionScoreInput,
    PanelReplace,
    ReviewSave,
    ReviewSubmit,
    RubricCreate,
)
from contracts.selection import SelectionRunCreate, SelectionRunTransition
from service import reviews
from service.calls import service as calls
from service.context import RequestContext, clock, utcnow
from service.demo.base import applicant_email, demo_email
from service.demo.spec import CallSpec, ProposalSpec, Scores, World
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    AppUser,
    Call,
    FundingSource,
    Membership,
    Organisation,
    Pcc,
    Territory,
)
from service.proposals import service as proposals
from service.selection import service as selection
from service.storage import FileStore

# A minimal, valid one-page PDF: what an applicant's scanned budget would be.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _rubric(call: CallSpec, version: int) -> RubricCreate:
    spec = call.rubric
    return RubricCreate(
        version=version,
        name=spec.name,
        criteria=spec.criteria,
        overall_threshold=spec.overall_threshold,
        tie_break=spec.tie_break,
    )


async def _one(session: AsyncSession, stmt: Any) -> Any:
    return (await session.execute(stmt)).scalars().first()


async def _user_ctx(session: AsyncSession, email: str) -> RequestContext:
    user: AppUser = await _one(session, select(AppUser).where(col(AppUser.email) == email))
    orgs = set(
        (
            await session.execute(
                select(Membership.organisation_id).where(col(Membership.user_id) == user.id)
            )
        ).scalars()
    )
    return RequestContext(
        actor=Actor(
            kind="user",
            id=user.id,
            label=f"user:{email}",
            organisation_ids=frozenset(orgs),
            roles=frozenset(),
        ),
        request_id="demo-data",
    )


async def _officer_ctx(session: AsyncSession, local: str = "officer") -> RequestContext:
    ctx = await _user_ctx(session, demo_email(local))
    return RequestContext(
        actor=Actor(
            kind="user",
            id=ctx.actor.id,
            label=ctx.actor.label,
            roles=frozenset({Role.PROGRAMME_OFFICER}),
        ),
        request_id="demo-data",
    )


async def load_demo_call(session: AsyncSession, store: FileStore, data: World) -> bool:
    """Create the call and its proposals unless they exist; True when created."""
    spec = data.call
    if await _one(session, select(Call).where(col(Call.title)["en"].astext == spec.title.en)):
        return False
    officer = await _officer_ctx(session)
    sources = {s.code: s for s in (await session.execute(select(FundingSource))).scalars()}
    territories = list((await session.execute(select(Territory))).scalars())
    items_by_territory: dict[uuid.UUID, uuid.UUID] = {}
    for territory_id, item_id in await session.execute(
        select(Pcc.territory_id, ActionPlanItem.id)
        .join(ActionPlan, col(ActionPlan.pcc_id) == col(Pcc.id))
        .join(ActionPlanItem, col(ActionPlanItem.action_plan_id) == col(ActionPlan.id))
        .order_by(col(ActionPlanItem.code))
    ):
        items_by_territory.setdefault(territory_id, item_id)

    call = await calls.create_call(
        session,
        officer,
        CallCreate(
            title=spec.title,
            description=spec.description,
            contributions=[
                ContributionCreate(
                    funding_source_id=sources[c.source].id, amount=c.amount, rate=c.rate
                )
                for c in spec.contributions
            ],
        ),
    )
    now = utcnow()
    all_items = list(items_by_territory.values())
    windows = {}
    for w in spec.windows:
        closes = now + timedelta(days=w.closes_in_days)
        windows[w.code] = await calls.create_window(
            session,
            officer,
            call.id,
            WindowCreate(
                code=w.code,
                title=w.title,
                opens_at=now + timedelta(days=w.opens_in_days),
                closes_at=closes,
                min_grant=w.min_grant,
                max_grant=w.max_grant,
                allocations=[
                    AllocationCreate(funding_source_id=sources[a.source].id, amount=a.amount)
                    for a in w.allocations
                ],
                territory_ids=[t.id for t in territories],
                action_plan_item_ids=all_items,
                rules=w.rules,
                reviewers_per_proposal=spec.reviewers_per_proposal,
                review_deadline=closes + timedelta(days=spec.review_deadline_after_close_days),
            ),
        )
        await reviews.set_window_rubric(
            session, officer, windows[w.code].id, _rubric(spec, windows[w.code].version)
        )
    current = await calls.get_call(session, officer, call.id)
    await calls.transition_call(
        session,
        officer,
        call.id,
        CallTransition(version=current.version, status=CallStatus.PUBLISHED),
    )
    made_in_days = {w.code: w.proposals_made_in_days for w in spec.windows}
    ids: dict[str, uuid.UUID] = {}
    for proposal in spec.proposals:
        # a closed window's proposals were made while it was open
        with clock.at(now + timedelta(days=made_in_days[proposal.window])):
            ids[proposal.org] = await _proposal(
                session,
                store,
                officer,
                spec,
                proposal,
                windows[proposal.window].id,
                items_by_territory,
            )
    await _review_and_select(session, officer, data, windows["W1"].id, windows["W2"].id, ids)
    return True


async def _review_and_select(
    session: AsyncSession,
    officer: RequestContext,
    data: World,
    w1: uuid.UUID,
    w2: uuid.UUID,
    ids: dict[str, uuid.UUID],
) -> None:
    """W1: the panel reviews every eligible proposal, a run selects under a women-led quota
    (the lottery orders an exact tie) and is approved. W2: one proposal scored, one in review,
    one not yet assigned."""
    spec = data.call
    reviewer_ctx = {
        staff.local: await _reviewer_ctx(session, demo_email(staff.local))
        for staff in data.people.staff
        if staff.role == Role.REVIEWER
    }
    await reviews.replace_panel(
        session,
        officer,
        w1,
        PanelReplace(reviewer_ids=[r.actor.id for r in reviewer_ctx.values() if r.actor.id]),
    )
    await reviews.auto_assign(session, officer, w1, AutoAssign(seed=spec.w1_assignment_seed))
    for ctx in reviewer_ctx.values():
        await _score_all(session, ctx, spec, spec.w1_scores)
    run = await selection.create_run(
        session,
        officer,
        w1,
        SelectionRunCreate(
            budget=spec.w1_selection.budget,
            reserve_size=spec.w1_selection.reserve_size,
            quotas=spec.w1_selection.quotas,
        ),
    )
    await selection.compute_run(session, officer, run.id)
    # four eyes: the second programme officer approves what the first created and computed
    await selection.approve_run(
        session,
        await _officer_ctx(session, "officer2"),
        run.id,
        SelectionRunTransition(reason=spec.w1_selection.approve_reason),
    )
    # and the first officer publishes the decisions and the feedback to W1's applicants
    await selection.publish_feedback(session, officer, w1)
    # W2: a two-person panel; media proposal reviewed, legal aid in review, Nur-Osh waiting
    await reviews.replace_panel(
        session,
        officer,
        w2,
        PanelReplace(
            reviewer_ids=[rid for local in spec.w2_panel if (rid := reviewer_ctx[local].actor.id)]
        ),
    )
    for org in spec.w2_assigned:
        for local in spec.w2_panel:
            rid = reviewer_ctx[local].actor.id
            assert rid is not None
            await reviews.assign_manually(
                session, officer, ids[org], AssignmentCreate(reviewer_id=rid)
            )
    for local in spec.w2_panel:
        await _score_all(session, reviewer_ctx[local], spec, spec.w2_scores)


async def _reviewer_ctx(session: AsyncSession, email: str) -> RequestContext:
    ctx = await _user_ctx(session, email)
    return RequestContext(
        actor=Actor(
            kind="user", id=ctx.actor.id, label=ctx.actor.label, roles=frozenset({Role.REVIEWER})
        ),
        request_id="demo-data",
    )


async def _score_all(
    session: AsyncSession, ctx: RequestContext, spec: CallSpec, scores: Scores
) -> None:
    titles = {p.title: p.org for p in spec.proposals}
    for a in (await reviews.list_my_assignments(session, ctx)).items:
        org = titles.get(a.proposal_title)
        if org not in scores or a.status != "assigned":
            continue
        await reviews.declare_no_conflict(session, ctx, a.id)
        saved = await reviews.save_review(
            session,
            ctx,
            a.id,
            ReviewSave(
                scores=[
                    CriterionScoreInput(criterion=code, value=v) for code, v in scores[org].items()
                ],
                comment=spec.review_comment,
            ),
        )
        await reviews.submit_review(session, ctx, a.id, ReviewSubmit(version=saved.version))


async def _proposal(
    session: AsyncSession,
    store: FileStore,
    officer: RequestContext,
    call: CallSpec,
    spec: ProposalSpec,
    window_id: uuid.UUID,
    items_by_territory: dict[uuid.UUID, uuid.UUID],
) -> uuid.UUID:
    text = call.proposal_text
    ctx = await _user_ctx(session, applicant_email(spec.org))
    org_id = await _one(
        session,
        select(Membership.organisation_id)
        .join(AppUser, col(AppUser.id) == col(Membership.user_id))
        .where(col(AppUser.email) == applicant_email(spec.org))
        .where(col(Membership.role) == "owner"),
    )
    org: Organisation = await session.get_one(Organisation, org_id)
    draft = await proposals.create_proposal(
        session, ctx, window_id, ProposalCreate(organisation_id=org.id, title=spec.title)
    )
    draft = await proposals.update_proposal(
        session,
        ctx,
        draft.id,
        ProposalUpdate(
            version=draft.version,
            summary=text.summary.format(title=spec.title),
            requested_amount=spec.requested,
            co_funding_amount=spec.co_funding,
            target_groups=list(text.target_groups),
            gender_marker=text.gender_marker,
            gender_justification=text.gender_justification,
            conflict_sensitivity=text.conflict_sensitivity,
            action_plan_item_ids=[items_by_territory[org.territory_id]],
        ),
    )
    half = spec.requested // 2
    first, second = text.budget_lines
    draft = await proposals.replace_budget_lines(
        session,
        ctx,
        draft.id,
        BudgetLinesReplace(
            version=draft.version,
            lines=[
                BudgetLineCreate(
                    category=first.category,
                    description=first.description,
                    quantity=Decimal(1),
                    unit_cost=half,
                ),
                BudgetLineCreate(
                    category=second.category,
                    description=second.description,
                    quantity=Decimal(1),
                    unit_cost=spec.requested - half,
                ),
            ],
        ),
    )
    for kind in spec.attachments:
        await proposals.upload_attachment(
            session, ctx, store, draft.id, kind, f"{kind.value}.pdf", DEMO_PDF
        )
    if spec.end == "draft":
        return draft.id
    current = await proposals.get_proposal(session, ctx, draft.id)
    if spec.end == "withdrawn":
        await proposals.withdraw_proposal(
            session,
            ctx,
            draft.id,
            ProposalWithdraw(version=current.version, reason=text.withdraw_reason),
        )
        return draft.id
    receipt = await proposals.submit_proposal(
        session, ctx, draft.id, ProposalSubmit(version=current.version)
    )
    if spec.end == "overridden" and receipt.proposal.status == ProposalStatus.INELIGIBLE:
        await proposals.override_eligibility(
            session,
            officer,
            draft.id,
            EligibilityOverride(
                version=receipt.proposal.version,
                eligible=True,
                reason=text.override_reason,
            ),
        )
    return draft.id
