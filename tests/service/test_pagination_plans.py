"""Every list is answered by an index scan that starts at its cursor, with no sort (issue 16).

On generated tables of 100,000 rows (INSERT … SELECT generate_series, copies of the demo's rows),
the statements the list use cases really send are captured and `EXPLAIN`ed with the same
parameters: the first page, a deep keyset page (a cursor 90 % of the way in) and each filter and
sort. The listed table is read by an Index Scan (or Index Only Scan), and no Sort node appears
anywhere in the plan: the page costs the same at 100,000 rows as at 11."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from contracts.enums import ProposalStatus, Role
from contracts.permissions import Actor
from service.context import RequestContext
from service.demo import load_demo_data
from service.finance import rates as rates_service
from service.finance import service as finance_service
from service.identity import service as identity_service
from service.pagination import encode_cursor
from service.persistence.database import Database
from service.proposals import service as proposals_service
from tests.conftest import Server

pytestmark = pytest.mark.race  # real commits, in a database of its own

ROWS = 100_000
STAFF = RequestContext(
    actor=Actor(
        kind="user",
        id=uuid.uuid4(),
        label="user:plans@test.example",
        roles=frozenset({Role.ADMIN, Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER}),
    )
)

# column → SQL expression (of g, 1..ROWS, and p, the copied row) for the generated copies
CLONES: dict[str, dict[str, str]] = {
    "proposal": {
        "id": "gen_random_uuid()",
        "status": "(ARRAY['draft', 'withdrawn'])[1 + g % 2]",
        "title": "'Generated proposal ' || g",
        "requested_amount": "p.requested_amount + g",
        "receipt_number": "NULL",
        "submitted_at": "NULL",
        "withdrawn_at": "CASE WHEN g % 2 = 1 THEN now() END",
        "snapshot": "NULL",
        "created_at": "now() - interval '400 days' + g * interval '5 minutes'",
    },
    "app_user": {
        "id": "gen_random_uuid()",
        "email": "'gen' || g || '@plans.example'",
        "created_at": "now() - interval '400 days' + g * interval '5 minutes'",
    },
    "organisation": {
        "id": "gen_random_uuid()",
        "registration_number": "'GEN-' || g",
        "created_at": "now() - interval '400 days' + g * interval '5 minutes'",
    },
    "funding_source": {
        "id": "gen_random_uuid()",
        "code": "'GEN' || g",
        "created_at": "now() - interval '400 days' + g * interval '5 minutes'",
    },
    "exchange_rate": {
        "id": "gen_random_uuid()",
        "currency": "(ARRAY['USD', 'EUR', 'RUB', 'KZT'])[1 + g % 4]",
        "valid_on": "DATE '1800-01-01' + g",
        "created_at": "now() - interval '400 days' + g * interval '5 minutes'",
    },
}


_SEED_RATE = text(
    "INSERT INTO exchange_rate (id, currency, quote_currency, rate, valid_on, created_by) "
    "SELECT gen_random_uuid(), 'USD', 'KGS', 88.1, DATE '1799-12-31', id FROM app_user LIMIT 1"
)


async def _clone(conn: AsyncConnection, table: str, overrides: dict[str, str]) -> None:
    columns = [
        r[0]
        for r in await conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
                "AND table_schema = current_schema() AND is_generated = 'NEVER' "
                "ORDER BY ordinal_position"
            ),
            {"t": table},
        )
    ]
    types = dict(
        (
            await conn.execute(
                text(
                    "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0"
                ),
                {"t": table},
            )
        ).all()
    )
    select = ", ".join(
        f"CAST({overrides[c]} AS {types[c]})" if c in overrides else f"p.{c}" for c in columns
    )
    await conn.execute(
        text(
            f'INSERT INTO "{table}" ({", ".join(columns)}) SELECT {select} '  # noqa: S608  (names from the catalogue)
            f"FROM generate_series(1, {ROWS}) g, "
            f'(SELECT * FROM "{table}" ORDER BY created_at LIMIT 1) p'
        )
    )


@pytest.fixture(scope="module")
async def big(server: Server, template_db: str) -> AsyncIterator[Database]:
    """The demo's data plus 100,000 generated rows in each listed table, analysed (a database
    of this module's own, dropped after)."""
    name = f"grants_plans_{uuid.uuid4().hex[:10]}"
    database = Database.from_url(await server.create_database(name, template=template_db))
    async with database.session() as session:
        await load_demo_data(session)
        await session.commit()
    assert database.engine is not None
    async with database.engine.begin() as conn:
        await conn.execute(_SEED_RATE)
        for table, overrides in CLONES.items():
            await _clone(conn, table, overrides)
    async with database.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in CLONES:
            await conn.execute(text(f'ANALYZE "{table}"'))
    try:
        yield database
    finally:
        await database.dispose()
        await server.drop_database(name)


class Captured:
    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


async def _plan_of(
    database: Database, table: str, use_case: Callable[[AsyncSession], Awaitable[Any]]
) -> list[dict[str, Any]]:
    """Run the list use case, take the statement it sent that reads ``table`` with a LIMIT,
    and EXPLAIN it with the same parameters; the plan's nodes."""
    assert database.engine is not None
    captured = Captured()

    def before(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.statements.append((statement, params))

    event.listen(database.engine.sync_engine, "before_cursor_execute", before)
    try:
        async with database.session() as session:
            await use_case(session)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", before)
    listing = [(s, p) for s, p in captured.statements if f"FROM {table}" in s and "LIMIT" in s]
    assert len(listing) == 1, captured.statements
    statement, params = listing[0]
    async with database.engine.connect() as conn:
        raw = (
            await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params)
        ).scalar_one()
    plan = json.loads(raw) if isinstance(raw, str) else raw
    return list(_walk(plan[0]["Plan"]))


