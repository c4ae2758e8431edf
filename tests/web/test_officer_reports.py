"""The programme officer's queue of grantee reports, in real Chromium and in Russian (the demo
officer's language): the queue across grants with grant, organisation, PCC, period and
submission; a report read-only with its attachment; accepting one report (with JavaScript) and
returning another with a comment (without JavaScript; an empty comment is refused next to its
field), which the grantee then reads on their own report page.

The reports are made here through the API as the demo grantees (Koy-Tash's and Yntymak's), so the
test does not depend on what other tests do with the shared demo world.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from playwright.async_api import expect

from contracts.client import GrantsClient
from contracts.enums import ReportKind
from contracts.reports import (
    ExpenditureLine,
    ReportCreate,
    ReportDecisionCreate,
    ReportRead,
    ReportSubmit,
)
from service.demo import DEMO_PASSWORD
from tests.web.conftest import DESKTOP, PHONE, NewPage, Visit, check_page, demo_email

pytestmark = pytest.mark.browser

OFFICER = demo_email("officer")  # preferred language: Russian
RU_APPLICANT = demo_email("applicant.koytash")  # Russian
KY_APPLICANT = demo_email("applicant.yntymak")  # Kyrgyz
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n160\n%%EOF\n"
)

Api = Callable[[str], Awaitable[GrantsClient]]


@pytest.fixture
async def api(site: str) -> AsyncIterator[Api]:
    made: list[GrantsClient] = []

    async def sign_in(email: str) -> GrantsClient:
        base = GrantsClient.connect(f"{site}/api/v1/")
        made.append(base)
        token = await base.create_token(email, DEMO_PASSWORD)
        return base.as_user(token.access_token)

    yield sign_in
    for client in made:
        await client.aclose()


async def _submitted(client: GrantsClient, body: ReportCreate, file: bool = False) -> ReportRead:
    grants = (await client.list_grants()).items
    assert len(grants) == 1
    report = await client.create_report(grants[0].id, body)
    if file:
        await client.create_report_attachment(report.id, PDF, "протокол.pdf")
    return await client.submit_report(report.id, ReportSubmit(version=report.version))


async def _officer(new_page: NewPage, *, js: bool = True, width: int = DESKTOP) -> Visit:
    visit = await new_page("ru", js=js, width=width)
    await visit.sign_in(OFFICER)
    assert await visit.page.get_attribute("html", "lang") == "ru"
    return visit


async def test_officer_accepts_one_report_and_returns_another_with_a_comment(
    new_page: NewPage, api: Api, site: str
) -> None:
    ru = await api(RU_APPLICANT)
    ky = await api(KY_APPLICANT)
    marker = uuid.uuid4().hex[:8]
    progress = await _submitted(
        ru,
        ReportCreate(kind=ReportKind.PROGRESS, narrative=f"Проведено 4 встречи ({marker})."),
        file=True,
    )
    financial = await _submitted(
        ky,
        ReportCreate(
            kind=ReportKind.FINANCIAL,
            narrative=f"Чыгымдар ({marker})",
            expenditure=[
                ExpenditureLine(category="transport", description="Автобус", amount=1_250_050)
            ],
        ),
    )

    # the queue, at both widths: both reports, with their grant, organisation, PCC, dates
    for width in (PHONE, DESKTOP):
        visit = await _officer(new_page, width=width)
        page = visit.page
        await page.goto(f"{site}/officer/reports")
        await expect(page.locator("h1")).to_have_count(1)
        for report in (progress, financial):
            row = page.locator("table.report-queue tbody tr").filter(
                has=page.locator(f"a[href='/officer/reports/{report.id}']")
            )
            await expect(row).to_have_count(1)
            await expect(row.locator(".badge-report-submitted")).to_have_count(1)
        row = page.locator("table.report-queue tbody tr").filter(
            has=page.locator(f"a[href='/officer/reports/{financial.id}']")
        )
        await expect(row).to_contain_text("Yntymak")
        await expect(row).to_contain_text("12 500,50")  # the spending, in Russian digits
        await check_page(page, "officer-reports-queue-ru")
        visit.assert_same_origin()

    # the filter: financial reports only
    await page.select_option("#f-kind", "financial")
    await page.click("form.report-filters button[type=submit]")
    await page.wait_for_url(f"{site}/officer/reports?*kind=financial*")
    await expect(page.locator(f"a[href='/officer/reports/{financial.id}']")).to_have_count(1)
    await expect(page.locator(f"a[href='/officer/reports/{progress.id}']")).to_have_count(0)

    await page.goto(f"{site}/officer/reports/{financial.id}")
    await expect(page.locator("table.comparison")).to_have_count(1)
    await check_page(page, "officer-report-financial-ru")

    # the progress report read-only, its file downloadable; accepted with JavaScript
    await page.goto(f"{site}/officer/reports/{progress.id}")
    await expect(page.locator("main")).to_contain_text(f"Проведено 4 встречи ({marker}).")
    link = page.locator("main a", has_text="протокол.pdf")
    async with page.expect_download() as download:
        await link.click()
    assert (await download.value).suggested_filename == "протокол.pdf"
    await check_page(page, "officer-report-progress-ru")
    await page.check("#f-outcome-accept")
    await page.click("form[action$='/decision'] button[type=submit]")
    await page.wait_for_url(f"{site}/officer/reports")
    await expect(page.locator(".flash").first).to_be_visible()
    await expect(page.locator(f"a[href='/officer/reports/{progress.id}']")).to_have_count(0)
    assert (await ru.get_report(progress.id)).status == "accepted"

    # the financial report without JavaScript: returning needs a comment
    plain = await _officer(new_page, js=False)
    page = plain.page
    await page.goto(f"{site}/officer/reports/{financial.id}")
    await expect(page.locator("table.comparison")).to_have_count(1)  # budget against spending
    await check_page(page, "officer-report-financial-nojs-ru")
    await page.check("#f-outcome-return")
    await page.click("form[action$='/decision'] button[type=submit]")
    await expect(page.locator("#f-comment-error")).to_have_count(1)
    await expect(page.locator("#f-comment")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator(".error-summary a[href='#f-comment']")).to_have_count(1)
    assert (await ky.get_report(financial.id)).status == "submitted"
    comment = "Приложите чеки за автобус."
    await page.check("#f-outcome-return")
    await page.fill("#f-comment", comment)
    await page.click("form[action$='/decision'] button[type=submit]")
    await page.wait_for_url(f"{site}/officer/reports")
    plain.assert_same_origin()
    returned = await ky.get_report(financial.id)
    assert (returned.status, returned.review_comment) == ("returned", comment)

    # deciding again is refused in words (the report no longer waits)
    await page.goto(f"{site}/officer/reports/{financial.id}")
    await expect(page.locator("form[action$='/decision']")).to_have_count(0)
    await expect(page.locator(".notice blockquote")).to_have_text(comment)

    # the grantee reads the comment on their own report page, in Kyrgyz
    grantee = await new_page("ky")
    await grantee.sign_in(KY_APPLICANT)
    await grantee.page.goto(f"{site}/reports/{financial.id}")
    await expect(grantee.page.locator(".notice-returned blockquote")).to_have_text(comment)
    # and the officer's pages are not theirs
    for path in ("/officer/reports", f"/officer/reports/{financial.id}", "/officer/plans"):
        answer = await grantee.page.goto(f"{site}{path}")
        assert answer is not None
        assert answer.status == 403


async def test_report_pages_at_phone_width_and_stale_decision_is_a_message(
    new_page: NewPage, api: Api, site: str
) -> None:
    ru = await api(RU_APPLICANT)
    officer = await api(OFFICER)
    report = await _submitted(
        ru, ReportCreate(kind=ReportKind.PROGRESS, narrative="Проведён тренинг для молодёжи.")
    )
    visit = await _officer(new_page, width=PHONE)
    page = visit.page
    await page.goto(f"{site}/officer/reports/{report.id}")
    await check_page(page, "officer-report-progress-ru")
    # meanwhile another officer (here: through the API) accepts it
    await officer.create_report_decision(
        report.id, ReportDecisionCreate(version=report.version, outcome="accept")
    )
    await page.check("#f-outcome-accept")
    await page.click("form[action$='/decision'] button[type=submit]")
    await expect(page.locator(".error-summary")).to_have_count(1)
    await expect(page.locator("form[action$='/decision']")).to_have_count(0)
    await expect(page.locator("h1 .badge-report-accepted")).to_have_count(1)
