"""The administrator's pages, in real Chromium and in Russian: a staff user created with roles;
a partner API key created — its secret shown once on a `no-store` answer and never again — and
revoked; a user deactivated, whose token then no longer works (checked through the API) and who
is reactivated; an organisation registered and edited without JavaScript, a blank name refused
next to its field; axe at 360 and 1280 px.

The administrator and the people are made here through the API by the demo administrator
(unique e-mails), so the test does not depend on what other tests do with the demo world.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from playwright.async_api import Locator, Page, expect

from contracts.client import ApiError, GrantsClient
from contracts.enums import ApiKeyStatus, ApiScope, Language, Role
from contracts.identity import ApiKeyCreate, UserCreate
from service.demo import DEMO_PASSWORD
from tests.web.conftest import DESKTOP, PHONE, NewPage, Visit, check_page, demo_email

pytestmark = pytest.mark.browser

ADMIN = demo_email("admin")
PASSWORD = "copper kettle sings at dawn"

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


async def _admin(api: Api, new_page: NewPage, *, js: bool = True, width: int = DESKTOP) -> Visit:
    """A Russian-speaking administrator of our own, signed in."""
    demo = await api(ADMIN, DEMO_PASSWORD)
    email = f"admin.{uuid.uuid4().hex[:8]}@test.example"
    await demo.create_user(
        UserCreate(
            email=email,
            password=PASSWORD,
            full_name="Эркин Администраторов",
            roles=[Role.ADMIN],
            preferred_language=Language.RU,
        )
    )
    visit = await new_page("ru", js=js, width=width)
    await visit.sign_in(email, PASSWORD)
    assert await visit.page.get_attribute("html", "lang") == "ru"
    return visit


async def test_admin_creates_a_user_and_a_key_revokes_it_and_deactivates_someone(
    new_page: NewPage, api: Api
) -> None:
    visit = await _admin(api, new_page)
    page = visit.page
    demo = await api(ADMIN, DEMO_PASSWORD)

    # a staff user, with two roles
    async with page.expect_navigation():
        await page.click("header nav a[href='/admin']")
    assert page.url.endswith("/admin/users")
    await check_page(page, "admin-users")
    await page.click("main a[href='/admin/users/new']")
    email = f"clerk.{uuid.uuid4().hex[:8]}@test.example"
    await page.fill("#f-full-name", "Жылдыз Бухгалтерова")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    await page.check("#role-finance_officer")
    await page.check("#role-auditor")
    await check_page(page, "admin-user-new")
    async with page.expect_navigation():
        await page.click("main form button[type=submit]")
    assert "/admin/users/" in page.url
    await expect(page.locator("h1")).to_contain_text("Жылдыз Бухгалтерова")
    made = (await demo.list_users(q=email)).items
    assert len(made) == 1
    assert made[0].roles == [Role.AUDITOR, Role.FINANCE_OFFICER]
    await check_page(page, "admin-user")

    # the users' search finds her
    await page.goto(f"{visit.site}/admin/users?q={email}")
    await expect(page.locator("main tbody tr")).to_have_count(1)

    for path, shot in (
        ("/admin/organisations", "admin-organisations"),
        ("/admin/organisations/new", "admin-organisation"),
    ):
        await page.goto(f"{visit.site}{path}")
        await check_page(page, shot)

    # a partner key: the secret once, on an answer never cached
    await page.goto(f"{visit.site}/admin/api-keys")
    name = f"Партнёр {uuid.uuid4().hex[:6]}"
    await page.fill("#f-name", name)
    await page.check("input[name=scopes][value='awards:read']")
    async with page.expect_response(
        lambda r: r.url.endswith("/admin/api-keys") and r.request.method == "POST"
    ) as answer:
        await page.click("main form[action='/admin/api-keys'] button[type=submit]")
    response = await answer.value
    assert response.status == 200
    assert "no-store" in (response.headers.get("cache-control") or "")
    secret = await page.input_value("#new-key")
    listed = [k for k in (await demo.list_api_keys(limit=200)).items if k.name == name]
    assert len(listed) == 1
    prefix = listed[0].prefix
    assert prefix in secret
    assert len(secret) > len(prefix) + 20
    assert listed[0].scopes == ["awards:read"]
    assert listed[0].organisation_id is None
    row = page.locator("main tbody tr", has_text=name)
    await expect(row).to_contain_text(prefix)
    await check_page(page, "admin-api-key-created")
    await page.goto(f"{visit.site}/admin/api-keys")
    assert await page.locator("#new-key").count() == 0
    assert secret not in await page.content()
    await check_page(page, "admin-api-keys")

    # revoked: the API lists it with revoked_at
    async with page.expect_navigation():
        await page.locator("main tbody tr", has_text=name).locator("button.danger").click()
    await expect(
        page.locator("main tbody tr", has_text=name).locator(".badge-fail")
    ).to_be_visible()
    keys = [k for k in (await demo.list_api_keys(limit=200)).items if k.name == name]
    assert len(keys) == 1
    assert keys[0].revoked_at is not None

    # someone signed in through the API is deactivated: their token stops working
    someone = f"leaving.{uuid.uuid4().hex[:8]}@test.example"
    user = await demo.create_user(
        UserCreate(
            email=someone, password=PASSWORD, full_name="Уходящий Рецензент", roles=[Role.REVIEWER]
        )
    )
    theirs = await api(someone, PASSWORD)
    assert (await theirs.get_me()).email == someone
    await page.goto(f"{visit.site}/admin/users/{user.id}")
    async with page.expect_navigation():
        await page.click("main form[action$='/active'] button[type=submit]")
    await expect(page.locator("h1 .badge-fail")).to_be_visible()
    with pytest.raises(ApiError) as refused:
        await theirs.get_me()
    assert refused.value.status == 401
    with pytest.raises(ApiError) as again:
        await api(someone, PASSWORD)
    assert again.value.status == 401
    # and reactivated: they may sign in again
    async with page.expect_navigation():
        await page.click("main form[action$='/active'] button[type=submit]")
    await expect(page.locator("h1 .badge-pass")).to_be_visible()
    assert (await (await api(someone, PASSWORD)).get_me()).is_active

    # a password reset: the made-up password once, on an answer never cached
    async with page.expect_response(
        lambda r: r.url.endswith("/password-reset") and r.request.method == "POST"
    ) as answer:
        await page.click("main form[action$='/password-reset'] button[type=submit]")
    response = await answer.value
    assert response.status == 200
    assert "no-store" in (response.headers.get("cache-control") or "")
    temporary = (await page.inner_text(".secret-once code.secret")).strip()
    assert len(temporary) >= 12
    with pytest.raises(ApiError) as old_password:
        await api(someone, PASSWORD)
    assert old_password.value.status == 401
    assert (await (await api(someone, temporary)).get_me()).email == someone
    await page.goto(f"{visit.site}/admin/users/{user.id}")
    assert temporary not in await page.content()
    visit.assert_same_origin()


def key_row(page: Page, prefix: str) -> Locator:
    """The keys table's row of the key with this prefix."""
    return page.locator("main tbody tr").filter(
        has=page.locator("code", has_text=re.compile(f"^{re.escape(prefix)}$"))
    )


