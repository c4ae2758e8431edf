"""Browser tests: one demo world served over a real socket for the whole run, real Chromium.

- `site`: the combined app (`grants serve`'s) on a free port in a thread of its own, over a
  database cloned from the migrated template and filled with the demo data once per run. Tests
  that change data use people and organisations of their own (unique e-mails), so they share it.
- `browser`: Debian's Chromium through Playwright (never `playwright install`).
- `new_page(lang, js=True, width=…)`: a page in a fresh context whose every request is recorded;
  `Visit.assert_same_origin()` proves that nothing came from another host.
- `check_page(page, name)`: axe-core (bundled by axe-playwright-python, from its npm package) with
  no serious or critical violation, the layout sound (tools/crawl.py's `LAYOUT_SCRIPT`: nothing
  wider than a phone's screen, no card of a stacked table to scroll sideways, no clipped box, no
  chart label cut or over another), and a full-page screenshot in `.grants/screenshots/`.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from axe_playwright_python.async_playwright import DEFAULT_OPTIONS as AXE_OPTIONS
from axe_playwright_python.async_playwright import Axe
from axe_playwright_python.base import AxeResults
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from service.cli import build_combined_app
from service.demo import DEMO_PASSWORD, load_demo_data
from service.persistence.database import Database
from tests.conftest import ROOT, TEST_SETTINGS, Server
from tools.crawl import CHROMIUM, CHROMIUM_ARGS, LAYOUT_SCRIPT

SCREENSHOTS = Path(os.environ.get("GRANTS_SCREENSHOTS", ROOT / ".grants" / "screenshots"))
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
LANGS = ("en", "ru", "ky")
AXE = Axe()
PHONE = 360
DESKTOP = 1280


def demo_email(local: str) -> str:
    return f"{local}@demo.pcc-grants.kg"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
async def demo_site_db(
    server: Server, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, Path]]:
    name = f"grants_web_{uuid.uuid4().hex[:10]}"
    url = await server.create_database(name, template=template_db)
    storage = tmp_path_factory.mktemp("web-storage")
    database = Database.from_url(url)
    async with database.session() as session:
        await load_demo_data(session, storage)
        await session.commit()
    await database.dispose()
    yield url, storage
    await server.drop_database(name)


@pytest.fixture(scope="session")
def site(demo_site_db: tuple[str, Path]) -> Iterator[str]:
    """The combined app over a real socket; its base URL."""
    url, storage = demo_site_db
    port = _free_port()
    holder: dict[str, uvicorn.Server] = {}
    settings = TEST_SETTINGS.model_copy(update={"storage_dir": storage})

    def run() -> None:
        database = Database.from_url(url, pool_size=4)
        config = uvicorn.Config(
            build_combined_app(settings, database),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
        server = uvicorn.Server(config)
        holder["server"] = server
        asyncio.run(server.serve())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        server = holder.get("server")
        if server is not None and server.started:
            break
        time.sleep(0.05)
    else:
        raise RuntimeError("the server did not start")
    yield f"http://127.0.0.1:{port}"
    holder["server"].should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@dataclass
class Visit:
    """A browser context and the URLs it requested."""

    context: BrowserContext
    page: Page
    site: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def assert_same_origin(self) -> None:
        origin = urlsplit(self.site).netloc
        foreign = [u for u in self.requests if urlsplit(u).netloc not in ("", origin)]
        assert foreign == []

    async def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> None:
        await self.page.goto(f"{self.site}/signin")
        await self.page.fill("#f-email", email)
        await self.page.fill("#f-password", password)
        async with self.page.expect_navigation():
            await self.page.click("main form[action='/signin'] button[type=submit]")
        assert "/signin" not in self.page.url, await self.page.inner_text("main")


NewPage = Callable[..., Awaitable[Visit]]
_NO_JS: weakref.WeakSet[BrowserContext] = weakref.WeakSet()


@pytest.fixture
async def new_page(browser: Browser, site: str) -> AsyncIterator[NewPage]:
    contexts: list[BrowserContext] = []

    async def make(lang: str = "en", *, js: bool = True, width: int = DESKTOP) -> Visit:
        context = await browser.new_context(
            viewport={"width": width, "height": 800},
            locale=lang,
            java_script_enabled=js,
            extra_http_headers={"Accept-Language": lang},
        )
        contexts.append(context)
        if not js:
            _NO_JS.add(context)
        page = await context.new_page()
        visit = Visit(context=context, page=page, site=site)
        page.on("request", lambda r: visit.requests.append(r.url))
        page.on(
            "console",
            lambda m: visit.console_errors.append(m.text) if m.type == "error" else None,
        )
        return visit

    yield make
    for context in contexts:
        await context.close()


async def check_page(page: Page, name: str) -> None:
    """axe: no serious or critical violation; and a screenshot to look at. With JavaScript
    off axe cannot run (it is a script): the same page is checked in the tests with it on."""
    width = (page.viewport_size or {"width": 0})["width"]
    if page.context in _NO_JS:
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        return
    # axe-core once per document (572 kB of script to parse): a page checked again, at another
    # width or after a change in place, runs the copy it already has
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(AXE.axe_script)
    results = AxeResults(await page.evaluate(f"axe.run({json.dumps(AXE_OPTIONS)})"))
    # axe leaves empty `style=""` attributes behind; htmx would copy them into later swaps,
    # where the page's own CSP (rightly) refuses them: the page is put back as it was
    await page.evaluate(
        "document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))"
    )
    serious = [
        (v["id"], [n.get("target") for n in v.get("nodes", [])][:3])
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]
    await page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    assert serious == [], f"{name}: {serious}"
    assert layout_problems(await page.evaluate(LAYOUT_SCRIPT), width) == [], name


def layout_problems(found: dict[str, Any], width: int) -> list[str]:
    """What `LAYOUT_SCRIPT` found that is wrong at this width: a region that scrolls sideways
    is the design for a wide table, not for the cards a stacked table becomes on a phone."""
    problems = [s for s in found["scrolls"] if s.startswith("cards ")]
    problems += found["clipped"] + found["chart"]
    if width <= PHONE and found["overflow"]:
        problems.append(found["overflow"])
    return problems
