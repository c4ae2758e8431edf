"""Browser-side security headers on every response of every serve mode, and an API docs page that
loads nothing from another host (issue 11 §6).

The apps are built by the same factories `grants serve` hands to uvicorn (combined, `--only api`,
`--only web`) and called in-process; nothing here needs the database."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from service import cli
from service.docs import DOCS_CSP
from service.security_headers import DEFAULT_CSP

UNCONNECTED = "postgresql+asyncpg://nobody@localhost:1/none"

FACTORIES: dict[str, Callable[[], Any]] = {
    "combined": cli.combined_app_factory,
    "api": cli.api_app_factory,
    "web": cli.web_app_factory,
}
# A path of each kind each mode serves: (mode, path, kind)
PATHS = [
    ("combined", "/api/v1/users/me", "api"),
    ("combined", "/health/live", "api"),
    ("combined", "/api/docs", "docs"),
    ("combined", "/signin", "web"),
    ("combined", "/no-such-page", "web"),
    ("api", "/api/v1/users/me", "api"),
    ("api", "/api/v1/no-such-route", "api"),
    ("api", "/health/live", "api"),
    ("api", "/api/docs", "docs"),
    ("web", "/signin", "web"),
    ("web", "/no-such-page", "web"),
]


@pytest.fixture
def serve_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DATABASE_URL", UNCONNECTED)
    monkeypatch.setenv("GRANTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GRANTS_SESSION_SECRET", "ab" * 32)
    monkeypatch.setenv("GRANTS_API_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("GRANTS_LOG_LEVEL", "WARNING")
    return monkeypatch


async def _get(app: Any, path: str, base: str = "http://test") -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as http:
        return await http.get(path)


async def test_every_serve_mode_sends_the_security_headers(serve_env: pytest.MonkeyPatch) -> None:
    apps = {mode: factory() for mode, factory in FACTORIES.items()}
    failures: list[str] = []
    for mode, path, kind in PATHS:
        response = await _get(apps[mode], path)
        h = response.headers
        got = (
            h.get("x-content-type-options"),
            h.get("x-frame-options"),
            h.get("referrer-policy"),
            "frame-ancestors 'none'" in h.get("content-security-policy", ""),
            "strict-transport-security" in h,
        )
        if got != ("nosniff", "DENY", "same-origin", True, False):
            failures.append(f"{mode} {path} ({response.status_code}): {got}")
        csp = h.get("content-security-policy", "")
        if kind == "api" and csp != DEFAULT_CSP:
            failures.append(f"{mode} {path}: API CSP {csp!r}")
        if kind == "docs" and csp != DOCS_CSP:
            failures.append(f"{mode} {path}: docs CSP {csp!r}")
        if kind == "web" and ("script-src 'self'" not in csp or "unsafe-inline" in csp):
            failures.append(f"{mode} {path}: web CSP {csp!r}")
    assert failures == []


async def test_hsts_only_over_https(serve_env: pytest.MonkeyPatch) -> None:
    plain = cli.api_app_factory()
    over_http = await _get(plain, "/health/live")
    over_https = await _get(plain, "/health/live", base="https://test")
    serve_env.setenv("GRANTS_PUBLIC_BASE_URL", "https://grants.example.kg")
    behind_proxy = await _get(cli.combined_app_factory(), "/health/live")
    assert "strict-transport-security" not in over_http.headers
    assert over_https.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    assert behind_proxy.headers["strict-transport-security"] == (
        "max-age=63072000; includeSubDomains"
    )


async def test_docs_page_loads_nothing_from_another_host(serve_env: pytest.MonkeyPatch) -> None:
    """The page's every script and stylesheet is this app's own (no CDN), there is no inline
    script, and its CSP allows 'self' only; the assets it names are served."""
    app = cli.api_app_factory()
    page = await _get(app, "/api/docs")
    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    urls = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert len(urls) >= 3
    assert [u for u in urls if not u.startswith("/") or u.startswith("//")] == []
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, flags=re.S)
    assert [attrs for attrs, body in scripts if "src=" not in attrs or body.strip()] == []
    assert "http" not in page.headers["content-security-policy"]
    for url in urls:
        if url.startswith("/api/docs-assets/"):
            asset = await _get(app, url)
            assert (asset.status_code, len(asset.content) > 100) == (200, True), url
    bundle = await _get(app, "/api/docs-assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in bundle.content
    assert (await _get(app, "/api/docs-assets/swagger-editor-bundle.js")).status_code == 404
    assert (await _get(app, "/api/docs-assets/..%2Fcore.py")).status_code == 404
