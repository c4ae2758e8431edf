"""Choosing which e-mails one gets (issue 18, "Notifications"), in the browser: the account
page links to the choice; every kind is on until turned off; what is saved is what the API then
answers, in each language and at 360 px and desktop widths."""

from __future__ import annotations

import uuid

import pytest

from contracts.client import GrantsClient
from contracts.enums import Language, OrganisationKind
from contracts.identity import OrganisationCreate, RegistrationCreate
from contracts.notifications import NotificationKind
from tests.web.conftest import DESKTOP, NewPage, check_page
from tests.web.pages import t

pytestmark = pytest.mark.browser

PASSWORD = "letters by the river 2026"


async def _register(site: str, lang: str) -> str:
    """A person of their own, whose language is `lang` (the demo's logins stay as they are)."""
    email = f"emails-{uuid.uuid4().hex[:8]}@example.kg"
    api = GrantsClient.connect(f"{site}/api/v1/")
    try:
        territory = (await api.list_territories()).items[0]
        await api.create_registration(
            RegistrationCreate(
                email=email,
                password=PASSWORD,
                full_name="Nurgul Letters",
                preferred_language=Language(lang),
                organisation=OrganisationCreate(
                    name=f"Kat {uuid.uuid4().hex[:6]}",
                    kind=OrganisationKind.CSO,
                    territory_id=territory.id,
                    founded_year=2016,
                ),
            )
        )
    finally:
        await api.aclose()
    return email


async def _chosen(site: str, email: str) -> dict[str, bool]:
    api = GrantsClient.connect(f"{site}/api/v1/")
    try:
        token = await api.create_token(email, PASSWORD)
        prefs = await api.as_user(token.access_token).get_notification_preferences()
    finally:
        await api.aclose()
    return {p.kind.value: p.enabled for p in prefs}


@pytest.mark.parametrize(
    ("lang", "width"), [("en", DESKTOP), ("en", 360), ("ru", 360), ("ky", DESKTOP), ("ky", 360)]
)
async def test_a_person_chooses_which_emails_they_get(
    new_page: NewPage, lang: str, width: int
) -> None:
    visit = await new_page(lang, width=width)
    page = visit.page
    email = await _register(visit.site, lang)
    await visit.sign_in(email, PASSWORD)
    await page.goto(f"{visit.site}/account")
    assert t(lang, "Choose which e-mails you get") in await page.inner_text("main")
    await check_page(page, f"account-with-emails-{lang}")
    await page.click("main a[href='/account/notifications']")
    await page.wait_for_url("**/account/notifications")
    assert await page.locator("h1").inner_text() == t(lang, "E-mails you get")
    boxes = page.locator("main form input[type=checkbox]")
    assert await boxes.count() == len(NotificationKind)
    for kind in NotificationKind:  # every kind on until turned off
        assert await page.locator(f"input[name={kind.value}]").is_checked(), kind
    await check_page(page, f"account-notifications-{lang}")

    await page.uncheck("input[name=tranche_paid]")
    await page.uncheck("input[name=review_reminder]")
    await page.click("main form[action='/account/notifications'] button[type=submit]")
    await page.wait_for_url("**/account/notifications")
    assert t(lang, "Your choice of e-mails is saved.") in await page.inner_text("main")
    off = {NotificationKind.TRANCHE_PAID.value, NotificationKind.REVIEW_REMINDER.value}
    for kind in NotificationKind:
        assert await page.locator(f"input[name={kind.value}]").is_checked() is (
            kind.value not in off
        ), kind
    assert await _chosen(visit.site, email) == {
        k.value: k.value not in off for k in NotificationKind
    }

    # and on again
    await page.check("input[name=tranche_paid]")
    await page.click("main form[action='/account/notifications'] button[type=submit]")
    await page.wait_for_url("**/account/notifications")
    assert (await _chosen(visit.site, email))[NotificationKind.TRANCHE_PAID.value] is True
    assert visit.console_errors == []
    visit.assert_same_origin()
