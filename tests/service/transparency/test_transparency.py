"""The public transparency view (GetTransparency): only decided windows' grants, no personal data,
sums that add up; anyone may read it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.client import GrantsClient
from contracts.enums import ActionPlanStatus, ReportKind, ReportStatus, TrancheStatus
from service.demo import load_demo_data
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    AppUser,
    Grant,
    Indicator,
    IndicatorValue,
    Organisation,
    Pcc,
    PccMember,
    Proposal,
    Report,
    SelectionRun,
    Territory,
    Tranche,
    TrancheActionPlanItem,
)
from tests.conftest import QueryCounter

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


def _strings(value: object) -> list[str]:
    """Every string (keys and values) of a JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


async def test_transparency_shows_the_decided_windows_grants_and_nothing_personal(
    session: AsyncSession, client: GrantsClient, storage_dir: Path
) -> None:
    await load_demo_data(session, storage_dir)
    view = await client.get_transparency()  # the client carries no credentials: anonymous

    decided = set(
        (
            await session.execute(
                select(SelectionRun.window_id).where(col(SelectionRun.approved_at).is_not(None))
            )
        ).scalars()
    )
    assert decided  # the demo decided window 1
    assert {w.id for w in view.windows} == decided
    awarded = (
        await session.execute(select(Grant).where(col(Grant.window_id).in_(decided)))
    ).scalars()
    expected = {g.id: g for g in awarded}
    assert len(expected) == 3
    assert {g.id for g in view.grants} == set(expected)
    for g in view.grants:
        assert g.window_id in decided
        assert g.disbursed == expected[g.id].disbursed_amount
        assert 0 < g.committed <= expected[g.id].amount
        assert g.items, g.title  # every demo grant funds action-plan items
        org = await session.get(Organisation, expected[g.id].organisation_id)
        assert org is not None
        assert g.organisation_name == org.name
        territory = await session.get(Territory, org.territory_id)
        assert territory is not None
        assert g.territory_code == territory.code

    # sums: per territory (all seven listed) and per funding source add up to the grants
    assert len(view.by_territory) == 7
    assert sum(t.committed for t in view.by_territory) == view.committed
    assert sum(t.disbursed for t in view.by_territory) == view.disbursed
    assert view.committed == sum(g.committed for g in view.grants)
    assert view.disbursed == sum(g.disbursed for g in view.grants) > 0
    assert sum(s.committed for s in view.by_funding_source) == sum(
        expected[g.id].amount for g in view.grants
    )
    assert sum(s.disbursed for s in view.by_funding_source) == view.disbursed
    assert len(view.by_funding_source) >= 2

    # nothing of the undecided window: its proposals' titles are nowhere
    text = _strings(msgspec.to_builtins(view))
    blob = "\n".join(text)
    undecided_titles = (
        await session.execute(select(Proposal.title).where(col(Proposal.window_id).not_in(decided)))
    ).scalars()
    for title in undecided_titles:
        assert title not in blob, title
    # and no person: no user's name or e-mail, no PCC member's name
    people = [
        *(await session.execute(select(AppUser.full_name))).scalars(),
        *(await session.execute(select(AppUser.email))).scalars(),
        *(await session.execute(select(PccMember.full_name))).scalars(),
    ]
    assert len(people) > 10
    for who in people:
        assert who not in blob, who
    assert "@" not in blob


