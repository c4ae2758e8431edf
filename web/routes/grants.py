"""The applicant after the decision: feedback, grants, tranches and reports.

Every page reads and writes through the API client as the signed-in person; the API decides
who may see what (a grant or report of another organisation is a 404 page). Forms work without
JavaScript (POST → 303 → GET; 422 re-renders with each message next to its field); htmx only
swaps the attachments block in place and shows the upload's progress.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from babel.numbers import format_decimal
from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Response

from contracts.awards import GrantRead, TrancheRead
from contracts.client import ApiError, GrantsClient
from contracts.enums import DecisionReasonCode
from contracts.pcc import ActionPlanItemRead
from contracts.reports import (
    ExpenditureLine,
    IndicatorValueInput,
    ReportCreate,
    ReportRead,
    ReportSubmit,
    ReportUpdate,
)
from contracts.selection import FEEDBACK_NOT_PUBLISHED, FeedbackDecision
from web import i18n
from web.forms import FormErrors, from_problem, optional, text
from web.i18n import _
from web.render import page, redirect
from web.routes.account import require_user
from web.session import client_for, flash

EXTRA_ROWS = 2
"""Empty rows for spending outside the proposal's budget lines (more appear once these are used)."""
UPLOAD_LIMIT = 45 * 1024 * 1024
"""The web app lets a file through to the API, whose limits (10 MB a file, 40 MB a report) give
the refusal in words; Litestar's own 10 MB default would answer a bare 413 first."""


# --- scores ---------------------------------------------------------------------------------


def tenths(value: str | int | None) -> Fraction | None:
    """A score in tenths as the API gives it ("45", "163/4", "40.5") → points as a fraction."""
    if value is None:
        return None
    try:
        return Fraction(str(value)) / 10
    except (ValueError, ZeroDivisionError):
        return None


def points(value: str | int | None) -> str:
    """Points with at most two decimals in the locale's digits ("4,08"); empty when unknown."""
    exact = tenths(value)
    if exact is None:
        return ""
    rounded = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.01"))
    return format_decimal(rounded, format="#,##0.##", locale=i18n.current_language())


# --- feedback -------------------------------------------------------------------------------


def decision_reason(decision: FeedbackDecision) -> str:
    """The decision's reason in the reader's language when the selection run (or a decline
    without words) gave it, as the feedback PDF words it; a person's words as written."""
    place = {"place": decision.reserve_place}
    match decision.reason_code:
        case DecisionReasonCode.FUNDED:
            amount = i18n.money(decision.funded_amount, decision.currency)
            return _("Selected in the window's selection run and funded with %(amount)s.") % {
                "amount": amount
            }
        case DecisionReasonCode.RESERVE:
            return (
                _(
                    "On the reserve list, place %(place)s: it may be funded if a selected "
                    "proposal declines."
                )
                % place
            )
        case DecisionReasonCode.MOVED_UP:
            return (
                _(
                    "Selected from the reserve list (place %(place)s) after a selected proposal "
                    "declined."
                )
                % place
            )
        case DecisionReasonCode.NOT_FUNDED:
            return _(
                "Not selected: in the selection run the window's budget, under its quotas, went "
                "to other proposals."
            )
        case DecisionReasonCode.INELIGIBLE:
            return _(
                "Not considered for funding: the proposal did not pass the eligibility rules or a "
                "score threshold."
            )
        case DecisionReasonCode.DECLINED:
            return _("Declined by the applicant.")
    return decision.reason


