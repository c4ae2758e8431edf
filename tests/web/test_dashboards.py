"""The finance dashboard in real Chromium (Russian): a chart and its table per grouping, chosen
by plain links (and without JavaScript), money as the API sums it; the tranches coming up by
month; refused to applicants; axe at 360 and 1280 px, no inline code."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx
import pytest
from babel.numbers import format_currency

from contracts.client import GrantsClient
from service.demo import DEMO_PASSWORD
from tests.web.conftest import DESKTOP, PHONE, NewPage, check_page, demo_email
from tests.web.pages import INLINE, assert_links_open
from web.i18n import translations

pytestmark = pytest.mark.browser

GROUPINGS = (
    "call",
    "window",
    "territory",
    "pcc",
    "action_plan_item",
    "funding_source",
    "organisation_kind",
)


def _amount(text: str) -> str:
    return re.sub(r"\s", "", text)


def _ru(minor: int) -> str:
    """Minor units of KGS as Russian money without spaces ("930000,00KGS")."""
    return _amount(format_currency(Decimal(minor).scaleb(-2), "KGS", locale="ru"))


async def test_the_dashboard_shows_a_chart_and_table_per_grouping_in_russian(
    new_page: NewPage,
) -> None:
    visit = await new_page("ru", width=DESKTOP)
    page = visit.page
    await visit.sign_in(demo_email("finance"))
    ru = translations("ru").gettext
    async with httpx.AsyncClient(base_url=f"{visit.site}/api/v1/") as http:
        anonymous = GrantsClient(http)
        token = await anonymous.create_token(demo_email("finance"), DEMO_PASSWORD)
        api = anonymous.as_user(token.access_token)
        summaries = {by: await api.get_finance_summary(by) for by in GROUPINGS}  # type: ignore[arg-type]
        upcoming = await api.list_upcoming_tranches(within_days=366, limit=200)

    await page.goto(f"{visit.site}/finance/dashboard")
    tabs = page.locator(".dashboard-tabs a")
    assert await tabs.count() == len(GROUPINGS)
    for i, by in enumerate(GROUPINGS):
        await tabs.nth(i).click()
        await page.wait_for_url(re.compile(rf"by={by}"))
        assert await tabs.nth(i).get_attribute("aria-current") == "page"
        summary = summaries[by]
        assert summary.rows, by  # the demo's grants fall in every grouping
        figure = page.locator("figure.chart").first
        svg = figure.locator("svg[role=img]")
        assert await svg.count() == 1
        # one row per group in the chart's table, each with committed, disbursed, remaining
        rows = figure.locator("tbody tr")
        assert await rows.count() == len(summary.rows)
        for n, r in enumerate(summary.rows):
            cells = rows.nth(n).locator("td")
            texts = [_amount(await cells.nth(k).inner_text()) for k in range(3)]
            expected = [r.committed, r.disbursed, r.remaining]
            assert texts == [_ru(v) for v in expected], (by, n)
        # the bars: one per non-empty value (None-free: the API gives numbers)
        bars = svg.locator("rect.rect")
        assert await bars.count() == 3 * len(summary.rows)
        total = _amount(await figure.locator("tfoot td").first.inner_text())
        assert total == _ru(summary.totals.committed)
        if by == "funding_source":
            headers = await page.locator("table.dashboard-details thead th").all_inner_texts()
            assert ru("Exchange difference") in headers
        html = await page.content()
        for pattern in INLINE:
            assert pattern.search(html) is None, (by, pattern.pattern)

    # the months of the tranches still to pay
    months = page.locator("figure.chart").nth(1).locator("tbody tr")
    expected_months = {(t.planned_date.year, t.planned_date.month) for t in upcoming.items}
    assert await months.count() == len(expected_months) > 0
    await check_page(page, "finance-dashboard-ru")

    phone = await new_page("ru", width=PHONE)
    await phone.sign_in(demo_email("finance"))
    await phone.page.goto(f"{phone.site}/finance/dashboard?by=action_plan_item")
    await check_page(phone.page, "finance-dashboard-items-ru")
    overflow = await phone.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    assert visit.console_errors == []
    visit.assert_same_origin()


async def test_the_dashboard_works_without_javascript_and_is_refused_to_applicants(
    new_page: NewPage,
) -> None:
    visit = await new_page("ru", js=False)
    await visit.sign_in(demo_email("auditor"))
    await visit.page.goto(f"{visit.site}/finance/dashboard")
    await visit.page.select_option("#dashboard-call", index=1)
    await visit.page.click("form.dashboard-filter button[type=submit]")
    await visit.page.wait_for_url(re.compile(r"call="))
    await visit.page.wait_for_load_state()
    assert re.search(r"by=window&call=[0-9a-f-]{36}", visit.page.url)
    assert await visit.page.locator("figure.chart svg[role=img]").count() == 2
    await visit.page.click(".dashboard-tabs a[href*='by=territory']")
    await visit.page.wait_for_url(re.compile(r"by=territory"))
    assert "by=territory" in visit.page.url
    assert "call=" in visit.page.url  # the chosen call is kept
    # an auditor reads the dashboard, not the payment queues: no link to them
    await assert_links_open(visit)

    applicant = await new_page("ru")
    await applicant.sign_in(demo_email("applicant.koytash"))
    response = await applicant.page.goto(f"{applicant.site}/finance/dashboard")
    assert response is not None
    assert response.status == 403


@pytest.mark.parametrize(
    ("lang", "by", "expected"),
    [
        ("en", "window", "Money by window"),
        ("en", "pcc", "Money by PCC"),
        ("ru", "pcc", "Средства в разрезе «КСМ»"),
    ],
)
def test_a_dimension_keeps_its_abbreviation_in_the_chart_title(
    lang: str, by: str, expected: str
) -> None:
    from web.i18n import _current, set_language
    from web.routes.dashboards import _in_sentence, dimension_names

    token = set_language(lang)
    try:
        title = translations(lang).gettext("Money by %(dimension)s") % {
            "dimension": _in_sentence(dimension_names()[by])
        }
    finally:
        _current.reset(token)
    assert title == expected
