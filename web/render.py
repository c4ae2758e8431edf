"""One way to answer with a page: the full page, or for an htmx request the block it targets.

Convention (DESIGN.md): a template's fragment block is named after the DOM id it replaces
(`hx-target="#budget-table"` → `{% block budget_table %}`). A boosted request, or one whose
target names no block, gets the whole page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment
from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import MediaType, Request
from litestar.response import Redirect, Response

from web import i18n
from web.session import current_user, pop_flashes


def block_for(request: Request[Any, Any, Any], template_name: str) -> str | None:
    headers = request.headers
    if headers.get("hx-request") != "true" or headers.get("hx-boosted") == "true":
        return None
    target = (headers.get("hx-target") or "").strip().lstrip("#").replace("-", "_")
    if not target:
        return None
    env: Environment = request.app.template_engine.engine  # type: ignore[union-attr]  # Jinja engine set by create_web_app
    template = env.get_template(template_name)
    return target if target in template.blocks else None


def base_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    user = current_user(request)
    return {
        "user": user,
        "lang": i18n.current_language(),
        "number_symbols": i18n.number_symbols(),
        "languages": i18n.LANGUAGE_NAMES,
        "path": request.url.path,
        "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "flashes": pop_flashes(request) if "session" in request.scope else [],
    }


def page(
    request: Request[Any, Any, Any],
    template_name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    block: str | None = None,
    whole: bool = False,
    headers: Mapping[str, str] | None = None,
) -> HTMXBlockTemplate:
    """`block` forces a fragment; `whole` forces the full page even for an htmx request."""
    ctx = base_context(request)
    if context:
        ctx.update(context)
    chosen = None if whole else (block or block_for(request, template_name))
    return HTMXBlockTemplate(
        template_name=template_name,
        context=ctx,
        status_code=status,
        block_name=chosen,
        headers=dict(headers or {}),
        media_type=MediaType.HTML,
    )


def redirect(request: Request[Any, Any, Any], location: str) -> Response[Any]:
    """POST → redirect → GET; an htmx request (not boosted) is told to navigate instead."""
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true":
        return Response(content=b"", status_code=204, headers={"HX-Location": location})
    return Redirect(path=location, status_code=303)
