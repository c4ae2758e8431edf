"""GetPccProgress: a PCC's action-plan items with the grants and tranches financing them, money
committed and disbursed per item, indicators' latest values from accepted reports, gaps; who may
read it; a fixed number of queries."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.awards import (
    DisbursementCreate,
    GrantCreate,
    TrancheCancellation,
    TrancheInput,
    TrancheTransition,
)
from contracts.client import ApiError, GrantsClient
from contracts.enums import (
    ActionPlanStatus,
    ApiScope,
    GrantStatus,
    Pillar,
    ReportKind,
    Role,
    TrancheStatus,
)
from contracts.permissions import ANONYMOUS, Actor, can_read_pcc_progress
from contracts.progress import ItemProgress, MoneyTotal
from contracts.reports import IndicatorValueInput, ReportCreate, ReportDecisionCreate, ReportSubmit
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    Indicator,
    Organisation,
    PccMember,
    Proposal,
    WindowActionPlanItem,
)
from tests.conftest import QueryCounter
from tests.money_world import START, MoneyWorld, build_money_world, grant_body

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


def who(http: httpx.AsyncClient, world: MoneyWorld, name: str) -> GrantsClient:
    return GrantsClient(http, token=world.tokens[name])


class Progress:
    """The world's PCC with three items in its active plan — `I-…` (the world's, with its
    indicator), `B-…` (co-financed) and `Z-…` (a gap, with an indicator of its own) — and a
    draft plan only staff see."""

    def __init__(self, world: MoneyWorld, plan_id: uuid.UUID, pcc_id: uuid.UUID) -> None:
        self.world = world
        self.plan_id = plan_id
        self.pcc_id = pcc_id
        self.b_item = uuid.uuid4()
        self.gap_item = uuid.uuid4()
        self.gap_indicator = uuid.uuid4()
        self.draft_plan = uuid.uuid4()
        self.grant1: uuid.UUID | None = None
        self.grant2: uuid.UUID | None = None


@pytest.fixture
async def w(session: AsyncSession) -> Progress:
    world = await build_money_world(session, proposals=2, floor_pct=None)
    item = await session.get(ActionPlanItem, world.item_id)
    assert item is not None
    plan = await session.get(ActionPlan, item.action_plan_id)
    assert plan is not None
    tag = item.code.removeprefix("I-")
    x = Progress(world, plan.id, plan.pcc_id)
    session.add_all(
        [
            ActionPlanItem(
                id=x.b_item,
                action_plan_id=plan.id,
                code=f"B-{tag}",
                objective={"en": "Youth forums", "ru": "Молодёжные форумы"},
                activities="forums",
                budget_estimate=5_000_000,
            ),
            ActionPlanItem(
                id=x.gap_item,
                action_plan_id=plan.id,
                code=f"Z-{tag}",
                objective={"en": "Women's mediation"},
                activities="mediation",
                budget_estimate=7_000_000,
            ),
            ActionPlan(
                id=x.draft_plan,
                pcc_id=plan.pcc_id,
                title={"en": "Next plan (draft)"},
                period_start=date(2029, 1, 1),
                period_end=date(2030, 12, 31),
                status=ActionPlanStatus.DRAFT,
            ),
        ]
    )
    await session.flush()
    session.add_all(
        [
            Indicator(
                id=x.gap_indicator,
                action_plan_item_id=x.gap_item,
                name={"en": "Mediators trained"},
                unit="people",
                baseline=Decimal(3),
                target=Decimal(30),
            ),
            WindowActionPlanItem(window_id=world.window_id, action_plan_item_id=x.b_item),
        ]
    )
    await session.flush()
    return x


async def _fund_and_report(http: httpx.AsyncClient, x: Progress) -> None:
    """Grant 1 (proposal 0): 6,999,999 for I (paid) and 3,000,001 for I and B; grant 2
    (proposal 1): 2,000,000 for B. A progress report on grant 1 accepted with 42.5 for I's
    indicator; a later one submitted with 99 but not accepted."""
    world = x.world
    po, fo1 = who(http, world, "po"), who(http, world, "fo1")
    body = grant_body(world, world.proposals[0], [6_999_999, 3_000_001])
    body.tranches[1].action_plan_item_ids = [world.item_id, x.b_item]
    grant1 = await po.create_grant(body)
    x.grant1 = grant1.id
    grant2 = await po.create_grant(
        GrantCreate(
            proposal_id=world.proposals[1],
            amount=2_000_000,
            start_date=START,
            end_date=date(2027, 12, 31),
            agreement_reference="AGR-B-2",
            tranches=[
                TrancheInput(amount=2_000_000, planned_date=START, action_plan_item_ids=[x.b_item])
            ],
        )
    )
    x.grant2 = grant2.id
    first = grant1.tranches[0]
    approved = await po.approve_tranche(first.id, TrancheTransition(version=first.version))
    await fo1.create_disbursement(
        first.id,
        DisbursementCreate(
            amount=6_999_999,
            value_date=date(2027, 1, 15),
            reference="PAY-1",
            bank_details={"bank": "KICB"},
            rates={"USD": "88.0"},
        ),
        f"k-{approved.id}",
    )
    member = who(http, world, "member")
    report = await member.create_report(
        grant1.id,
        ReportCreate(
            kind=ReportKind.PROGRESS,
            narrative="Dialogue sessions held.",
            indicators=[
                IndicatorValueInput(
                    indicator_id=world.indicator_id, value=Decimal("42.5"), note="so far"
                )
            ],
        ),
    )
    report = await member.submit_report(report.id, ReportSubmit(version=report.version))
    await po.create_report_decision(
        report.id, ReportDecisionCreate(version=report.version, outcome="accept")
    )
    later = await member.create_report(
        grant1.id,
        ReportCreate(
            kind=ReportKind.PROGRESS,
            narrative="More sessions.",
            indicators=[IndicatorValueInput(indicator_id=world.indicator_id, value=Decimal(99))],
        ),
    )
    await member.submit_report(later.id, ReportSubmit(version=later.version))


def _item(items: list[ItemProgress], item_id: uuid.UUID) -> ItemProgress:
    [found] = [i for i in items if i.id == item_id]
    return found


async def test_progress_per_item_money_indicators_and_gaps(
    http: httpx.AsyncClient, w: Progress, session: AsyncSession
) -> None:
    await _fund_and_report(http, w)
    world = w.world
    progress = await who(http, world, "auditor").get_pcc_progress(w.pcc_id)
    assert progress.pcc_id == w.pcc_id
    # the auditor sees the draft plan too (staff), newest period first
    assert [p.id for p in progress.plans] == [w.draft_plan, w.plan_id]
    assert progress.plans[0].items == []
    assert progress.plans[0].totals == []
    plan = progress.plans[1]
    assert [i.code.split("-")[0] for i in plan.items] == ["B", "I", "Z"]

    # the 3,000,001 tranche is split equally over its two items, the odd unit to the first
    # in code order (B); expected values computed here from the amounts above
    half, odd = divmod(3_000_001, 2)
    b_share, i_share = half + odd, half

    i = _item(plan.items, world.item_id)
    assert i.gap is False
    [g1] = i.grants
    assert (g1.grant_id, g1.status, g1.currency) == (w.grant1, GrantStatus.ACTIVE, "KGS")
    organisation = await session.get(Organisation, world.organisation_id)
    proposal = await session.get(Proposal, world.proposals[0])
    assert organisation is not None
    assert proposal is not None
    assert (g1.organisation_id, g1.organisation_name, g1.title) == (
        world.organisation_id,
        organisation.name,
        proposal.title,
    )
    assert [(t.position, t.amount, t.share, t.item_count, t.status) for t in g1.tranches] == [
        (0, 6_999_999, 6_999_999, 1, TrancheStatus.DISBURSED),
        (1, 3_000_001, i_share, 2, TrancheStatus.DUE),
    ]
    assert (g1.committed, g1.disbursed) == (6_999_999 + i_share, 6_999_999)
    assert i.totals == [
        MoneyTotal(currency="KGS", committed=6_999_999 + i_share, disbursed=6_999_999)
    ]
    [indicator] = i.indicators
    assert (indicator.id, indicator.target, indicator.baseline) == (
        world.indicator_id,
        Decimal(500),
        None,
    )
    # the accepted report's value, not the later submitted one's (99)
    assert (indicator.latest, indicator.note) == (Decimal("42.5"), "so far")
    assert indicator.source is not None
    reports = await who(http, world, "po").list_report_queue()
    [accepted] = [r for r in reports.items if r.status == "accepted"]
    assert indicator.source.report_id == accepted.id
    assert indicator.source.accepted_at == accepted.decided_at
    assert indicator.source.submitted_at == accepted.submitted_at
    assert (indicator.source.grant_id, indicator.source.kind) == (w.grant1, ReportKind.PROGRESS)
    assert indicator.source.organisation_name == organisation.name

    b = _item(plan.items, w.b_item)
    assert b.gap is False
    # one organisation's two grants: the one without an agreement reference first
    assert [(g.grant_id, g.committed, g.disbursed) for g in b.grants] == [
        (w.grant1, b_share, 0),
        (w.grant2, 2_000_000, 0),
    ]
    assert b.totals == [MoneyTotal(currency="KGS", committed=b_share + 2_000_000, disbursed=0)]
    assert b.objective.ru == "Молодёжные форумы"

    z = _item(plan.items, w.gap_item)
    assert (z.gap, z.grants, z.totals) == (True, [], [])
    [z_indicator] = z.indicators
    assert (z_indicator.baseline, z_indicator.target, z_indicator.latest, z_indicator.source) == (
        Decimal(3),
        Decimal(30),
        None,
        None,
    )
    assert plan.gap_count == 1
    # the plan's money is the two grants' whole amounts: every tranche finances its items
    assert plan.totals == [
        MoneyTotal(currency="KGS", committed=10_000_000 + 2_000_000, disbursed=6_999_999)
    ]
    assert progress.totals == plan.totals


async def test_cancelled_tranches_finance_nothing(http: httpx.AsyncClient, w: Progress) -> None:
    await _fund_and_report(http, w)
    po = who(http, w.world, "po")
    assert w.grant2 is not None
    grant2 = await po.get_grant(w.grant2)
    [tranche] = grant2.tranches
    await po.create_tranche_cancellation(
        tranche.id, TrancheCancellation(version=tranche.version, reason="Project withdrawn")
    )
    progress = await po.get_pcc_progress(w.pcc_id)
    b = _item(progress.plans[1].items, w.b_item)
    assert [g.grant_id for g in b.grants] == [w.grant1]


async def test_a_pcc_member_reads_published_plans_others_are_refused(
    http: httpx.AsyncClient, w: Progress, session: AsyncSession
) -> None:
    world = w.world
    # the grantee's member is not on the PCC: refused, like a reviewer
    for name in ("member", "reviewer"):
        with pytest.raises(ApiError) as refused:
            await who(http, world, name).get_pcc_progress(w.pcc_id)
        assert refused.value.status == 403
    with pytest.raises(ApiError) as anonymous:
        await GrantsClient(http).get_pcc_progress(w.pcc_id)
    assert anonymous.value.status == 401
    assert await who(http, world, "member").list_my_pccs() == []
    with pytest.raises(ApiError) as unknown:
        await who(http, world, "po").get_pcc_progress(uuid.uuid4())
    assert unknown.value.status == 404
    # once on the PCC, the member reads it, without the draft plan
    session.add(
        PccMember(
            pcc_id=w.pcc_id,
            full_name="Member of the PCC",
            pillar=Pillar.CIVIL_SOCIETY,
            user_id=world.user_ids["member"],
        )
    )
    await session.flush()
    progress = await who(http, world, "member").get_pcc_progress(w.pcc_id)
    assert [p.id for p in progress.plans] == [w.plan_id]
    # and finds it among their PCCs; staff sit on none
    assert [x.id for x in await who(http, world, "member").list_my_pccs()] == [w.pcc_id]
    assert await who(http, world, "po").list_my_pccs() == []
    for name in ("po", "fo1", "auditor"):
        staff = await who(http, world, name).get_pcc_progress(w.pcc_id)
        assert [p.id for p in staff.plans] == [w.draft_plan, w.plan_id]


async def test_progress_answers_in_a_fixed_number_of_queries(
    http: httpx.AsyncClient, w: Progress, session: AsyncSession, count_queries: QueryCounter
) -> None:
    po = who(http, w.world, "po")
    count_queries.count = 0
    await po.get_pcc_progress(w.pcc_id)
    bare = count_queries.count
    await _fund_and_report(http, w)
    count_queries.count = 0
    progress = await po.get_pcc_progress(w.pcc_id)
    assert sum(len(i.grants) for i in progress.plans[1].items) == 3
    assert count_queries.count == bare


def test_the_progress_predicate_names_who_reads_it() -> None:
    member, other = uuid.uuid4(), uuid.uuid4()
    members = {member}

    def user(*roles: Role, uid: uuid.UUID | None = None) -> Actor:
        return Actor(kind="user", id=uid or uuid.uuid4(), roles=frozenset(roles))

    allowed = [
        user(Role.PROGRAMME_OFFICER),
        user(Role.FINANCE_OFFICER),
        user(Role.AUDITOR),
        user(uid=member),
    ]
    refused = [
        user(Role.ADMIN),
        user(Role.REVIEWER),
        user(uid=other),
        Actor(kind="api_key", scopes=frozenset({ApiScope.READ_PCC, ApiScope.READ_AWARDS})),
        ANONYMOUS,
    ]
    assert [can_read_pcc_progress(a, members).allowed for a in allowed] == [True] * 4
    assert [can_read_pcc_progress(a, members).allowed for a in refused] == [False] * 5
    # a member of another PCC only
    assert can_read_pcc_progress(user(uid=member), set()).allowed is False


async def test_progress_agrees_with_the_finance_summary_by_item(
    http: httpx.AsyncClient, w: Progress
) -> None:
    """The page's money and the finance dashboards' use one definition: the same per item."""
    await _fund_and_report(http, w)
    fo = who(http, w.world, "fo1")
    summary = await fo.get_finance_summary(
        "action_plan_item", window_id=w.world.window_id, currency="KGS"
    )
    by_item = {row.key: (row.committed, row.disbursed) for row in summary.rows}
    progress = await fo.get_pcc_progress(w.pcc_id)
    mine = {
        str(i.id): (t.committed, t.disbursed)
        for p in progress.plans
        for i in p.items
        for t in i.totals
    }
    assert mine == by_item
    assert len(mine) == 2  # I and B; Z is a gap
