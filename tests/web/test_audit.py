"""The auditor's pages, in real Chromium and in Russian: the audit log filtered by action and
period (Bishkek days) shows an administrator's change of someone's roles as before → after with
the administrator's name; the chain is verified with its head hash; the read-only views of calls,
selection runs (with the replay), grants and the ledger carry no form that changes anything.

The auditor and the person whose roles change are made here through the API by the demo
administrator (unique e-mails), so the test does not depend on what other tests do.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import pytest
from playwright.async_api import Page, expect

from contracts.client import GrantsClient
from contracts.enums import Language, Role
from contracts.identity import UserCreate, UserUpdate
from service.demo import DEMO_PASSWORD
from tests.web.conftest import DESKTOP, PHONE, NewPage, Visit, check_page, demo_email
from web.i18n import BISHKEK

pytestmark = pytest.mark.browser

ADMIN = demo_email("admin")
PASSWORD = "amber river quietly folds"

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


async def _person(admin: GrantsClient, roles: list[Role], name: str) -> tuple[uuid.UUID, str]:
    email = f"{name.split()[0].lower()}.{uuid.uuid4().hex[:8]}@test.example"
    user = await admin.create_user(
        UserCreate(
            email=email,
            password=PASSWORD,
            full_name=name,
            roles=roles,
            preferred_language=Language.RU,
        )
    )
    return user.id, email


async def _auditor(
    new_page: NewPage, email: str, *, js: bool = True, width: int = DESKTOP
) -> Visit:
    visit = await new_page("ru", js=js, width=width)
    await visit.sign_in(email, PASSWORD)
    assert await visit.page.get_attribute("html", "lang") == "ru"
    return visit


async def _no_changing_form(page: Page) -> None:
    """Only the header's sign-out and language forms post; nothing else on the page does."""
    actions = await page.eval_on_selector_all(
        "form", "fs => fs.map(f => [f.method.toLowerCase(), f.getAttribute('action')])"
    )
    posting = sorted({a for m, a in actions if m == "post"})
    assert posting == ["/language", "/signout"], posting
    assert await page.locator("main form[method=get]").count() <= 1


async def test_auditor_filters_the_log_and_sees_the_chain_verified(
    new_page: NewPage, api: Api
) -> None:
    admin = await api(ADMIN, DEMO_PASSWORD)
    _, auditor_email = await _person(admin, [Role.AUDITOR], "Айгуль Аудитова")
    someone, _ = await _person(admin, [Role.REVIEWER], "Бекзат Рецензентов")
    await admin.update_user(someone, UserUpdate(roles=[Role.REVIEWER, Role.FINANCE_OFFICER]))
    admin_name = (await admin.get_me()).full_name

    visit = await _auditor(new_page, auditor_email)
    page = visit.page
    await page.click("header nav a[href='/audit']")
    await expect(page.locator("h1")).to_be_visible()
    chain = page.locator(".chain-status")
    await expect(chain.locator(".chain-ok .badge-pass")).to_be_visible()
    assert await chain.locator(".chain-broken").count() == 0
    head_hash = await chain.locator("code.hash").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", head_hash)
    await _no_changing_form(page)

    today = datetime.now(BISHKEK).date().isoformat()
    await page.fill("#f-action", "user.updated")
    await page.fill("#f-from-day", today)
    await page.fill("#f-to-day", today)
    async with page.expect_navigation():
        await page.click("form.audit-filters button[type=submit]")
    assert "action=user.updated" in page.url
    assert f"from_day={today}" in page.url
    events = page.locator("li.audit-event")
    assert await events.count() >= 1
    assert set(await page.locator("li.audit-event h3 code").all_inner_texts()) == {"user.updated"}
    ours = events.filter(has_text=str(someone))
    await expect(ours).to_have_count(1)
    await expect(ours).to_contain_text(admin_name)
    diff = ours.locator(".audit-diff li")
    await expect(diff).to_have_count(1)
    await expect(diff.locator(".field-name")).to_have_text("roles")
    await expect(diff.locator("del")).to_have_text('["reviewer"]')
    await expect(diff.locator("ins")).to_have_text('["finance_officer", "reviewer"]')
    await check_page(page, "audit-log")

    # the person's whole history: created, then the roles changed
    async with page.expect_navigation():
        await ours.locator("a[href*='entity_id=']").click()
    assert f"entity_id={someone}" in page.url
    actions = await page.locator("li.audit-event h3 code").all_inner_texts()
    assert actions == ["user.updated", "user.created"]
    await _no_changing_form(page)

    # yesterday's events do not include today's change
    yesterday = datetime.fromordinal(datetime.now(BISHKEK).toordinal() - 1).date().isoformat()
    await page.goto(
        f"{visit.site}/audit?action=user.updated&from_day={yesterday}&to_day={yesterday}"
    )
    assert await page.locator("li.audit-event").filter(has_text=str(someone)).count() == 0
    visit.assert_same_origin()