async def _partner_status(site: str, key: str) -> int:
    partner = GrantsClient.connect(f"{site}/api/v1/").as_partner(key)
    try:
        await partner.list_action_plans()
    except ApiError as exc:
        return exc.status
    finally:
        await partner.aclose()
    return 200


async def test_admin_rotates_a_key_with_an_overlap_and_sees_the_new_secret_once(
    new_page: NewPage, api: Api
) -> None:
    visit = await _admin(api, new_page)
    page = visit.page
    demo = await api(ADMIN, DEMO_PASSWORD)
    name = f"Партнёр {uuid.uuid4().hex[:6]}"
    old = await demo.create_api_key(ApiKeyCreate(name=name, scopes=[ApiScope.READ_PCC]))
    assert await _partner_status(visit.site, old.key) == 200  # a last use to show

    await page.goto(f"{visit.site}/admin/api-keys")
    row = key_row(page, old.prefix)
    await expect(row.locator(".badge-pass")).to_have_text("Действует")
    await expect(row).not_to_contain_text("ещё не использовался")
    await row.locator("summary").click()
    await row.locator("select[name=overlap_days]").select_option("30")
    async with page.expect_response(
        lambda r: (
            r.url.endswith(f"/admin/api-keys/{old.id}/rotation") and r.request.method == "POST"
        )
    ) as answer:
        await row.locator("form[action$='/rotation'] button[type=submit]").click()
    response = await answer.value
    assert response.status == 200
    assert "no-store" in (response.headers.get("cache-control") or "")
    secret = await page.input_value("#new-key")
    await expect(page.locator(".secret-once")).to_contain_text(old.prefix)

    keys = {k.id: k for k in (await demo.list_api_keys(limit=200)).items if k.name == name}
    assert len(keys) == 2
    new = next(k for k in keys.values() if k.id != old.id)
    assert secret.startswith(f"pcck_{new.prefix}_")
    assert (keys[old.id].status, keys[old.id].replaced_by_id) == (ApiKeyStatus.ROTATED, new.id)
    assert (new.status, new.rotated_from_id) == (ApiKeyStatus.ACTIVE, old.id)
    overlap_end = keys[old.id].expires_at
    assert overlap_end is not None
    assert abs(overlap_end - new.created_at - timedelta(days=30)) < timedelta(minutes=1)
    both = (await _partner_status(visit.site, old.key), await _partner_status(visit.site, secret))
    assert both == (200, 200)
    await expect(key_row(page, old.prefix).locator(".badge-key-rotated")).to_be_visible()
    await expect(key_row(page, new.prefix)).to_contain_text(f"заменяет ключ {old.prefix}")
    await check_page(page, "admin-api-key-rotated")

    # the secret is never shown again; a rotated key offers no second rotation
    await page.goto(f"{visit.site}/admin/api-keys")
    assert secret not in await page.content()
    await expect(key_row(page, old.prefix).locator("summary")).to_have_count(0)
    await expect(key_row(page, old.prefix)).to_contain_text(f"заменён ключом {new.prefix}")
    phone = await _admin(api, new_page, width=PHONE)
    await phone.page.goto(f"{visit.site}/admin/api-keys")
    await expect(key_row(phone.page, old.prefix).locator(".badge-key-rotated")).to_be_visible()
    await key_row(phone.page, new.prefix).locator("summary").click()
    await expect(
        key_row(phone.page, new.prefix).locator("select[name=overlap_days]")
    ).to_be_visible()
    await check_page(phone.page, "admin-api-keys-rotated")


