"""The finance dashboard (/finance/dashboard): committed, disbursed and remaining money grouped by
call, window, territory, PCC, action-plan item, funding source or organisation kind (with the
exchange differences of the funding sources), and the tranches coming up by month — each a chart
(web/charts.py) with its data table. The grouping is chosen with plain links and the call with
a GET form: no JavaScript needed. Finance and programme officers, auditors, administrators (the
API's `can_read_ledger`)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from babel.dates import format_date
from litestar import Request, get
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromQuery

from contracts.client import GrantsClient
from contracts.finance import FinanceDimension, FinanceSummaryRead, UpcomingTrancheRead
from web import i18n
from web.charts import Chart, bar_chart
from web.i18n import _
from web.labels import organisation_kinds
from web.render import page
from web.routes.account import require_user
from web.session import SessionUser, client_for

READERS = frozenset({"finance_officer", "programme_officer", "auditor", "admin"})
DIMENSIONS: tuple[FinanceDimension, ...] = (
    "call",
    "window",
    "territory",
    "pcc",
    "action_plan_item",
    "funding_source",
    "organisation_kind",
)
UPCOMING_DAYS = 366


def dimension_names() -> dict[str, str]:
    return {
        "call": _("Call"),
        "window": _("Window"),
        "territory": _("Territory"),
        "pcc": _("PCC"),
        "action_plan_item": _("Action-plan item"),
        "funding_source": _("Funding source"),
        "organisation_kind": _("Kind of organisation"),
    }


def require_reader(request: Request[Any, Any, Any]) -> SessionUser:
    user = require_user(request)
    if not READERS & set(user.roles):
        raise PermissionDeniedException()
    return user


async def _labels(client: GrantsClient, by: str) -> dict[str, str]:
    """The groups' names in the person's language where the API knows them in three."""
    if by == "organisation_kind":
        return organisation_kinds()
    if by in ("territory", "pcc"):
        territories = (await client.list_territories()).items
        if by == "territory":
            return {str(t.id): i18n.localised(t.name) for t in territories}
        return {str(t.pcc_id): i18n.localised(t.name) for t in territories if t.pcc_id}
    if by in ("call", "window"):
        calls = (await client.list_calls(limit=200)).items
        if by == "call":
            return {str(c.id): i18n.localised(c.title) for c in calls}
        return {
            str(w.id): f"{w.code} · {i18n.localised(w.title)}" for c in calls for w in c.windows
        }
    return {}


def _row_label(by: str, key: str, label: str, code: str | None, names: dict[str, str]) -> str:
    if by == "organisation_kind":
        return names.get(code or key, label)
    if by == "action_plan_item" and code:
        return f"{code} · {label}"
    return names.get(key, label)


def _in_sentence(name: str) -> str:
    """A dimension's name inside a sentence: English lowers its first letter ("Money by window"),
    never an abbreviation's ("by PCC"); Russian and Kyrgyz keep the name as it is (their
    sentences quote it or begin with it, and «КСМ» must stay «КСМ»)."""
    if i18n.current_language() != "en" or name.split(" ", 1)[0].isupper():
        return name
    return name[:1].lower() + name[1:]


def summary_chart(summary: FinanceSummaryRead, labels: list[str], lang: str) -> Chart:
    short = None
    if summary.by == "action_plan_item":
        short = [r.code or label for r, label in zip(summary.rows, labels, strict=True)]
    name = dimension_names()[summary.by]
    return bar_chart(
        _("Money by %(dimension)s") % {"dimension": _in_sentence(name)},
        _(
            "Committed, disbursed and remaining money of the grants per %(dimension)s, "
            "in %(currency)s."
        )
        % {"dimension": _in_sentence(name), "currency": summary.currency},
        labels,
        [
            (_("Committed"), [r.committed for r in summary.rows]),
            (_("Disbursed"), [r.disbursed for r in summary.rows]),
            (_("Remaining"), [r.remaining for r in summary.rows]),
        ],
        summary.currency,
        lang,
        chart_id="chart-summary",
        total_label=_("Total"),
        short_labels=short,
    )


def upcoming_by_month(
    items: list[UpcomingTrancheRead], lang: str, currency: str
) -> tuple[list[str], list[tuple[str, list[int | None]]]]:
    """Months (oldest first, overdue ones included) and per status the money falling due."""
    statuses = [("planned", _("Planned")), ("due", _("Due")), ("approved", _("Approved"))]
    months: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in items:
        if t.currency != currency:
            continue
        months[t.planned_date.replace(day=1)][t.status] += t.amount
    ordered = sorted(months)
    labels = [format_date(m, "LLLL y", locale=lang) for m in ordered]
    series: list[tuple[str, list[int | None]]] = [
        (name, [months[m].get(status, 0) for m in ordered]) for status, name in statuses
    ]
    return labels, series


async def _upcoming(client: GrantsClient) -> list[UpcomingTrancheRead]:
    items: list[UpcomingTrancheRead] = []
    cursor: str | None = None
    for _page in range(20):  # 4,000 tranches at most: a year of a large programme
        got = await client.list_upcoming_tranches(
            within_days=UPCOMING_DAYS, cursor=cursor, limit=200
        )
        items.extend(got.items)
        cursor = got.next_cursor
        if cursor is None:
            break
    return items


@get("/finance/dashboard", name="finance_dashboard", include_in_schema=False)
async def dashboard(
    request: Request[Any, Any, Any],
    by: FromQuery[str] = "window",
    call: FromQuery[str | None] = None,
) -> Any:
    require_reader(request)
    client = client_for(request)
    dimension: FinanceDimension = "window"
    for known in DIMENSIONS:
        if by == known:
            dimension = known
    call_id: uuid.UUID | None = None
    if call:
        try:
            call_id = uuid.UUID(call)
        except ValueError:
            call_id = None
    lang = i18n.current_language()
    summary = await client.get_finance_summary(dimension, call_id=call_id)
    names = await _labels(client, dimension)
    labels = [_row_label(dimension, r.key, r.label, r.code, names) for r in summary.rows]
    chart = summary_chart(summary, labels, lang)
    upcoming = await _upcoming(client)
    month_labels, month_series = upcoming_by_month(upcoming, lang, summary.currency)
    upcoming_chart = bar_chart(
        _("Tranches coming up by month"),
        _(
            "Money of the tranches still to be paid, by the month they are planned for and "
            "their state, in %(currency)s (overdue months included)."
        )
        % {"currency": summary.currency},
        month_labels,
        month_series,
        summary.currency,
        lang,
        chart_id="chart-upcoming",
        total_label=_("Total"),
    )
    calls = (await client.list_calls(limit=200)).items
    return page(
        request,
        "finance/dashboard.html",
        {
            "summary": summary,
            "rows": list(zip(labels, summary.rows, strict=True)),
            "chart": chart,
            "upcoming_chart": upcoming_chart,
            "by": dimension,
            "dimensions": dimension_names(),
            "calls": calls,
            "call_id": call_id,
        },
    )


ROUTES: list[Any] = [dashboard]
