"""Two-factor sign-in in the browser (issue 11 §5): set it up on the account page, keep the
recovery codes, then sign in in two steps (the code asked for when the API says so)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pyotp
import pytest
from playwright.async_api import Page

from contracts.client import GrantsClient
from contracts.enums import OrganisationKind
from contracts.identity import OrganisationCreate, RegistrationCreate
from service.context import Clock
from tests.web.conftest import NewPage, Visit, check_page

pytestmark = pytest.mark.browser

PASSWORD = "three step mountain pass 2026"
STEP = timedelta(seconds=30)


@pytest.fixture
def still(frozen_clock: Clock) -> Clock:
    """The server's clock (the site runs in this process) stopped at the test's start: the TOTP
    step of "now" is the same whenever the browser's requests arrive, however loaded the
    machine, and the codes below are computed for the server's instant, not the test's."""
    frozen_clock.frozen = frozen_clock.now()  # released by frozen_clock after the test
    return frozen_clock


def code_at(secret: str, clock: Clock, shift: timedelta = timedelta(0)) -> str:
    return pyotp.TOTP(secret).at(clock.now() + shift)


def wrong_code(secret: str, clock: Clock) -> str:
    """A code that none of the accepted steps (now and one either side) has."""
    accepted = {code_at(secret, clock, k * STEP) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in accepted)


async def _register(site: str) -> str:
    """A person of their own (the demo's logins stay as they are for the other tests)."""
    email = f"two-factor-{uuid.uuid4().hex[:8]}@example.kg"
    api = GrantsClient.connect(f"{site}/api/v1/")
    try:
        territory = (await api.list_territories()).items[0]
        await api.create_registration(
            RegistrationCreate(
                email=email,
                password=PASSWORD,
                full_name="Aibek Two-Factor",
                organisation=OrganisationCreate(
                    name=f"Jashtar {uuid.uuid4().hex[:6]}",
                    kind=OrganisationKind.YOUTH_GROUP,
                    territory_id=territory.id,
                    founded_year=2018,
                ),
            )
        )
    finally:
        await api.aclose()
    return email


async def _set_up(visit: Visit, email: str, clock: Clock) -> tuple[str, list[str]]:
    """Sign in (one step), set up TOTP on the account page; the secret and recovery codes."""
    page = visit.page
    await visit.sign_in(email, PASSWORD)
    await page.goto(f"{visit.site}/account")
    await page.click("form[action='/account/totp'] button[type=submit]")
    await page.wait_for_url("**/account#two-factor")
    assert await page.locator(".qr svg").count() == 1
    await check_page(page, "account-two-factor-setup")
    secret = (await page.locator("code.secret").first.inner_text()).replace(" ", "")
    # the code of the step before now: the sign-in below may then use the code of now
    await page.fill("#f-code", code_at(secret, clock, -STEP))
    async with page.expect_navigation():
        await page.click("form[action='/account/totp/confirm'] button[type=submit]")
    codes = [c.strip() for c in await page.locator("ol.codes li").all_inner_texts()]
    assert len(set(codes)) == 10, await page.inner_text("main")
    await check_page(page, "account-two-factor-codes")
    await page.click("form.signout button[type=submit]")
    await page.wait_for_url(f"{visit.site}/")
    return secret, codes


async def _first_step(page: Page, site: str, email: str, next_path: str) -> None:
    await page.goto(f"{site}/signin?next={next_path}")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    async with page.expect_navigation():
        await page.click("main form[action='/signin'] button[type=submit]")


async def test_sign_in_asks_for_the_code_as_a_second_step(new_page: NewPage, still: Clock) -> None:
    visit = await new_page("en")
    page = visit.page
    email = await _register(visit.site)
    secret, _ = await _set_up(visit, email, still)

    await _first_step(page, visit.site, email, "/account")
    assert await page.locator("form[action='/signin/code'] #f-code").count() == 1
    assert email in await page.inner_text("main")
    assert await page.locator("main input[name=next]").input_value() == "/account"
    assert await page.locator("#f-password").count() == 0  # the password is not in the page
    await check_page(page, "signin-code")
    await page.fill("#f-code", wrong_code(secret, still))
    async with page.expect_navigation():
        await page.click("form[action='/signin/code'] button[type=submit]")
    assert await page.locator("#f-code-error").count() == 1
    assert await page.locator("main input[name=next]").input_value() == "/account"
    await page.fill("#f-code", code_at(secret, still))
    await page.click("form[action='/signin/code'] button[type=submit]")
    await page.wait_for_url(f"{visit.site}/account")
    assert "Two-factor sign-in is on" in await page.inner_text("main")
    visit.assert_same_origin()


async def test_a_recovery_code_signs_in_once_without_javascript(
    new_page: NewPage, still: Clock
) -> None:
    setup = await new_page("en")
    email = await _register(setup.site)
    _, codes = await _set_up(setup, email, still)
    visit = await new_page("ru", js=False)
    page = visit.page

    await _first_step(page, visit.site, email, "/my")
    await page.fill("#f-code", codes[0])
    await page.click("form[action='/signin/code'] button[type=submit]")
    await page.wait_for_url(f"{visit.site}/my")
    await page.click("form.signout button[type=submit]")
    await _first_step(page, visit.site, email, "/my")
    await page.fill("#f-code", codes[0])
    await page.click("form[action='/signin/code'] button[type=submit]")

    assert "/signin" in page.url
    assert await page.locator("#f-code-error").count() == 1


async def test_registration_refuses_an_easy_password_next_to_the_field(new_page: NewPage) -> None:
    visit = await new_page("en", js=False)
    page = visit.page
    await page.goto(f"{visit.site}/register")
    await page.fill("#f-full-name", "Aida Founder")
    await page.fill("#f-email", f"easy-{uuid.uuid4().hex[:6]}@example.kg")
    await page.fill("#f-password", "password12")
    await page.fill("#f-password-again", "password12")
    await page.fill("#f-organisation-name", f"Yntymak {uuid.uuid4().hex[:4]}")
    await page.select_option("#f-organisation-kind", "youth_group")
    await page.select_option("#f-organisation-territory-id", index=2)
    await page.fill("#f-organisation-founded-year", "2019")
    await page.click("main form button[type=submit]")

    message = await page.locator("#f-password-error").inner_text()
    assert "This password is too easy to guess." in message
    assert "/register" in page.url