async def test_an_organisation_is_registered_and_edited_without_javascript(
    new_page: NewPage, api: Api
) -> None:
    visit = await _admin(api, new_page, js=False)
    page = visit.page
    await page.goto(f"{visit.site}/admin/organisations/new")
    name = f"Ассоциация {uuid.uuid4().hex[:6]}"
    await page.select_option("#f-kind", "cso")
    await page.select_option("#f-territory-id", index=1)
    await page.fill("#f-founded-year", "2015")
    await page.click("main form button[type=submit]")
    # the API's refusal of a blank name, next to its field
    assert "/admin/organisations" in page.url
    await expect(page.locator(".error-summary")).to_be_visible()
    await expect(page.locator("#f-name-error")).to_be_visible()
    assert await page.get_attribute("#f-name", "aria-invalid") == "true"
    assert await page.input_value("#f-founded-year") == "2015"
    await check_page(page, "admin-organisation-refused")
    await page.fill("#f-name", name)
    await page.click("main form button[type=submit]")
    assert "/admin/organisations/" in page.url
    await expect(page.locator("h1")).to_have_text(name)
    await page.check("#f-youth-led")
    await page.fill("#f-phone", "+996 555 123 456")
    await page.click("main form button[type=submit]")
    await expect(page.locator("#f-youth-led")).to_be_checked()
    assert await page.input_value("#f-phone") == "+996 555 123 456"
    demo = await api(ADMIN, DEMO_PASSWORD)
    org_id = uuid.UUID(page.url.rstrip("/").rsplit("/", 1)[-1])
    stored = await demo.get_organisation(org_id)
    assert stored.youth_led is True
    assert stored.version == 2


async def test_admin_pages_at_phone_width_and_for_admins_only(new_page: NewPage, api: Api) -> None:
    visit = await _admin(api, new_page, width=PHONE)
    page = visit.page
    for path, name in (
        ("/admin/users", "admin-users"),
        ("/admin/users/new", "admin-user-new"),
        ("/admin/organisations", "admin-organisations"),
        ("/admin/organisations/new", "admin-organisation"),
        ("/admin/api-keys", "admin-api-keys"),
    ):
        await page.goto(f"{visit.site}{path}")
        await check_page(page, name)
    await page.goto(f"{visit.site}/admin/organisations")
    await check_page(page, "admin-organisations")
    reviewer = await new_page("ru")
    await reviewer.sign_in(demo_email("reviewer2"))
    assert await reviewer.page.locator("header nav a[href='/admin']").count() == 0
    response = await reviewer.page.goto(f"{visit.site}/admin/users")
    assert response is not None
    assert response.status == 403
