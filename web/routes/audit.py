"""The auditor's pages: read-only, nothing on them changes anything.

- `/audit`: the audit log (`ListAuditEvents`, newest first) with filters — entity, actor,
  action, period (days in Bishkek time) — and keyset paging; each event's before → after as a
  list of changed fields; the chain's verification (`GetAuditVerification`) and head hash.
- `/audit/calls`, `/audit/calls/{id}`: calls and their windows, with each window's selection
  runs (`ListSelectionRuns`).
- `/audit/selection-runs/{id}`: a run's inputs (configuration), seed hash, seed, outputs,
  library versions, who did what, and the replay's result (`ReplaySelectionRun`, which
  recomputes and writes nothing; asked on every visit).
- `/audit/grants`, `/audit/grants/{id}`: grants, and a grant with its tranches and charges.
- `/audit/ledger`: ledger entries, by grant.

Every page is a GET; the only forms are GET filters. The API decides what an auditor may read.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, get
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery

from contracts.audit import AuditEventRead
from contracts.client import ApiError, GrantsClient
from web.i18n import BISHKEK, _
from web.render import page
from web.routes.account import require_user
from web.routes.finance import _ledger_options as ledger_options
from web.session import SessionUser, client_for

PAGE = 50
ENTITIES = (
    "action_plan",
    "action_plan_item",
    "api_key",
    "attachment",
    "auth_token",
    "call",
    "decision",
    "decision_change",
    "exchange_rate",
    "funding_source",
    "grant",
    "indicator",
    "ledger_entry",
    "membership",
    "organisation",
    "proposal",
    "report",
    "review",
    "review_assignment",
    "rubric",
    "selection_run",
    "tranche",
    "user",
    "window",
)


def words() -> dict[str, str]:
    """The codes these pages show (call and run statuses, policies, ledger kinds, outcomes)."""
    return {
        "draft": _("Draft"),
        "published": _("Published"),
        "closed": _("Closed"),
        "archived": _("Archived"),
        "pending": _("Pending"),
        "computed": _("Computed"),
        "approved": _("Approved"),
        "failed": _("Failed"),
        "superseded": _("Superseded"),
        "strict_funding_line": _("Strict funding line"),
        "rank_with_skipping": _("Rank order, skipping what does not fit"),
        "optimal": _("Best total score within the budget"),
        "disbursement": _("Payment"),
        "reversal": _("Reversal"),
        "funded": _("Funded"),
        "reserve": _("Reserve"),
        "not_funded": _("Not funded"),
    }


def _page(request: Request[Any, Any, Any], template: str, context: dict[str, Any]) -> Any:
    return page(request, template, {**context, "words": words()})


def require_auditor(request: Request[Any, Any, Any]) -> SessionUser:
    user = require_user(request)
    if not user.is_auditor:
        raise PermissionDeniedException()
    return user


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes(event: AuditEventRead) -> list[tuple[str, str | None, str]]:
    """The fields an event changed: (field, old or None when it was created, new)."""
    before = event.before or {}
    after = event.after or {}
    out: list[tuple[str, str | None, str]] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if event.before is not None and old == new:
            continue
        out.append(
            (key, _shown(old) if event.before is not None and key in before else None, _shown(new))
        )
    return out


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BISHKEK)


async def _actor_names(client: GrantsClient, events: list[AuditEventRead]) -> dict[str, str]:
    """The people behind the events' actors, by id (the auditor may list users)."""
    wanted = {e.actor_id for e in events if e.actor_id}
    names: dict[str, str] = {}
    cursor: str | None = None
    while wanted - {uuid.UUID(k) for k in names}:
        result = await client.list_users(cursor=cursor, limit=200)
        names.update({str(u.id): u.full_name for u in result.items if u.id in wanted})
        cursor = result.next_cursor
        if not cursor:
            break
    return names


