"""The API's documentation page, served entirely by the app (no CDN: offices on filtered or
offline networks saw a blank page).

Swagger UI's files come from the pinned `swagger-ui-py` wheel; `docs.js` (ours) starts it, so the
page has no inline script and its Content-Security-Policy allows only 'self'."""

from __future__ import annotations

import html
import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import SwaggerRenderPlugin

DOCS_PREFIX = "/api"
ASSETS_PATH = "/docs-assets"

DOCS_CSP = "; ".join(
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
"""Only this origin: the page, its scripts and styles, and the contract it fetches."""


def _swagger_dir() -> Path:
    spec = importlib.util.find_spec("swagger_ui")  # found, not imported: no handlers loaded
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (it is a pinned dependency)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


_ASSETS: dict[str, tuple[str, str]] = {
    # name: (where, media type); nothing else of either folder is served
    "swagger-ui-bundle.js": ("swagger", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("swagger", "text/css; charset=utf-8"),
    "docs.js": ("service", "text/javascript; charset=utf-8"),
}


@cache
def asset_bytes(name: str) -> bytes:
    where, _ = _ASSETS[name]
    folder = _swagger_dir() if where == "swagger" else Path(__file__).parent / "static"
    return (folder / name).read_bytes()


@get(f"{ASSETS_PATH}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def docs_asset(name: str) -> Response[bytes]:
    if name not in _ASSETS:
        raise NotFoundException()
    return Response(
        asset_bytes(name),
        media_type=_ASSETS[name][1],
        headers={"Cache-Control": "public, max-age=86400"},
    )


class SelfHostedSwaggerPlugin(SwaggerRenderPlugin):
    """Swagger UI from this app's own asset route, started by `docs.js`."""

    def __init__(self, path: str = "/docs") -> None:
        assets = f"{DOCS_PREFIX}{ASSETS_PATH}"
        super().__init__(
            path=path,
            js_url=f"{assets}/swagger-ui-bundle.js",
            css_url=f"{assets}/swagger-ui.css",
            standalone_preset_js_url=f"{assets}/docs.js",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        spec_url = html.escape(self.get_openapi_json_route(request), quote=True)
        return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{title}</title>
    <link rel="stylesheet" href="{self.css_url}">
  </head>
  <body>
    <noscript>The API documentation needs JavaScript; the contract itself is at
      <a href="{spec_url}">{spec_url}</a>.</noscript>
    <div id="swagger-ui" data-spec-url="{spec_url}"></div>
    <script src="{self.js_url}"></script>
    <script src="{self.standalone_preset_js_url}"></script>
  </body>
</html>
""".encode()


def docs_router() -> Router:
    """The router the OpenAPI document and its page are registered on: every response of it
    carries the docs' own CSP (the security-headers middleware leaves an existing one alone)."""
    return Router(
        path=DOCS_PREFIX,
        route_handlers=[docs_asset],
        include_in_schema=False,
        response_headers=[ResponseHeader(name="Content-Security-Policy", value=DOCS_CSP)],
    )
