"""Bad input gets a 4xx problem response and leaves the database exactly as it was."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from string import Template
from typing import Any, NamedTuple

import httpx
import pytest
from litestar import Litestar, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import FundingSourceKind, Role
from service.app import create_app
from service.persistence.base import metadata
from service.persistence.database import Database
from service.persistence.models import ActionPlan, ActionPlanItem, FundingSource, Pcc, Territory
from tests.conftest import TEST_SETTINGS, MakeOrganisation, MakeUser

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:pcc-grants:problem:"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
ROOT = "body.data"
"""Where Litestar places an error about the body as a whole (a missing or unknown field, a body
that is not an object): it names the handler's `data` parameter."""
VALIDATION_SLUGS = {"validation-error", "invalid-input"}

# --- the database snapshot --------------------------------------------------------------------


JOB_QUEUE_TABLES = (
    "procrastinate_events",
    "procrastinate_jobs",
    "procrastinate_periodic_defers",
    "procrastinate_workers",
)
"""The job queue's own tables (its schema, applied by revision 0010, is not in our metadata): a
refused request must not have queued a job either."""


def _snapshot_sql() -> str:
    """One query: per table, its row count and an md5 of all its rows (so updates show too)."""
    names = [t.name for t in metadata.sorted_tables] + list(JOB_QUEUE_TABLES)
    parts = [
        f"SELECT '{name}' AS name, count(*) AS n, "  # noqa: S608  (names from our metadata)
        f"md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) AS digest "
        f'FROM "{name}" AS r'
        for name in names
    ]
    return " UNION ALL ".join(parts)


SNAPSHOT = text(_snapshot_sql())


async def snapshot(session: AsyncSession) -> dict[str, tuple[int, str]]:
    rows = (await session.execute(SNAPSHOT)).all()
    return {name: (n, digest) for name, n, digest in rows}


# --- the app, built once for the module ----------------------------------------------------------


@pytest.fixture(scope="module")
def module_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared app's private file storage (its settings are frozen: one for the module)."""
    return tmp_path_factory.mktemp("bad-input-storage")


@pytest.fixture
def storage_dir(module_storage: Path) -> Path:
    """Overrides conftest's: where this module's app keeps uploaded files."""
    return module_storage


@pytest.fixture(scope="module")
async def shared_app(module_storage: Path) -> AsyncIterator[Litestar]:
    """`create_app` (routes, the OpenAPI document: about 0.5 s) once here, not once per test: no
    test of this module changes the app's settings, and none reads /metrics."""
    unbound = Database.from_url("postgresql+asyncpg://unused@localhost:1/unused")
    settings = TEST_SETTINGS.model_copy(update={"storage_dir": module_storage})
    yield create_app(settings, database=unbound)
    await unbound.dispose()


@pytest.fixture
def app(shared_app: Litestar, db: Database) -> Iterator[Litestar]:
    """Overrides conftest's `app`: the same app, its sessions joining this test's transaction."""
    unbound = shared_app.state.db
    shared_app.state.db = db
    yield shared_app
    shared_app.state.db = unbound


# --- the world the bad requests are sent to ---------------------------------------------------


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    values: dict[str, str]


