"""Behaviour of the first resources, end to end through the typed client."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.client import ApiError
from contracts.common import I18nText
from contracts.enums import ActionPlanStatus, FundingSourceKind, Role
from contracts.finance import FundingSourceCreate, FundingSourceUpdate
from contracts.pcc import (
    ActionPlanCreate,
    ActionPlanItemCreate,
    ActionPlanItemUpdate,
    ActionPlanUpdate,
    IndicatorCreate,
    IndicatorUpdate,
)
from service.persistence.models import AuditEvent, Call, CallContribution, Pcc, Territory
from tests.conftest import MakeUser

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


@pytest.fixture
async def pcc(session: AsyncSession, territory: Territory) -> Pcc:
    row = Pcc(territory_id=territory.id, name={"en": "PCC of Osh", "ru": "КСМ г. Ош"})
    session.add(row)
    await session.flush()
    return row


async def test_action_plan_lifecycle_with_items_and_indicators(
    make_user: MakeUser, pcc: Pcc
) -> None:
    officer = (await make_user(Role.PROGRAMME_OFFICER)).client
    plan = await officer.create_action_plan(
        ActionPlanCreate(
            pcc_id=pcc.id,
            title=I18nText(en="Plan 2026", ru="План 2026", ky="2026-жылдын планы"),
            period_start=date(2026, 1, 1),
            period_end=date(2027, 12, 31),
        )
    )
    assert (plan.status, plan.item_count, plan.budget_total, plan.version) == (
        ActionPlanStatus.DRAFT,
        0,
        0,
        1,
    )
    item = await officer.create_action_plan_item(
        plan.id,
        ActionPlanItemCreate(
            code="OSH-1.1",
            objective=I18nText(en="Dialogue", ru="Диалог", ky="Диалог"),
            activities="Monthly inter-ethnic dialogue forums",
            budget_estimate=125_000_000,
            target_groups=["youth", "women"],
            gender_responsive=True,
            indicators=[
                IndicatorCreate(
                    name=I18nText(en="Forums held"), unit="forums", target=Decimal("12")
                )
            ],
        ),
    )
    assert item.currency == "KGS"
    assert [(i.unit, i.target) for i in item.indicators] == [("forums", Decimal("12"))]
    await officer.create_action_plan_item(
        plan.id,
        ActionPlanItemCreate(
            code="OSH-1.2", objective=I18nText(en="Media"), activities="x", budget_estimate=5
        ),
    )
    again = await officer.get_action_plan(plan.id)
    assert (again.item_count, again.budget_total) == (2, 125_000_005)

    ind = await officer.create_indicator(
        item.id,
        IndicatorCreate(name=I18nText(en="Women speakers"), unit="%", target=Decimal("40.5")),
    )
    assert ind.target == Decimal("40.5")
    changed = await officer.update_action_plan_item(
        item.id, ActionPlanItemUpdate(version=1, budget_estimate=130_000_000)
    )
    assert (changed.budget_estimate, changed.version, len(changed.indicators)) == (
        130_000_000,
        2,
        2,
    )

    active = await officer.update_action_plan(
        plan.id, ActionPlanUpdate(version=1, status=ActionPlanStatus.ACTIVE)
    )
    assert (active.status, active.version) == (ActionPlanStatus.ACTIVE, 2)
    with pytest.raises(ApiError) as refused:
        await officer.delete_action_plan(plan.id)
    assert refused.value.status == 409

    items = await officer.list_action_plan_items(plan.id)
    assert [i.code for i in items.items] == ["OSH-1.1", "OSH-1.2"]
    await officer.delete_action_plan_item(items.items[1].id)
    assert [i.code for i in (await officer.list_action_plan_items(plan.id)).items] == ["OSH-1.1"]


async def test_indicator_changed_and_deleted(
    make_user: MakeUser, pcc: Pcc, session: AsyncSession
) -> None:
    officer = (await make_user(Role.PROGRAMME_OFFICER)).client
    plan = await officer.create_action_plan(
        ActionPlanCreate(
            pcc_id=pcc.id,
            title=I18nText(en="Plan"),
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
        )
    )
    made = [
        await officer.create_action_plan_item(
            plan.id,
            ActionPlanItemCreate(
                code=code,
                objective=I18nText(en="Dialogue"),
                activities="Forums",
                budget_estimate=100,
                indicators=[
                    IndicatorCreate(
                        name=I18nText(en="Forums held"),
                        unit="forums",
                        target=Decimal("12"),
                        baseline=Decimal("1"),
                    )
                ],
            ),
        )
        for code in ("A-1", "A-2")
    ]
    item, other = made
    ind = item.indicators[0]
    changed = await officer.update_indicator(
        item.id,
        ind.id,
        IndicatorUpdate(
            name=I18nText(en="Forums", ru="Форумы"), target=Decimal("14.5"), baseline=None
        ),
    )
    assert (changed.name.ru, changed.unit, changed.target, changed.baseline) == (
        "Форумы",
        "forums",
        Decimal("14.5"),
        None,
    )
    events = select(func.count()).select_from(AuditEvent).where(AuditEvent.entity_id == str(ind.id))
    n_events = (await session.execute(events)).scalar_one()
    # the same values again: nothing written, no event
    await officer.update_indicator(item.id, ind.id, IndicatorUpdate(target=Decimal("14.50")))
    assert (await session.execute(events)).scalar_one() == n_events
    # an indicator is reached through its own item only
    with pytest.raises(ApiError) as elsewhere:
        await officer.update_indicator(other.id, ind.id, IndicatorUpdate(unit="x"))
    assert elsewhere.value.status == 404
    with pytest.raises(ApiError) as bad:
        await officer.update_indicator(item.id, ind.id, IndicatorUpdate(unit=""))
    assert bad.value.status == 422
    await officer.delete_indicator(item.id, ind.id)
    assert (await officer.get_action_plan_item(item.id)).indicators == []
    assert len((await officer.get_action_plan_item(other.id)).indicators) == 1
    with pytest.raises(ApiError) as gone:
        await officer.delete_indicator(item.id, ind.id)
    assert gone.value.status == 404


async def test_draft_action_plan_can_be_deleted(make_user: MakeUser, pcc: Pcc) -> None:
    officer = (await make_user(Role.PROGRAMME_OFFICER)).client
    plan = await officer.create_action_plan(
        ActionPlanCreate(
            pcc_id=pcc.id,
            title=I18nText(en="Draft"),
            period_start=date(2026, 1, 1),
            period_end=date(2026, 6, 30),
        )
    )
    await officer.delete_action_plan(plan.id)
    with pytest.raises(ApiError) as gone:
        await officer.get_action_plan(plan.id)
    assert gone.value.status == 404


async def test_pages_follow_the_cursor_without_gaps_or_repeats(make_user: MakeUser) -> None:
    finance = (await make_user(Role.FINANCE_OFFICER)).client
    created = []
    for code in ("S1", "S2", "S3", "S4", "S5"):
        src = await finance.create_funding_source(
            FundingSourceCreate(code=code, name=code, kind=FundingSourceKind.DONOR, currency="USD")
        )
        created.append(src.id)
    seen = []
    cursor = None
    while True:
        page = await finance.list_funding_sources(cursor=cursor, limit=2)
        seen.extend(s.id for s in page.items)
        assert len(page.items) <= 2
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    # in one test transaction every row has the same created_at: the id breaks the tie
    assert len(seen) == len(set(seen))
    assert set(seen) == set(created)
    assert seen == sorted(created)


async def test_referenced_funding_source_cannot_be_deleted(
    make_user: MakeUser, session: AsyncSession
) -> None:
    finance = await make_user(Role.FINANCE_OFFICER)
    kept = await finance.client.create_funding_source(
        FundingSourceCreate(code="PBF", name="PBF via UNDP", kind=FundingSourceKind.UN_AGENCY)
    )
    free = await finance.client.create_funding_source(
        FundingSourceCreate(
            code="LG", name="Local government", kind=FundingSourceKind.LOCAL_GOVERNMENT
        )
    )
    call = Call(title={"en": "Call"}, description={"en": "d"}, created_by=finance.id)
    session.add(call)
    await session.flush()
    session.add(
        CallContribution(
            call_id=call.id, funding_source_id=kept.id, amount=1000, currency="KGS", rate=1
        )
    )
    await session.flush()

    with pytest.raises(ApiError) as refused:
        await finance.client.delete_funding_source(kept.id)
    assert refused.value.status == 409
    assert refused.value.type == "urn:pcc-grants:problem:still-referenced"
    assert (await finance.client.get_funding_source(kept.id)).code == "PBF"

    await finance.client.delete_funding_source(free.id)
    with pytest.raises(ApiError) as gone:
        await finance.client.get_funding_source(free.id)
    assert gone.value.status == 404


async def test_stale_version_is_refused_with_the_current_one(make_user: MakeUser) -> None:
    finance = (await make_user(Role.FINANCE_OFFICER)).client
    src = await finance.create_funding_source(
        FundingSourceCreate(code="EU", name="EU", kind=FundingSourceKind.DONOR, currency="EUR")
    )
    await finance.update_funding_source(src.id, FundingSourceUpdate(version=1, name="EU 2"))
    with pytest.raises(ApiError) as stale:
        await finance.update_funding_source(src.id, FundingSourceUpdate(version=1, name="EU 3"))
    assert stale.value.status == 409
    assert stale.value.problem.current_version == 2
    assert (await finance.get_funding_source(src.id)).name == "EU 2"
