"""The web's foundation without a browser: sessions, CSRF, languages, catalogues, CSP, weight.

The combined app (`grants serve`'s) is driven in-process over httpx, on the run's demo world.
"""

from __future__ import annotations

import gzip
import html
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from contracts.client import GrantsClient
from contracts.enums import Language
from contracts.identity import MeUpdate
from service.cli import CombinedApp, build_combined_app, web_config
from service.demo import DEMO_PASSWORD
from service.persistence.database import Database
from tests.conftest import ROOT, TEST_SETTINGS
from tests.web.conftest import demo_email
from tests.web.pages import INLINE, Web
from web.config import WebConfig
from web.i18n import translations


def _in(lang: str, message: str) -> str:
    """`message` as the `lang` catalogue translates it (HTML-escaped as a page shows it)."""
    return html.escape(translations(lang).gettext(message), quote=False)


def _app(url: str, storage: Path, config: WebConfig | None = None) -> CombinedApp:
    settings = TEST_SETTINGS.model_copy(update={"storage_dir": storage})
    app = build_combined_app(settings, Database.from_url(url, pool_size=2))
    if config is not None:
        from web.app import create_web_app

        app.web = create_web_app(app.web.state.client_factory, config)
    return app


@pytest.fixture
async def web(demo_site_db: tuple[str, Path]) -> AsyncIterator[Web]:
    url, storage = demo_site_db
    app = _app(url, storage)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://web.test"
    ) as http:
        yield Web(http)


# --- CSRF ----------------------------------------------------------------------------------


def _unsafe_routes(app: CombinedApp) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in app.web.routes:
        for method in sorted(getattr(route, "methods", set())):
            if method in {"GET", "HEAD", "OPTIONS"}:
                continue
            path = re.sub(r"\{[^}:]+:uuid\}", str(uuid.uuid4()), route.path)
            path = re.sub(r"\{[^}:]+(:[a-z]+)?\}", "x", path)
            found.append((method, path))
    return found


async def test_every_unsafe_web_route_is_refused_without_the_csrf_token(
    demo_site_db: tuple[str, Path],
) -> None:
    url, storage = demo_site_db
    app = _app(url, storage)
    routes = _unsafe_routes(app)
    assert ("POST", "/signin") in routes
    assert len(routes) >= 6
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://web.test"
    ) as http:
        await http.get("/")  # the CSRF cookie is set, but the token is not sent
        refused = {}
        for method, path in routes:
            resp = await http.request(method, path, data={"email": "x@y.z"})
            refused[(method, path)] = resp.status_code
    assert {k: v for k, v in refused.items() if v != 403} == {}


async def test_a_form_with_the_token_is_accepted(web: Web) -> None:
    await web.get("/signin")
    resp = await web.post("/signin", {"email": "nobody@example.org", "password": "x"})
    assert resp.status_code == 422
    assert "The e-mail or the password is wrong." in resp.text


# --- sessions --------------------------------------------------------------------------------


async def test_the_session_works_on_another_instance_with_the_same_secret(
    demo_site_db: tuple[str, Path],
) -> None:
    """Nothing of a session lives in process memory: a second app (another worker or host)
    with the same secret serves the signed-in person; one with another secret does not."""
    url, storage = demo_site_db
    first, second = _app(url, storage), _app(url, storage)
    other = _app(url, storage, WebConfig(session_secret=b"\x01" * 32))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=first), base_url="http://web.test"
    ) as http:
        web = Web(http)
        await web.sign_in(demo_email("applicant.yntymak"))
        cookies = dict(http.cookies)
    for app, signed_in in ((second, True), (other, False)):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://web.test", cookies=cookies
        ) as http:
            resp = await http.get("/account")
            assert (resp.status_code == 200) is signed_in
            if not signed_in:
                assert resp.status_code == 303
                assert resp.headers["location"] == "/signin?next=/account"