@get("/proposals/{proposal_id:uuid}/feedback", name="feedback", include_in_schema=False)
async def feedback(request: Request[Any, Any, Any], proposal_id: FromPath[uuid.UUID]) -> Any:
    """The decision and the panel's feedback: scores per criterion against their thresholds and
    the comments, never who wrote them. Until the programme officers publish the window's
    feedback the API answers 409 (not published): the page says so in words."""
    require_user(request)
    client = client_for(request)
    proposal = await client.get_proposal(proposal_id)
    try:
        fb = await client.get_feedback(proposal_id)
    except ApiError as exc:
        if exc.status != 409 or exc.type != FEEDBACK_NOT_PUBLISHED:
            raise
        return page(request, "grants/feedback.html", {"proposal": proposal, "fb": None})
    grant_id = None
    if proposal.status == "awarded":
        grants = await client.list_grants(organisation_id=proposal.organisation_id)
        grant_id = next((g.id for g in grants.items if g.proposal_id == proposal.id), None)
    criteria = [
        {
            "name": i18n.localised(c.title) if c.title is not None else c.name,
            "value": points(c.value),
            "threshold": points(c.threshold),
            "scale_max": points(c.scale_max),
            "passed": c.passed,
        }
        for c in fb.criteria
    ]
    scale = {c["scale_max"] for c in criteria if c["scale_max"]}
    return page(
        request,
        "grants/feedback.html",
        {
            "proposal": proposal,
            "fb": fb,
            "criteria": criteria,
            "score": points(fb.score),
            "score_max": scale.pop() if len(scale) == 1 else "",
            "grant_id": grant_id,
            "reason": decision_reason(fb.decision) if fb.decision else "",
        },
    )


# --- grants ---------------------------------------------------------------------------------


@get("/grants", name="grants", include_in_schema=False)
async def grants_list(request: Request[Any, Any, Any]) -> Any:
    require_user(request)
    result = await client_for(request).list_grants(limit=100)
    return page(request, "grants/list.html", {"grants": result.items})


async def _items(client: GrantsClient, grant: GrantRead) -> dict[uuid.UUID, ActionPlanItemRead]:
    """The action-plan items the grant's tranches pay for (with their indicators)."""
    ids: list[uuid.UUID] = []
    for tranche in grant.tranches:
        ids += [i for i in tranche.action_plan_item_ids if i not in ids]
    found: dict[uuid.UUID, ActionPlanItemRead] = {}
    for item_id in ids:
        try:
            found[item_id] = await client.get_action_plan_item(item_id)
        except ApiError as exc:
            if exc.status not in (403, 404):
                raise
    return found


def tranche_label(tranche: TrancheRead) -> str:
    return _("Tranche %(n)s") % {"n": tranche.position + 1}


@get("/grants/{grant_id:uuid}", name="grant", include_in_schema=False)
async def grant_page(request: Request[Any, Any, Any], grant_id: FromPath[uuid.UUID]) -> Any:
    require_user(request)
    client = client_for(request)
    grant = await client.get_grant(grant_id)
    items = await _items(client, grant)
    reports = (await client.list_reports(grant_id, limit=100)).items
    indicators = {str(ind.id): ind for item in items.values() for ind in item.indicators}
    by_tranche: dict[uuid.UUID | None, list[Any]] = {}
    for r in reports:
        by_tranche.setdefault(r.tranche_id, []).append(r)
    return page(
        request,
        "grants/grant.html",
        {
            "grant": grant,
            "items": items,
            "indicators": indicators,
            "reports": reports,
            "by_tranche": by_tranche,
            "tranche_names": {t.id: tranche_label(t) for t in grant.tranches},
            "can_report": grant.status == "active",
            "new_key": uuid.uuid4().hex,
        },
    )


@post("/grants/{grant_id:uuid}/reports", name="report_create", include_in_schema=False)
async def report_create(request: Request[Any, Any, Any], grant_id: FromPath[uuid.UUID]) -> Any:
    """Start a progress or financial report (for a tranche); a double click makes one report
    (the form carries an idempotency key)."""
    require_user(request)
    form = await request.form()
    kind = text(form, "kind")
    if kind not in ("progress", "financial"):
        flash(request, _("Choose the kind of report."), "error")
        return redirect(request, f"/grants/{grant_id}")
    tranche = optional(form, "tranche_id")
    tranche_id: uuid.UUID | None = None
    if tranche:
        try:
            tranche_id = uuid.UUID(tranche)
        except ValueError:
            tranche_id = None
    key = optional(form, "key")
    report = await client_for(request).create_report(
        grant_id,
        ReportCreate(kind=kind, tranche_id=tranche_id),  # type: ignore[arg-type]  # a checked ReportKind value
        idempotency_key=f"web-report-{key}" if key else None,
    )
    flash(request, _("The report is started. Fill it in and save it as often as you like."))
    return redirect(request, f"/reports/{report.id}")