@get("/audit", name="audit_log", include_in_schema=False)
async def audit_log(
    request: Request[Any, Any, Any],
    entity: FromQuery[str | None] = None,
    entity_id: FromQuery[str | None] = None,
    actor: FromQuery[str | None] = None,
    action: FromQuery[str | None] = None,
    from_day: FromQuery[str | None] = None,
    to_day: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Any:
    require_auditor(request)
    client = client_for(request)
    chosen_entity = entity if entity in ENTITIES else None
    start, end = _day(from_day), _day(to_day)
    period_error = None
    if start and end and end < start:
        period_error = _("The period ends before it starts.")
        start = end = None
    query = {
        "entity": chosen_entity or "",
        "entity_id": (entity_id or "").strip()[:80] if chosen_entity else "",
        "actor": (actor or "").strip()[:200],
        "action": (action or "").strip()[:80],
        "from_day": start.isoformat() if start else "",
        "to_day": end.isoformat() if end else "",
    }
    arguments: dict[str, Any] = {
        "entity": chosen_entity,
        "entity_id": query["entity_id"] or None,
        "actor": query["actor"] or None,
        "action": query["action"] or None,
        "since": _start(start) if start else None,
        "until": _start(end + timedelta(days=1)) if end else None,
        "newest_first": True,
        "limit": PAGE,
    }
    try:
        result = await client.list_audit_events(cursor=cursor or None, **arguments)
    except ApiError as exc:
        if exc.status != 422 or not cursor:
            raise
        result = await client.list_audit_events(**arguments)
    verification = await client.get_audit_verification()
    head = await client.list_audit_events(newest_first=True, limit=1)
    names = await _actor_names(client, result.items)
    return _page(
        request,
        "audit/log.html",
        {
            "events": [(e, changes(e)) for e in result.items],
            "names": names,
            "next_cursor": result.next_cursor,
            "query": query,
            "entities": ENTITIES,
            "verification": verification,
            "head": head.items[0] if head.items else None,
            "period_error": period_error,
            "read_only_pages": {
                "call": "/audit/calls/",
                "selection_run": "/audit/selection-runs/",
                "grant": "/audit/grants/",
            },
        },
    )


# --- calls and selections -----------------------------------------------------------------


@get("/audit/calls", name="audit_calls", include_in_schema=False)
async def calls(request: Request[Any, Any, Any], cursor: FromQuery[str | None] = None) -> Any:
    require_auditor(request)
    result = await client_for(request).list_calls(cursor=cursor or None, limit=50)
    return _page(
        request, "audit/calls.html", {"calls": result.items, "next_cursor": result.next_cursor}
    )


@get("/audit/calls/{call_id:uuid}", name="audit_call", include_in_schema=False)
async def call_page(request: Request[Any, Any, Any], call_id: FromPath[uuid.UUID]) -> Any:
    require_auditor(request)
    client = client_for(request)
    call = await client.get_call(call_id)
    runs = {w.id: await client.list_selection_runs(w.id) for w in call.windows}
    return _page(request, "audit/call.html", {"call": call, "runs": runs})


@get("/audit/selection-runs/{run_id:uuid}", name="audit_run", include_in_schema=False)
async def run_page(request: Request[Any, Any, Any], run_id: FromPath[uuid.UUID]) -> Any:
    require_auditor(request)
    client = client_for(request)
    run = await client.get_selection_run(run_id)
    window = await client.get_window(run.window_id)
    replay = None
    if run.outputs is not None:
        replay = await client.replay_selection_run(run_id)
    pretty = {
        "config": json.dumps(
            msgspec.to_builtins(run.config), ensure_ascii=False, indent=2, sort_keys=True
        ),
        "outputs": (
            json.dumps(
                msgspec.to_builtins(run.outputs), ensure_ascii=False, indent=2, sort_keys=True
            )
            if run.outputs is not None
            else None
        ),
    }
    return _page(
        request,
        "audit/run.html",
        {"run": run, "window": window, "replay": replay, "pretty": pretty},
    )


# --- grants and the ledger ----------------------------------------------------------------


async def _organisation_names(client: GrantsClient, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    for oid in ids:
        try:
            names[oid] = (await client.get_organisation(oid)).name
        except ApiError:
            names[oid] = "—"
    return names


@get("/audit/grants", name="audit_grants", include_in_schema=False)
async def grants(request: Request[Any, Any, Any], cursor: FromQuery[str | None] = None) -> Any:
    require_auditor(request)
    client = client_for(request)
    result = await client.list_grants(cursor=cursor or None, limit=50)
    names = await _organisation_names(client, {g.organisation_id for g in result.items})
    return _page(
        request,
        "audit/grants.html",
        {"grants": result.items, "names": names, "next_cursor": result.next_cursor},
    )


@get("/audit/grants/{grant_id:uuid}", name="audit_grant", include_in_schema=False)
async def grant_page(request: Request[Any, Any, Any], grant_id: FromPath[uuid.UUID]) -> Any:
    require_auditor(request)
    client = client_for(request)
    grant = await client.get_grant(grant_id)
    organisation = await client.get_organisation(grant.organisation_id)
    entries = await client.list_ledger_entries(grant_id=grant_id, limit=200)
    return _page(
        request,
        "audit/grant.html",
        {"grant": grant, "organisation": organisation, "entries": entries.items},
    )


@get("/audit/ledger", name="audit_ledger", include_in_schema=False)
async def ledger(
    request: Request[Any, Any, Any],
    grant: FromQuery[str | None] = None,
    window: FromQuery[str | None] = None,
    pcc: FromQuery[str | None] = None,
    source: FromQuery[str | None] = None,
    date_from: FromQuery[str | None] = None,
    date_to: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Any:
    """The ledger by grant, window, PCC, funding source and value dates (as the finance
    officer's ledger, through ListLedgerEntries), read-only."""
    require_auditor(request)
    client = client_for(request)
    filters: dict[str, Any] = {
        "grant_id": _uuid(grant),
        "window_id": _uuid(window),
        "pcc_id": _uuid(pcc),
        "funding_source_id": _uuid(source),
        "date_from": _day(date_from),
        "date_to": _day(date_to),
    }
    try:
        result = await client.list_ledger_entries(**filters, cursor=cursor or None, limit=50)
    except ApiError as exc:
        if exc.status != 422 or not cursor:
            raise
        result = await client.list_ledger_entries(**filters, limit=50)
    grant_list = await client.list_grants(limit=200)
    query = {
        "grant": filters["grant_id"],
        "window": filters["window_id"],
        "pcc": filters["pcc_id"],
        "source": filters["funding_source_id"],
        "date_from": filters["date_from"],
        "date_to": filters["date_to"],
    }
    query_text = {
        k: (v.isoformat() if isinstance(v, date) else str(v)) if v else "" for k, v in query.items()
    }
    return _page(
        request,
        "audit/ledger.html",
        {
            "entries": result.items,
            "next_cursor": result.next_cursor,
            "grant_options": [(str(g.id), g.title) for g in grant_list.items],
            "grant_titles": {g.id: g.title for g in grant_list.items},
            "options": await ledger_options(client),
            "query": query_text,
            "query_string": urlencode({k: v for k, v in query_text.items() if v}),
        },
    )


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


ROUTES: list[Any] = [audit_log, calls, call_page, run_page, grants, grant_page, ledger]