@pytest.fixture
async def world(
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    session: AsyncSession,
    territory: Territory,
) -> World:
    """Staff with tokens, and one row of each kind, each at version 2 (so version 1 is stale)."""
    officer = await make_user(Role.PROGRAMME_OFFICER)
    finance = await make_user(Role.FINANCE_OFFICER)
    admin = await make_user(Role.ADMIN)
    organisation = await make_organisation(registration_number="REG-TAKEN-1", version=2)
    pcc = Pcc(territory_id=territory.id, name={"en": "PCC of Osh"})
    session.add(pcc)
    await session.flush()
    plan = ActionPlan(
        pcc_id=pcc.id,
        title={"en": "Action plan 2025"},
        period_start=date(2025, 1, 1),
        period_end=date(2025, 12, 31),
        version=2,
    )
    session.add(plan)
    await session.flush()
    items = [
        ActionPlanItem(
            action_plan_id=plan.id,
            code=code,
            objective={"en": "Dialogue between youth and police"},
            activities="Monthly meetings",
            budget_estimate=150_000,
            version=2,
        )
        for code in ("A1", "A2")
    ]
    source = FundingSource(
        code="PBF-UNDP", name="PBF via UNDP", kind=FundingSourceKind.UN_AGENCY, version=2
    )
    session.add_all([*items, source])
    await session.flush()
    return World(
        headers={
            "anonymous": {},
            "officer": {"authorization": f"Bearer {officer.token}"},
            "finance": {"authorization": f"Bearer {finance.token}"},
            "admin": {"authorization": f"Bearer {admin.token}"},
        },
        values={
            "territory_id": str(territory.id),
            "pcc_id": str(pcc.id),
            "org_id": str(organisation.id),
            "plan_id": str(plan.id),
            "item_id": str(items[0].id),
            "source_id": str(source.id),
            "officer_email": officer.user.email,
            "unknown_id": UNKNOWN_ID,
        },
    )


# --- the table of bad requests ----------------------------------------------------------------

DROP = object()
"""A value for `j` meaning: leave this field out."""


def j(base: dict[str, Any], **changes: Any) -> str:
    """`base` with `changes` applied, as JSON text (`$name` placeholders are filled in later)."""
    merged = {**base, **changes}
    return json.dumps({k: v for k, v in merged.items() if v is not DROP})


ORG = {
    "name": "Jalal-Abad Media Lab",
    "kind": "community_media",
    "territory_id": "$territory_id",
    "founded_year": 2012,
}
REGISTRATION = {
    "email": "founder@test.example",
    "password": "a long enough passphrase",
    "full_name": "Aida Founder",
    "organisation": ORG,
}
USER = {"email": "new@test.example", "password": "a long enough passphrase", "full_name": "New"}
KEY = {"name": "partner", "scopes": ["pcc:read"]}
PLAN = {
    "pcc_id": "$pcc_id",
    "title": {"en": "Action plan 2026"},
    "period_start": "2026-01-01",
    "period_end": "2026-12-31",
}
ITEM = {
    "code": "B1",
    "objective": {"en": "Women's councils"},
    "activities": "Trainings",
    "budget_estimate": 90_000,
}
SOURCE = {"code": "LG-OSH", "name": "Osh city co-funding", "kind": "local_government"}
RATE = {"currency": "USD", "rate": "87.5000", "valid_on": "2026-03-02"}
CALL = {"title": {"en": "Youth dialogue 2026"}, "description": {"en": "Small grants"}}
INDICATOR = {"name": {"en": "Meetings held"}, "unit": "meetings", "target": "12"}


class Case(NamedTuple):
    actor: str
    method: str
    path: str
    body: str | None
    status: int
    slug: str
    field: str | None = None
    """For validation errors: the `field` one of the `errors` must name."""
    mentions: str | None = None
    """Text that issue's message must contain (when `field` is the whole body)."""
    extra: dict[str, Any] | None = None
    """Further members the problem must have, e.g. `current_version`."""


def bug(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"production bug: {reason}")


