"""The programme officer's calls, windows, eligibility rules and rubrics in real Chromium (ru).

The demo officer sets up a call of their own (unique titles), so nothing the other tests rely on
changes. Texts are compared as the catalogue of the page's language translates them.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page

from tests.web.conftest import DESKTOP, PHONE, NewPage, check_page, demo_email
from web.i18n import translations

pytestmark = pytest.mark.browser

OFFICER = demo_email("officer")


def t(lang: str, message: str, **values: object) -> str:
    text = translations(lang).gettext(message)
    return text % values if values else text


async def both_widths(page: Page, name: str) -> None:
    size = page.viewport_size or {"width": DESKTOP, "height": 800}
    for width in (DESKTOP, PHONE):
        await page.set_viewport_size({"width": width, "height": 800})
        await check_page(page, name)
    await page.set_viewport_size(size)


async def test_officer_home_and_a_window_hub(new_page: NewPage) -> None:
    visit = await new_page("ru")
    await visit.sign_in(OFFICER)
    page = visit.page
    await page.goto(f"{visit.site}/officer")
    assert await page.inner_text("h1") == t("ru", "Calls for proposals")
    await both_widths(page, "officer-home")
    hub = page.locator("main a[href^='/officer/windows/']").first
    href = await hub.get_attribute("href")
    assert href is not None
    assert re.fullmatch(r"/officer/windows/[0-9a-f-]{36}", href)
    await page.goto(visit.site + href)
    nav = page.locator(".window-nav nav a[aria-current=page]")
    assert await nav.inner_text() == t("ru", "Overview")
    await both_widths(page, "officer-window-hub")
    visit.assert_same_origin()
