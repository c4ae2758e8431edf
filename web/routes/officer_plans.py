"""The programme officer's PCC action plans: the PCCs by territory and their plans; a plan with
its items and each item's indicators; forms to create, edit and delete them; and the import of a
spreadsheet (XLSX or CSV) with a dry run first.

- `/officer/plans`: every territory's PCC and its plans (drafts too: programme staff see them).
- `/officer/plans/{id}`: the plan, its items and indicators, and the buttons that change them.
- `/officer/plans/import`: upload a file; "Check" asks the API for a dry run (what would be
  created, updated, left unchanged, and every bad row in a table), "Import" imports it. The
  import is synchronous in the API (one transaction); with htmx the result replaces the block
  below the form and the upload shows its progress, without JavaScript the POST answers with the
  same page. After a clean dry run the file (when small) rides along in a hidden field, so the
  import needs no second upload and nothing is kept on the server.

Everything goes through the API client; the API decides (its refusals are shown as messages).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery

from contracts.client import ApiError, GrantsClient
from contracts.common import I18nText
from contracts.enums import ActionPlanStatus
from contracts.imports import ImportReport, ImportRowError
from contracts.pcc import (
    ActionPlanCreate,
    ActionPlanItemCreate,
    ActionPlanItemRead,
    ActionPlanItemUpdate,
    ActionPlanRead,
    ActionPlanUpdate,
    IndicatorCreate,
    IndicatorRead,
    IndicatorUpdate,
)
from web import i18n
from web.forms import FormErrors, checked, from_problem, text
from web.i18n import _
from web.render import page, redirect
from web.routes.account import require_user
from web.session import SessionUser, client_for, flash, keep, kept

LANGS = ("en", "ru", "ky")
IMPORT_LIMIT = 6 * 1024 * 1024
"""The web lets a file through to the API, whose 5 MB limit gives the refusal in words."""
KEPT_IMPORT = "plan_import"
SHOWN_RECORDS = 500
"""A dry run lists at most this many records row by row (the counts cover them all)."""
CARRY_LIMIT = 512 * 1024
"""A checked file up to this size rides along in the page (base64) for the real import."""


def require_officer(request: Request[Any, Any, Any]) -> SessionUser:
    user = require_user(request)
    if not user.is_officer:
        raise PermissionDeniedException()
    return user


def plan_statuses() -> dict[str, str]:
    return {"draft": _("Draft"), "active": _("Active"), "closed": _("Closed")}


def _slug(exc: ApiError) -> str:
    return exc.type.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def refusal(exc: ApiError) -> str:
    """An API refusal (403, 404, 409) in words for the page."""
    if exc.status == 403:
        return _("You may not do this: %(reason)s") % {"reason": exc.problem.detail or ""}
    if _slug(exc) == "stale-version":
        return _("Someone else changed this after you opened it. Check it and try again.")
    return _("The change was refused: %(reason)s") % {
        "reason": exc.problem.detail or exc.problem.title
    }


# --- reading forms --------------------------------------------------------------------------


def i18n_fields(form: Any, prefix: str) -> dict[str, str]:
    return {lang: text(form, f"{prefix}_{lang}") for lang in LANGS}


def i18n_values(value: I18nText | None) -> dict[str, str]:
    if value is None:
        return dict.fromkeys(LANGS, "")
    return {lang: getattr(value, lang) or "" for lang in LANGS}


def i18n_text(values: dict[str, str]) -> I18nText:
    return I18nText(en=values["en"], ru=values["ru"] or None, ky=values["ky"] or None)


def i18n_names(api: str, prefix: str) -> dict[str, str]:
    """The API's field paths of an I18nText (`title.en`, `title`) → the form's fields."""
    names = {f"{api}.{lang}": f"{prefix}_{lang}" for lang in LANGS}
    names[api] = f"{prefix}_en"
    return names


def parse_day(raw: str) -> date | None:
    """`YYYY-MM-DD` (what a date input sends) or `DD.MM.YYYY` (what people type)."""
    raw = raw.strip()
    try:
        if "." in raw:
            d, m, y = raw.split(".")
            return date(int(y), int(m), int(d))
        return date.fromisoformat(raw)
    except ValueError:
        return None


def parse_number(raw: str) -> Decimal | None:
    cleaned = raw.replace(" ", "").replace("\u00a0", "").replace("\u202f", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def number_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f")


def _problem_errors(exc: ApiError, names: dict[str, str]) -> FormErrors:
    if exc.status == 422:
        return from_problem(exc, names)
    return FormErrors(general=[refusal(exc)])


# --- the list of PCCs and plans -------------------------------------------------------------


@dataclass
class PccRow:
    id: uuid.UUID
    name: str
    territory: str
    region: str
    plans: list[ActionPlanRead] = field(default_factory=list)


async def _all_plans(client: GrantsClient) -> list[ActionPlanRead]:
    plans: list[ActionPlanRead] = []
    cursor: str | None = None
    while True:
        got = await client.list_action_plans(cursor=cursor, limit=200)
        plans += got.items
        cursor = got.next_cursor
        if cursor is None or len(plans) >= 2000:
            return plans


async def _pcc_rows(client: GrantsClient) -> list[PccRow]:
    territories = (await client.list_territories()).items
    pccs = {p.id: p for p in await client.list_pccs()}
    rows: dict[uuid.UUID, PccRow] = {}
    for t in territories:
        if t.pcc_id is None or t.pcc_id not in pccs:
            continue
        rows[t.pcc_id] = PccRow(
            id=t.pcc_id,
            name=i18n.localised(pccs[t.pcc_id].name),
            territory=i18n.localised(t.name),
            region=i18n.localised(t.region),
        )
    for plan in await _all_plans(client):
        if plan.pcc_id in rows:
            rows[plan.pcc_id].plans.append(plan)
    for row in rows.values():
        row.plans.sort(key=lambda p: (p.period_start, i18n.localised(p.title)))
    return sorted(rows.values(), key=lambda r: (r.region, r.territory))


@get("/officer/plans", name="officer_plans", include_in_schema=False)
async def plans_list(request: Request[Any, Any, Any]) -> Any:
    require_officer(request)
    rows = await _pcc_rows(client_for(request))
    return page(request, "officer/plans/list.html", {"pccs": rows, "statuses": plan_statuses()})


# --- a plan ---------------------------------------------------------------------------------


@dataclass
class PlanForm:
    pcc_id: str = ""
    title: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LANGS, ""))
    period_start: str = ""
    period_end: str = ""
    status: str = "draft"


PLAN_NAMES = {
    **i18n_names("title", "title"),
    "pcc_id": "pcc_id",
    "period_start": "period_start",
    "period_end": "period_end",
    "status": "status",
}


def _read_plan_form(posted: Any) -> tuple[PlanForm, FormErrors, date | None, date | None]:
    form = PlanForm(
        pcc_id=text(posted, "pcc_id"),
        title=i18n_fields(posted, "title"),
        period_start=text(posted, "period_start"),
        period_end=text(posted, "period_end"),
        status=text(posted, "status") or "draft",
    )
    errors = FormErrors()
    if not form.title["en"]:
        errors.add("title_en", _("Enter the title in English."))
    start = parse_day(form.period_start)
    end = parse_day(form.period_end)
    if start is None:
        errors.add("period_start", _("Enter a date, e.g. 2027-01-31."))
    if end is None:
        errors.add("period_end", _("Enter a date, e.g. 2027-01-31."))
    if start and end and end < start:
        errors.add("period_end", _("The end cannot be before the start."))
    if form.status not in plan_statuses():
        errors.add("status", _("Choose one of the options."))
    return form, errors, start, end


async def _pcc_options(client: GrantsClient) -> list[tuple[str, str]]:
    return [(str(r.id), f"{r.name} · {r.territory}") for r in await _pcc_rows(client)]


async def _plan_form_page(
    request: Request[Any, Any, Any],
    form: PlanForm,
    errors: FormErrors | None = None,
    *,
    plan: ActionPlanRead | None = None,
    status: int = 200,
) -> Any:
    return page(
        request,
        "officer/plans/plan_form.html",
        {
            "form": form,
            "errors": errors,
            "plan": plan,
            "pcc_options": await _pcc_options(client_for(request)),
            "status_options": list(plan_statuses().items()),
        },
        status=status,
    )


@get("/officer/plans/new", name="officer_plan_new", include_in_schema=False)
async def plan_new(request: Request[Any, Any, Any], pcc_id: FromQuery[str | None] = None) -> Any:
    require_officer(request)
    return await _plan_form_page(request, PlanForm(pcc_id=pcc_id or ""))


@post("/officer/plans", name="officer_plan_create", include_in_schema=False)
async def plan_create(request: Request[Any, Any, Any]) -> Any:
    require_officer(request)
    posted = await request.form()
    form, errors, start, end = _read_plan_form(posted)
    pcc: uuid.UUID | None = None
    try:
        pcc = uuid.UUID(form.pcc_id)
    except ValueError:
        errors.add("pcc_id", _("Choose the PCC."))
    if not errors and pcc and start and end:
        try:
            plan = await client_for(request).create_action_plan(
                ActionPlanCreate(
                    pcc_id=pcc,
                    title=i18n_text(form.title),
                    period_start=start,
                    period_end=end,
                    status=ActionPlanStatus(form.status),
                )
            )
        except ApiError as exc:
            if exc.status not in (403, 409, 422):
                raise
            errors = _problem_errors(exc, PLAN_NAMES)
        else:
            flash(request, _("The action plan is created."), "success")
            return redirect(request, f"/officer/plans/{plan.id}")
    return await _plan_form_page(request, form, errors, status=422)


def _item_view(item: ActionPlanItemRead) -> dict[str, Any]:
    return {"item": item, "objective": i18n.localised(item.objective)}


@get("/officer/plans/{plan_id:uuid}", name="officer_plan", include_in_schema=False)
async def plan_page(request: Request[Any, Any, Any], plan_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    plan = await client.get_action_plan(plan_id)
    items = (await client.list_action_plan_items(plan_id)).items
    pcc = await client.get_pcc(plan.pcc_id)
    return page(
        request,
        "officer/plans/plan.html",
        {
            "plan": plan,
            "pcc_name": i18n.localised(pcc.name),
            "items": [_item_view(i) for i in items],
            "statuses": plan_statuses(),
        },
    )


@get("/officer/plans/{plan_id:uuid}/edit", name="officer_plan_edit", include_in_schema=False)
async def plan_edit(request: Request[Any, Any, Any], plan_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    plan = await client_for(request).get_action_plan(plan_id)
    form = PlanForm(
        pcc_id=str(plan.pcc_id),
        title=i18n_values(plan.title),
        period_start=plan.period_start.isoformat(),
        period_end=plan.period_end.isoformat(),
        status=plan.status.value,
    )
    return await _plan_form_page(request, form, plan=plan)


@post("/officer/plans/{plan_id:uuid}", name="officer_plan_update", include_in_schema=False)
async def plan_update(request: Request[Any, Any, Any], plan_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    posted = await request.form()
    plan = await client.get_action_plan(plan_id)
    form, errors, start, end = _read_plan_form(posted)
    form.pcc_id = str(plan.pcc_id)
    version = text(posted, "version")
    if not errors and start and end:
        try:
            await client.update_action_plan(
                plan_id,
                ActionPlanUpdate(
                    version=int(version) if version.isdigit() else plan.version,
                    title=i18n_text(form.title),
                    period_start=start,
                    period_end=end,
                    status=ActionPlanStatus(form.status),
                ),
            )
        except ApiError as exc:
            if exc.status not in (403, 409, 422):
                raise
            errors = _problem_errors(exc, PLAN_NAMES)
            plan = await client.get_action_plan(plan_id)
        else:
            flash(request, _("The action plan is saved."), "success")
            return redirect(request, f"/officer/plans/{plan_id}")
    return await _plan_form_page(request, form, errors, plan=plan, status=422)


@post("/officer/plans/{plan_id:uuid}/delete", name="officer_plan_delete", include_in_schema=False)
async def plan_delete(request: Request[Any, Any, Any], plan_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    try:
        await client_for(request).delete_action_plan(plan_id)
    except ApiError as exc:
        if exc.status not in (403, 409):
            raise
        message = (
            _("Only a draft action plan can be deleted. Close it instead.")
            if exc.status == 409
            else refusal(exc)
        )
        flash(request, message, "error")
        return redirect(request, f"/officer/plans/{plan_id}")
    flash(request, _("The action plan is deleted."), "success")
    return redirect(request, "/officer/plans")


# --- items ----------------------------------------------------------------------------------


@dataclass
class ItemForm:
    code: str = ""
    objective: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LANGS, ""))
    activities: str = ""
    budget: str = ""
    currency: str = "KGS"
    target_groups: str = ""
    gender_responsive: bool = False
    conflict_sensitive: bool = False


ITEM_NAMES = {
    **i18n_names("objective", "objective"),
    "code": "code",
    "activities": "activities",
    "budget_estimate": "budget",
    "currency": "currency",
    "target_groups": "target_groups",
}


def _read_item_form(posted: Any) -> tuple[ItemForm, FormErrors, int | None, list[str]]:
    form = ItemForm(
        code=text(posted, "code"),
        objective=i18n_fields(posted, "objective"),
        activities=text(posted, "activities"),
        budget=text(posted, "budget"),
        currency=(text(posted, "currency") or "KGS").upper(),
        target_groups=text(posted, "target_groups"),
        gender_responsive=checked(posted, "gender_responsive"),
        conflict_sensitive=checked(posted, "conflict_sensitive"),
    )
    errors = FormErrors()
    if not form.code:
        errors.add("code", _("Enter the item's code, e.g. OSH-1.2."))
    if not form.objective["en"]:
        errors.add("objective_en", _("Enter the objective in English."))
    if not form.activities:
        errors.add("activities", _("Describe the activities."))
    minor: int | None = None
    if not form.budget:
        errors.add("budget", _("Enter the budget estimate."))
    else:
        try:
            minor = i18n.parse_major_units(form.budget, form.currency)
        except (ValueError, KeyError):
            errors.add("budget", _("Enter an amount, e.g. 150000 or 150000.50."))
    groups: list[str] = []
    for g in form.target_groups.split(";"):
        g = g.strip()
        if g and g not in groups:
            groups.append(g)
    return form, errors, minor, groups


def _item_fields(form: ItemForm, minor: int, groups: list[str]) -> dict[str, Any]:
    """What creating and updating an item send, from a form that _read_item_form accepted."""
    return {
        "code": form.code,
        "objective": i18n_text(form.objective),
        "activities": form.activities,
        "budget_estimate": minor,
        "currency": form.currency,
        "target_groups": groups,
        "gender_responsive": form.gender_responsive,
        "conflict_sensitive": form.conflict_sensitive,
    }


def _item_form_from(item: ActionPlanItemRead) -> ItemForm:
    return ItemForm(
        code=item.code,
        objective=i18n_values(item.objective),
        activities=item.activities,
        budget=i18n.major_units(item.budget_estimate, item.currency),
        currency=item.currency,
        target_groups="; ".join(item.target_groups),
        gender_responsive=item.gender_responsive,
        conflict_sensitive=item.conflict_sensitive,
    )


def _item_conflict(exc: ApiError) -> FormErrors:
    if exc.status == 409 and "code" in (exc.problem.detail or ""):
        errors = FormErrors()
        errors.add("code", _("This plan already has an item with this code."))
        return errors
    return _problem_errors(exc, ITEM_NAMES)


async def _item_form_page(
    request: Request[Any, Any, Any],
    plan: ActionPlanRead,
    form: ItemForm,
    errors: FormErrors | None = None,
    *,
    item: ActionPlanItemRead | None = None,
    status: int = 200,
) -> Any:
    return page(
        request,
        "officer/plans/item_form.html",
        {"plan": plan, "form": form, "errors": errors, "item": item},
        status=status,
    )


@get("/officer/plans/{plan_id:uuid}/items/new", name="officer_item_new", include_in_schema=False)
async def item_new(request: Request[Any, Any, Any], plan_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    plan = await client_for(request).get_action_plan(plan_id)
    return await _item_form_page(request, plan, ItemForm())


@post("/officer/plans/{plan_id:uuid}/items", name="officer_item_create", include_in_schema=False)
async def item_create(request: Request[Any, Any, Any], plan_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    plan = await client.get_action_plan(plan_id)
    form, errors, minor, groups = _read_item_form(await request.form())
    if not errors and minor is not None:
        try:
            item = await client.create_action_plan_item(
                plan_id,
                ActionPlanItemCreate(**_item_fields(form, minor, groups)),
            )
        except ApiError as exc:
            if exc.status not in (403, 409, 422):
                raise
            errors = _item_conflict(exc)
        else:
            flash(request, _("The item %(code)s is added.") % {"code": item.code}, "success")
            return redirect(request, f"/officer/plans/{plan_id}#item-{item.id}")
    return await _item_form_page(request, plan, form, errors, status=422)


@get("/officer/plans/items/{item_id:uuid}/edit", name="officer_item_edit", include_in_schema=False)
async def item_edit(request: Request[Any, Any, Any], item_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    item = await client.get_action_plan_item(item_id)
    plan = await client.get_action_plan(item.action_plan_id)
    return await _item_form_page(request, plan, _item_form_from(item), item=item)


@post("/officer/plans/items/{item_id:uuid}", name="officer_item_update", include_in_schema=False)
async def item_update(request: Request[Any, Any, Any], item_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    posted = await request.form()
    item = await client.get_action_plan_item(item_id)
    plan = await client.get_action_plan(item.action_plan_id)
    form, errors, minor, groups = _read_item_form(posted)
    version = text(posted, "version")
    if not errors and minor is not None:
        try:
            await client.update_action_plan_item(
                item_id,
                ActionPlanItemUpdate(
                    version=int(version) if version.isdigit() else item.version,
                    **_item_fields(form, minor, groups),
                ),
            )
        except ApiError as exc:
            if exc.status not in (403, 409, 422):
                raise
            errors = _item_conflict(exc)
            item = await client.get_action_plan_item(item_id)
        else:
            flash(request, _("The item %(code)s is saved.") % {"code": form.code}, "success")
            return redirect(request, f"/officer/plans/{plan.id}#item-{item_id}")
    return await _item_form_page(request, plan, form, errors, item=item, status=422)


@post(
    "/officer/plans/items/{item_id:uuid}/delete",
    name="officer_item_delete",
    include_in_schema=False,
)
async def item_delete(request: Request[Any, Any, Any], item_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    item = await client.get_action_plan_item(item_id)
    try:
        await client.delete_action_plan_item(item_id)
    except ApiError as exc:
        if exc.status not in (403, 409):
            raise
        message = (
            _("The item %(code)s cannot be deleted: proposals, tranches or reports refer to it.")
            % {"code": item.code}
            if exc.status == 409
            else refusal(exc)
        )
        flash(request, message, "error")
    else:
        flash(request, _("The item %(code)s is deleted.") % {"code": item.code}, "success")
    return redirect(request, f"/officer/plans/{item.action_plan_id}")


# --- indicators -----------------------------------------------------------------------------


@dataclass
class IndicatorForm:
    name: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LANGS, ""))
    unit: str = ""
    baseline: str = ""
    target: str = ""


INDICATOR_NAMES = {
    **i18n_names("name", "name"),
    "unit": "unit",
    "baseline": "baseline",
    "target": "target",
}


def _read_indicator_form(posted: Any) -> tuple[IndicatorForm, FormErrors, IndicatorCreate | None]:
    form = IndicatorForm(
        name=i18n_fields(posted, "name"),
        unit=text(posted, "unit"),
        baseline=text(posted, "baseline"),
        target=text(posted, "target"),
    )
    errors = FormErrors()
    if not form.name["en"]:
        errors.add("name_en", _("Enter the indicator's name in English."))
    if not form.unit:
        errors.add("unit", _("Enter the unit, e.g. persons or %."))
    target = parse_number(form.target) if form.target else None
    if not form.target:
        errors.add("target", _("Enter the target."))
    elif target is None:
        errors.add("target", _("Enter a number, e.g. 12 or 12.5."))
    baseline = parse_number(form.baseline) if form.baseline else None
    if form.baseline and baseline is None:
        errors.add("baseline", _("Enter a number, e.g. 12 or 12.5."))
    if errors or target is None:
        return form, errors, None
    body = IndicatorCreate(
        name=i18n_text(form.name), unit=form.unit, target=target, baseline=baseline
    )
    return form, errors, body


@get(
    "/officer/plans/items/{item_id:uuid}/indicators/new",
    name="officer_indicator_new",
    include_in_schema=False,
)
async def indicator_new(request: Request[Any, Any, Any], item_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    item = await client_for(request).get_action_plan_item(item_id)
    return page(
        request,
        "officer/plans/indicator_form.html",
        {"item": item, "form": IndicatorForm(), "errors": None},
    )


@post(
    "/officer/plans/items/{item_id:uuid}/indicators",
    name="officer_indicator_create",
    include_in_schema=False,
)
async def indicator_create(request: Request[Any, Any, Any], item_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    item = await client.get_action_plan_item(item_id)
    form, errors, body = _read_indicator_form(await request.form())
    if body is not None:
        try:
            await client.create_indicator(item_id, body)
        except ApiError as exc:
            if exc.status not in (403, 409, 422):
                raise
            errors = _problem_errors(exc, INDICATOR_NAMES)
        else:
            flash(request, _("The indicator is added."), "success")
            return redirect(request, f"/officer/plans/{item.action_plan_id}#item-{item_id}")
    return page(
        request,
        "officer/plans/indicator_form.html",
        {"item": item, "form": form, "errors": errors},
        status=422,
    )


def _indicator_of(item: ActionPlanItemRead, indicator_id: uuid.UUID) -> IndicatorRead:
    found = next((i for i in item.indicators if i.id == indicator_id), None)
    if found is None:
        raise NotFoundException()
    return found


@get(
    "/officer/plans/items/{item_id:uuid}/indicators/{indicator_id:uuid}/edit",
    name="officer_indicator_edit",
    include_in_schema=False,
)
async def indicator_edit(
    request: Request[Any, Any, Any],
    item_id: FromPath[uuid.UUID],
    indicator_id: FromPath[uuid.UUID],
) -> Any:
    require_officer(request)
    item = await client_for(request).get_action_plan_item(item_id)
    ind = _indicator_of(item, indicator_id)
    form = IndicatorForm(
        name=i18n_values(ind.name),
        unit=ind.unit,
        baseline=number_text(ind.baseline),
        target=number_text(ind.target),
    )
    return page(
        request,
        "officer/plans/indicator_form.html",
        {"item": item, "indicator": ind, "form": form, "errors": None},
    )


@post(
    "/officer/plans/items/{item_id:uuid}/indicators/{indicator_id:uuid}",
    name="officer_indicator_update",
    include_in_schema=False,
)
async def indicator_update(
    request: Request[Any, Any, Any],
    item_id: FromPath[uuid.UUID],
    indicator_id: FromPath[uuid.UUID],
) -> Any:
    require_officer(request)
    client = client_for(request)
    item = await client.get_action_plan_item(item_id)
    ind = _indicator_of(item, indicator_id)
    form, errors, body = _read_indicator_form(await request.form())
    if body is not None:
        try:
            await client.update_indicator(
                item_id,
                indicator_id,
                IndicatorUpdate(
                    name=body.name, unit=body.unit, target=body.target, baseline=body.baseline
                ),
            )
        except ApiError as exc:
            if exc.status not in (403, 404, 409, 422):
                raise
            errors = _problem_errors(exc, INDICATOR_NAMES)
        else:
            flash(request, _("The indicator is saved."), "success")
            return redirect(request, f"/officer/plans/{item.action_plan_id}#item-{item_id}")
    return page(
        request,
        "officer/plans/indicator_form.html",
        {"item": item, "indicator": ind, "form": form, "errors": errors},
        status=422,
    )


@post(
    "/officer/plans/items/{item_id:uuid}/indicators/{indicator_id:uuid}/delete",
    name="officer_indicator_delete",
    include_in_schema=False,
)
async def indicator_delete(
    request: Request[Any, Any, Any],
    item_id: FromPath[uuid.UUID],
    indicator_id: FromPath[uuid.UUID],
) -> Any:
    require_officer(request)
    client = client_for(request)
    item = await client.get_action_plan_item(item_id)
    try:
        await client.delete_indicator(item_id, indicator_id)
    except ApiError as exc:
        if exc.status not in (403, 404, 409):
            raise
        message = (
            _("This indicator cannot be deleted: grantee reports give values for it.")
            if exc.status == 409
            else refusal(exc)
        )
        flash(request, message, "error")
    else:
        flash(request, _("The indicator is deleted."), "success")
    return redirect(request, f"/officer/plans/{item.action_plan_id}#item-{item_id}")


# --- import ---------------------------------------------------------------------------------


@dataclass
class ImportResult:
    dry_run: bool
    filename: str
    report: ImportReport | None = None
    errors: list[ImportRowError] = field(default_factory=list)
    carried: str = ""
    """The checked file, base64, for the import button (empty when too large to carry)."""


def _row_errors(exc: ApiError) -> list[ImportRowError]:
    """The problem's `{field: "row 7: budget", message}` list → rows, columns, messages."""
    rows: list[ImportRowError] = []
    for issue in exc.problem.errors or []:
        where, _sep, column = issue.field.partition(":")
        number = where.strip().removeprefix("row").strip()
        rows.append(
            ImportRowError(
                row=int(number) if number.isdigit() else 0,
                column=column.strip() or None,
                message=issue.message,
            )
        )
    return rows