# One row per bad request, kept as a readable table rather than one argument per line.
# fmt: off
CASES = [
    # organisations
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, founded_year="old"), 422,
             "validation-error", "body.founded_year"),
        id="organisation-founded-year-not-a-number",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, founded_year=1800), 422,
             "validation-error", "body.founded_year"),
        id="organisation-founded-year-out-of-range",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, hacker=1), 422,
             "validation-error", ROOT, "`hacker`"),
        id="organisation-unknown-field",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, kind=DROP), 422,
             "validation-error", ROOT, "`kind`"),
        id="organisation-required-field-missing",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, name="n" * 301), 422,
             "validation-error", "body.name"),
        id="organisation-name-301-chars",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, name=""), 422,
             "validation-error", "body.name"),
        id="organisation-name-empty",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, name="   "), 422,
             "constraint-violation"),
        id="organisation-name-blank-refused-by-database",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, name="Osh\u0000Lab"), 422,
             "invalid-value"),
        id="organisation-name-with-nul-character",

    ),
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, kind="ngo"), 422,
             "validation-error", "body.kind"),
        id="organisation-kind-not-in-enum",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, territory_id="Osh"), 422,
             "validation-error", "body.territory_id"),
        id="organisation-territory-malformed-uuid",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, territory_id="$unknown_id"), 422,
             "invalid-input", "body.territory_id"),
        id="organisation-territory-unknown",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, registration_number="REG-TAKEN-1"), 409,
             "conflict"),
        id="organisation-registration-number-taken",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", j(ORG, email="not-an-address"), 422,
             "validation-error", "body.email"),
        id="organisation-email-malformed",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", '{"name": "Lab", "kind": ', 400, "bad-request"),
        id="organisation-body-not-json",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", json.dumps([ORG]), 422,
             "validation-error", ROOT, "`object`"),
        id="organisation-body-json-array",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", "null", 422, "validation-error", ROOT, "`object`"),
        id="organisation-body-json-null",
    ),
    pytest.param(
        Case("admin", "POST", "organisations", "", 422, "validation-error", ROOT),
        id="organisation-body-empty",
    ),
    pytest.param(
        Case("admin", "PATCH", "organisations/$org_id", j({"version": 1, "name": "New name"}),
             409, "stale-version", extra={"current_version": 2}),
        id="organisation-stale-version",
    ),
    pytest.param(
        Case("admin", "PATCH", "organisations/$org_id", j({"name": "New name"}), 422,
             "validation-error", ROOT, "`version`"),
        id="organisation-patch-without-version",
    ),
    pytest.param(
        Case("admin", "PATCH", "organisations/$org_id", j({"version": 2, "name": None}), 422,
             "validation-error", "body.name"),
        id="organisation-patch-name-null",
    ),
    pytest.param(
        Case("admin", "PATCH", "organisations/12345", j({"version": 2}), 404, "not-found"),
        id="organisation-patch-malformed-uuid-in-path",
    ),
    pytest.param(
        Case("admin", "GET", "organisations/not-a-uuid", None, 404, "not-found"),
        id="organisation-get-malformed-uuid-in-path",
    ),
    # registration, sign-in, users, API keys
    pytest.param(
        Case("anonymous", "POST", "auth/registrations",
             j(REGISTRATION, organisation={**ORG, "founded_year": "old"}), 422,
             "validation-error", "body.organisation.founded_year"),
        id="registration-nested-wrong-type",
    ),
    pytest.param(
        Case("anonymous", "POST", "auth/registrations",
             j(REGISTRATION, organisation={**ORG, "hacker": 1}), 422,
             "validation-error", "body.organisation", "`hacker`"),
        id="registration-nested-unknown-field",
    ),
    pytest.param(
        Case("anonymous", "POST", "auth/registrations", j(REGISTRATION, password="short"), 422,
             "validation-error", "body.password"),
        id="registration-password-too-short",
    ),
    pytest.param(
        Case("anonymous", "POST", "auth/registrations", j(REGISTRATION, email="$officer_email"),
             409, "conflict"),
        id="registration-email-taken",
    ),
    pytest.param(
        Case("anonymous", "POST", "auth/registrations",
             j(REGISTRATION, organisation={**ORG, "territory_id": "$unknown_id"}), 422,
             "invalid-input", "body.organisation.territory_id"),
        id="registration-territory-unknown",

    ),
    pytest.param(
        Case("anonymous", "POST", "auth/token", j({"email": "a@test.example"}), 422,
             "validation-error", ROOT, "`password`"),
        id="token-password-missing",
    ),
    pytest.param(
        Case("anonymous", "POST", "auth/token", j({"email": 5, "password": "x"}), 422,
             "validation-error", "body.email"),
        id="token-email-not-a-string",
    ),
    pytest.param(
        Case("admin", "POST", "users", j(USER, roles=["superuser"]), 422,
             "validation-error", "body.roles[0]"),
        id="user-role-not-in-enum",
    ),
    pytest.param(
        Case("admin", "POST", "users", j(USER, email="$officer_email"), 409, "conflict"),
        id="user-email-taken",
    ),
    pytest.param(
        Case("officer", "PATCH", "users/me", j({"preferred_language": "fr"}), 422,
             "validation-error", "body.preferred_language"),
        id="me-language-not-in-enum",
    ),
    pytest.param(
        Case("admin", "POST", "api-keys", j(KEY, scopes=[]), 422,
             "validation-error", "body.scopes"),
        id="api-key-without-scopes",
    ),
    pytest.param(
        Case("admin", "POST", "api-keys", j(KEY, scopes=["root"]), 422,
             "validation-error", "body.scopes[0]"),
        id="api-key-scope-not-in-enum",
    ),
    pytest.param(
        Case("admin", "POST", "api-keys", j(KEY, expires_at="2000-01-01T00:00:00Z"), 422,
             "invalid-input", "body.expires_at"),
        id="api-key-expiry-in-the-past",
    ),
    pytest.param(
        Case("admin", "POST", "api-keys", j(KEY, expires_at="tomorrow"), 422,
             "validation-error", "body.expires_at"),
        id="api-key-expiry-not-a-datetime",
    ),
    pytest.param(
        Case("admin", "POST", "api-keys", j(KEY, organisation_id="$unknown_id"), 422,
             "invalid-input", "body.organisation_id"),
        id="api-key-organisation-unknown",
    ),
    pytest.param(
        Case("admin", "DELETE", "api-keys/$unknown_id", None, 404, "not-found"),
        id="api-key-delete-unknown",
    ),
    pytest.param(
        Case("admin", "DELETE", "api-keys/key-1", None, 404, "not-found"),
        id="api-key-delete-malformed-uuid-in-path",
    ),
    # action plans
    pytest.param(
        Case("officer", "POST", "action-plans", j(PLAN, period_end="2025-12-31"), 422,
             "invalid-input", "body.period_end"),
        id="plan-period-ends-before-it-starts",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans", j(PLAN, period_start="yesterday"), 422,
             "validation-error", "body.period_start"),
        id="plan-date-not-a-date",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans", j(PLAN, period_start="2026-02-30"), 422,
             "validation-error", "body.period_start"),
        id="plan-date-impossible",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans", j(PLAN, status="archived"), 422,
             "validation-error", "body.status"),
        id="plan-status-not-in-enum",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans", j(PLAN, title={"en": ""}), 422,
             "validation-error", "body.title.en"),
        id="plan-title-empty",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans", j(PLAN, title={"en": "Plan", "fr": "Plan"}), 422,
             "validation-error", "body.title", "`fr`"),
        id="plan-title-unknown-language",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans", j(PLAN, pcc_id="$unknown_id"), 422,
             "invalid-input", "body.pcc_id"),
        id="plan-pcc-unknown",
    ),
    pytest.param(
        Case("officer", "PATCH", "action-plans/$plan_id", j({"version": 1, "status": "active"}),
             409, "stale-version", extra={"current_version": 2}),
        id="plan-stale-version",
    ),
    pytest.param(
        Case("officer", "PATCH", "action-plans/$plan_id",
             j({"version": 2, "period_end": "2024-12-31"}), 422,
             "invalid-input", "body.period_end"),
        id="plan-patch-period-ends-before-it-starts",
    ),
    pytest.param(
        Case("officer", "GET", "action-plans/plan-2025", None, 404, "not-found"),
        id="plan-get-malformed-uuid-in-path",
    ),
    pytest.param(
        Case("officer", "GET", "action-plans?cursor=not-a-cursor", None, 422,
             "invalid-input", "query.cursor"),
        id="plan-list-cursor-garbage",
    ),
    pytest.param(
        Case("officer", "GET", "action-plans?pcc_id=osh", None, 422,
             "validation-error", "query.pcc_id"),
        id="plan-list-pcc-malformed-uuid",

    ),
    pytest.param(
        Case("officer", "GET", "action-plans?limit=0", None, 422,
             "validation-error", "query.limit"),
        id="plan-list-limit-zero",

    ),
    # action-plan items and indicators
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items", j(ITEM, budget_estimate=-1), 422,
             "validation-error", "body.budget_estimate"),
        id="item-budget-negative",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items", j(ITEM, budget_estimate=1.5),
             422, "validation-error", "body.budget_estimate"),
        id="item-budget-float",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items", j(ITEM, budget_estimate="100"),
             422, "validation-error", "body.budget_estimate"),
        id="item-budget-string",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items",
             j(ITEM, budget_estimate=10**15 + 1), 422, "validation-error", "body.budget_estimate"),
        id="item-budget-too-large",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items", j(ITEM, currency="kgs"), 422,
             "validation-error", "body.currency"),
        id="item-currency-lower-case",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items", j(ITEM, currency="KGSX"), 422,
             "validation-error", "body.currency"),
        id="item-currency-four-letters",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items", j(ITEM, currency="ZZZ"), 422,
             "validation-error", "body.currency"),
        id="item-currency-not-iso-4217",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items", j(ITEM, activities="a" * 20_001),
             422, "validation-error", "body.activities"),
        id="item-activities-over-20000-chars",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items", j(ITEM, code=""), 422,
             "validation-error", "body.code"),
        id="item-code-empty",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items", j(ITEM, code="A 1"), 422,
             "validation-error", "body.code"),
        id="item-code-with-space",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items", j(ITEM, code="A1"), 409,
             "conflict"),
        id="item-code-taken",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items", j(ITEM, target_groups=["y"] * 31),
             422, "validation-error", "body.target_groups"),
        id="item-too-many-target-groups",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items",
             j(ITEM, indicators=[{**INDICATOR, "target": "lots"}]), 422,
             "validation-error", "body.indicators[0].target"),
        id="item-indicator-target-not-a-decimal",
    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items",
             j(ITEM, indicators=[{**INDICATOR, "target": "1e30"}]), 422,
             "invalid-input", "body.indicators[0].target"),
        id="item-indicator-target-too-large",

    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$plan_id/items",
             j(ITEM, indicators=[{**INDICATOR, "target": "NaN"}]), 422,
             "invalid-input", "body.indicators[0].target"),
        id="item-indicator-target-nan",

    ),
    pytest.param(
        Case("officer", "POST", "action-plans/$unknown_id/items", j(ITEM), 404, "not-found"),
        id="item-of-unknown-plan",
    ),
    pytest.param(
        Case("officer", "PATCH", "action-plan-items/$item_id", j({"version": 1, "code": "A9"}),
             409, "stale-version", extra={"current_version": 2}),
        id="item-stale-version",
    ),
    pytest.param(
        Case("officer", "PATCH", "action-plan-items/$item_id", j({"version": 2, "code": "A2"}),
             409, "conflict"),
        id="item-patch-code-taken",
    ),
    pytest.param(
        Case("officer", "PATCH", "action-plan-items/A1", j({"version": 2}), 404, "not-found"),
        id="item-patch-malformed-uuid-in-path",
    ),
    # funding sources
    pytest.param(
        Case("finance", "POST", "funding-sources", j(SOURCE, code="PBF-UNDP"), 409, "conflict"),
        id="source-code-taken",
    ),
    pytest.param(
        Case("finance", "POST", "funding-sources", j(SOURCE, kind="bank"), 422,
             "validation-error", "body.kind"),
        id="source-kind-not-in-enum",
    ),
    pytest.param(
        Case("finance", "POST", "funding-sources", j(SOURCE, currency="usd"), 422,
             "validation-error", "body.currency"),
        id="source-currency-lower-case",
    ),
    pytest.param(
        Case("finance", "POST", "funding-sources", j(SOURCE, currency="ZZZ"), 422,
             "validation-error", "body.currency"),
        id="source-currency-not-iso-4217",
    ),
    pytest.param(
        Case("finance", "POST", "exchange-rates", j(RATE, currency="QQQ"), 422,
             "validation-error", "body.currency"),
        id="rate-currency-not-iso-4217",
    ),
    pytest.param(
        Case("finance", "POST", "exchange-rates", j(RATE, quote_currency="ABC"), 422,
             "validation-error", "body.quote_currency"),
        id="rate-quote-currency-not-iso-4217",
    ),
    pytest.param(
        Case("officer", "POST", "calls", j(CALL, currency="XYZ"), 422,
             "validation-error", "body.currency"),
        id="call-currency-not-iso-4217",
    ),
    pytest.param(
        Case("finance", "GET", "finance/summary?by=call&currency=ZZZ", None, 422,
             "validation-error", "query.currency"),
        id="finance-summary-currency-not-iso-4217",
    ),
    pytest.param(
        Case("anonymous", "GET", "public/grants?currency=ZZZ", None, 422,
             "validation-error", "query.currency"),
        id="transparency-currency-not-iso-4217",
    ),
    pytest.param(
        Case("finance", "POST", "funding-sources", j(SOURCE, name=""), 422,
             "validation-error", "body.name"),
        id="source-name-empty",
    ),
    pytest.param(
        Case("finance", "POST", "funding-sources", j(SOURCE, name="n" * 301), 422,
             "validation-error", "body.name"),
        id="source-name-301-chars",
    ),
    pytest.param(
        Case("finance", "POST", "funding-sources", j(SOURCE, hacker=1), 422,
             "validation-error", ROOT, "`hacker`"),
        id="source-unknown-field",
    ),
    pytest.param(
        Case("finance", "PATCH", "funding-sources/$source_id", j({"version": 1, "name": "X"}),
             409, "stale-version", extra={"current_version": 2}),
        id="source-stale-version",
    ),
    pytest.param(
        Case("finance", "PATCH", "funding-sources/$source_id", j({"version": 0}), 422,
             "validation-error", "body.version"),
        id="source-patch-version-zero",
    ),
    pytest.param(
        Case("finance", "PATCH", "funding-sources/$source_id", j({"version": 2, "code": "NEW"}),
             422, "validation-error", ROOT, "`code`"),
        id="source-patch-code-is-not-editable",
    ),
    pytest.param(
        Case("finance", "DELETE", "funding-sources/1", None, 404, "not-found"),
        id="source-delete-malformed-uuid-in-path",
    ),
]
# fmt: on


