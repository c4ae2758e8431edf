"""A funded window with selected proposals, and the people who move its money: the arrangement of
the grant, ledger and race tests. Rows are written with the ORM on the session given (a test's
rolled-back transaction, or a committed database for the concurrency tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.awards import ConditionInput, GrantCreate, TrancheInput
from contracts.enums import (
    ActionPlanStatus,
    CallStatus,
    FundingSourceKind,
    MembershipRole,
    OrganisationKind,
    ProposalStatus,
    Role,
    TrancheConditionKind,
)
from service.context import clock
from service.identity.secrets import new_token
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    AppUser,
    AuthToken,
    Call,
    CallContribution,
    CallWindow,
    FundingSource,
    Indicator,
    Membership,
    Organisation,
    Pcc,
    Proposal,
    ProposalActionPlanItem,
    Territory,
    UserRole,
    WindowActionPlanItem,
    WindowAllocation,
)
from tests.conftest import hashed_test_password

USD_RATE = Decimal("87.5")  # KGS per USD, recorded on the call's USD contribution
START = date(2027, 1, 1)
END = date(2027, 12, 31)


@dataclass
class MoneyWorld:
    window_id: uuid.UUID
    call_id: uuid.UUID
    kgs_source: uuid.UUID
    usd_source: uuid.UUID
    item_id: uuid.UUID
    indicator_id: uuid.UUID
    organisation_id: uuid.UUID
    proposals: list[uuid.UUID]
    requested: int
    envelope: int
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, uuid.UUID] = field(default_factory=dict)


async def _person(
    session: AsyncSession,
    world: MoneyWorld,
    name: str,
    roles: tuple[Role, ...] = (),
    member_of: uuid.UUID | None = None,
) -> None:
    user = AppUser(
        email=f"{name}-{uuid.uuid4().hex[:8]}@test.example",
        full_name=name,
        password_hash=hashed_test_password(),
    )
    session.add(user)
    await session.flush()
    for role in roles:
        session.add(UserRole(user_id=user.id, role=role))
    if member_of is not None:
        session.add(
            Membership(user_id=user.id, organisation_id=member_of, role=MembershipRole.MEMBER)
        )
    token, token_hash = new_token()
    now = clock.now()
    session.add(
        AuthToken(
            user_id=user.id,
            token_hash=token_hash,
            created_at=now - timedelta(hours=1),
            expires_at=now + timedelta(days=3650),
        )
    )
    await session.flush()
    world.tokens[name] = token
    world.user_ids[name] = user.id


async def build_money_world(
    session: AsyncSession,
    *,
    proposals: int = 3,
    requested: int = 10_000_000,
    kgs_allocation: int = 18_000_000,
    usd_allocation: int = 12_000_000,
    floor_pct: int | None = 50,
) -> MoneyWorld:
    """A published call in KGS with two funding sources (one in KGS, one in USD at 87.5), one
    window whose envelope is `kgs_allocation + usd_allocation`, and `proposals` selected
    proposals of one organisation, each requesting `requested`. People: programme officers
    `po`/`po2`, finance officers `fo1`/`fo2`/`fo3`, a grantee member `member`, a reviewer."""
    tag = uuid.uuid4().hex[:6]
    territory = Territory(
        code=f"m-{tag}", kind="city", name={"en": f"Town {tag}"}, region={"en": "Osh"}
    )
    session.add(territory)
    await session.flush()
    pcc = Pcc(territory_id=territory.id, name={"en": f"PCC {tag}"})
    session.add(pcc)
    await session.flush()
    plan = ActionPlan(
        pcc_id=pcc.id,
        title={"en": "Plan"},
        period_start=date(2026, 1, 1),
        period_end=date(2028, 12, 31),
        status=ActionPlanStatus.ACTIVE,
    )
    session.add(plan)
    await session.flush()
    item = ActionPlanItem(
        action_plan_id=plan.id,
        code=f"I-{tag}",
        objective={"en": "Dialogue"},
        activities="x",
        budget_estimate=100_000_000,
    )
    session.add(item)
    await session.flush()
    indicator = Indicator(
        action_plan_item_id=item.id,
        name={"en": "People reached"},
        unit="people",
        target=Decimal(500),
    )
    kgs = FundingSource(code=f"K-{tag}", name="Pooled KGS", kind=FundingSourceKind.UN_AGENCY)
    usd = FundingSource(
        code=f"U-{tag}", name="Donor USD", kind=FundingSourceKind.DONOR, currency="USD"
    )
    org = Organisation(
        name=f"Grantee {tag}",
        kind=OrganisationKind.CSO,
        territory_id=territory.id,
        founded_year=2015,
        registration_number=f"REG-{tag}",
    )
    session.add_all([indicator, kgs, usd, org])
    await session.flush()
    world = MoneyWorld(
        window_id=uuid.uuid4(),
        call_id=uuid.uuid4(),
        kgs_source=kgs.id,
        usd_source=usd.id,
        item_id=item.id,
        indicator_id=indicator.id,
        organisation_id=org.id,
        proposals=[],
        requested=requested,
        envelope=kgs_allocation + usd_allocation,
    )
    await _person(session, world, "po", (Role.PROGRAMME_OFFICER,))
    await _person(session, world, "po2", (Role.PROGRAMME_OFFICER,))
    for fo in ("fo1", "fo2", "fo3"):
        await _person(session, world, fo, (Role.FINANCE_OFFICER,))
    await _person(session, world, "auditor", (Role.AUDITOR,))
    await _person(session, world, "reviewer", (Role.REVIEWER,))
    await _person(session, world, "member", member_of=org.id)
    call = Call(
        id=world.call_id,
        title={"en": "Call"},
        description={"en": "Call"},
        status=CallStatus.PUBLISHED,
        created_by=world.user_ids["po"],
    )
    session.add(call)
    await session.flush()
    usd_in_usd = int(Decimal(usd_allocation) / USD_RATE) + 1
    session.add_all(
        [
            CallContribution(
                call_id=call.id,
                funding_source_id=kgs.id,
                amount=kgs_allocation,
                currency="KGS",
                rate=Decimal(1),
            ),
            CallContribution(
                call_id=call.id,
                funding_source_id=usd.id,
                amount=usd_in_usd,
                currency="USD",
                rate=USD_RATE,
            ),
        ]
    )
    now = datetime.now().astimezone()
    window = CallWindow(
        id=world.window_id,
        call_id=call.id,
        code="W",
        position=0,
        title={"en": "Window"},
        opens_at=now - timedelta(days=60),
        closes_at=now - timedelta(days=30),
        min_grant=1_000_000,
        max_grant=50_000_000,
        calibration={},
        partial_funding_floor_pct=floor_pct,
        status=CallStatus.CLOSED,
    )
    session.add(window)
    await session.flush()
    session.add_all(
        [
            WindowAllocation(window_id=window.id, funding_source_id=kgs.id, amount=kgs_allocation),
            WindowAllocation(window_id=window.id, funding_source_id=usd.id, amount=usd_allocation),
            WindowActionPlanItem(window_id=window.id, action_plan_item_id=item.id),
        ]
    )
    for n in range(proposals):
        proposal = Proposal(
            window_id=window.id,
            organisation_id=org.id,
            title=f"Project {n}",
            summary="s",
            status=ProposalStatus.SELECTED,
            requested_amount=requested,
            snapshot={},
            receipt_number=f"2027-{tag}-{n:05d}",
            submitted_at=now - timedelta(days=40),
            created_by=world.user_ids["member"],
        )
        session.add(proposal)
        await session.flush()
        session.add(ProposalActionPlanItem(proposal_id=proposal.id, action_plan_item_id=item.id))
        world.proposals.append(proposal.id)
    await session.flush()
    return world


def grant_body(
    world: MoneyWorld,
    proposal_id: uuid.UUID,
    amounts: list[int],
    *,
    conditions: list[list[ConditionInput]] | None = None,
    **extra: Any,
) -> GrantCreate:
    """A grant of `sum(amounts)` in tranches of `amounts`, a month apart, each financing the
    world's action-plan item; no conditions unless given (so each tranche is due at once)."""
    return GrantCreate(
        proposal_id=proposal_id,
        amount=sum(amounts),
        start_date=START,
        end_date=END,
        tranches=[
            TrancheInput(
                amount=a,
                planned_date=START + timedelta(days=30 * i),
                action_plan_item_ids=[world.item_id],
                conditions=(conditions[i] if conditions else []),
            )
            for i, a in enumerate(amounts)
        ],
        **extra,
    )


AGREEMENT = ConditionInput(kind=TrancheConditionKind.AGREEMENT_SIGNED)
PROGRESS_1 = ConditionInput(kind=TrancheConditionKind.PROGRESS_REPORT_ACCEPTED, params={"count": 1})