async def test_read_only_views_of_calls_selections_grants_and_ledger(
    new_page: NewPage, api: Api
) -> None:
    admin = await api(ADMIN, DEMO_PASSWORD)
    _, auditor_email = await _person(admin, [Role.AUDITOR], "Нурлан Проверкин")
    for width in (DESKTOP, PHONE):
        visit = await _auditor(new_page, auditor_email, width=width)
        page = visit.page
        await page.goto(f"{visit.site}/audit/calls")
        await _no_changing_form(page)
        await check_page(page, "audit-calls")
        async with page.expect_navigation():
            await page.locator("main table a").first.click()
        assert "/audit/calls/" in page.url
        await _no_changing_form(page)
        await check_page(page, "audit-call")
        runs = page.locator("main a[href^='/audit/selection-runs/']")
        if width == DESKTOP:
            assert await runs.count() >= 1, "the demo has a computed selection run"
        if await runs.count():
            async with page.expect_navigation():
                await runs.first.click()
            await expect(page.locator(".replay-ok .badge-pass")).to_be_visible()
            await expect(page.locator("pre.json").first).to_contain_text("budget")
            # the engine's reasons are English: marked so, for a screen reader's voice
            rows = await page.locator("table.run-entries tbody tr").count()
            assert rows >= 1
            await expect(page.locator("table.run-entries tbody span[lang=en]")).to_have_count(rows)
            await _no_changing_form(page)
            await check_page(page, "audit-run")
        await page.goto(f"{visit.site}/audit/grants")
        await _no_changing_form(page)
        await check_page(page, "audit-grants")
        async with page.expect_navigation():
            await page.locator("main table a").first.click()
        assert "/audit/grants/" in page.url
        await _no_changing_form(page)
        await check_page(page, "audit-grant")
        await page.goto(f"{visit.site}/audit/ledger")
        await _no_changing_form(page)
        await check_page(page, "audit-ledger")
        if width == DESKTOP:
            rows = page.locator("main tbody tr")
            assert await rows.count() >= 1, "the demo has paid tranches"
            await page.fill("#f-date-from", "2001-01-01")
            await page.fill("#f-date-to", "2001-01-31")
            async with page.expect_navigation():
                await page.click("form.audit-filters button[type=submit]")
            assert "date_from=2001-01-01" in page.url
            await expect(rows).to_have_count(0)
        if width == PHONE:
            await page.goto(f"{visit.site}/audit?entity=user")
            await check_page(page, "audit-log")


async def test_audit_pages_are_for_auditors_only(new_page: NewPage, api: Api) -> None:
    admin = await api(ADMIN, DEMO_PASSWORD)
    _, reviewer_email = await _person(admin, [Role.REVIEWER], "Алия Рецензентова")
    visit = await new_page("ru")
    response = await visit.page.goto(f"{visit.site}/audit")
    assert response is not None
    assert "/signin" in visit.page.url
    await visit.sign_in(reviewer_email, PASSWORD)
    assert await visit.page.locator("header nav a[href='/audit']").count() == 0
    response = await visit.page.goto(f"{visit.site}/audit/ledger")
    assert response is not None
    assert response.status == 403