@pytest.mark.parametrize("case", CASES)
async def test_bad_input_is_refused_without_changing_the_database(
    case: Case, world: World, http: httpx.AsyncClient, session: AsyncSession
) -> None:
    path = Template(case.path).substitute(world.values)
    body = None if case.body is None else Template(case.body).substitute(world.values)
    headers = {**world.headers[case.actor], "content-type": "application/json"}
    before = await snapshot(session)

    response = await http.request(case.method, path, content=body, headers=headers)

    after = await snapshot(session)
    problem = response.json()
    assert (response.status_code, response.headers["content-type"]) == (case.status, PROBLEM_JSON)
    assert problem["type"] == TYPE_PREFIX + case.slug
    assert problem["status"] == response.status_code
    assert isinstance(problem["title"], str)
    assert problem["title"] != ""
    assert problem.get("request_id") == response.headers.get("x-request-id")
    for name, value in (case.extra or {}).items():
        assert problem[name] == value
    if case.slug in VALIDATION_SLUGS:
        issues = {issue["field"]: issue["message"] for issue in problem["errors"]}
        assert case.field in issues
        assert (case.mentions or "") in issues[case.field]
    else:
        assert problem.get("errors") is None
    assert after == before


async def test_snapshot_covers_every_table_of_the_schema(session: AsyncSession) -> None:
    in_database = (
        (
            await session.execute(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' "
                    "AND table_name <> 'alembic_version'"
                )
            )
        )
        .scalars()
        .all()
    )

    assert sorted((await snapshot(session)).keys()) == sorted(in_database)


