"""The API application: `create_app(settings)` builds the Litestar app under /api/v1."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Router
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import OpenAPI

import contracts.common
from service.audit.controllers import AuditController
from service.awards.controllers import GrantController, LedgerController, TrancheController
from service.bodies import StrictRequest
from service.calls.controllers import CallController, WindowController
from service.context import PaymentPolicy
from service.decisions.controllers import WindowDecisionController
from service.dependencies import provide_context, provide_session
from service.docs import DOCS_PREFIX, SelfHostedSwaggerPlugin, docs_router
from service.documents.controllers import DOCUMENT_CONTROLLERS
from service.finance.controllers import ExchangeRateController, FundingSourceController
from service.finance.views import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from service.finance.views_controllers import FinanceViewController
from service.health import live, ready
from service.identity.authn import AuthenticationMiddleware
from service.identity.controllers import (
    ApiKeyController,
    AuthController,
    OrganisationController,
    UserController,
)
from service.identity.ratelimit import ApiRateLimits
from service.imports.controllers import ImportController
from service.logging import RequestIdMiddleware, configure_logging
from service.metrics import MetricsMiddleware
from service.notifications.controllers import NotificationPreferenceController
from service.openapi import (
    RATE_LIMIT_COMPONENTS,
    SECURITY_COMPONENTS,
    document_common_refusals,
    document_download_media_types,
    document_multipart_file_types,
    enforce_struct_constraints,
    fix_options_allow,
)
from service.opendata.controllers import OpenDataController, document_decimal_numbers
from service.pcc.controllers import (
    ActionPlanController,
    ActionPlanItemController,
    PccController,
    TerritoryController,
)
from service.persistence.database import Database, resolve_database_url
from service.problems import EXCEPTION_HANDLERS
from service.proposals.controllers import (
    AttachmentController,
    ProposalController,
    WindowProposalController,
)
from service.reports.controllers import GrantReportController, ReportController
from service.reviews.controllers import (
    AssignmentController,
    ProposalReviewController,
    ReviewController,
    RubricController,
    WindowAssignmentController,
    WindowReviewController,
)
from service.reviews.ranking_controllers import (
    AssignmentRemovalController,
    ReminderController,
    WindowBoardController,
)
from service.selection.controllers import (
    DecisionChangeController,
    DecisionController,
    SelectionRunController,
    WindowSelectionController,
)
from service.settings import Settings
from service.transparency.controllers import TransparencyController
from service.webhooks.controllers import WebhookDeliveryController, WebhookSubscriptionController

API_PREFIX = "/api/v1"
API_VERSION = "1.0.0"

API_CONTROLLERS: list[Any] = [
    AuthController,
    UserController,
    OrganisationController,
    ApiKeyController,
    TerritoryController,
    PccController,
    ActionPlanController,
    ActionPlanItemController,
    ImportController,
    FundingSourceController,
    ExchangeRateController,
    FinanceViewController,
    TransparencyController,
    OpenDataController,
    WebhookSubscriptionController,
    WebhookDeliveryController,
    NotificationPreferenceController,
    AuditController,
    CallController,
    WindowController,
    WindowProposalController,
    ProposalController,
    AttachmentController,
    WindowReviewController,
    WindowAssignmentController,
    RubricController,
    ProposalReviewController,
    AssignmentController,
    ReviewController,
    WindowBoardController,
    ReminderController,
    AssignmentRemovalController,
    WindowSelectionController,
    SelectionRunController,
    DecisionController,
    DecisionChangeController,
    WindowDecisionController,
    GrantController,
    TrancheController,
    LedgerController,
    GrantReportController,
    ReportController,
    *DOCUMENT_CONTROLLERS,
]


def _request_structs() -> dict[str, type[msgspec.Struct]]:
    """Every request body type by name (they refuse unknown fields)."""
    seen: dict[str, type[msgspec.Struct]] = {}
    stack: list[type[msgspec.Struct]] = [contracts.common.Request, contracts.common.I18nText]
    while stack:
        cls = stack.pop()
        seen[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    return seen


def _request_struct_names() -> set[str]:
    return set(_request_structs())


def _forbid_additional_properties(schema: OpenAPI) -> None:
    """msgspec's `forbid_unknown_fields` is not emitted as `additionalProperties: false`
    (litestar #4575); the contract must say it, so that clients and fuzzers know."""
    names = _request_struct_names()
    components = schema.components
    if components is None or components.schemas is None:
        return
    for name, comp in components.schemas.items():
        if name in names:
            comp.additional_properties = False


DOWNLOAD_MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    "GetLedgerExport": (CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE),
}
UPLOAD_MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    "CreateActionPlanImport": (CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE),
    "CreateOrganisationImport": (CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE),
}


