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
from contracts.enums import AttachmentKind, CallStatus, ProposalStatus
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
from service.calls import service as calls
from service.context import RequestContext, utcnow
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
        "nurosh", "W2", "Osh inter-ethnic neighbourhood forums", 80_000_000, 9_000_000, (), "draft"
    ),
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


async def _officer_ctx(session: AsyncSession) -> RequestContext:
    ctx = await _user_ctx(session, f"officer@{DOMAIN}")
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
    for code, title, lo, hi, allocations, rules in (
        (
            "W1",
            I18nText(
                en="Community initiatives", ru="Инициативы сообществ", ky="Жамаат демилгелери"
            ),
            10_000_000,
            50_000_000,
            [("pbf-undp", 200_000_000), ("osh-mayor", 50_000_000)],
            W1_RULES,
        ),
        (
            "W2",
            I18nText(en="Larger projects", ru="Крупные проекты", ky="Ири долбоорлор"),
            50_000_000,
            200_000_000,
            [("pbf-undp", 300_000_000), ("unesco", 200_000_000), ("osh-mayor", 50_000_000)],
            W2_RULES,
        ),
    ):
        windows[code] = await calls.create_window(
            session,
            officer,
            call.id,
            WindowCreate(
                code=code,
                title=title,
                opens_at=now - timedelta(days=20),
                closes_at=now + timedelta(days=25),
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
            ),
        )
    current = await calls.get_call(session, officer, call.id)
    await calls.transition_call(
        session,
        officer,
        call.id,
        CallTransition(version=current.version, status=CallStatus.PUBLISHED),
    )
    for spec in PROPOSALS:
        await _proposal(session, store, officer, spec, windows[spec.window].id, items_by_territory)
    return True


async def _proposal(
    session: AsyncSession,
    store: FileStore,
    officer: RequestContext,
    spec: _ProposalSpec,
    window_id: uuid.UUID,
    items_by_territory: dict[uuid.UUID, uuid.UUID],
) -> None:
    ctx = await _user_ctx(session, f"applicant.{spec.org}@{DOMAIN}")
    org_id = next(iter(ctx.actor.organisation_ids - set()))
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
        return
    current = await proposals.get_proposal(session, ctx, draft.id)
    if spec.end == "withdrawn":
        await proposals.withdraw_proposal(
            session,
            ctx,
            draft.id,
            ProposalWithdraw(version=current.version, reason="Merged into a joint proposal"),
        )
        return
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
