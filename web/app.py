"""The HTMX frontend: a separate Litestar app that reads and writes only through the API client.

Until the web issue lands it serves one honest page: what the service is and the seven project
territories, fetched from the API through `contracts.client` (proving the layering end to end).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from contracts.client import ApiError, GrantsClient

HERE = Path(__file__).resolve().parent
ClientFactory = Callable[[], GrantsClient]


@get("/", operation_id="GetHomePage", include_in_schema=False)
async def home(request: Request[None, None, State], state: State) -> Template:
    client: GrantsClient = state.client_factory()
    territories = []
    error = None
    try:
        territories = (await client.list_territories()).items
    except ApiError as exc:
        error = exc.problem.detail
    lang = request.query_params.get("lang", "en")
    if lang not in {"en", "ru", "ky"}:
        lang = "en"
    return Template(
        template_name="home.html",
        context={"territories": territories, "error": error, "lang": lang},
    )


def create_web_app(client_factory: ClientFactory) -> Litestar:
    """`client_factory` returns a client bound to the API (in-process or over HTTP)."""
    return Litestar(
        route_handlers=[
            home,
            create_static_files_router(path="/static", directories=[HERE / "static"]),
        ],
        template_config=TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine),
        state=State({"client_factory": client_factory}),
        openapi_config=None,
    )
