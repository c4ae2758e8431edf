"""A PCC's action-plan progress page in real Chromium: the demo officer (in Russian) and a member of
the PCC (in Kyrgyz) read it — a gap said in words, a funded item with its grant, tranches,
committed and disbursed, and an indicator's latest value from a report accepted here — and an
applicant who is not on the PCC is refused; axe at 360 and 1280 px.

The report is written and accepted here through the API (as the demo grantee and officer). The two
applicants are registered here; PCC members have no API of their own (they come with the PCC's
data), so the one membership is written straight into the demo site's database.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from babel.numbers import format_currency, format_decimal
from playwright.async_api import expect

from contracts.client import GrantsClient
from contracts.enums import Language, OrganisationKind, Pillar, ReportKind
from contracts.identity import OrganisationCreate, RegistrationCreate
from contracts.reports import IndicatorValueInput, ReportCreate, ReportDecisionCreate, ReportSubmit
from service.demo import DEMO_PASSWORD
from service.persistence.database import Database
from service.persistence.models import PccMember
from tests.web.conftest import DESKTOP, PHONE, NewPage, check_page, demo_email

pytestmark = pytest.mark.browser

OFFICER = demo_email("officer")  # Russian
PASSWORD = "Жалал-Абад тоолору 2026"

Api = Callable[[str, str], Awaitable[GrantsClient]]


@pytest.fixture
async def api(site: str) -> AsyncIterator[Api]:
    made: list[GrantsClient] = []

    async def sign_in(email: str, password: str = DEMO_PASSWORD) -> GrantsClient:
        base = GrantsClient.connect(f"{site}/api/v1/")
        made.append(base)
        token = await base.create_token(email, password)
        return base.as_user(token.access_token)

    yield sign_in
    for client in made:
        await client.aclose()


async def _register(site: str, name: str) -> tuple[str, uuid.UUID]:
    base = GrantsClient.connect(f"{site}/api/v1/")
    try:
        territory = (await base.list_territories()).items[0]
        email = f"pcc-{uuid.uuid4().hex[:8]}@example.kg"
        registered = await base.create_registration(
            RegistrationCreate(
                email=email,
                password=PASSWORD,
                full_name=name,
                preferred_language=Language.KY,
                organisation=OrganisationCreate(
                    name=f"Progress org {uuid.uuid4().hex[:6]}",
                    kind=OrganisationKind.CSO,
                    territory_id=territory.id,
                    founded_year=2015,
                ),
            )
        )
    finally:
        await base.aclose()
    return email, registered.user.id


async def test_officer_and_pcc_member_read_the_progress_an_outsider_is_refused(
    new_page: NewPage, api: Api, site: str, demo_site_db: tuple[str, Path]
) -> None:
    officer = await api(OFFICER, DEMO_PASSWORD)
    # Koy-Tash's demo grant (its progress report is accepted by the officer's reports test too,
    # so this adds no other change to the shared demo) and one of its items another grant has
    # paid for
    grantee = await api(demo_email("applicant.koytash"), DEMO_PASSWORD)
    [summary] = (await grantee.list_grants()).items
    grant = await officer.get_grant(summary.id)
    item_ids = grant.tranches[0].action_plan_item_ids
    first = await officer.get_action_plan_item(item_ids[0])
    pcc_id = (await officer.get_action_plan(first.action_plan_id)).pcc_id
    before = await officer.get_pcc_progress(pcc_id)
    paid_items = [
        i.id
        for p in before.plans
        for i in p.items
        if i.id in item_ids and any(t.disbursed > 0 for t in i.totals)
    ]
    assert paid_items, "an item of Koy-Tash's grant is paid for by another demo grant"
    item = await officer.get_action_plan_item(paid_items[0])
    indicator = item.indicators[0]

    # the grantee reports a value for the item's indicator; the officer accepts the report
    value = Decimal("37.25")
    report = await grantee.create_report(
        grant.id,
        ReportCreate(
            kind=ReportKind.PROGRESS,
            narrative="Встречи в селах проведены.",
            indicators=[IndicatorValueInput(indicator_id=indicator.id, value=value)],
        ),
    )
    report = await grantee.submit_report(report.id, ReportSubmit(version=report.version))
    await officer.create_report_decision(
        report.id, ReportDecisionCreate(version=report.version, outcome="accept")
    )
    progress = await officer.get_pcc_progress(pcc_id)
    [funded] = [i for p in progress.plans for i in p.items if i.id == item.id]
    [money] = funded.totals
    assert money.disbursed > 0
    gaps = [i for p in progress.plans for i in p.items if i.gap]
    assert gaps, "the demo PCC has an item no grant finances"

    # --- the officer, in Russian: from the plans page to the PCC's progress ------------------
    visit = await new_page("ru", width=DESKTOP)
    await visit.sign_in(OFFICER)
    page = visit.page
    await page.goto(f"{site}/officer/plans")
    async with page.expect_navigation():
        await page.click(f"a[href='/pccs/{pcc_id}/progress']")
    assert page.url.endswith(f"/pccs/{pcc_id}/progress")
    funded_card = page.locator(f"#item-{item.id}")
    ru_committed = format_currency(Decimal(money.committed).scaleb(-2), "KGS", locale="ru")
    ru_disbursed = format_currency(Decimal(money.disbursed).scaleb(-2), "KGS", locale="ru")
    await expect(funded_card.locator(".money-summary")).to_contain_text(ru_committed)
    await expect(funded_card.locator(".money-summary")).to_contain_text(ru_disbursed)
    await expect(funded_card.locator("table.funding")).to_contain_text(
        grant.agreement_reference or ""
    )
    await expect(funded_card.locator("table.funding .badge-tranche-disbursed")).not_to_have_count(0)
    row = funded_card.locator("table.indicators tbody tr").filter(
        has_text=indicator.name.ru or indicator.name.en
    )
    await expect(row.locator("td[data-label]").nth(1)).to_have_text(
        format_decimal(value, locale="ru")
    )
    await expect(row.locator(f"a[href='/officer/reports/{report.id}']")).to_be_visible()
    gap_card = page.locator(f"#item-{gaps[0].id}")
    await expect(gap_card.locator(".gap-note")).to_be_visible()
    await expect(gap_card.locator(".badge-gap")).to_be_visible()
    assert await gap_card.locator("table.funding").count() == 0
    await expect(page.locator("figure.chart svg[role=img]").first).to_be_attached()
    await check_page(page, "pcc-progress-officer")
    await page.goto(f"{site}/pccs")
    await expect(page.locator(f"a[href='/pccs/{pcc_id}/progress']")).to_be_visible()
    await check_page(page, "pcc-list-officer")
    narrow = await new_page("ru", width=PHONE)
    await narrow.sign_in(OFFICER)
    await narrow.page.goto(f"{site}/pccs/{pcc_id}/progress")
    await check_page(narrow.page, "pcc-progress-officer")
    visit.assert_same_origin()

    # --- a member of the PCC, in Kyrgyz --------------------------------------------------------
    member_email, member_id = await _register(site, "Айгүл Кеңешова")
    outsider_email, _ = await _register(site, "Бөтөн Адам")
    url, _storage = demo_site_db
    database = Database.from_url(url)
    try:
        async with database.session() as session:
            session.add(
                PccMember(
                    pcc_id=pcc_id,
                    full_name="Айгүл Кеңешова",
                    pillar=Pillar.CIVIL_SOCIETY,
                    user_id=member_id,
                )
            )
            await session.commit()
    finally:
        await database.dispose()
    for width in (PHONE, DESKTOP):
        member = await new_page("ky", width=width)
        await member.sign_in(member_email, PASSWORD)
        response = await member.page.goto(f"{site}/pccs/{pcc_id}/progress")
        assert response is not None
        assert response.status == 200
        card = member.page.locator(f"#item-{item.id}")
        await expect(card.locator("table.indicators")).to_contain_text(
            format_decimal(value, locale="ky")
        )
        # a member does not get the officer's link to the report
        assert await card.locator("a[href^='/officer/reports/']").count() == 0
        await expect(member.page.locator(f"#item-{gaps[0].id} .gap-note")).to_be_visible()
        await check_page(member.page, "pcc-progress-member")
    # the member's list holds their PCC only
    await member.page.goto(f"{site}/pccs")
    await expect(member.page.locator("table.pcc-list tbody tr")).to_have_count(1)
    await check_page(member.page, "pcc-list-member")
    await member.page.click(f"a[href='/pccs/{pcc_id}/progress']")
    await expect(member.page.locator(f"#item-{item.id}")).to_be_visible()

    # --- an applicant who is not on the PCC --------------------------------------------------
    outsider = await new_page("ky", width=PHONE)
    await outsider.sign_in(outsider_email, PASSWORD)
    refused = await outsider.page.goto(f"{site}/pccs/{pcc_id}/progress")
    assert refused is not None
    assert refused.status == 403
    assert item.code not in await outsider.page.content()
    await outsider.page.goto(f"{site}/pccs")
    assert await outsider.page.locator("table.pcc-list").count() == 0
    assert await outsider.page.locator("a[href^='/pccs/']").count() == 0
    await check_page(outsider.page, "pcc-list-none")