# --- reports --------------------------------------------------------------------------------


@dataclass
class IndicatorRow:
    id: uuid.UUID
    name: str
    unit: str
    item: str
    baseline: Decimal | None
    target: Decimal
    value: str
    note: str


@dataclass
class SpendRow:
    """One row of the financial form: a line of the proposal's budget (`budget` set) or a
    spending outside it."""

    key: str
    category: str
    description: str
    amount: str
    budgeted: int | None = None
    fixed: bool = False


@dataclass
class ReportForm:
    narrative: str = ""
    tranche_id: str = ""
    indicators: list[IndicatorRow] = field(default_factory=list)
    spending: list[SpendRow] = field(default_factory=list)


def _decimal_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


async def _report_world(
    client: GrantsClient, report: ReportRead
) -> tuple[GrantRead, dict[uuid.UUID, ActionPlanItemRead], list[Any]]:
    grant = await client.get_grant(report.grant_id)
    items = await _items(client, grant) if report.kind == "progress" else {}
    budget: list[Any] = []
    if report.kind == "financial":
        budget = list((await client.get_proposal(grant.proposal_id)).budget_lines)
    return grant, items, budget


def _form_from_report(
    report: ReportRead, items: dict[uuid.UUID, ActionPlanItemRead], budget: list[Any]
) -> ReportForm:
    form = ReportForm(
        narrative=report.narrative or "",
        tranche_id=str(report.tranche_id) if report.tranche_id else "",
    )
    reported = {v.indicator_id: v for v in report.indicators}
    for item in items.values():
        for ind in item.indicators:
            got = reported.get(ind.id)
            form.indicators.append(
                IndicatorRow(
                    id=ind.id,
                    name=i18n.localised(ind.name),
                    unit=ind.unit,
                    item=f"{item.code} · {i18n.localised(item.objective)}",
                    baseline=ind.baseline,
                    target=ind.target,
                    value=_decimal_text(got.value) if got else "",
                    note=(got.note or "") if got else "",
                )
            )
    lines = list(report.expenditure)
    for n, b in enumerate(budget):
        match = next(
            (
                x
                for x in lines
                if x.budget_line_id is None
                and x.category == b.category
                and x.description == b.description
            ),
            None,
        )
        if match is not None:
            lines.remove(match)
        form.spending.append(
            SpendRow(
                key=f"b{n}",
                category=b.category,
                description=b.description,
                amount=i18n.major_units(match.amount, report.currency) if match else "",
                budgeted=b.total,
                fixed=True,
            )
        )
    for n, x in enumerate([*lines, *([None] * EXTRA_ROWS)]):
        form.spending.append(
            SpendRow(
                key=f"x{n}",
                category=x.category if x else "",
                description=x.description if x else "",
                amount=i18n.major_units(x.amount, x.currency) if x else "",
            )
        )
    return form