async def _expected_item_money(
    session: AsyncSession,
) -> dict[uuid.UUID, dict[str, tuple[int, int]]]:
    """Per item and currency (committed, disbursed), computed here from the rows: each
    non-cancelled tranche split equally over its items in code order, the remainder's minor
    units one each to the first items."""
    links: dict[uuid.UUID, list[tuple[str, uuid.UUID]]] = defaultdict(list)
    for tranche_id, code, item_id in await session.execute(
        select(TrancheActionPlanItem.tranche_id, ActionPlanItem.code, ActionPlanItem.id).join(
            ActionPlanItem, col(ActionPlanItem.id) == col(TrancheActionPlanItem.action_plan_item_id)
        )
    ):
        links[tranche_id].append((code, item_id))
    money: dict[uuid.UUID, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for tranche in (await session.execute(select(Tranche))).scalars():
        if tranche.status == TrancheStatus.CANCELLED or tranche.id not in links:
            continue
        items = sorted(links[tranche.id], key=lambda x: (x[0], str(x[1])))
        base, extra = divmod(tranche.amount, len(items))
        for i, (_, item_id) in enumerate(items):
            share = base + (1 if i < extra else 0)
            money[item_id][tranche.currency][0] += share
            if tranche.status == TrancheStatus.DISBURSED:
                money[item_id][tranche.currency][1] += share
    return {
        item: {cur: (v[0], v[1]) for cur, v in by_cur.items()} for item, by_cur in money.items()
    }


async def test_every_pccs_published_plan_progress_is_public(
    session: AsyncSession, client: GrantsClient, storage_dir: Path
) -> None:
    """Every non-draft plan of every PCC, its items funded or gaps with the money of
    GetPccProgress, the financing organisations, and each indicator's baseline, latest value
    from the most recently ACCEPTED report, target; no draft plan, no report, no note."""
    await load_demo_data(session, storage_dir)
    plans = list(
        (
            await session.execute(
                select(ActionPlan).where(col(ActionPlan.status) != ActionPlanStatus.DRAFT)
            )
        ).scalars()
    )
    assert plans
    some = plans[0]
    draft = ActionPlan(
        pcc_id=some.pcc_id,
        title={"en": "An unpublished draft plan", "ru": "", "ky": ""},
        period_start=date(2030, 1, 1),
        period_end=date(2030, 12, 31),
        status=ActionPlanStatus.DRAFT,
    )
    session.add(draft)
    await session.flush()
    session.add(
        ActionPlanItem(
            action_plan_id=draft.id,
            code="DRAFT-1",
            objective={"en": "A drafted objective", "ru": "", "ky": ""},
            activities="x",
            budget_estimate=100,
            currency="KGS",
            target_groups=[],
            gender_responsive=False,
            conflict_sensitive=False,
        )
    )
    # an indicator of a funded item gets values from three reports: two accepted (the later
    # decision wins), one returned (never counted)
    funded_item_id = (
        await session.execute(select(TrancheActionPlanItem.action_plan_item_id).limit(1))
    ).scalar_one()
    indicator = (
        await session.execute(
            select(Indicator).where(col(Indicator.action_plan_item_id) == funded_item_id).limit(1)
        )
    ).scalar_one()
    grant = (await session.execute(select(Grant).limit(1))).scalar_one()
    officer = (await session.execute(select(AppUser.id).limit(1))).scalar_one()
    values = [
        (ReportStatus.ACCEPTED, datetime(2026, 3, 1, 12, tzinfo=UTC), Decimal("7")),
        (ReportStatus.ACCEPTED, datetime(2026, 4, 30, 20, tzinfo=UTC), Decimal("11.5")),
        (ReportStatus.RETURNED, datetime(2026, 5, 2, 12, tzinfo=UTC), Decimal("99")),
    ]
    for status, decided, value in values:
        report = Report(
            grant_id=grant.id,
            kind=ReportKind.PROGRESS,
            status=status,
            submitted_at=decided,
            decided_at=decided,
            decided_by=officer,
            created_by=officer,
        )
        session.add(report)
        await session.flush()
        session.add(
            IndicatorValue(
                report_id=report.id, indicator_id=indicator.id, value=value, note="NOTE-SECRET"
            )
        )
    await session.commit()

    view = await client.get_transparency()

    assert {x.id for x in view.plans} == {x.id for x in plans}
    assert draft.id not in {x.id for x in view.plans}
    pccs = {x.id: x for x in (await session.execute(select(Pcc))).scalars()}
    territories = {x.id: x for x in (await session.execute(select(Territory))).scalars()}
    codes = [x.territory_code for x in view.plans]
    assert codes == sorted(codes)
    money = await _expected_item_money(session)
    funders: dict[uuid.UUID, set[str]] = defaultdict(set)
    for item_id, org in await session.execute(
        select(TrancheActionPlanItem.action_plan_item_id, Organisation.name)
        .join(Tranche, col(Tranche.id) == col(TrancheActionPlanItem.tranche_id))
        .join(Grant, col(Grant.id) == col(Tranche.grant_id))
        .join(Organisation, col(Organisation.id) == col(Grant.organisation_id))
        .where(col(Tranche.status) != TrancheStatus.CANCELLED)
    ):
        funders[item_id].add(org)
    gaps = funded = 0
    for plan in view.plans:
        pcc = pccs[plan.pcc_id]
        row = await session.get(ActionPlan, plan.id)
        assert row is not None
        assert row.pcc_id == pcc.id
        assert plan.territory_code == territories[pcc.territory_id].code
        assert plan.pcc_name.en == pcc.name["en"]
        items = list(
            (
                await session.execute(
                    select(ActionPlanItem).where(col(ActionPlanItem.action_plan_id) == plan.id)
                )
            ).scalars()
        )
        assert sorted(x.code for x in plan.items) == sorted(x.code for x in items)
        plan_money: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for item in plan.items:
            expected = money.get(item.id, {})
            assert item.gap == (not expected), item.code
            assert item.organisations == sorted(funders.get(item.id, set()))
            assert {t.currency: (t.committed, t.disbursed) for t in item.totals} == expected
            for cur, (committed, disbursed) in expected.items():
                plan_money[cur][0] += committed
                plan_money[cur][1] += disbursed
            gaps += item.gap
            funded += not item.gap
            inds = {
                x.id: x
                for x in (
                    await session.execute(
                        select(Indicator).where(col(Indicator.action_plan_item_id) == item.id)
                    )
                ).scalars()
            }
            assert {x.id for x in item.indicators} == set(inds)
            for ind in item.indicators:
                assert ind.baseline == inds[ind.id].baseline
                assert ind.target == inds[ind.id].target
                if ind.id == indicator.id:
                    assert ind.latest == Decimal("11.5")
                    assert ind.latest_on == date(2026, 5, 1)  # 20:00 UTC is 02:00 in Bishkek
                else:
                    assert ind.latest is None
                    assert ind.latest_on is None
        assert plan.gap_count == sum(1 for x in plan.items if x.gap)
        assert {t.currency: [t.committed, t.disbursed] for t in plan.totals} == dict(plan_money)
    assert gaps > 0  # the demo has gaps
    assert funded > 0  # and funded items
    blob = "\n".join(_strings(msgspec.to_builtins(view)))
    assert "NOTE-SECRET" not in blob
    assert "An unpublished draft plan" not in blob
    for report_id in (await session.execute(select(Report.id))).scalars():
        assert str(report_id) not in blob


async def test_transparency_answers_in_a_fixed_number_of_queries(
    session: AsyncSession, client: GrantsClient, storage_dir: Path, count_queries: QueryCounter
) -> None:
    """No grant against the demo's three (with their items, charges and payments): the same
    number of queries, but for the plans' four look-ups (items, indicators, funding, latest
    values) that an empty programme skips; and another published plan with items and
    indicators adds none."""
    count_queries.count = 0
    empty = await client.get_transparency()
    none = count_queries.count
    assert empty.grants == []
    assert empty.plans == []
    await load_demo_data(session, storage_dir)
    count_queries.count = 0
    full = await client.get_transparency()
    assert len(full.grants) == 3
    assert count_queries.count == none + 4
    pcc = (await session.execute(select(Pcc).order_by(col(Pcc.id).desc()).limit(1))).scalar_one()
    plan = ActionPlan(
        pcc_id=pcc.id,
        title={"en": "Another plan", "ru": "", "ky": ""},
        period_start=date(2031, 1, 1),
        period_end=date(2031, 12, 31),
        status=ActionPlanStatus.ACTIVE,
    )
    session.add(plan)
    await session.flush()
    for n in range(3):
        item = ActionPlanItem(
            action_plan_id=plan.id,
            code=f"X-{n}",
            objective={"en": f"Objective {n}", "ru": "", "ky": ""},
            activities="x",
            budget_estimate=100,
            currency="KGS",
            target_groups=[],
            gender_responsive=False,
            conflict_sensitive=False,
        )
        session.add(item)
        await session.flush()
        session.add(
            Indicator(
                action_plan_item_id=item.id,
                name={"en": f"Indicator {n}", "ru": "", "ky": ""},
                unit="people",
                target=Decimal(10),
                baseline=Decimal(0),
            )
        )
    await session.commit()
    count_queries.count = 0
    more = await client.get_transparency()
    assert len(more.plans) == len(full.plans) + 1
    assert count_queries.count == none + 4
