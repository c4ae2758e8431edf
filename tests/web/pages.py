"""What several web tests share, so that no test module imports another: a browser without
JavaScript (`Web`), the patterns of inline code no page may carry, the officer's call form filled
in Chromium, and the selection tests' applicants, API clients and form helpers."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Page

from contracts.client import GrantsClient
from service.demo import DEMO_PASSWORD
from tests.web.conftest import DESKTOP, NewPage, Visit
from tools.crawl import DOWNLOAD, followable
from web.i18n import translations

# --- a browser without JavaScript ---------------------------------------------------------------

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


class Web:
    """A person's browser without JavaScript: cookies, CSRF tokens taken from the last page."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token = ""

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        resp = await self.http.get(path, **kw)
        found = CSRF_FIELD.search(resp.text)
        if found:
            self.token = found.group(1)
        return resp

    async def post(self, path: str, data: dict[str, str], **kw: Any) -> httpx.Response:
        if not self.token:
            await self.get("/")
        return await self.http.post(path, data={"_csrf_token": self.token, **data}, **kw)

    async def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> httpx.Response:
        await self.get("/signin")
        resp = await self.post("/signin", {"email": email, "password": password, "next": ""})
        assert resp.status_code == 303, resp.text[:500]
        return resp


INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    re.compile(r"<style\b", re.I),
    re.compile(r"\sstyle=", re.I),
    re.compile(r"\son[a-z]+=", re.I),
    re.compile(r"\shx-on", re.I),
    re.compile(r"javascript:", re.I),
]
"""Inline script, style and event handlers: what the strict CSP forbids on every page."""


async def assert_links_open(visit: Visit) -> None:
    """Every link of the page to another page of the site opens for the person looking at it
    (downloads and signing out left alone): a link to what they may not see is a dead end the
    page should not offer (the crawl, tools/crawl.py, found such links)."""
    hrefs: list[str] = await visit.page.evaluate(
        "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
    )
    targets = {followable(visit.site, href) for href in hrefs}
    refused = []
    for url in sorted(u for u in targets if u and not DOWNLOAD.search(u)):
        response = await visit.context.request.get(url)
        if response.status >= 400:
            refused.append((response.status, url.removeprefix(visit.site)))
    assert targets
    assert refused == [], refused


def t(lang: str, message: str, **values: object) -> str:
    text = translations(lang).gettext(message)
    return text % values if values else text


# --- the officer's call form --------------------------------------------------------------------

OSH = "Osh City Mayor's Office (co-funding)"


async def fill_texts(page: Page, name: str, values: dict[str, str]) -> None:
    for lang, value in values.items():
        await page.fill(f"#f-{name}-{lang}", value)


async def create_call(page: Page, site: str, tag: str) -> str:
    """The call form in ru: texts in three languages and a contribution; its page's URL."""
    await page.goto(f"{site}/officer/calls/new")
    await fill_texts(
        page,
        "title",
        {
            "en": f"Dialogue grants {tag}",
            "ru": f"Гранты диалога {tag}",
            "ky": f"Диалог гранттары {tag}",
        },
    )
    await fill_texts(
        page,
        "description",
        {"en": "For dialogue.", "ru": "Для диалога.", "ky": "Диалог үчүн."},
    )
    await page.select_option("#f-contributions-0-funding-source-id", label=f"{OSH} (KGS)")
    await page.fill("#f-contributions-0-amount", "3 000 000,00")
    await page.click("button[value=save]")
    await page.wait_for_url(re.compile(r"/officer/calls/[0-9a-f-]{36}$"))
    return page.url


# --- the selection ------------------------------------------------------------------------------

REQUEST = 1_000_000  # 10,000.00 KGS in tiyin
# (name, women-led, the scores both reviewers give, in tenths: half points on a 0-5 scale)
APPLICANTS = [
    ("Alma", False, (45, 45, 45)),
    ("Bereke", False, (45, 40, 40)),
    ("Chynar", False, (40, 40, 35)),
    ("Dilbar", True, (35, 35, 30)),
    ("Elnura", True, (30, 30, 30)),
]


async def api_client(site: str, email: str, made: list[GrantsClient]) -> GrantsClient:
    """The site's API signed in as `email` (the demo password); kept in `made` to be closed."""
    base = GrantsClient.connect(f"{site}/api/v1/")
    made.append(base)
    token = await base.create_token(email, DEMO_PASSWORD)
    return base.as_user(token.access_token)


async def officer_visit(
    new_page: NewPage, email: str, *, js: bool = True, width: int = DESKTOP
) -> Visit:
    visit = await new_page("ru", js=js, width=width)
    await visit.sign_in(email)
    assert await visit.page.get_attribute("html", "lang") == "ru"
    return visit


async def set_quota(page: Page, n: int, kind: str, group: str, value: str) -> None:
    await page.select_option(f"#f-quota-{n}-kind", kind)
    await page.select_option(f"#f-quota-{n}-group", group)
    await page.fill(f"#f-quota-{n}-value", value)


async def funded_titles(page: Page) -> list[str]:
    return [t.strip() for t in await page.locator("table.funded tbody th").all_inner_texts()]