def _read_posted(
    posted: Any, report: ReportRead, blank: ReportForm
) -> tuple[ReportForm, ReportUpdate, FormErrors, dict[str, str]]:
    """The posted form: what to show again, the update to send, the errors found here, and
    the map from the API's field paths to the form's fields."""
    errors = FormErrors()
    names: dict[str, str] = {"narrative": "narrative", "tranche_id": "tranche_id"}
    form = ReportForm(narrative=text(posted, "narrative"), tranche_id=text(posted, "tranche_id"))
    tranche_id: uuid.UUID | None = None
    if form.tranche_id:
        try:
            tranche_id = uuid.UUID(form.tranche_id)
        except ValueError:
            errors.add("tranche_id", _("Choose one of the options."))
    indicators: list[IndicatorValueInput] = []
    for row in blank.indicators:
        value = text(posted, f"value.{row.id}")
        note = text(posted, f"note.{row.id}")
        form.indicators.append(
            IndicatorRow(**{**row.__dict__, "value": value, "note": note})  # same row, as typed
        )
        if not value:
            continue
        try:
            number = Decimal(value.replace(" ", "").replace("\u00a0", "").replace(",", "."))
            if not number.is_finite():
                raise InvalidOperation(value)
        except InvalidOperation:
            errors.add(f"value.{row.id}", _("Enter a number, e.g. 12 or 12.5."))
            continue
        names[f"indicators.{len(indicators)}.value"] = f"value.{row.id}"
        names[f"indicators.{len(indicators)}.note"] = f"note.{row.id}"
        names[f"indicators.{len(indicators)}.indicator_id"] = f"value.{row.id}"
        indicators.append(IndicatorValueInput(indicator_id=row.id, value=number, note=note or None))
    lines: list[ExpenditureLine] = []
    extra = len([r for r in blank.spending if not r.fixed])
    rows = [r for r in blank.spending if r.fixed] + [
        SpendRow(key=f"x{n}", category="", description="", amount="")
        for n in range(max(extra, EXTRA_ROWS))
    ]
    # rows the browser sent beyond those (none without a script adding them) are ignored
    for spend in rows:
        amount = text(posted, f"amount.{spend.key}")
        category = spend.category if spend.fixed else text(posted, f"category.{spend.key}")
        description = spend.description if spend.fixed else text(posted, f"description.{spend.key}")
        form.spending.append(
            SpendRow(
                key=spend.key,
                category=category,
                description=description,
                amount=amount,
                budgeted=spend.budgeted,
                fixed=spend.fixed,
            )
        )
        if not amount and (spend.fixed or not (category or description)):
            continue
        if not amount:
            errors.add(f"amount.{spend.key}", _("Enter the amount spent."))
            continue
        try:
            minor = i18n.parse_major_units(amount, report.currency)
        except ValueError:
            errors.add(f"amount.{spend.key}", _("Enter an amount, e.g. 150000 or 150000.50."))
            continue
        if not spend.fixed and not category:
            errors.add(f"category.{spend.key}", _("Enter the budget category."))
            continue
        if not spend.fixed and not description:
            errors.add(f"description.{spend.key}", _("Say what the money was spent on."))
            continue
        n = len(lines)
        names[f"expenditure.{n}.amount"] = f"amount.{spend.key}"
        names[f"expenditure.{n}.category"] = (
            f"amount.{spend.key}" if spend.fixed else f"category.{spend.key}"
        )
        names[f"expenditure.{n}.description"] = (
            f"amount.{spend.key}" if spend.fixed else f"description.{spend.key}"
        )
        names[f"expenditure.{n}.currency"] = f"amount.{spend.key}"
        lines.append(
            ExpenditureLine(
                category=category,
                description=description,
                amount=minor,
                currency=report.currency,
            )
        )
    names["expenditure"] = f"amount.{rows[0].key}" if rows else ""
    posted_version = text(posted, "version")
    version = int(posted_version) if posted_version.isdigit() else report.version
    update = ReportUpdate(
        version=max(version, 1),
        tranche_id=tranche_id,
        narrative=form.narrative or None,
    )
    if report.kind == "progress":
        update.indicators = indicators
    else:
        update.expenditure = lines
    return form, update, errors, names


def _report_problem(exc: ApiError, names: dict[str, str], *, submitting: bool) -> FormErrors:
    """The API's refusal as messages next to the report's fields, in the person's words."""
    errors = from_problem(exc, names)
    for name in list(errors.fields):
        if name.startswith("value."):
            errors.fields[name] = [_("Enter a number with at most 4 decimals.")]
        elif submitting and name == "narrative":
            errors.fields[name] = [_("Write what was done before you submit the report.")]
        elif submitting and name.startswith("amount."):
            errors.fields[name] = [
                _("Enter the money spent on at least one line before you submit the report.")
            ]
    return errors


def _report_context(
    report: ReportRead,
    grant: GrantRead,
    form: ReportForm,
    errors: FormErrors | None = None,
    upload_errors: FormErrors | None = None,
) -> dict[str, Any]:
    tranches = [t for t in grant.tranches if t.status != "cancelled" or t.id == report.tranche_id]
    return {
        "report": report,
        "grant": grant,
        "form": form,
        "errors": errors,
        "upload_errors": upload_errors,
        "editable": "update" in report.allowed_actions,
        "tranche_options": [
            (
                str(t.id),
                _("%(tranche)s · %(date)s · %(amount)s")
                % {
                    "tranche": tranche_label(t),
                    "amount": i18n.money(t.amount, t.currency),
                    "date": i18n.day(t.planned_date, "short"),
                },
            )
            for t in tranches
        ],
        "tranche_names": {t.id: tranche_label(t) for t in grant.tranches},
        "spending_total": sum(x.amount for x in report.expenditure),
    }


