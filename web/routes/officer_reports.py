"""The programme officer's queue of grantee reports and the decision on each.

- `/officer/reports`: the submitted reports of every grant (`ListReportQueue`), oldest first,
  with the grant, organisation, PCC, period and submission date; filters by status, kind and
  territory (a plain GET form); pages by the API's cursor.
- `/officer/reports/{id}`: the report read-only (the applicant's read-only rendering, shared as
  partials: indicators against targets, spending by budget line, attachments to download) and
  the decision: accept, or return with a comment (required). Refusals are shown as messages.

Attachments download through the applicant's route `/reports/{id}/attachments/{a}`, which asks
the API as the signed-in person (staff may read every report).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery

from contracts.client import ApiError, GrantsClient
from contracts.reports import ReportDecisionCreate, ReportRead
from web import i18n
from web.forms import FormErrors, from_problem, text
from web.i18n import _
from web.render import page, redirect
from web.routes.grants import tranche_label
from web.routes.officer_plans import refusal, require_officer
from web.session import client_for, flash

STATUSES = ("submitted", "returned", "accepted")
KINDS = ("progress", "financial")
MIN_COMMENT = 3


async def _places(client: GrantsClient) -> tuple[list[tuple[str, str]], dict[uuid.UUID, str]]:
    """Territory options for the filter, and each PCC's territory name."""
    territories = (await client.list_territories()).items
    options = sorted(((str(t.id), i18n.localised(t.name)) for t in territories), key=lambda o: o[1])
    pcc_places = {t.pcc_id: i18n.localised(t.name) for t in territories if t.pcc_id}
    return options, pcc_places


def _choice(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


@get("/officer/reports", name="officer_reports", include_in_schema=False)
async def queue(
    request: Request[Any, Any, Any],
    status: FromQuery[str | None] = "submitted",
    kind: FromQuery[str | None] = None,
    territory: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Any:
    require_officer(request)
    client = client_for(request)
    options, pcc_places = await _places(client)
    territory_id: uuid.UUID | None = None
    if territory:
        try:
            territory_id = uuid.UUID(territory)
        except ValueError:
            territory_id = None
    chosen_status = _choice(status, STATUSES)
    chosen_kind = _choice(kind, KINDS)
    try:
        result = await client.list_report_queue(
            status=chosen_status,
            kind=chosen_kind,
            territory_id=territory_id,
            cursor=cursor or None,
            limit=50,
        )
    except ApiError as exc:
        if exc.status != 422 or not cursor:  # a stale or mangled cursor: start again
            raise
        result = await client.list_report_queue(
            status=chosen_status, kind=chosen_kind, territory_id=territory_id, limit=50
        )
    query = {
        "status": chosen_status or "",
        "kind": chosen_kind or "",
        "territory": str(territory_id) if territory_id else "",
    }
    return page(
        request,
        "officer/reports/queue.html",
        {
            "reports": result.items,
            "next_cursor": result.next_cursor,
            "query": query,
            "status_options": [(s, s) for s in STATUSES],
            "kind_options": list(KINDS),
            "territory_options": options,
            "pcc_places": pcc_places,
        },
    )


async def _show(
    request: Request[Any, Any, Any],
    report: ReportRead,
    *,
    errors: FormErrors | None = None,
    outcome: str = "",
    comment: str = "",
    status: int = 200,
) -> Any:
    client = client_for(request)
    grant = await client.get_grant(report.grant_id)
    organisation = await client.get_organisation(report.organisation_id)
    return page(
        request,
        "officer/reports/report.html",
        {
            "report": report,
            "grant": grant,
            "organisation": organisation,
            "tranche_names": {t.id: tranche_label(t) for t in grant.tranches},
            "errors": errors,
            "outcome": outcome,
            "comment": comment,
            "can_decide": "decide" in report.allowed_actions,
        },
        status=status,
    )


@get("/officer/reports/{report_id:uuid}", name="officer_report", include_in_schema=False)
async def report_page(request: Request[Any, Any, Any], report_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    report = await client_for(request).get_report(report_id)
    return await _show(request, report)


@post(
    "/officer/reports/{report_id:uuid}/decision",
    name="officer_report_decision",
    include_in_schema=False,
)
async def decide(request: Request[Any, Any, Any], report_id: FromPath[uuid.UUID]) -> Any:
    """Accept, or return with a comment; POST → 303 → the queue (or 422 with the messages)."""
    require_officer(request)
    client = client_for(request)
    posted = await request.form()
    outcome = text(posted, "outcome")
    comment = text(posted, "comment")
    posted_version = text(posted, "version")
    errors = FormErrors()
    if outcome not in ("accept", "return"):
        errors.add("outcome", _("Choose: accept the report, or return it for changes."))
    elif outcome == "return" and len(comment) < MIN_COMMENT:
        errors.add("comment", _("Say what the grantee should correct (at least 3 characters)."))
    if not errors:
        try:
            report = await client.create_report_decision(
                report_id,
                ReportDecisionCreate(
                    version=int(posted_version) if posted_version.isdigit() else 1,
                    outcome="accept" if outcome == "accept" else "return",
                    comment=comment or None,
                ),
            )
        except ApiError as exc:
            if exc.status == 422:
                errors = from_problem(exc, {"comment": "comment", "outcome": "outcome"})
            elif exc.status in (403, 409):
                errors.add(None, _decision_refusal(exc))
            else:
                raise
        else:
            words = (
                _("The report is accepted.")
                if report.status == "accepted"
                else _("The report is returned to the grantee with your comment.")
            )
            flash(request, words, "success")
            return redirect(request, "/officer/reports")
    report = await client.get_report(report_id)
    return await _show(request, report, errors=errors, outcome=outcome, comment=comment, status=422)


def _decision_refusal(exc: ApiError) -> str:
    slug = exc.type.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    if slug == "stale-version":
        return _("The report changed since you opened it. Read it again before deciding.")
    if exc.status == 409:
        return _("This report is no longer waiting for a decision.")
    return refusal(exc)


ROUTES: list[Any] = [queue, report_page, decide]
