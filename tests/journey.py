"""A programme to test against: places, a PCC plan, a source, organisations, people, and the
steps of publishing a call and drafting a complete proposal (shared by the journey tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.calls import (
    AllocationCreate,
    CallCreate,
    CallTransition,
    ContributionCreate,
    WindowCreate,
)
from contracts.client import GrantsClient
from contracts.common import I18nText
from contracts.enums import CallStatus, FundingSourceKind, OrganisationKind, Role
from contracts.proposals import BudgetLineCreate, BudgetLinesReplace, ProposalCreate, ProposalUpdate
from service.context import Clock
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    FundingSource,
    Organisation,
    Pcc,
    Territory,
)
from tests.conftest import MakeOrganisation, MakeUser

BISHKEK = ZoneInfo("Asia/Bishkek")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=BISHKEK)
CLOSES = datetime(2026, 12, 1, 18, 0, tzinfo=BISHKEK)  # 18:00 in Bishkek = 12:00 UTC
MONTHS = timedelta(days=90)  # tokens outlive the clock's jumps to the deadline
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

RULES = [
    {"id": "kind", "kind": "organisation_kind_in", "kinds": ["cso", "initiative_group"]},
    {"id": "place", "kind": "territory_in_window"},
    {"id": "age", "kind": "min_years_since_founding", "years": 2},
    {"id": "amount", "kind": "requested_amount_within_window"},
    {"id": "item", "kind": "linked_to_eligible_item", "min": 1},
    {"id": "docs", "kind": "attachments_present", "kinds": ["budget"]},
    {"id": "budget", "kind": "budget_lines_consistent"},
]


@dataclass
class Programme:
    officer: GrantsClient
    applicant: GrantsClient
    young: GrantsClient
    anonymous: GrantsClient
    org: Organisation
    young_org: Organisation
    osh: Territory
    item: ActionPlanItem
    source: FundingSource


@pytest.fixture
async def programme(
    session: AsyncSession,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    client: GrantsClient,
    frozen_clock: Clock,
) -> Programme:
    frozen_clock.frozen = NOW
    osh = Territory(
        code=f"osh-{uuid.uuid4().hex[:4]}",
        kind="city",
        name={"en": "Osh", "ru": "город Ош", "ky": "Ош шаары"},
        region={"en": "Osh"},
    )
    batken = Territory(
        code=f"batken-{uuid.uuid4().hex[:4]}",
        kind="city",
        name={"en": "Batken", "ru": "город Баткен", "ky": "Баткен шаары"},
        region={"en": "B"},
    )
    session.add_all([osh, batken])
    await session.flush()
    pcc = Pcc(territory_id=osh.id, name={"en": "PCC of Osh"})
    session.add(pcc)
    await session.flush()
    plan = ActionPlan(
        pcc_id=pcc.id,
        title={"en": "Plan"},
        period_start=date(2026, 1, 1),
        period_end=date(2027, 12, 31),
        status="active",
    )
    session.add(plan)
    await session.flush()
    item = ActionPlanItem(
        action_plan_id=plan.id,
        code="OSH-1",
        objective={"en": "Dialogue"},
        activities="x",
        budget_estimate=100_000_000,
    )
    source = FundingSource(
        code=f"PBF-{uuid.uuid4().hex[:4]}", name="PBF", kind=FundingSourceKind.UN_AGENCY
    )
    session.add_all([item, source])
    await session.flush()
    org = await make_organisation(
        territory_id=osh.id, kind=OrganisationKind.CSO, founded_year=2015, name="Yntymak"
    )
    young_org = await make_organisation(
        territory_id=batken.id,
        kind=OrganisationKind.YOUTH_GROUP,
        founded_year=2026,
        name="New Youth",
    )
    return Programme(
        officer=(await make_user(Role.PROGRAMME_OFFICER, token_expires_in=MONTHS)).client,
        applicant=(await make_user(member_of=(org,), token_expires_in=MONTHS)).client,
        young=(await make_user(member_of=(young_org,), token_expires_in=MONTHS)).client,
        anonymous=client,
        org=org,
        young_org=young_org,
        osh=osh,
        item=item,
        source=source,
    )


def window_spec(
    code: str, lo: int, hi: int, alloc: int, w: Programme, rules: list[dict]
) -> WindowCreate:  # type: ignore[type-arg]  # JSON rules
    return WindowCreate(
        code=code,
        title=I18nText(en=f"Window {code}", ru=f"Окно {code}", ky=f"{code}-терезе"),
        opens_at=NOW - timedelta(days=10),
        closes_at=CLOSES,
        min_grant=lo,
        max_grant=hi,
        allocations=[AllocationCreate(funding_source_id=w.source.id, amount=alloc)],
        territory_ids=[w.osh.id],
        action_plan_item_ids=[w.item.id],
        rules=rules,
    )


async def published_call(w: Programme) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    call = await w.officer.create_call(
        CallCreate(
            title=I18nText(en="Trust-building grants 2026", ru="Гранты 2026", ky="Гранттар 2026"),
            description=I18nText(en="Two windows"),
            contributions=[ContributionCreate(funding_source_id=w.source.id, amount=100_000_000)],
        )
    )
    w1 = await w.officer.create_window(
        call.id, window_spec("W1", 5_000_000, 30_000_000, 40_000_000, w, RULES)
    )
    w2 = await w.officer.create_window(
        call.id, window_spec("W2", 30_000_000, 100_000_000, 60_000_000, w, RULES)
    )
    published = await w.officer.create_call_transition(
        call.id, CallTransition(version=call.version, status=CallStatus.PUBLISHED)
    )
    assert published.status == CallStatus.PUBLISHED
    assert [x.envelope for x in published.windows] == [40_000_000, 60_000_000]
    assert [x.status for x in published.windows] == [CallStatus.PUBLISHED] * 2
    return call.id, w1.id, w2.id


async def complete_draft(w: Programme, window_id: uuid.UUID) -> uuid.UUID:
    draft = await w.applicant.create_proposal(
        window_id, ProposalCreate(organisation_id=w.org.id, title="Youth dialogue in Osh")
    )
    draft = await w.applicant.update_proposal(
        draft.id,
        ProposalUpdate(
            version=draft.version,
            requested_amount=10_000_000,
            action_plan_item_ids=[w.item.id],
            gender_marker=2,
            gender_justification="Half the facilitators are women",
        ),
    )
    draft = await w.applicant.update_budget_lines(
        draft.id,
        BudgetLinesReplace(
            version=draft.version,
            lines=[
                BudgetLineCreate(
                    category="venue",
                    description="Hall",
                    quantity=Decimal("4"),
                    unit_cost=1_500_000,
                ),
                BudgetLineCreate(
                    category="facilitation",
                    description="Trainers",
                    quantity=Decimal("2.5"),
                    unit_cost=1_600_000,
                ),
            ],
        ),
    )
    assert [line.total for line in draft.budget_lines] == [6_000_000, 4_000_000]
    assert draft.budget_total == 10_000_000
    await w.applicant.create_attachment(draft.id, PDF, "Бюджет.pdf", kind="budget")
    return draft.id
