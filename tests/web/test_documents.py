"""The documents' links in the web, in real Chromium: the grant page offers the award letter,
the agreement and the statement in each language (the page's first); the link downloads the PDF
the API made, in that language; another organisation's applicant gets a 404 for the same link.
The officer asks for the window's ranking report from the selection page, a job worker makes it,
and the status page offers it for download."""

from __future__ import annotations

import io
import re

import pytest
from playwright.async_api import expect
from pypdf import PdfReader

from contracts.client import GrantsClient
from service.demo import DEMO_PASSWORD
from service.jobs import run_worker
from tests.conftest import TEST_SETTINGS
from tests.web.conftest import NewPage, check_page, demo_email

pytestmark = pytest.mark.browser

KY_APPLICANT = demo_email("applicant.yntymak")  # Kyrgyz
RU_APPLICANT = demo_email("applicant.koytash")  # Russian
OFFICER = demo_email("officer")  # Russian


def _text(pdf: bytes) -> str:
    return " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages
    )


async def _grant_id(site: str, email: str) -> str:
    base = GrantsClient.connect(f"{site}/api/v1/")
    try:
        client = base.as_user((await base.create_token(email, DEMO_PASSWORD)).access_token)
        return str((await client.list_grants()).items[0].id)
    finally:
        await base.aclose()


async def test_the_grant_page_links_each_document_in_each_language(
    new_page: NewPage, site: str
) -> None:
    grant_id = await _grant_id(site, KY_APPLICANT)
    visit = await new_page("ky")
    await visit.sign_in(KY_APPLICANT)
    page = visit.page
    await page.goto(f"{site}/grants/{grant_id}")
    links = page.locator("section.documents a[download]")
    await expect(links).to_have_count(9)
    first = page.locator("section.documents p").first.locator("a").first
    await expect(first).to_have_attribute("hreflang", "ky")
    await check_page(page, "grant-documents-ky")

    href = await first.get_attribute("href")
    assert href == f"/documents/grants/{grant_id}/award-letter.pdf?lang=ky"
    response = await page.request.get(f"{site}{href}")
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert re.search(r"award-letter-.*-ky\.pdf", response.headers["content-disposition"])
    assert "Грант ыйгаруу тууралуу кат" in _text(await response.body())

    russian = page.locator("section.documents a[hreflang='ru']").nth(1)
    response = await page.request.get(f"{site}{await russian.get_attribute('href')}")
    assert "Грантовое соглашение" in _text(await response.body())

    # another organisation's applicant, signed in, follows the same link: not found
    other = await new_page("ru")
    await other.sign_in(RU_APPLICANT)
    refused = await other.page.request.get(f"{site}{href}")
    assert refused.status == 404
    assert refused.headers["content-type"].startswith("text/html")


async def test_the_officer_gets_the_ranking_report_made_by_a_job(
    new_page: NewPage, site: str, demo_site_db: tuple[str, object]
) -> None:
    base = GrantsClient.connect(f"{site}/api/v1/")
    try:
        officer = base.as_user((await base.create_token(OFFICER, DEMO_PASSWORD)).access_token)
        calls = (await officer.list_calls()).items
        window_id = None
        for call in calls:
            for window in (await officer.get_call(call.id)).windows:
                if await officer.list_selection_runs(window.id):
                    window_id = window.id
                    break
            if window_id:
                break
        assert window_id is not None
    finally:
        await base.aclose()

    visit = await new_page("ru")
    await visit.sign_in(OFFICER)
    page = visit.page
    await page.goto(f"{site}/officer/windows/{window_id}/selection")
    await page.click("form.document-request button[value='ky']")
    await page.wait_for_url(re.compile(rf"{site}/documents/[0-9a-f-]+$"))
    await expect(page.locator("main [role=status]")).to_be_visible()  # queued

    await run_worker(demo_site_db[0], TEST_SETTINGS, queues=["documents"], wait=False)

    await page.reload()
    download = page.locator("main a[download]")
    await expect(download).to_be_visible()
    await check_page(page, "ranking-report-status-ru")
    back = page.locator(f"main a[href='/officer/windows/{window_id}/selection'].button")
    await expect(back).to_have_text("Назад к отбору окна")
    await expect(
        page.locator(f"main .breadcrumb a[href='/officer/windows/{window_id}']")
    ).to_be_visible()
    response = await page.request.get(f"{site}{await download.get_attribute('href')}")
    assert response.status == 200
    text = _text(await response.body())
    assert "Терезенин рейтинги боюнча отчет" in text
    assert "Seed маанисинин хеши" in text
    await back.click()
    await page.wait_for_url(f"{site}/officer/windows/{window_id}/selection")


async def test_the_finance_officer_downloads_a_funding_source_statement(
    new_page: NewPage, site: str
) -> None:
    visit = await new_page("ru")
    await visit.sign_in(demo_email("finance"))
    page = visit.page
    await page.goto(f"{site}/finance/sources")
    link = page.locator("main table a[hreflang='ru'][download]").first
    await expect(link).to_be_visible()
    response = await page.request.get(f"{site}{await link.get_attribute('href')}")
    assert response.status == 200
    assert "Выписка по источнику финансирования" in _text(await response.body())
    # an applicant following the same link is refused by the API
    other = await new_page("ky")
    await other.sign_in(KY_APPLICANT)
    refused = await other.page.request.get(f"{site}{await link.get_attribute('href')}")
    assert refused.status == 403