def _problems(nodes: list[dict[str, Any]], table: str) -> list[str]:
    found = [f"{n['Node Type']} node" for n in nodes if "Sort" in n["Node Type"]]
    scans = [n for n in nodes if n.get("Relation Name") == table]
    found += [f"{n['Node Type']} on {table}" for n in scans if "Index" not in n["Node Type"]]
    if not scans:
        found.append(f"{table} not read")
    return found


async def _cursor_at(database: Database, table: str, sort: str, descending: bool) -> str:
    assert database.engine is not None
    order = f"{sort} DESC, id DESC" if descending else f"{sort}, id"
    async with database.engine.connect() as conn:
        value, row_id = (
            await conn.execute(
                text(
                    f'SELECT {sort}, id FROM "{table}" ORDER BY {order} '  # noqa: S608  (constants)
                    f"OFFSET {int(ROWS * 0.9)} LIMIT 1"
                )
            )
        ).one()
    return encode_cursor(value, row_id)


PROPOSAL_SORTS = (
    ("created_at", "created_at", False),
    ("-created_at", "created_at", True),
    ("requested_amount", "requested_amount", False),
    ("-requested_amount", "requested_amount", True),
    ("title", "title", False),
    ("-title", "title", True),
)


async def test_proposal_lists_are_index_scans_without_sort_at_100000_rows(big: Database) -> None:
    assert big.engine is not None
    async with big.engine.connect() as conn:
        window_id, org_id = (
            await conn.execute(
                text("SELECT window_id, organisation_id FROM proposal ORDER BY created_at LIMIT 1")
            )
        ).one()
        count = (await conn.execute(text("SELECT count(*) FROM proposal"))).scalar_one()
    assert count > ROWS
    applicant = RequestContext(
        actor=Actor(
            kind="user", id=uuid.uuid4(), label="user:a", organisation_ids=frozenset({org_id})
        )
    )
    cases: dict[str, tuple[RequestContext, dict[str, Any]]] = {}
    for sort, column, descending in PROPOSAL_SORTS:
        deep = await _cursor_at(big, "proposal", column, descending)
        cases[f"sort={sort}"] = (STAFF, {"sort": sort})
        cases[f"sort={sort}, deep page"] = (STAFF, {"sort": sort, "cursor": deep})
    deep = await _cursor_at(big, "proposal", "created_at", False)
    for name, filters in (
        ("status", {"status": ProposalStatus.WITHDRAWN}),
        ("window", {"window_id": window_id}),
    ):
        cases[f"{name} filter"] = (STAFF, filters)
        cases[f"{name} filter, deep page"] = (STAFF, {**filters, "cursor": deep})
    cases["an applicant's own"] = (applicant, {})
    cases["an applicant's own, deep page"] = (applicant, {"cursor": deep})

    problems: dict[str, list[str]] = {}
    for name, (ctx, args) in cases.items():
        kwargs: dict[str, Any] = {
            "window_id": None,
            "status": None,
            "territory_id": None,
            "organisation_kind": None,
            "sort": "created_at",
            "cursor": None,
            "limit": 50,
            **args,
        }

        async def list_them(
            session: AsyncSession, ctx: RequestContext = ctx, kwargs: dict[str, Any] = kwargs
        ) -> Any:
            return await proposals_service.list_proposals(session, ctx, **kwargs)

        found = _problems(await _plan_of(big, "proposal", list_them), "proposal")
        if found:
            problems[name] = found

    assert problems == {}


SIMPLE_LISTS: dict[str, Callable[[AsyncSession, str | None], Awaitable[Any]]] = {
    "app_user": lambda s, cur: identity_service.list_users(s, STAFF, cur, 50),
    "organisation": lambda s, cur: identity_service.list_organisations(s, STAFF, cur, 50),
    "funding_source": lambda s, cur: finance_service.list_sources(s, STAFF, cur, 50),
}


async def test_other_lists_are_index_scans_without_sort_at_100000_rows(big: Database) -> None:
    problems: dict[str, list[str]] = {}
    for table, use_case in SIMPLE_LISTS.items():
        deep = await _cursor_at(big, table, "created_at", False)
        for page, cursor in (("first page", None), ("deep page", deep)):

            async def run(
                session: AsyncSession,
                use_case: Callable[[AsyncSession, str | None], Awaitable[Any]] = use_case,
                cursor: str | None = cursor,
            ) -> Any:
                return await use_case(session, cursor)

            found = _problems(await _plan_of(big, table, run), table)
            if found:
                problems[f"{table}, {page}"] = found
    deep = await _cursor_at(big, "exchange_rate", "valid_on", True)
    for name, currency, cursor in (
        ("first page", None, None),
        ("deep page", None, deep),
        ("currency filter", "USD", None),
    ):

        async def rates(
            session: AsyncSession, currency: str | None = currency, cursor: str | None = cursor
        ) -> Any:
            return await rates_service.list_rates(
                session, STAFF, currency=currency, cursor=cursor, limit=50
            )

        found = _problems(await _plan_of(big, "exchange_rate", rates), "exchange_rate")
        if found:
            problems[f"exchange_rate, {name}"] = found

    assert problems == {}