async def test_session_cookie_flags_and_the_host_prefix_in_production() -> None:
    settings = TEST_SETTINGS.model_copy(
        update={
            "environment": "production",
            "public_base_url": "https://grants.example.kg",
            "session_secret": "ab" * 32,
        }
    )
    config = web_config(settings)
    assert config.secure_cookies is True
    assert config.cookie_prefix == "__Host-"
    from web.app import create_web_app

    app = create_web_app(lambda: GrantsClient(httpx.AsyncClient()), config)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://grants.example.kg"
    ) as http:
        resp = await http.post("/language", data={"lang": "ky", "next": "/"})
        assert resp.status_code == 403  # no CSRF token
        page = await http.get("/signin")
    set_cookies = page.headers.get_list("set-cookie")
    csrf = next(c for c in set_cookies if c.startswith("__Host-grants-csrf="))
    for flag in ("HttpOnly", "Secure", "Path=/", "SameSite=lax"):
        assert flag in csrf
    assert "Domain=" not in csrf


async def test_sign_in_keeps_the_token_in_an_encrypted_httponly_cookie(web: Web) -> None:
    resp = await web.sign_in(demo_email("applicant.yntymak"))
    cookie = next(c for c in resp.headers.get_list("set-cookie") if c.startswith("grants-session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    assert "applicant" not in value
    assert "token" not in value


async def test_sign_out_revokes_the_api_token(web: Web, demo_site_db: tuple[str, Path]) -> None:
    await web.sign_in(demo_email("applicant.yntymak"))
    account = await web.get("/account")
    assert account.status_code == 200
    resp = await web.post("/signout", {})
    assert resp.status_code == 303
    after = await web.get("/account")
    assert after.status_code == 303
    assert after.headers["location"] == "/signin?next=/account"


async def test_an_ended_token_sends_the_person_to_sign_in_and_back(web: Web) -> None:
    """The API token inside a session ends (expired, or revoked — here by signing out in
    another tab while this one keeps the old cookie): the next page sends the person to sign in
    with the page to return to, and there after signing in."""
    await web.sign_in(demo_email("applicant.koytash"))
    assert (await web.get("/account")).status_code == 200
    old_cookies = dict(web.http.cookies)
    assert (await web.post("/signout", {})).status_code == 303  # revokes the token
    web.http.cookies.clear()
    for name, value in old_cookies.items():
        web.http.cookies.set(name, value)
    resp = await web.get("/account?tab=1")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/signin?next=/account%3Ftab%3D1"
    page = await web.get(resp.headers["location"])
    lang = re.search(r'<html lang="(\w+)">', page.text)
    assert lang is not None  # the person's own language (koytash's account says which)
    assert _in(lang.group(1), "Your session has ended. Please sign in again.") in page.text
    back = await web.post(
        "/signin",
        {
            "email": demo_email("applicant.koytash"),
            "password": DEMO_PASSWORD,
            "next": "/account?tab=1",
        },
    )
    assert back.status_code == 303
    assert back.headers["location"] == "/account?tab=1"


# --- languages -------------------------------------------------------------------------------


async def test_the_language_comes_from_accept_language_then_from_the_switcher(web: Web) -> None:
    ru = await web.get("/", headers={"accept-language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert '<html lang="ru">' in ru.text
    en = await web.get("/", headers={"accept-language": "de-DE,de;q=0.9"})
    assert '<html lang="en">' in en.text
    resp = await web.post("/language", {"lang": "ky", "next": "/signin"})
    assert resp.status_code == 303
    assert resp.headers["location"] == "/signin"
    ky = await web.get("/signin", headers={"accept-language": "ru"})
    assert '<html lang="ky">' in ky.text
    assert _in("ky", "Sign in") != "Sign in"
    assert f"<h1>{_in('ky', 'Sign in')}</h1>" in ky.text


async def test_the_switcher_refuses_a_redirect_to_another_host(web: Web) -> None:
    resp = await web.post("/language", {"lang": "ru", "next": "//evil.example/x"})
    assert resp.headers["location"] == "/"
    resp = await web.post("/language", {"lang": "ru", "next": "https://evil.example/"})
    assert resp.headers["location"] == "/"


async def test_a_signed_in_persons_language_is_remembered_in_their_account(
    web: Web, demo_site_db: tuple[str, Path]
) -> None:
    url, storage = demo_site_db
    await web.sign_in(demo_email("applicant.ayalzat"))
    await web.get("/account")
    await web.post("/language", {"lang": "ky", "next": "/account"})
    app = _app(url, storage)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app.api), base_url="http://api.test/api/v1/"
    ) as api_http:
        api = GrantsClient(api_http)
        token = await api.create_token(demo_email("applicant.ayalzat"), DEMO_PASSWORD)
        me = await api.as_user(token.access_token).get_me()
        assert me.preferred_language == "ky"
        await api.as_user(token.access_token).update_me(MeUpdate(preferred_language=Language.EN))


async def test_error_pages_speak_the_persons_language(web: Web) -> None:
    words = {lang: _in(lang, "This page does not exist") for lang in ("en", "ru", "ky")}
    assert len(set(words.values())) == 3  # translated, not the English fallback
    for lang, title in words.items():
        resp = await web.get(f"/no/such/page/{lang}", headers={"accept-language": lang})
        assert resp.status_code == 404
        assert f"<h1>{title}</h1>" in resp.text
    missing_call = await web.get(f"/calls/{uuid.uuid4()}", headers={"accept-language": "ru"})
    assert missing_call.status_code == 404
    assert f"<h1>{words['ru']}</h1>" in missing_call.text


# --- catalogues ------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _source_messages() -> set[str]:
    method_map = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
    options = {
        "web/templates/**.html": {
            "extensions": "jinja2.ext.i18n",
            "newstyle_gettext": "true",
            "trim_blocks": "true",
            "lstrip_blocks": "true",
        }
    }
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options
    ):
        if isinstance(message, tuple):  # singular and plural: the singular is the key
            found.add(message[0])
        else:
            found.add(message)
    return found


@pytest.mark.parametrize("lang", ["ru", "ky"])
def test_every_message_is_translated(lang: str) -> None:
    with (ROOT / "web" / "locale" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    sources = _source_messages()
    assert len(sources) > 100
    missing, fuzzy, broken = [], [], []
    for msgid in sorted(sources):
        message = catalog.get(msgid)
        if message is None or not message.string:
            missing.append(msgid)
            continue
        if message.fuzzy:
            fuzzy.append(msgid)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        originals = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set().union(*(PLACEHOLDER.findall(o) for o in originals))
        for s in strings:
            found = set(PLACEHOLDER.findall(s))
            # a plural form may leave the number out ("one line"); a message may not
            exact = found == wanted if len(originals) == 1 else found <= wanted
            if not s or not exact:
                broken.append(msgid)
    assert missing == []
    assert fuzzy == []
    assert broken == []


# --- what every page is made of ----------------------------------------------------------------


async def test_pages_carry_a_strict_csp_and_no_inline_code(web: Web) -> None:
    home = await web.get("/")
    call_id = re.search(r'href="/calls/([0-9a-f-]{36})"', home.text)
    assert call_id is not None
    paths = ["/", "/signin", "/register", f"/calls/{call_id.group(1)}", "/nowhere"]
    for path in paths:
        resp = await web.get(path)
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "style-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        for pattern in INLINE:
            assert pattern.search(resp.text) is None, (path, pattern.pattern)
        assert re.search(r'(src|href)="(https?:)?//', resp.text) is None, path


async def test_the_home_page_weighs_at_most_150_kb(web: Web) -> None:
    """Everything the first page loads, as transferred (gzip), from this host only."""
    gz = {"accept-encoding": "gzip"}
    home = await web.http.get("/", headers=gz)
    total = (
        len(gzip.compress(home.content))
        if home.headers.get("content-encoding")
        else len(home.content)
    )
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', home.text)
    assert any("htmx" in a for a in assets)
    for asset in assets:
        resp = await web.http.get(asset, headers=gz)
        assert resp.status_code == 200
        raw = resp.headers.get("content-length")
        total += int(raw) if raw else len(resp.content)
    assert total <= 150 * 1024, total


def test_htmx_is_served_from_its_npm_package_with_its_licence() -> None:
    vendor = ROOT / "web" / "static" / "vendor" / "htmx"
    assert (vendor / "LICENSE").read_text().startswith("Zero-Clause BSD")
    head = (vendor / "htmx.min.js").read_text()[:2000]
    assert "htmx" in head


async def test_the_api_token_is_not_accepted_from_the_web_cookie(web: Web) -> None:
    """The API takes bearer tokens only: the web's cookies give no access to it."""
    await web.sign_in(demo_email("applicant.yntymak"))
    resp = await web.http.get("/api/v1/users/me")
    assert resp.status_code == 401