def _import_page(
    request: Request[Any, Any, Any],
    *,
    result: ImportResult | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Any:
    return page(
        request,
        "officer/plans/import.html",
        {
            "result": result,
            "errors": errors,
            "entity_names": entity_names(),
            "record_names": record_names(),
            "shown_records": SHOWN_RECORDS,
        },
        status=status,
    )


def record_names() -> dict[str, str]:
    return {
        "action_plan": _("Action plan"),
        "action_plan_item": _("Item"),
        "indicator": _("Indicator"),
    }


def entity_names() -> dict[str, str]:
    return {
        "action_plan": _("Action plans"),
        "action_plan_item": _("Items"),
        "indicator": _("Indicators"),
    }


@get("/officer/plans/import", name="officer_plan_import", include_in_schema=False)
async def import_form(request: Request[Any, Any, Any]) -> Any:
    """The upload form; after an import, once, what it did."""
    require_officer(request)
    done = kept(request, KEPT_IMPORT)
    result = None
    if done is not None:
        keep(request, KEPT_IMPORT, None)
        try:
            report = msgspec.convert(done.get("report"), ImportReport)
        except msgspec.ValidationError:
            report = None
        if report is not None:
            result = ImportResult(
                dry_run=False, filename=str(done.get("filename", "")), report=report
            )
    return _import_page(request, result=result)


@post(
    "/officer/plans/import",
    name="officer_plan_import_run",
    include_in_schema=False,
    request_max_body_size=IMPORT_LIMIT + CARRY_LIMIT * 2,
)
async def import_run(request: Request[Any, Any, Any]) -> Any:
    """`action=check` (a dry run) or `action=import`; the file is the upload, or the checked
    file carried in `carried` when no new file was chosen."""
    require_officer(request)
    posted = await request.form()
    action = text(posted, "action")
    dry_run = action != "import"
    upload = posted.get("file")
    data = b""
    filename = ""
    errors = FormErrors()
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read()
        filename = upload.filename
    elif text(posted, "carried") and text(posted, "carried_name"):
        try:
            data = base64.b64decode(text(posted, "carried"), validate=True)
            filename = text(posted, "carried_name")
        except (binascii.Error, ValueError):
            data = b""
    if not filename:
        errors.add("file", _("Choose a file to upload."))
    elif not data:
        errors.add("file", _("The file is empty."))
    elif filename.rsplit(".", 1)[-1].lower() not in ("xlsx", "csv"):
        errors.add("file", _("Upload an Excel (.xlsx) or CSV (.csv) file."))
    if errors:
        return _import_page(request, errors=errors, status=422)
    result = ImportResult(dry_run=dry_run, filename=filename)
    status = 200
    try:
        result.report = await client_for(request).create_action_plan_import(
            data, filename, dry_run=dry_run
        )
    except ApiError as exc:
        if exc.status == 422 and _slug(exc) == "import-rejected":
            result.errors = _row_errors(exc)
            status = 422
        elif exc.status in (413, 415, 422):
            errors.add("file", _import_refusal(exc))
            return _import_page(request, errors=errors, status=422)
        elif exc.status == 403:
            errors.add(None, refusal(exc))
            return _import_page(request, errors=errors, status=403)
        else:
            raise
    if result.report is not None and result.report.applied:
        # POST → redirect → GET: the report waits in the session for the next page
        keep(
            request,
            KEPT_IMPORT,
            {  # the counts only: the records of a large file would not fit in the cookie
                "filename": filename,
                "report": msgspec.to_builtins(msgspec.structs.replace(result.report, records=[])),
            },
        )
        flash(request, _("The file is imported."), "success")
        return redirect(request, "/officer/plans/import")
    if dry_run and not result.errors and len(data) <= CARRY_LIMIT:
        result.carried = base64.b64encode(data).decode()
    return _import_page(request, result=result, status=status)


def _import_refusal(exc: ApiError) -> str:
    slug = _slug(exc)
    if exc.status == 413:
        return _("The file is too large: at most 5 MB.")
    if exc.status == 415:
        return _("This is neither an Excel (.xlsx) nor a UTF-8 CSV file.")
    if slug == "import-too-many-rows":
        return _("The file has too many rows: at most 10,000 after the header.")
    if slug == "import-time-limit":
        return _("The file took too long to read. Split it into smaller files.")
    return _("The file cannot be used: %(reason)s") % {
        "reason": exc.problem.detail or exc.problem.title
    }


ROUTES: list[Any] = [
    plans_list,
    plan_new,
    plan_create,
    import_form,
    import_run,
    plan_page,
    plan_edit,
    plan_update,
    plan_delete,
    item_new,
    item_create,
    item_edit,
    item_update,
    item_delete,
    indicator_new,
    indicator_create,
    indicator_edit,
    indicator_update,
    indicator_delete,
]