_CONTRACT: OpenAPI | None = None
"""The contract as the first app of this process finished it (`_contract_of`)."""


def _contract_of(app: Litestar) -> None:
    """The app's OpenAPI document: generated and finished (what Litestar does not say by itself)
    for the first app of the process, then reused by every later one. It depends on the routes
    alone, the same in every app (`API_CONTROLLERS`; no setting adds or changes one), and nothing
    changes it once finished; generating it is most of `create_app`'s time (~0.4 s), which a
    process building many apps (the tests: one per test module or test) paid each time."""
    global _CONTRACT
    plugin = app.plugins.get(OpenAPIPlugin)
    if _CONTRACT is not None:
        # Litestar generates it on first use into this attribute (OpenAPIPlugin.provide_openapi);
        # litestar is pinned, and tests/service/test_openapi.py compares a later app's document
        # with the committed contract.
        plugin._openapi = _CONTRACT
        return
    schema = plugin.provide_openapi()
    _forbid_additional_properties(schema)
    enforce_struct_constraints(schema, _request_structs())
    document_common_refusals(schema)
    document_download_media_types(schema, DOWNLOAD_MEDIA_TYPES)
    document_multipart_file_types(schema, UPLOAD_MEDIA_TYPES)
    document_decimal_numbers(schema)
    _CONTRACT = schema


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Litestar:
    settings = settings or Settings()
    configure_logging(json_logs=settings.log_json, level=settings.log_level)
    owns_database = database is None
    db = database or Database.from_url(
        resolve_database_url(settings),
        pool_size=settings.pool_size,
        max_overflow=settings.pool_overflow,
        role=settings.database_role or None,
    )

    async def dispose(app: Litestar) -> None:
        if owns_database:
            await db.dispose()

    def provide_settings() -> Settings:
        return settings

    api = Router(
        path=API_PREFIX,
        route_handlers=API_CONTROLLERS,
        # credentials first, before any argument (the body above all) is resolved
        middleware=[AuthenticationMiddleware()],
    )
    openapi = OpenAPIConfig(
        title="pcc-grants API",
        version=API_VERSION,
        description=(
            "Grant management for the Peacebuilding Coordination Councils of Kyrgyzstan. "
            "Money is integer minor units with an ISO 4217 code; times are UTC. Errors are "
            "RFC 9457 problem details. Integers are written as JSON integers, digits only: "
            "`100.0` and `1e3` are refused in an integer field (422)."
        ),
        path=DOCS_PREFIX,
        render_plugins=[SelfHostedSwaggerPlugin(path="/docs")],
        openapi_router=docs_router(),
        components=[SECURITY_COMPONENTS, RATE_LIMIT_COMPONENTS],
        use_handler_docstrings=True,
    )
    app = Litestar(
        route_handlers=[api, live, ready],
        dependencies={
            "session": Provide(provide_session),
            "ctx": Provide(provide_context),
            "settings": Provide(provide_settings, use_cache=True, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=StrictRequest,
        openapi_config=openapi,
        state=State(
            {
                "db": db,
                "settings": settings,
                "payments": PaymentPolicy.from_settings(settings),
                "rate_limits": ApiRateLimits.from_settings(settings, db),
            }
        ),
        on_shutdown=[dispose],
        debug=False,
        type_encoders={msgspec.Struct: msgspec.to_builtins},
    )
    _contract_of(app)
    fix_options_allow(app.routes)
    # Outermost, around the router and its exception handling, so that 404/405 answers and every
    # other response carry a request id and get an access-log line too.
    # inside it, every request timed by its route template, and /metrics (service/metrics.py)
    app.asgi_handler = RequestIdMiddleware(MetricsMiddleware(app.asgi_handler, settings, db))
    return app


def openapi_document() -> dict[str, Any]:
    """The contract as a dict, from an app that never connects to a database."""
    unconnected = Database.from_url("postgresql+asyncpg://contract@localhost:1/contract")
    app = create_app(Settings(environment="test", log_json=True), database=unconnected)
    document: dict[str, Any] = msgspec.json.decode(
        msgspec.json.encode(app.openapi_schema.to_schema())
    )
    return document


def openapi_yaml() -> str:
    import yaml

    return yaml.safe_dump(openapi_document(), sort_keys=False, allow_unicode=True, width=100)