async def test_snapshot_notices_an_update(world: World, session: AsyncSession) -> None:
    before = await snapshot(session)

    await session.execute(
        text("UPDATE funding_source SET name = 'Renamed' WHERE id = :id"),
        {"id": world.values["source_id"]},
    )
    after = await snapshot(session)

    assert after["funding_source"][0] == before["funding_source"][0]
    assert after["funding_source"][1] != before["funding_source"][1]
    assert {k: v for k, v in after.items() if k != "funding_source"} == {
        k: v for k, v in before.items() if k != "funding_source"
    }


# --- errors outside the handlers --------------------------------------------------------------


def register_boom(app: Litestar) -> None:
    """GET /boom raises inside its handler; once per app (the module's app is shared)."""
    if any(route.path == "/boom" for route in app.routes):
        return

    @get("/boom", operation_id="GetBoom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.register(boom)


async def test_unhandled_exception_is_a_500_problem_without_internals(
    app: Litestar, http: httpx.AsyncClient
) -> None:
    register_boom(app)

    response = await http.get("http://test/boom")

    problem = response.json()
    assert (response.status_code, response.headers["content-type"]) == (500, PROBLEM_JSON)
    assert (problem["type"], problem["status"]) == (TYPE_PREFIX + "internal-error", 500)
    assert "Traceback" not in response.text
    assert "secret internals" not in response.text
    assert "RuntimeError" not in response.text
    assert re.fullmatch(r"[0-9a-f]{32}", problem["request_id"]) is not None
    assert response.headers["x-request-id"] == problem["request_id"]
    assert problem["request_id"] in problem["detail"]


async def test_client_request_id_is_echoed_in_header_and_problem(
    app: Litestar, http: httpx.AsyncClient
) -> None:
    register_boom(app)

    response = await http.get("http://test/boom", headers={"x-request-id": "abc-123"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "abc-123"
    assert response.json()["request_id"] == "abc-123"


async def test_unsafe_client_request_id_is_replaced(app: Litestar, http: httpx.AsyncClient) -> None:
    register_boom(app)

    response = await http.get("http://test/boom", headers={"x-request-id": "a b<script>"})

    rid = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid) is not None
    assert response.json()["request_id"] == rid


async def test_unknown_route_is_a_404_problem(http: httpx.AsyncClient) -> None:
    response = await http.get("no-such-collection")

    problem = response.json()
    assert (response.status_code, response.headers["content-type"]) == (404, PROBLEM_JSON)
    assert (problem["type"], problem["status"]) == (TYPE_PREFIX + "not-found", 404)
    assert problem["title"] == "Not found"


async def test_wrong_method_is_a_405_problem(http: httpx.AsyncClient) -> None:
    response = await http.put("territories", json={})

    problem = response.json()
    assert (response.status_code, response.headers["content-type"]) == (405, PROBLEM_JSON)
    assert (problem["type"], problem["status"]) == (TYPE_PREFIX + "method-not-allowed", 405)
    assert problem["title"] == "Method not allowed"
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "OPTIONS"}


async def test_unknown_route_problem_carries_the_request_id(http: httpx.AsyncClient) -> None:
    response = await http.get("no-such-collection", headers={"x-request-id": "abc-123"})

    assert response.headers.get("x-request-id") == "abc-123"
    assert response.json().get("request_id") == "abc-123"
