"""Every list is answered by an index scan that starts at its cursor, with no sort (issue 16).

On generated tables of 100,000 rows (INSERT … SELECT generate_series, copies of the demo's rows),
the statements the list use cases really send are captured and `EXPLAIN`ed with the same
parameters: the first page, a deep keyset page (a cursor 90 % of the way in) and each filter and
sort. The listed table is read by an Index Scan (or Index Only Scan), and no Sort node appears
anywhere in the plan: the page costs the same at 100,000 rows as at 11."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from contracts.enums import GrantStatus, ProposalStatus, ReportKind, ReportStatus, Role
from contracts.permissions import Actor
from service.awards import ledger as ledger_service
from service.awards import reads as grant_reads
from service.calls import service as calls_service
from service.context import RequestContext
from service.demo import load_demo_data
from service.finance import rates as rates_service
from service.finance import service as finance_service
from service.finance import views as finance_views
from service.identity import service as identity_service
from service.pagination import encode_cursor
from service.pcc import service as pcc_service
from service.persistence.database import Database
from service.proposals import service as proposals_service
from service.reports import service as reports_service
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
    "call": {
        "id": "gen_random_uuid()",
        "status": "(ARRAY['draft', 'published', 'closed', 'archived'])[1 + g % 4]",
        "created_at": "now() - interval '400 days' + g * interval '5 minutes'",
    },
    "action_plan": {
        "id": "gen_random_uuid()",
        "status": "(ARRAY['draft', 'active', 'closed'])[1 + g % 3]",
        "created_at": "now() - interval '400 days' + g * interval '5 minutes'",
    },
    # a grant per generated proposal (proposal_id is unique): the source `s` numbers them as g
    "grant_award": {
        "id": "gen_random_uuid()",
        "proposal_id": "s.proposal_id",
        "agreement_reference": "NULL",
        "status": "(ARRAY['active', 'completed', 'terminated'])[1 + g % 3]",
        "created_at": "now() - interval '400 days' + g * interval '5 minutes'",
    },
    # the template's grant, positions after its own; half planned, half due, over 68 years
    "tranche": {
        "id": "gen_random_uuid()",
        "position": "1000 + g",
        "status": "(ARRAY['planned', 'due'])[1 + g % 2]",
        "planned_date": "DATE '2000-01-01' + g / 2",
        "approved_by": "NULL",
        "approved_at": "NULL",
        "confirmed_by": "NULL",
        "confirmed_at": "NULL",
        "cancelled_reason": "NULL",
        "created_at": "now() - interval '400 days' + g * interval '5 minutes'",
    },
    # disbursements of the template's tranche, one attempt each (one per attempt is unique)
    "ledger_entry": {
        "id": "gen_random_uuid()",
        "kind": "'disbursement'",
        "attempt": "1000 + g",
        "reverses_id": "NULL",
        "reason": "NULL",
        "value_date": "DATE '2020-01-01' + g / 50",
        "created_at": "now() - interval '400 days' + g * interval '5 minutes'",
    },
    # a split of each generated entry (the funding-source filter reads them)
    "ledger_split": {
        "id": "gen_random_uuid()",
        "ledger_entry_id": "s.ledger_entry_id",
    },
    "report": {
        "id": "gen_random_uuid()",
        "kind": "(ARRAY['progress', 'financial'])[1 + g % 2]",
        "status": "(ARRAY['draft', 'submitted'])[1 + g % 2]",
        "submitted_at": "now() - interval '400 days' + g * interval '5 minutes'",
        "created_at": "now() - interval '400 days' + g * interval '5 minutes'",
    },
}
SOURCES: dict[str, str] = {
    "grant_award": (
        "(SELECT id AS proposal_id, row_number() OVER (ORDER BY id) AS g FROM proposal "
        "WHERE title LIKE 'Generated proposal %') s"
    ),
    "ledger_split": (
        "(SELECT id AS ledger_entry_id, attempt - 1000 AS g FROM ledger_entry "
        "WHERE attempt > 1000) s"
    ),
}
"""Where a table's copies are numbered from, when not ``generate_series(1, ROWS) g``."""
TEMPLATES: dict[str, str] = {
    "ledger_entry": "kind = 'disbursement'",
    "ledger_split": "ledger_entry_id IN (SELECT id FROM ledger_entry WHERE kind = 'disbursement')",
}
"""Which rows a table's template (its oldest) is taken from, when not any."""


_SEED_RATE = text(
    "INSERT INTO exchange_rate (id, currency, quote_currency, rate, valid_on, created_by) "
    "SELECT gen_random_uuid(), 'USD', 'KGS', 88.1, DATE '1799-12-31', id FROM app_user LIMIT 1"
)
_SEED_REPORT = text(
    "INSERT INTO report (id, grant_id, kind, status, expenditure, submitted_at, version, "
    "created_by, created_at) SELECT gen_random_uuid(), id, 'progress', 'submitted', "
    "CAST('[]' AS jsonb), now(), 1, created_by, now() FROM grant_award "
    "ORDER BY created_at, id LIMIT 1"
)
"""The demo has no report: one submitted report of its first grant, the copies' template."""


