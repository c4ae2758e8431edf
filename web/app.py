"""The HTMX frontend: a separate Litestar app that reads and writes only through the API client.

`create_web_app(client_factory, config)`: `client_factory` returns a `GrantsClient` bound to the
API (in-process or over HTTP); `config` carries the session secret shared by every worker.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment
from litestar import Litestar, Request
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.exceptions import HTTPException
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import Message, Scope

from contracts.client import ApiError, GrantsClient
from web import i18n, labels
from web.config import WebConfig
from web.errors import (
    SignInRequired,
    handle_api_error,
    handle_http,
    handle_sign_in_required,
    handle_unexpected,
)
from web.routes import ROUTES
from web.session import session_language

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
ClientFactory = Callable[[], GrantsClient]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


async def security_headers(message: Message, scope: Scope) -> None:
    """Every web response — error pages of unknown paths included, which no route middleware
    sees — carries the strict CSP (no inline code anywhere) and its companions."""
    if message["type"] == "http.response.start":
        present = {name.lower() for name, _ in message.get("headers", [])}
        extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
        message["headers"] = [*message.get("headers", []), *extra]


def resolve_language(request: Request[Any, Any, Any]) -> str:
    """A `?lang=` in the address (a shared link), else the person's choice (kept in the session,
    set from their account at sign-in), else the browser's `Accept-Language`."""
    asked = str(request.query_params.get("lang") or "")
    if asked in i18n.LANGUAGES:
        return asked
    chosen = session_language(request) if "session" in request.scope else None
    if chosen in i18n.LANGUAGES:
        return chosen
    return i18n.negotiate(request.headers.get("accept-language"))


async def set_request_language(request: Request[Any, Any, Any]) -> None:
    i18n.set_language(resolve_language(request))


@cache
def _static_version(name: str) -> str:
    path = (STATIC / name).resolve()
    if STATIC not in path.parents or not path.is_file():
        return "0"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """`/static/<name>?v=<content hash>`: cached for a year, refreshed when the file changes."""
    return f"/static/{name}?v={_static_version(name)}"


def _configure_jinja(engine: JinjaTemplateEngine) -> None:
    env: Environment = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters.update(i18n.FILTERS)
    env.filters["label"] = labels.label
    env.globals["static"] = static_url
    env.globals["field_id"] = lambda name: "f-" + str(name).replace(".", "-").replace("_", "-")
    env.trim_blocks = True
    env.lstrip_blocks = True


def create_web_app(client_factory: ClientFactory, config: WebConfig | None = None) -> Litestar:
    config = config or WebConfig(session_secret=secrets.token_bytes(32))
    prefix = config.cookie_prefix
    session = CookieBackendConfig(
        secret=config.session_secret,
        key=f"{prefix}grants-session",
        max_age=config.session_max_age,
        httponly=True,
        samesite="lax",
        secure=config.secure_cookies,
        path="/",
        exclude=["^/static/"],
    )
    csrf = CSRFConfig(
        secret=hashlib.sha256(b"csrf:" + config.session_secret).hexdigest(),
        cookie_name=f"{prefix}grants-csrf",
        cookie_secure=config.secure_cookies,
        cookie_httponly=True,
        cookie_samesite="lax",
        header_name="x-csrftoken",
    )
    return Litestar(
        route_handlers=[
            *ROUTES,
            create_static_files_router(
                path="/static",
                directories=[STATIC],
                cache_control=CacheControlHeader(max_age=31_536_000, public=True),
                include_in_schema=False,
            ),
        ],
        template_config=TemplateConfig(
            directory=HERE / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=_configure_jinja,
        ),
        middleware=[session.middleware],
        before_send=[security_headers],
        csrf_config=csrf,
        compression_config=CompressionConfig(backend="gzip", minimum_size=800),
        plugins=[HTMXPlugin()],
        before_request=set_request_language,
        exception_handlers={
            ApiError: handle_api_error,
            SignInRequired: handle_sign_in_required,
            HTTPException: handle_http,
            Exception: handle_unexpected,
        },
        state=State({"client_factory": client_factory, "config": config}),
        openapi_config=None,
    )
