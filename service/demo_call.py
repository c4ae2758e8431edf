"""Demo data, part two: a published two-window call and proposals at every stage this far.

Made through the same use cases as the API (so every row is validated and audited as the acting
officer or applicant), after `service.demo` has created the places, sources, organisations and
people. Idempotent: nothing happens when the call exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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
from contracts.common import I18nText
from contracts.enums import AttachmentKind, CallStatus, ProposalStatus, Role
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
    CriterionCreate,
    CriterionScoreInput,
    PanelReplace,
    ReviewSave,
    ReviewSubmit,
    RubricCreate,
)
from contracts.selection import QuotaInput, SelectionRunCreate, SelectionRunTransition
from service.calls import service as calls
from service.context import RequestContext, clock, utcnow
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
from service.reviews import service as reviews
from service.selection import service as selection
from service.storage import FileStore

CALL_TITLE = "Trust-building small grants 2026"
DOMAIN = "demo.pcc-grants.kg"

# A minimal, valid one-page PDF: what an applicant's scanned budget would be.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

W1_RULES: list[dict[str, Any]] = [
    {
        "id": "kind",
        "kind": "organisation_kind_in",
        "kinds": [
            "cso",
            "initiative_group",
            "youth_group",
            "women_led_organisation",
            "community_media",
            "human_rights_organisation",
        ],
    },
    {"id": "place", "kind": "territory_in_window"},
    {"id": "age", "kind": "min_years_since_founding", "years": 2},
    {"id": "amount", "kind": "requested_amount_within_window"},
    {"id": "item", "kind": "linked_to_eligible_item", "min": 1},
    {"id": "docs", "kind": "attachments_present", "kinds": ["budget"]},
    {"id": "budget", "kind": "budget_lines_consistent"},
    {"id": "quota", "kind": "led_by", "flags": ["women_led", "youth_led"], "mode": "quota"},
]
W2_RULES: list[dict[str, Any]] = [
    {
        "id": "kind",
        "kind": "organisation_kind_in",
        "kinds": ["cso", "community_media", "human_rights_organisation", "women_led_organisation"],
    },
    {"id": "place", "kind": "territory_in_window"},
    {"id": "age", "kind": "min_years_since_founding", "years": 3},
    {"id": "amount", "kind": "requested_amount_within_window"},
    {"id": "item", "kind": "linked_to_eligible_item", "min": 1},
    {"id": "docs", "kind": "attachments_present", "kinds": ["budget", "registration_certificate"]},
    {"id": "budget", "kind": "budget_lines_consistent"},
    {"id": "cofunding", "kind": "min_co_funding_share", "percent": 10},
]


@dataclass(frozen=True)
class _ProposalSpec:
    org: str  # the organisation's short name in service.demo
    window: str
    title: str
    requested: int  # minor units (tiyin)
    co_funding: int
    attachments: tuple[AttachmentKind, ...]
    end: str  # draft | submitted | withdrawn | overridden


PROPOSALS: tuple[_ProposalSpec, ...] = (
    # window 1 (closed): submitted while it was open, then reviewed and selected
    _ProposalSpec(
        "yntymak",
        "W1",
        "Village mediation circles in Alamedin",
        42_000_000,
        0,
        (AttachmentKind.BUDGET,),
        "submitted",
    ),
    _ProposalSpec(
        "ayalzat",
        "W1",
        "Women's voices in Sokuluk local councils",
        38_500_000,
        0,
        (AttachmentKind.BUDGET,),
        "submitted",
    ),
    _ProposalSpec(
        "koytash",
        "W1",
        "Koy-Tash neighbours' festival of cultures",
        35_000_000,
        0,
        (AttachmentKind.BUDGET,),
        "submitted",
    ),
    _ProposalSpec(
        "ayilunu",
        "W1",
        "Radio hour on shared water and pastures",
        25_000_000,
        0,
        (AttachmentKind.BUDGET,),
        "submitted",
    ),
    _ProposalSpec(
        "leilek",
        "W1",
        "Women mediators on the Leilek border",
        20_000_000,
        0,
        (AttachmentKind.BUDGET,),
        "submitted",
    ),
    _ProposalSpec(
        "aksai",
        "W1",
        "Ak-Sai youth peace football league",
        15_000_000,
        0,
        (AttachmentKind.BUDGET,),
        "submitted",
    ),  # founded 2025: ineligible
    _ProposalSpec(
        "kelechek",
        "W1",
        "Uzgen youth debate club",
        20_000_000,
        0,
        (AttachmentKind.BUDGET,),
        "withdrawn",
    ),
    _ProposalSpec("jashtar", "W1", "Batken youth media lab", 30_000_000, 0, (), "draft"),
    # window 2 (open): judged on submission, reviews under way
    _ProposalSpec(
        "mediakopuro",
        "W2",
        "Community media against hate speech",
        120_000_000,
        15_000_000,
        (AttachmentKind.BUDGET, AttachmentKind.REGISTRATION_CERTIFICATE),
        "submitted",
    ),
    _ProposalSpec(
        "ukuk",
        "W2",
        "Legal aid desks for border villages",
        95_000_000,
        12_000_000,
        (AttachmentKind.BUDGET,),
        "overridden",
    ),  # certificate given on paper
    _ProposalSpec(
        "nurosh",
        "W2",
        "Osh inter-ethnic neighbourhood forums",
        80_000_000,
        9_000_000,
        (AttachmentKind.BUDGET, AttachmentKind.REGISTRATION_CERTIFICATE),
        "submitted",
    ),
)

# What the panel gives each W1 proposal on (relevance, feasibility, gender), in tenths.
# Ayalzat and Koy-Tash tie exactly: the lottery orders them.
W1_SCORES: dict[str, tuple[int, int, int]] = {
    "yntymak": (45, 40, 35),
    "ayalzat": (40, 40, 40),
    "koytash": (40, 40, 40),
    "ayilunu": (35, 35, 30),
    "leilek": (30, 35, 45),
}


def _rubric(version: int) -> RubricCreate:
    return RubricCreate(
        version=version,
        name=I18nText(
            en="Small grants rubric",
            ru="Критерии малых грантов",
            ky="Чакан гранттардын критерийлери",
        ),
        criteria=[
            CriterionCreate(
                code="relevance",
                weight=400,
                threshold=25,
                name=I18nText(
                    en="Relevance to the PCC action plan",
                    ru="Соответствие плану действий КСМ",
                    ky="КСМдин иш-аракет планына шайкештиги",
                ),
            ),
            CriterionCreate(
                code="feasibility",
                weight=350,
                name=I18nText(
                    en="Feasibility and budget",
                    ru="Реалистичность и бюджет",
                    ky="Ишке ашырылышы жана бюджети",
                ),
            ),
            CriterionCreate(
                code="gender",
                weight=250,
                name=I18nText(
                    en="Gender and conflict sensitivity",
                    ru="Гендер и конфликтная чувствительность",
                    ky="Гендер жана чыр-чатакка сезимталдык",
                ),
            ),
        ],
        overall_threshold=20,
        tie_break=["relevance", "feasibility"],
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
    ctx = await _user_ctx(session, f"{local}@{DOMAIN}")
    from contracts.enums import Role

    return RequestContext(
        actor=Actor(
            kind="user",
            id=ctx.actor.id,
            label=ctx.actor.label,
            roles=frozenset({Role.PROGRAMME_OFFICER}),
        ),
        request_id="demo-data",
    )


async def load_demo_call(session: AsyncSession, store: FileStore) -> bool:
    """Create the call and its proposals unless they exist; True when created."""
    if await _one(session, select(Call).where(col(Call.title)["en"].astext == CALL_TITLE)):
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
            title=I18nText(
                en=CALL_TITLE,
                ru="Малые гранты на укрепление доверия, 2026",
                ky="Ишенимди бекемдөө үчүн чакан гранттар, 2026",
            ),
            description=I18nText(
                en="Grants implementing the PCCs' action plans: window 1 for community "
                "initiatives, window 2 for larger projects of established organisations.",
                ru="Гранты на выполнение планов действий КСМ: окно 1 — инициативы сообществ, "
                "окно 2 — более крупные проекты опытных организаций.",
                ky="КСМдердин иш-аракет пландарын аткарууга гранттар: 1-терезе — жамаат "
                "демилгелери, 2-терезе — тажрыйбалуу уюмдардын ири долбоорлору.",
            ),
            contributions=[
                ContributionCreate(
                    funding_source_id=sources["pbf-undp"].id,
                    amount=6_000_000,
                    rate=Decimal("87.45"),
                ),
                ContributionCreate(
                    funding_source_id=sources["unesco"].id,
                    amount=2_500_000,
                    rate=Decimal("87.45"),
                ),
                ContributionCreate(funding_source_id=sources["osh-mayor"].id, amount=100_000_000),
            ],
        ),
    )
    now = utcnow()
    all_items = list(items_by_territory.values())
    windows = {}
    for code, title, lo, hi, allocations, rules, opens, closes in (
        (
            "W1",
            I18nText(
                en="Community initiatives", ru="Инициативы сообществ", ky="Жамаат демилгелери"
            ),
            10_000_000,
            50_000_000,
            [("pbf-undp", 200_000_000), ("osh-mayor", 50_000_000)],
            W1_RULES,
            now - timedelta(days=60),
            now - timedelta(days=10),
        ),
        (
            "W2",
            I18nText(en="Larger projects", ru="Крупные проекты", ky="Ири долбоорлор"),
            50_000_000,
            200_000_000,
            [("pbf-undp", 300_000_000), ("unesco", 200_000_000), ("osh-mayor", 50_000_000)],
            W2_RULES,
            now - timedelta(days=20),
            now + timedelta(days=25),
        ),
    ):
        windows[code] = await calls.create_window(
            session,
            officer,
            call.id,
            WindowCreate(
                code=code,
                title=title,
                opens_at=opens,
                closes_at=closes,
                min_grant=lo,
                max_grant=hi,
                allocations=[
                    AllocationCreate(funding_source_id=sources[s].id, amount=a)
                    for s, a in allocations
                ],
                territory_ids=[t.id for t in territories],
                action_plan_item_ids=all_items,
                rules=rules,
                reviewers_per_proposal=2,
                review_deadline=closes + timedelta(days=21),
            ),
        )
        await reviews.set_window_rubric(
            session, officer, windows[code].id, _rubric(windows[code].version)
        )
    current = await calls.get_call(session, officer, call.id)
    await calls.transition_call(
        session,
        officer,
        call.id,
        CallTransition(version=current.version, status=CallStatus.PUBLISHED),
    )
    ids: dict[str, uuid.UUID] = {}
    for spec in PROPOSALS:
        # window 1 is closed now: its proposals were made while it was open, 20 days ago
        when = now - timedelta(days=20) if spec.window == "W1" else now
        with clock.at(when):
            ids[spec.org] = await _proposal(
                session, store, officer, spec, windows[spec.window].id, items_by_territory
            )
    await _review_and_select(session, officer, windows["W1"].id, windows["W2"].id, ids)
    return True


async def _review_and_select(
    session: AsyncSession,
    officer: RequestContext,
    w1: uuid.UUID,
    w2: uuid.UUID,
    ids: dict[str, uuid.UUID],
) -> None:
    """W1: the panel reviews every eligible proposal, a run selects under a women-led quota
    (the lottery orders an exact tie) and is approved. W2: one proposal scored, one in review,
    one not yet assigned."""
    reviewer_ctx = {n: await _reviewer_ctx(session, f"reviewer{n}@{DOMAIN}") for n in (1, 2, 3, 4)}
    await reviews.replace_panel(
        session,
        officer,
        w1,
        PanelReplace(reviewer_ids=[r.actor.id for r in reviewer_ctx.values() if r.actor.id]),
    )
    await reviews.auto_assign(session, officer, w1, AutoAssign(seed="demo-2026-w1"))
    for ctx in reviewer_ctx.values():
        await _score_all(session, ctx, W1_SCORES)
    run = await selection.create_run(
        session,
        officer,
        w1,
        SelectionRunCreate(
            budget=100_000_000,
            reserve_size=1,
            quotas=[QuotaInput(kind="min_count", group="women_led", value="1")],
        ),
    )
    await selection.compute_run(session, officer, run.id)
    # four eyes: the second programme officer approves what the first created and computed
    await selection.approve_run(
        session,
        await _officer_ctx(session, "officer2"),
        run.id,
        SelectionRunTransition(reason="Approved by the selection board"),
    )
    # and the first officer publishes the decisions and the feedback to W1's applicants
    await selection.publish_feedback(session, officer, w1)
    # W2: a two-person panel; media proposal reviewed, legal aid in review, Nur-Osh waiting
    await reviews.replace_panel(
        session,
        officer,
        w2,
        PanelReplace(
            reviewer_ids=[r.actor.id for n, r in reviewer_ctx.items() if n in (1, 4) and r.actor.id]
        ),
    )
    for org in ("mediakopuro", "ukuk"):
        for n in (1, 4):
            rid = reviewer_ctx[n].actor.id
            assert rid is not None
            await reviews.assign_manually(
                session, officer, ids[org], AssignmentCreate(reviewer_id=rid)
            )
    for n in (1, 4):
        await _score_all(session, reviewer_ctx[n], {"mediakopuro": (40, 35, 45)})


async def _reviewer_ctx(session: AsyncSession, email: str) -> RequestContext:
    ctx = await _user_ctx(session, email)
    return RequestContext(
        actor=Actor(
            kind="user", id=ctx.actor.id, label=ctx.actor.label, roles=frozenset({Role.REVIEWER})
        ),
        request_id="demo-data",
    )


async def _score_all(
    session: AsyncSession, ctx: RequestContext, scores: dict[str, tuple[int, int, int]]
) -> None:
    titles = {s.title: s.org for s in PROPOSALS}
    for a in (await reviews.list_my_assignments(session, ctx)).items:
        org = titles.get(a.proposal_title)
        if org not in scores or a.status != "assigned":
            continue
        values = scores[org]
        await reviews.declare_no_conflict(session, ctx, a.id)
        saved = await reviews.save_review(
            session,
            ctx,
            a.id,
            ReviewSave(
                scores=[
                    CriterionScoreInput(criterion=code, value=v)
                    for code, v in zip(("relevance", "feasibility", "gender"), values, strict=True)
                ],
                comment="Clear link to the PCC action plan; the budget is realistic.",
            ),
        )
        await reviews.submit_review(session, ctx, a.id, ReviewSubmit(version=saved.version))


async def _proposal(
    session: AsyncSession,
    store: FileStore,
    officer: RequestContext,
    spec: _ProposalSpec,
    window_id: uuid.UUID,
    items_by_territory: dict[uuid.UUID, uuid.UUID],
) -> uuid.UUID:
    ctx = await _user_ctx(session, f"applicant.{spec.org}@{DOMAIN}")
    org_id = await _one(
        session,
        select(Membership.organisation_id)
        .join(AppUser, col(AppUser.id) == col(Membership.user_id))
        .where(col(AppUser.email) == f"applicant.{spec.org}@{DOMAIN}")
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
            summary=f"{spec.title}: activities with the PCC of the organisation's territory.",
            requested_amount=spec.requested,
            co_funding_amount=spec.co_funding,
            target_groups=["youth", "women"],
            gender_marker=2,
            gender_justification="Women make up at least half of participants and facilitators.",
            conflict_sensitivity="Activities bring together neighbours of different ethnicity "
            "and are planned with the PCC to avoid fuelling local tensions.",
            action_plan_item_ids=[items_by_territory[org.territory_id]],
        ),
    )
    half = spec.requested // 2
    draft = await proposals.replace_budget_lines(
        session,
        ctx,
        draft.id,
        BudgetLinesReplace(
            version=draft.version,
            lines=[
                BudgetLineCreate(
                    category="activities",
                    description="Meetings and venues",
                    quantity=Decimal(1),
                    unit_cost=half,
                ),
                BudgetLineCreate(
                    category="staff",
                    description="Facilitators",
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
            ProposalWithdraw(version=current.version, reason="Merged into a joint proposal"),
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
                reason="The registration certificate was handed in on paper at the PCC "
                "office in Jalal-Abad and checked by the programme officer.",
            ),
        )
    return draft.id
