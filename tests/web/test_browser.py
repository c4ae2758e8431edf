"""The web app in real Chromium: served by `grants serve`'s combined app over a real socket."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, async_playwright

from service.cli import build_combined_app
from service.demo import load_demo_data
from service.persistence.database import Database
from tests.conftest import TEST_SETTINGS

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def demo_db(fresh_db: str, storage_dir: Path) -> str:
    database = Database.from_url(fresh_db)
    async with database.session() as session:
        await load_demo_data(session, storage_dir)
        await session.commit()
    await database.dispose()
    return fresh_db


@pytest.fixture
def live_server(demo_db: str) -> Iterator[str]:
    """The combined app in a thread of its own (own event loop, own connection pool)."""
    port = _free_port()
    holder: dict[str, uvicorn.Server] = {}

    def run() -> None:
        database = Database.from_url(demo_db, pool_size=2)
        config = uvicorn.Config(
            build_combined_app(TEST_SETTINGS, database),
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
    deadline = time.monotonic() + 20
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


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def test_home_page_lists_the_territories_in_each_language(
    live_server: str, browser: Browser
) -> None:
    page = await browser.new_page()
    await page.goto(f"{live_server}/?lang=ru")
    assert await page.locator("h1").inner_text() == (
        "Grants for the Peacebuilding Coordination Councils"
    )
    names = await page.locator(".territories li strong").all_inner_texts()
    assert len(names) == 7
    assert "город Ош" in names
    await page.get_by_role("link", name="Кыргызча").click()
    await page.wait_for_url("**/?lang=ky")
    assert "Өзгөн шаары" in await page.locator(".territories").inner_text()


async def test_home_page_has_no_serious_accessibility_violations(
    live_server: str, browser: Browser
) -> None:
    page = await browser.new_page()
    await page.goto(f"{live_server}/")
    results = await Axe().run(page)
    serious = [
        v["id"]
        for v in results.response["violations"]
        if v.get("impact") in {"serious", "critical"}
    ]
    assert serious == []
