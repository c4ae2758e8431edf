"""The programme officer's PCC action plans, in real Chromium and in Russian (the demo officer's
language): the PCCs by territory with their plans; a plan created with its title in three
languages, an item (a refused form first: the message next to its field) and an indicator;
editing and deleting; and the import of a CSV — a dry run that shows the bad row in a table,
then the corrected file checked and imported, with JavaScript and without.

Every plan made here has a unique title, so the test does not depend on the shared demo world.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest
from playwright.async_api import FilePayload, Page, expect

from contracts.client import GrantsClient
from contracts.common import I18nText
from contracts.pcc import ActionPlanCreate, ActionPlanItemCreate, IndicatorCreate
from service.demo import DEMO_PASSWORD
from tests.web.conftest import DESKTOP, PHONE, NewPage, Visit, check_page, demo_email

pytestmark = pytest.mark.browser

OFFICER = demo_email("officer")  # preferred language: Russian
HEADER = (
    "territory,plan_title_en,plan_title_ru,plan_title_ky,period_start,period_end,item_code,"
    "objective_en,objective_ru,objective_ky,activities,budget,target_groups,gender_responsive,"
    "conflict_sensitive,indicator_name_en,indicator_unit,indicator_target,indicator_baseline"
)


@pytest.fixture
async def officer_api(site: str) -> AsyncIterator[GrantsClient]:
    base = GrantsClient.connect(f"{site}/api/v1/")
    token = await base.create_token(OFFICER, DEMO_PASSWORD)
    yield base.as_user(token.access_token)
    await base.aclose()


async def _officer(new_page: NewPage, *, js: bool = True, width: int = DESKTOP) -> Visit:
    visit = await new_page("ru", js=js, width=width)
    await visit.sign_in(OFFICER)
    assert await visit.page.get_attribute("html", "lang") == "ru"
    return visit


async def _both_widths(page: Page, name: str) -> None:
    for width in (PHONE, DESKTOP):
        await page.set_viewport_size({"width": width, "height": 800})
        await check_page(page, name)


def _csv(title: str, budget: str) -> bytes:
    rows = [
        HEADER,
        f"osh,{title},План {title},План {title},2027-01-01,2027-12-31,OSH-9.1,"
        "Youth dialogue,Диалог молодёжи,Жаштар диалогу,Dialogue clubs,1 250 000,youth; women,"
        "yes,no,Young people trained,persons,120,0",
        f"osh,{title},,,,,OSH-9.1,,,,,,,,,Clubs running,clubs,6,",
        f"osh,{title},,,,,OSH-9.2,Media literacy,Медиаграмотность,Медиа сабаттуулук,"
        f"Workshops,{budget},journalists,no,yes,Workshops held,events,10,2",
    ]
    return ("\n".join(rows) + "\n").encode()


async def test_officer_creates_a_plan_with_an_item_and_an_indicator(
    new_page: NewPage, officer_api: GrantsClient, site: str
) -> None:
    title = f"Osh plan {uuid.uuid4().hex[:8]}"
    visit = await _officer(new_page)
    page = visit.page
    await page.goto(f"{site}/officer/plans")
    await expect(page.locator("h1")).to_have_count(1)
    await expect(page.locator("section.pcc-plans")).to_have_count(7)  # seven territories
    await _both_widths(page, "officer-plans-ru")
    osh = next(t for t in (await officer_api.list_territories()).items if t.code == "osh")
    assert osh.pcc_id is not None
    await page.click(f"a[href='/officer/plans/new?pcc_id={osh.pcc_id}']")
    await expect(page.locator("#f-pcc-id")).to_have_value(str(osh.pcc_id))
    await _both_widths(page, "officer-plan-new-ru")

    # the period ends before it starts: refused next to the field, the entries kept
    await page.fill("#f-title-en", title)
    await page.fill("#f-title-ru", f"План {title}")
    await page.fill("#f-title-ky", f"Иш-план {title}")
    await page.fill("#f-period-start", "2027-12-31")
    await page.fill("#f-period-end", "2027-01-01")
    await page.click("main form button[type=submit]")
    await expect(page.locator("#f-period-end-error")).to_have_count(1)
    await expect(page.locator(".error-summary a[href='#f-period-end']")).to_have_count(1)
    await expect(page.locator("#f-title-ky")).to_have_value(f"Иш-план {title}")
    await page.fill("#f-period-start", "2027-01-01")
    await page.fill("#f-period-end", "2027-12-31")
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"{site}/officer/plans/*")
    plan_id = uuid.UUID(page.url.rsplit("/", 1)[-1])
    plan = await officer_api.get_action_plan(plan_id)
    assert (plan.title.en, plan.title.ru, plan.title.ky) == (
        title,
        f"План {title}",
        f"Иш-план {title}",
    )
    await expect(page.locator("h1")).to_contain_text(f"План {title}")  # in Russian

    # an item: a budget that is not an amount is refused, then it is added
    await page.click(f"a[href='/officer/plans/{plan_id}/items/new']")
    await page.fill("#f-code", "OSH-7.1")
    await page.fill("#f-objective-en", "Women's councils")
    await page.fill("#f-objective-ru", "Женские советы")
    await page.fill("#f-activities", "Monthly meetings in four villages")
    await page.fill("#f-budget", "сто тысяч")
    await page.fill("#f-target-groups", "women; youth")
    await page.check("#f-gender-responsive")
    await page.click("main form button[type=submit]")
    await expect(page.locator("#f-budget-error")).to_have_count(1)
    await expect(page.locator("#f-budget")).to_have_attribute("aria-invalid", "true")
    await _both_widths(page, "officer-plan-item-422-ru")
    await page.fill("#f-budget", "150 000,50")
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"{site}/officer/plans/{plan_id}*")
    items = (await officer_api.list_action_plan_items(plan_id)).items
    assert [(i.code, i.budget_estimate, i.target_groups, i.gender_responsive) for i in items] == [
        ("OSH-7.1", 15_000_050, ["women", "youth"], True)
    ]
    item = items[0]

    # the same code again is refused by the API: the message is next to the code
    await page.goto(f"{site}/officer/plans/{plan_id}/items/new")
    await page.fill("#f-code", "OSH-7.1")
    await page.fill("#f-objective-en", "Another")
    await page.fill("#f-activities", "Another")
    await page.fill("#f-budget", "1000")
    await page.click("main form button[type=submit]")
    await expect(page.locator("#f-code-error")).to_have_count(1)
    assert len((await officer_api.list_action_plan_items(plan_id)).items) == 1

    # an indicator with a decimal comma
    await page.goto(f"{site}/officer/plans/{plan_id}")
    await page.click(f"a[href='/officer/plans/items/{item.id}/indicators/new']")
    await _both_widths(page, "officer-indicator-new-ru")
    await page.fill("#f-name-en", "Women in councils")
    await page.fill("#f-name-ru", "Женщины в советах")
    await page.fill("#f-unit", "%")
    await page.fill("#f-baseline", "12,5")
    await page.fill("#f-target", "40")
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"{site}/officer/plans/{plan_id}*")
    table = page.locator(f"#item-{item.id} table.indicators tbody tr")
    await expect(table).to_have_count(1)
    await expect(table.first).to_contain_text("Женщины в советах")
    await expect(table.first).to_contain_text("12,5")
    got = (await officer_api.get_action_plan_item(item.id)).indicators
    assert [(i.name.ru, i.unit, i.baseline, i.target) for i in got] == [
        ("Женщины в советах", "%", Decimal("12.5"), Decimal("40"))
    ]
    await _both_widths(page, "officer-plan-ru")

    # the indicator edited: a new target, the baseline cleared
    await page.click(f"a[href='/officer/plans/items/{item.id}/indicators/{got[0].id}/edit']")
    await expect(page.locator("#f-baseline")).to_have_value("12.5")
    await page.fill("#f-target", "45,5")
    await page.fill("#f-baseline", "")
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"{site}/officer/plans/{plan_id}*")
    again = (await officer_api.get_action_plan_item(item.id)).indicators
    assert [(i.target, i.baseline) for i in again] == [(Decimal("45.5"), None)]

    # edit the item and the plan
    await page.click(f"a[href='/officer/plans/items/{item.id}/edit']")
    await expect(page.locator("#f-budget")).to_have_value("150000.50")
    await page.fill("#f-objective-ky", "Аялдар кеңештери")
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"{site}/officer/plans/{plan_id}*")
    assert (await officer_api.get_action_plan_item(item.id)).objective.ky == "Аялдар кеңештери"
    await page.click(f"a[href='/officer/plans/{plan_id}/edit']")
    await page.select_option("#f-status", "active")
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"{site}/officer/plans/{plan_id}")
    assert (await officer_api.get_action_plan(plan_id)).status == "active"
    # an active plan cannot be deleted: no button; a forged POST is refused in words
    await expect(page.locator(f"form[action='/officer/plans/{plan_id}/delete']")).to_have_count(0)
    await page.evaluate(
        "([form, action]) => { const f = document.querySelector(form);"
        " f.action = action; f.submit(); }",
        [
            f"form[action='/officer/plans/items/{item.id}/delete']",
            f"/officer/plans/{plan_id}/delete",
        ],
    )
    await page.wait_for_url(f"{site}/officer/plans/{plan_id}")
    await expect(page.locator(".flash-error")).to_have_count(1)
    assert (await officer_api.get_action_plan(plan_id)).status == "active"
    assert len((await officer_api.list_action_plan_items(plan_id)).items) == 1
    visit.assert_same_origin()


async def test_plan_deleted_and_item_deleted_without_javascript(
    new_page: NewPage, officer_api: GrantsClient, site: str
) -> None:
    pcc = (await officer_api.list_pccs())[0]
    plan = await officer_api.create_action_plan(
        ActionPlanCreate(
            pcc_id=pcc.id,
            title=I18nText(en=f"Throwaway {uuid.uuid4().hex[:8]}"),
            period_start=date(2027, 1, 1),
            period_end=date(2027, 6, 30),
        )
    )
    item = await officer_api.create_action_plan_item(
        plan.id,
        ActionPlanItemCreate(
            code="X-1", objective=I18nText(en="Gone"), activities="None", budget_estimate=100
        ),
    )
    ind = await officer_api.create_indicator(
        item.id, IndicatorCreate(name=I18nText(en="Gone too"), unit="x", target=Decimal(1))
    )
    visit = await _officer(new_page, js=False)
    page = visit.page
    await page.goto(f"{site}/officer/plans/{plan.id}")
    delete_indicator = f"/officer/plans/items/{item.id}/indicators/{ind.id}/delete"
    await page.click(f"form[action='{delete_indicator}'] button")
    await page.wait_for_url(f"{site}/officer/plans/{plan.id}*")
    assert (await officer_api.get_action_plan_item(item.id)).indicators == []
    await page.click(f"form[action='/officer/plans/items/{item.id}/delete'] button")
    await page.wait_for_url(f"{site}/officer/plans/{plan.id}")
    assert (await officer_api.list_action_plan_items(plan.id)).items == []
    await page.click(f"form[action='/officer/plans/{plan.id}/delete'] button")
    await page.wait_for_url(f"{site}/officer/plans")
    ids = [p.id for p in (await officer_api.list_action_plans(limit=200)).items]
    assert plan.id not in ids


async def _upload(page: Page, name: str, data: bytes, button: str) -> None:
    await page.set_input_files(
        "#f-file", files=[FilePayload(name=name, mimeType="text/csv", buffer=data)]
    )
    await page.click(f"form.import-form button[value={button}]")


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
async def test_import_dry_run_shows_the_bad_row_then_the_fixed_file_imports(
    new_page: NewPage, officer_api: GrantsClient, site: str, js: bool
) -> None:
    title = f"Imported {uuid.uuid4().hex[:8]}"
    visit = await _officer(new_page, js=js)
    page = visit.page
    await page.goto(f"{site}/officer/plans")
    await page.click("a[href='/officer/plans/import']")
    await page.wait_for_url(f"{site}/officer/plans/import")
    if js:
        await _both_widths(page, "officer-plan-import-ru")

    # the dry run: row 4's budget is negative; the table names the row, column and reason
    await _upload(page, "plans.csv", _csv(title, "-100"), "check")
    errors = page.locator("table.import-errors tbody tr")
    await expect(errors).to_have_count(1)
    await expect(errors.first.locator("th")).to_have_text("4")
    await expect(errors.first.locator("td").first).to_have_text("budget")
    await expect(errors.first).to_contain_text("-100")
    if js:
        await _both_widths(page, "officer-plan-import-errors-ru")
    else:
        await check_page(page, "officer-plan-import-errors-nojs-ru")
    titles = [p.title.en for p in (await officer_api.list_action_plans(limit=200)).items]
    assert title not in titles

    # the corrected file: a clean dry run with what it would create, then the import
    await _upload(page, "plans.csv", _csv(title, "80 000"), "check")
    counts = page.locator("table.import-counts tbody tr")
    await expect(counts).to_have_count(3)
    await expect(counts.nth(0).locator("td").first).to_have_text("1")  # one plan
    await expect(counts.nth(1).locator("td").first).to_have_text("2")  # two items
    await expect(counts.nth(2).locator("td").first).to_have_text("3")  # three indicators
    await expect(page.locator("table.import-errors")).to_have_count(0)
    rows = page.locator("table.import-rows tbody tr")
    await expect(rows).to_have_count(6)  # row by row: the plan, 2 items, 3 indicators
    await expect(page.locator("table.import-rows tbody tr.import-create")).to_have_count(6)
    await expect(rows.nth(0).locator("th")).to_have_text("2")
    await expect(rows.nth(5).locator("th")).to_have_text("4")
    await expect(rows.nth(4)).to_contain_text("OSH-9.2")
    assert title not in [p.title.en for p in (await officer_api.list_action_plans(limit=200)).items]
    if js:
        await _both_widths(page, "officer-plan-import-checked-ru")
    await page.click("section.import-result button[value=import]")
    await page.wait_for_url(f"{site}/officer/plans/import")
    await expect(page.locator(".flash").first).to_be_visible()
    await expect(
        page.locator("table.import-counts tbody tr").nth(1).locator("td").first
    ).to_have_text("2")
    plan = next(
        p for p in (await officer_api.list_action_plans(limit=200)).items if p.title.en == title
    )
    assert (plan.item_count, plan.budget_total, plan.status) == (2, 133_000_000, "draft")
    items = (await officer_api.list_action_plan_items(plan.id)).items
    assert sorted((i.code, len(i.indicators)) for i in items) == [("OSH-9.1", 2), ("OSH-9.2", 1)]
    visit.assert_same_origin()
