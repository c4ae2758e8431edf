"""The web with the production rule (finance officers need a second factor), without a browser:
a finance officer who has not set it up lands on the account page, every other page sends them
back there, and confirming a code opens the rest."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pyotp
import pytest

from contracts.client import GrantsClient
from contracts.enums import Role
from contracts.identity import UserCreate
from service.cli import CombinedApp, build_combined_app
from service.demo import DEMO_PASSWORD
from service.persistence.database import Database
from tests.conftest import TEST_PASSWORD, TEST_SETTINGS
from tests.web.conftest import demo_email
from tests.web.pages import Web

SECRET = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')


@pytest.fixture
async def app(demo_site_db: tuple[str, Path]) -> AsyncIterator[CombinedApp]:
    url, storage = demo_site_db
    settings = TEST_SETTINGS.model_copy(
        update={"storage_dir": storage, "totp_required_roles": [Role.FINANCE_OFFICER]}
    )
    database = Database.from_url(url, pool_size=2)
    yield build_combined_app(settings, database)
    await database.dispose()


async def test_a_finance_officer_without_a_second_factor_is_sent_to_set_it_up(
    app: CombinedApp,
) -> None:
    transport = httpx.ASGITransport(app=app)
    http = httpx.AsyncClient(transport=transport, base_url="http://web.test")
    api = GrantsClient.connect("http://web.test/api/v1/", transport=transport)
    admin = await api.create_token(demo_email("admin"), DEMO_PASSWORD)
    email = f"finance-{uuid.uuid4().hex[:8]}@test.example"
    await api.as_user(admin.access_token).create_user(
        UserCreate(
            email=email,
            password=TEST_PASSWORD,
            full_name="New Finance",
            roles=[Role.FINANCE_OFFICER],
        )
    )
    web = Web(http)

    signed_in = await web.sign_in(email, TEST_PASSWORD)
    account = await web.get("/account")
    elsewhere = await web.get("/grants")
    await web.post("/account/totp", {})
    setup = await web.get("/account")
    found = SECRET.search(setup.text)
    assert found is not None, setup.text[:2000]
    secret = found.group(1).replace(" ", "")
    # the current step's code: the previous step's one (accepted too) falls out of the window
    # when a loaded machine crosses a 30-second boundary between making and checking it
    confirmed = await web.post("/account/totp/confirm", {"code": pyotp.TOTP(secret).now()})
    after = await web.get("/account")

    assert signed_in.headers["location"] == "/account#two-factor"
    assert "Until it is set up, only this page is open to you." in account.text
    assert (elsewhere.status_code, elsewhere.headers["location"]) == (303, "/account")
    assert '<svg width="' in setup.text
    assert setup.headers["cache-control"] == "no-store"
    assert confirmed.status_code == 200
    assert len(re.findall(r"<li><code>[A-Z2-7]{4}-", confirmed.text)) == 10
    assert confirmed.headers["cache-control"] == "no-store"
    assert "Until it is set up" not in after.text
    assert "Two-factor sign-in is on" in after.text
    await api.aclose()
    await http.aclose()