async def _show_report(
    request: Request[Any, Any, Any],
    report: ReportRead,
    *,
    form: ReportForm | None = None,
    errors: FormErrors | None = None,
    upload_errors: FormErrors | None = None,
    status: int = 200,
    block: str | None = None,
    notice: str | None = None,
) -> Any:
    client = client_for(request)
    grant, items, budget = await _report_world(client, report)
    blank = _form_from_report(report, items, budget)
    context = _report_context(report, grant, form or blank, errors, upload_errors)
    context["attachments_notice"] = notice
    return page(request, "grants/report.html", context, status=status, block=block)


@get("/reports/{report_id:uuid}", name="report", include_in_schema=False)
async def report_page(request: Request[Any, Any, Any], report_id: FromPath[uuid.UUID]) -> Any:
    require_user(request)
    report = await client_for(request).get_report(report_id)
    return await _show_report(request, report)


@post("/reports/{report_id:uuid}", name="report_save", include_in_schema=False)
async def report_save(request: Request[Any, Any, Any], report_id: FromPath[uuid.UUID]) -> Any:
    """Save the draft; with `action=submit`, save and go to the last confirmation."""
    require_user(request)
    client = client_for(request)
    posted = await request.form()
    report = await client.get_report(report_id)
    grant, items, budget = await _report_world(client, report)
    blank = _form_from_report(report, items, budget)
    form, update, errors, names = _read_posted(posted, report, blank)
    if not errors:
        try:
            report = await client.update_report(report_id, update)
        except ApiError as exc:
            if exc.status == 422:
                errors = _report_problem(exc, names, submitting=False)
            elif _slug(exc) == "stale-version":
                report = await client.get_report(report_id)
                errors.add(
                    None,
                    _(
                        "Someone else saved this report after you opened it. Your entries are "
                        "shown below: check them and save again."
                    ),
                )
            else:
                raise
        else:
            if text(posted, "action") == "submit":
                return redirect(request, f"/reports/{report_id}/submit")
            flash(request, _("The report is saved as a draft."), "success")
            return redirect(request, f"/reports/{report_id}")
    return page(
        request,
        "grants/report.html",
        _report_context(report, grant, form, errors),
        status=422,
    )


@get("/reports/{report_id:uuid}/submit", name="report_confirm", include_in_schema=False)
async def report_confirm(request: Request[Any, Any, Any], report_id: FromPath[uuid.UUID]) -> Any:
    """The last confirmation before submitting (no script needed)."""
    require_user(request)
    client = client_for(request)
    report = await client.get_report(report_id)
    if "submit" not in report.allowed_actions:
        return redirect(request, f"/reports/{report_id}")
    grant = await client.get_grant(report.grant_id)
    return page(
        request,
        "grants/confirm.html",
        {
            "report": report,
            "grant": grant,
            "errors": None,
            "tranche_names": {t.id: tranche_label(t) for t in grant.tranches},
        },
    )


@post("/reports/{report_id:uuid}/submission", name="report_submit", include_in_schema=False)
async def report_submit(request: Request[Any, Any, Any], report_id: FromPath[uuid.UUID]) -> Any:
    require_user(request)
    client = client_for(request)
    posted = await request.form()
    posted_version = text(posted, "version")
    version = int(posted_version) if posted_version.isdigit() else 1
    key = optional(posted, "key")
    try:
        report = await client.submit_report(
            report_id,
            ReportSubmit(version=max(version, 1)),
            idempotency_key=f"web-submit-{key}" if key else None,
        )
    except ApiError as exc:
        if exc.status != 422 and not _slug(exc) == "stale-version":
            raise
        report = await client.get_report(report_id)
        grant, items, budget = await _report_world(client, report)
        blank = _form_from_report(report, items, budget)
        first = blank.spending[0].key if blank.spending else ""
        errors = (
            _report_problem(
                exc, {"narrative": "narrative", "expenditure": f"amount.{first}"}, submitting=True
            )
            if exc.status == 422
            else FormErrors(general=[_("The report changed since you opened it. Check it again.")])
        )
        # the messages belong to the report's fields: show them on the form
        return page(
            request,
            "grants/report.html",
            _report_context(report, grant, blank, errors),
            status=422,
        )
    flash(
        request,
        _("The report is submitted. The programme officer will review it."),
        "success",
    )
    return redirect(request, f"/reports/{report.id}")


