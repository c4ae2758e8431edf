"""The public pages and the account pages in real Chromium: every language, phone and desktop."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.web.conftest import DESKTOP, LANGS, PHONE, NewPage, check_page, demo_email

pytestmark = pytest.mark.browser


async def _first_call_path(new_page: NewPage) -> str:
    visit = await new_page("en")
    await visit.page.goto(f"{visit.site}/")
    href = await visit.page.locator(".call-card h3 a").first.get_attribute("href")
    assert href is not None
    assert re.fullmatch(r"/calls/[0-9a-f-]{36}", href)
    return href


@pytest.mark.parametrize("lang", LANGS)
async def test_public_pages_in_each_language_at_phone_and_desktop_width(
    new_page: NewPage, lang: str
) -> None:
    call = await _first_call_path(new_page)
    for width in (PHONE, DESKTOP):
        visit = await new_page(lang, width=width)
        page = visit.page
        for path, name in (
            ("/", "home"),
            (call, "call"),
            ("/signin", "signin"),
            ("/register", "register"),
            ("/transparency", "transparency"),
        ):
            await page.goto(f"{visit.site}{path}")
            assert await page.get_attribute("html", "lang") == lang
            await check_page(page, f"public-{name}-{lang}")
        assert visit.console_errors == []
        response = await page.goto(f"{visit.site}/calls/{uuid.uuid4()}")
        assert response is not None
        assert response.status == 404
        await check_page(page, f"public-not-found-{lang}")
        territories = visit.page  # the home page lists the seven territories
        await territories.goto(f"{visit.site}/")
        assert await territories.locator(".territories li").count() == 7
        if width == PHONE:
            # nothing wider than the phone's screen
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0
        visit.assert_same_origin()


async def test_kyrgyz_letters_render_on_the_home_page(new_page: NewPage) -> None:
    visit = await new_page("ky")
    await visit.page.goto(f"{visit.site}/")
    text = await visit.page.locator(".territories").inner_text()
    assert "Өзгөн" in text
    body = await visit.page.inner_text("body")
    assert all(letter in body for letter in "өү")


async def test_the_language_switcher_changes_the_page(new_page: NewPage) -> None:
    visit = await new_page("en")
    await visit.page.goto(f"{visit.site}/")
    async with visit.page.expect_navigation():
        await visit.page.get_by_role("button", name="Русский").click()
    assert await visit.page.get_attribute("html", "lang") == "ru"
    assert "город Ош" in await visit.page.locator(".territories").inner_text()
    async with visit.page.expect_navigation():
        await visit.page.get_by_role("button", name="Кыргызча").click()
    assert await visit.page.get_attribute("html", "lang") == "ky"


@pytest.mark.parametrize("js", [True, False])
async def test_the_eligibility_precheck_answers_each_rule(new_page: NewPage, js: bool) -> None:
    call = await _first_call_path(new_page)
    visit = await new_page("ru", js=js)
    page = visit.page
    await page.goto(f"{visit.site}{call}")
    window = page.locator("section.window").last
    await window.locator("details.precheck summary").click()
    await window.locator("select[name=organisation_kind]").select_option("initiative_group")
    await window.locator("input[name=founded_year]").fill("2025")
    await window.locator("input[name=requested_amount]").fill("1 000 000")
    await window.locator(".precheck button[type=submit]").click()
    await page.wait_for_load_state("networkidle")
    result = window.locator(".precheck-result .verdict")
    await result.wait_for()
    assert "verdict-fail" in (await result.get_attribute("class") or "")
    items = await result.locator(".verdicts > li").count()
    assert items >= 5
    failed = await result.locator(".badge-fail").count()
    assert failed >= 2  # the kind and the age
    await check_page(page, f"public-precheck-{'js' if js else 'nojs'}")


async def test_a_wrong_precheck_answer_is_shown_next_to_its_field(new_page: NewPage) -> None:
    call = await _first_call_path(new_page)
    visit = await new_page("ky", js=False)
    page = visit.page
    await page.goto(f"{visit.site}{call}")
    window = page.locator("section.window").last
    await window.locator("details.precheck summary").click()
    await window.locator("input[name=founded_year]").fill("nineteen")
    await window.locator(".precheck button[type=submit]").click()
    field = window.locator(".field.has-error")
    assert await field.count() == 1
    assert await field.locator("input").get_attribute("aria-invalid") == "true"
    assert await window.locator(".error-summary a[href='#f-founded-year']").count() == 1


async def test_registration_without_javascript_shows_each_message_next_to_its_field(
    new_page: NewPage,
) -> None:
    visit = await new_page("ru", js=False)
    page = visit.page
    await page.goto(f"{visit.site}/register")
    await page.fill("#f-full-name", "Айгуль Садыкова")
    await page.fill("#f-email", f"aigul-{uuid.uuid4().hex[:6]}@example.kg")
    await page.fill("#f-password", "short")
    await page.fill("#f-password-again", "short")
    await page.fill("#f-organisation-name", "Жаштар үнү")
    await page.select_option("#f-organisation-kind", "youth_group")
    await page.select_option("#f-organisation-territory-id", index=2)
    await page.fill("#f-organisation-founded-year", "2019")
    await page.click("main form button[type=submit]")
    assert "/register" in page.url
    password_field = page.locator(".field.has-error").filter(has=page.locator("#f-password"))
    assert await password_field.count() == 1
    assert await page.locator("#f-password-error").count() == 1
    # what was typed is kept (except passwords)
    assert await page.input_value("#f-organisation-name") == "Жаштар үнү"
    await check_page(page, "public-register-422-ru")


async def test_register_sign_out_and_sign_in_again_in_kyrgyz(new_page: NewPage) -> None:
    visit = await new_page("ky")
    page = visit.page
    email = f"nurlan-{uuid.uuid4().hex[:6]}@example.kg"
    password = "Баткен тоолору 2026"
    await page.goto(f"{visit.site}/register")
    await page.fill("#f-full-name", "Нурлан Ташиев")
    await page.fill("#f-email", email)
    await page.fill("#f-password", password)
    await page.fill("#f-password-again", password)
    await page.fill("#f-organisation-name", f"Баткен жаштары {uuid.uuid4().hex[:4]}")
    await page.select_option("#f-organisation-kind", "cso")
    await page.select_option("#f-organisation-territory-id", index=1)
    await page.fill("#f-organisation-founded-year", "2018")
    await page.check("#f-organisation-youth-led")
    await page.click("main form button[type=submit]")
    await page.wait_for_url("**/my")
    assert await page.get_attribute("html", "lang") == "ky"
    await page.click("form.signout button")
    await page.wait_for_url(f"{visit.site}/")
    await visit.sign_in(email, password)
    await page.goto(f"{visit.site}/account")
    assert email in await page.inner_text("main")
    await check_page(page, "account-ky")
    visit.assert_same_origin()


async def test_change_password_signs_out_the_other_sessions(new_page: NewPage) -> None:
    email = f"asel-{uuid.uuid4().hex[:6]}@example.kg"
    first = await new_page("ru")
    page = first.page
    await page.goto(f"{first.site}/register")
    await page.fill("#f-full-name", "Асель Ибраимова")
    await page.fill("#f-email", email)
    await page.fill("#f-password", "первый пароль 2026")
    await page.fill("#f-password-again", "первый пароль 2026")
    await page.fill("#f-organisation-name", f"Аялзат {uuid.uuid4().hex[:4]}")
    await page.select_option("#f-organisation-kind", "women_led_organisation")
    await page.select_option("#f-organisation-territory-id", index=3)
    await page.fill("#f-organisation-founded-year", "2015")
    await page.click("main form button[type=submit]")
    await page.wait_for_url("**/my")
    second = await new_page("ru")
    await second.sign_in(email, "первый пароль 2026")
    await page.goto(f"{first.site}/account")
    await page.fill("#f-current-password", "неверный пароль")
    await page.fill("#f-new-password", "второй пароль 2026")
    await page.fill("#f-new-password-again", "второй пароль 2026")
    await page.click("form[action='/account/password'] button[type=submit]")
    assert await page.locator("#f-current-password-error").count() == 1
    await page.fill("#f-current-password", "первый пароль 2026")
    await page.fill("#f-new-password", "второй пароль 2026")
    await page.fill("#f-new-password-again", "второй пароль 2026")
    await page.click("form[action='/account/password'] button[type=submit]")
    await page.wait_for_url("**/account")
    assert await page.locator(".flash-success").count() == 1
    # the other browser's session was revoked: it is sent to sign in
    await second.page.goto(f"{second.site}/account")
    assert "/signin?next=" in second.page.url
    await second.sign_in(email, "второй пароль 2026")


async def test_the_demo_applicant_signs_in_and_lands_on_their_proposals(
    new_page: NewPage,
) -> None:
    visit = await new_page("ru", width=PHONE)
    await visit.sign_in(demo_email("applicant.yntymak"))
    assert visit.page.url.endswith("/my")
    await visit.page.goto(f"{visit.site}/account")
    await check_page(visit.page, "account-ru")