async def _clone(
    conn: AsyncConnection,
    table: str,
    overrides: dict[str, str],
    source: str | None = None,
    template: str = "true",
) -> None:
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
    # the template materialised: read once, not once per copy through the copies already made
    await conn.execute(
        text(
            f'WITH p AS MATERIALIZED (SELECT * FROM "{table}" WHERE {template} '  # noqa: S608  (names from the catalogue)
            f"ORDER BY {'created_at' if 'created_at' in columns else 'id'} LIMIT 1) "
            f'INSERT INTO "{table}" ({", ".join(columns)}) SELECT {select} '
            f"FROM {source or f'generate_series(1, {ROWS}) g'}, p"
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
        # The copies' references are their template's or real rows' (SOURCES): the foreign keys'
        # per-row checks (most of the 1.2 million rows' insert time) are skipped for this
        # transaction (a superuser's setting: the tests' `postgres`). The tables have no other
        # trigger on INSERT (only the append-only ones, on UPDATE and DELETE).
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(_SEED_RATE)
        await conn.execute(_SEED_REPORT)
        for table, overrides in CLONES.items():
            await _clone(conn, table, overrides, SOURCES.get(table), TEMPLATES.get(table, "true"))
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
    reads = re.compile(rf'\bFROM "?{table}"?(?![\w"])')
    listing = [(s, p) for s, p in captured.statements if reads.search(s) and "LIMIT" in s]
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


def _node(node: dict[str, Any]) -> str:
    return " ".join(
        str(node[k])
        for k in ("Node Type", "Relation Name", "Index Name", "Sort Key", "Filter")
        if k in node
    )


async def _cursor_at(
    database: Database, table: str, sort: str, descending: bool, *, where: str | None = None
) -> str:
    """A cursor 90 % of the way into the table's rows in this order (of those ``where`` keeps,
    or whose ``where`` column is the oldest row's)."""
    assert database.engine is not None
    order = f"{sort} DESC, id DESC" if descending else f"{sort}, id"
    if where is not None and " " not in where:  # a column: the rows sharing the oldest's value
        where = f"{where} = (SELECT {where} FROM {table} ORDER BY created_at LIMIT 1)"  # noqa: S608  (constants)
    async with database.engine.connect() as conn:
        value, row_id = (
            await conn.execute(
                text(
                    f'SELECT {sort}, id FROM "{table}" WHERE {where or "true"} '  # noqa: S608
                    f"ORDER BY {order} "  # (constants)
                    f'OFFSET (SELECT count(*) * 9 / 10 FROM "{table}" WHERE {where or "true"}) '
                    "LIMIT 1"
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


KNOWN_SORTED = {
    "call: status=open, first page",
    "call: status=open, deep page",
    "report: queue, territory_id, first page",
    "report: queue, territory_id, deep page",
}
"""Not always an ordered index scan (docs/performance.md): the open calls are found through their
windows open now (a semi-join, then a sort of those few calls); the report queue's territory is
the organisation's, a joined table, so no index of the report's own orders it (the planner then
sorts, or walks the queue's order filtering on the territory, as the statistics suggest)."""

ListCall = Callable[[AsyncSession, str | None], Awaitable[Any]]
"""A list use case with its filters set; it is given the page's cursor (None: the first)."""


async def _ids(database: Database, sql: str) -> Any:
    assert database.engine is not None
    async with database.engine.connect() as conn:
        return (await conn.execute(text(sql))).one()


async def test_award_finance_and_report_lists_are_index_scans_without_sort_at_100000_rows(
    big: Database,
) -> None:
    """Calls, action plans, grants, the ledger, a grant's reports, the report queue and the
    upcoming tranches: each filter, first page and a deep keyset page."""
    (pcc_id,) = await _ids(big, "SELECT pcc_id FROM action_plan ORDER BY created_at LIMIT 1")
    window_id, org_id = await _ids(
        big, "SELECT window_id, organisation_id FROM grant_award ORDER BY created_at LIMIT 1"
    )
    # the grant, tranche and funding source of the generated entries (100,000 each)
    grant_id, tranche_id, source_id = await _ids(
        big,
        "SELECT e.grant_id, e.tranche_id, s.funding_source_id FROM ledger_entry e "
        "JOIN ledger_split s ON s.ledger_entry_id = e.id ORDER BY e.created_at LIMIT 1",
    )
    report_grant, territory_id = await _ids(
        big,
        "SELECT r.grant_id, o.territory_id FROM report r JOIN grant_award g ON g.id = r.grant_id "
        "JOIN organisation o ON o.id = g.organisation_id LIMIT 1",
    )
    applicant = RequestContext(
        actor=Actor(
            kind="user", id=uuid.uuid4(), label="user:a", organisation_ids=frozenset({org_id})
        )
    )

    def calls(status: Any) -> ListCall:
        return lambda s, cur: calls_service.list_calls(s, STAFF, status, cur, 50)

    def plans(pcc: uuid.UUID | None) -> ListCall:
        return lambda s, cur: pcc_service.list_action_plans(s, STAFF, pcc, cur, 50)

    def grants(ctx: RequestContext = STAFF, **filters: Any) -> ListCall:
        args = {"window_id": None, "organisation_id": None, "status": None, **filters}
        return lambda s, cur: grant_reads.list_grants(s, ctx, cursor=cur, limit=50, **args)

    def ledger(**filters: Any) -> ListCall:
        args = {"grant_id": None, "tranche_id": None, **filters}
        return lambda s, cur: ledger_service.list_ledger(s, STAFF, cursor=cur, limit=50, **args)

    def reports(**filters: Any) -> ListCall:
        args = {"status": None, "kind": None, **filters}
        return lambda s, cur: reports_service.list_reports(
            s, STAFF, report_grant, cursor=cur, limit=50, **args
        )

    def queue(**filters: Any) -> ListCall:
        args = {"status": None, "kind": None, "territory_id": None, **filters}
        return lambda s, cur: reports_service.list_report_queue(
            s, STAFF, cursor=cur, limit=50, **args
        )

    def upcoming(status: Any = None, within_days: int = 60) -> ListCall:
        return lambda s, cur: finance_views.list_upcoming_tranches(
            s, STAFF, within_days=within_days, status=status, cursor=cur, limit=50
        )

    # table, its keyset order (column, descending), the cases
    lists: list[tuple[str, str, str | None, dict[str, ListCall]]] = [
        (
            "call",
            "created_at",
            None,
            {
                "all": calls(None),
                "status=published": calls("published"),
                "status=open": calls("open"),
                "status=draft": calls("draft"),
            },
        ),
        ("action_plan", "created_at", None, {"all": plans(None), "pcc_id": plans(pcc_id)}),
        (
            "grant_award",
            "created_at",
            None,
            {
                "all": grants(),
                "window_id": grants(window_id=window_id),
                "organisation_id": grants(organisation_id=org_id),
                "status": grants(status=GrantStatus.COMPLETED),
                "an applicant's own": grants(applicant),
            },
        ),
        (
            "ledger_entry",
            "created_at",
            None,
            {
                "all": ledger(),
                "grant_id": ledger(grant_id=grant_id),
                "tranche_id": ledger(tranche_id=tranche_id),
                "window_id": ledger(window_id=window_id),
                "pcc_id": ledger(pcc_id=pcc_id),
                "funding_source_id": ledger(funding_source_id=source_id),
                "value date from/to": ledger(
                    date_from=date(2021, 1, 1), date_to=date(2030, 12, 31)
                ),
            },
        ),
        (
            "report",
            "created_at",
            "grant_id",
            {
                "a grant's": reports(),
                "status": reports(status=ReportStatus.SUBMITTED),
                "kind": reports(kind=ReportKind.FINANCIAL),
            },
        ),
        (
            "report",
            "submitted_at",
            "status <> 'draft'",
            {
                "queue": queue(),
                "queue, status": queue(status=ReportStatus.SUBMITTED),
                "queue, kind": queue(kind=ReportKind.PROGRESS),
                "queue, territory_id": queue(territory_id=territory_id),
            },
        ),
        (
            "tranche",
            "planned_date",
            None,
            {
                "upcoming": upcoming(),
                "upcoming, status=due": upcoming("due"),
                "upcoming, status=planned": upcoming("planned"),
                "upcoming, within 3660 days": upcoming(within_days=3660),
            },
        ),
    ]
    problems: dict[str, list[str]] = {}
    checked = 0
    names: set[str] = set()
    for table, sort, scope, cases in lists:
        deep = await _cursor_at(big, table, sort, False, where=scope)
        for name, use_case in cases.items():
            for page, cursor in (("first page", None), ("deep page", deep)):

                async def run(
                    session: AsyncSession,
                    use_case: ListCall = use_case,
                    cursor: str | None = cursor,
                ) -> Any:
                    return await use_case(session, cursor)

                nodes = await _plan_of(big, table, run)
                found = _problems(nodes, table)
                checked += 1
                names.add(f"{table}: {name}, {page}")
                if found:  # with the plan's nodes, to see why
                    problems[f"{table}: {name}, {page}"] = [*found, *map(_node, nodes)]

    # only the known ones may sort; they may also not (the planner's choice for them depends on
    # the sampled statistics: a full run saw the report queue's territory served either way)
    assert set(problems) <= KNOWN_SORTED, json.dumps(problems, indent=1)
    assert names >= KNOWN_SORTED  # each known one is still checked
    assert checked == 2 * sum(len(cases) for *_, cases in lists)