# --- attachments ----------------------------------------------------------------------------


def _slug(exc: ApiError) -> str:
    """The problem's stable name (`urn:pcc-grants:problem:stale-version` → `stale-version`)."""
    return exc.type.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def _upload_refusal(exc: ApiError) -> str:
    kind = _slug(exc)
    if exc.status == 415 or kind == "unsupported-media-type":
        return _("This type of file is not accepted. Upload a PDF, DOCX, XLSX, JPEG or PNG file.")
    if exc.status == 413 or kind == "payload-too-large":
        return _(
            "The file is too large: at most 10 MB a file and 40 MB for all of a report's files."
        )
    return _("The file cannot be used: %(reason)s") % {
        "reason": exc.problem.detail or exc.problem.title
    }


@post(
    "/reports/{report_id:uuid}/attachments",
    name="report_upload",
    include_in_schema=False,
    request_max_body_size=UPLOAD_LIMIT,
)
async def report_upload(request: Request[Any, Any, Any], report_id: FromPath[uuid.UUID]) -> Any:
    require_user(request)
    client = client_for(request)
    posted = await request.form()
    upload = posted.get("file")
    errors = FormErrors()
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors.add("file", _("Choose a file to upload."))
    else:
        data = await upload.read()
        if not data:
            errors.add("file", _("The file is empty."))
        else:
            try:
                added = await client.create_report_attachment(report_id, data, upload.filename)
            except ApiError as exc:
                if exc.status not in (413, 415, 422):
                    raise
                errors.add("file", _upload_refusal(exc))
    report = await client.get_report(report_id)
    htmx = request.headers.get("hx-request") == "true"
    if not errors:
        if htmx:
            return await _show_report(
                request,
                report,
                block="report_attachments",
                notice=_("%(name)s is attached.") % {"name": added.original_name},
            )
        flash(request, _("The file is attached."), "success")
        return redirect(request, f"/reports/{report_id}#report-attachments")
    return await _show_report(
        request,
        report,
        upload_errors=errors,
        status=422,
        block="report_attachments" if htmx else None,
    )


@post(
    "/reports/{report_id:uuid}/attachments/{attachment_id:uuid}/delete",
    name="report_attachment_delete",
    include_in_schema=False,
)
async def report_attachment_delete(
    request: Request[Any, Any, Any],
    report_id: FromPath[uuid.UUID],
    attachment_id: FromPath[uuid.UUID],
) -> Any:
    require_user(request)
    client = client_for(request)
    await client.delete_report_attachment(report_id, attachment_id)
    if request.headers.get("hx-request") == "true":
        report = await client.get_report(report_id)
        return await _show_report(
            request, report, block="report_attachments", notice=_("The file is removed.")
        )
    flash(request, _("The file is removed."), "success")
    return redirect(request, f"/reports/{report_id}#report-attachments")


@get(
    "/reports/{report_id:uuid}/attachments/{attachment_id:uuid}",
    name="report_attachment",
    include_in_schema=False,
)
async def report_attachment(
    request: Request[Any, Any, Any],
    report_id: FromPath[uuid.UUID],
    attachment_id: FromPath[uuid.UUID],
) -> Response[bytes]:
    """The file, always as a download (never shown inline on this site's origin)."""
    require_user(request)
    data, headers = await client_for(request).get_report_attachment(report_id, attachment_id)
    return Response(
        content=data,
        media_type=headers.get("content-type", "application/octet-stream"),
        headers={
            "content-disposition": headers.get("content-disposition", "attachment"),
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
        },
    )


ROUTES: list[Any] = [
    feedback,
    grants_list,
    grant_page,
    report_create,
    report_page,
    report_save,
    report_confirm,
    report_submit,
    report_upload,
    report_attachment_delete,
    report_attachment,
]
