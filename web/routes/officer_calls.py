"""The programme officer: calls, their windows, eligibility rules and rubrics.

`/officer` lists the calls (draft, published, closed) with their windows; a call's page shows its
texts, contributions and windows, and publishes or closes it; a window's hub
(`/officer/windows/{id}`) links to its sub-pages (rules and rubric here; screening, panel,
ranking and selection elsewhere) through `officer/_window_nav.html`.

Every form works without JavaScript (POST → 303 → GET; a refusal re-renders the form with 422 and
each message next to its field). The API's refusals (problem details) are put into words in the
person's language here, as far as they are known; anything else is shown as the API said it.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery

from contracts.calls import (
    AllocationCreate,
    BudgetLineAnswer,
    CallCreate,
    CallRead,
    CallTransition,
    CallUpdate,
    ContributionCreate,
    EligibilityAnswers,
    EligibilityCheck,
    EligibilityRead,
    RulesReplace,
    WindowCreate,
    WindowRead,
    WindowUpdate,
)
from contracts.client import ApiError, GrantsClient
from contracts.common import I18nText
from contracts.enums import AggregationMethod, CallStatus, SelectionPolicy
from contracts.finance import FundingSourceRead
from contracts.pcc import ActionPlanItemRead, ActionPlanRead, TerritoryRead
from contracts.proposals import ProposalSummary
from contracts.reviews import CriterionCreate, RubricCreate, RubricRead
from contracts.selection import QuotaInput
from web import i18n
from web.forms import FormErrors, checked, humane, many, text
from web.i18n import _
from web.labels import attachment_kinds, organisation_kinds, proposal_statuses, rule_words
from web.render import page, redirect
from web.routes.account import require_user
from web.session import SessionUser, client_for, flash

LANGS = ("en", "ru", "ky")
STALE = "stale-version"


def require_officer(request: Request[Any, Any, Any]) -> SessionUser:
    user = require_user(request)
    if not user.is_officer:
        raise PermissionDeniedException()
    return user


# --- words ---------------------------------------------------------------------------------


def call_statuses() -> dict[str, str]:
    return {
        "draft": _("Draft"),
        "published": _("Published"),
        "closed": _("Closed"),
        "archived": _("Archived"),
    }


def selection_policies() -> dict[str, str]:
    return {
        "strict_funding_line": _(
            "Strict funding line (in rank order, stop at the first that does not fit)"
        ),
        "rank_with_skipping": _("Rank order, skipping those that do not fit"),
        "optimal": _("Best total score within the budget (exact optimum)"),
    }


def calibrations() -> dict[str, str]:
    return {
        "none": _("None: raw scores"),
        "z": _("Standardise each reviewer's scores (z-scores)"),
        "severity": _("Correct for each reviewer's severity"),
    }


def quota_kinds() -> dict[str, str]:
    return {
        "min_share_money": _("At least this share of the money"),
        "min_share_count": _("At least this share of the grants"),
        "min_count": _("At least this many grants"),
        "max_count": _("At most this many grants"),
        "min_money": _("At least this amount"),
        "max_money": _("At most this amount"),
        "max_per_organisation": _("At most this many grants per organisation"),
    }


def aggregations() -> dict[str, str]:
    return {
        "mean": _("Mean of the reviewers' scores"),
        "median": _("Median of the reviewers' scores"),
        "trimmed_mean": _("Mean without the highest and lowest score"),
    }


def rule_kinds() -> dict[str, str]:
    return {
        "organisation_kind_in": _("Kind of organisation"),
        "territory_in_window": _("Registered in one of the window's territories"),
        "min_years_since_founding": _("Years since founding"),
        "requested_amount_within_window": _("Requested amount within the window's limits"),
        "min_co_funding_share": _("Minimum co-funding share"),
        "led_by": _("Women-led or youth-led"),
        "linked_to_eligible_item": _("Linked to the window's action-plan items"),
        "attachments_present": _("Documents attached"),
        "max_active_grants": _("Maximum number of active grants"),
        "budget_lines_consistent": _("Budget lines consistent with the request"),
        "any": _("Group: at least one of its rules passes"),
        "all": _("Group: all of its rules pass"),
    }


def window_stage(window: WindowRead, now: datetime | None = None) -> tuple[str, str]:
    """Where the window is: a short code for styling and the words for it."""
    moment = now or datetime.now(UTC)
    status = str(window.status)
    if status == "draft":
        return "draft", _("Being set up")
    if status in ("closed", "archived"):
        return "closed", _("Closed")
    if moment < window.opens_at:
        return "soon", _("Published, opens later")
    if moment < window.closes_at:
        return "open", _("Open for proposals")
    return "review", _("Deadline passed: screening, review and selection")


_AT = re.compile(r" - at `\$\.?([^`]*)`")
_TRANSITION = re.compile(r"^an? (\w+) call cannot become (\w+)")
_ENVELOPE = re.compile(r"^source ([0-9a-f-]{36}): windows would get (\d+) but it contributes (\d+)")
_NOTHING = re.compile(r"^source ([0-9a-f-]{36}) contributes nothing")


def api_errors(
    exc: ApiError,
    field_names: Mapping[str, str] | None = None,
    *,
    sources: Mapping[str, str] | None = None,
    currency: str = "KGS",
) -> FormErrors:
    """The API's refusal in the person's language, each message next to its field."""
    problem = exc.problem
    detail = problem.detail or ""
    errors = FormErrors()
    if exc.status == 409:
        if problem.type.endswith(STALE):
            errors.add(
                None,
                _(
                    "Someone else changed this in the meantime. The page now shows their "
                    "version: make your change again."
                ),
            )
        elif m := _TRANSITION.match(detail):
            statuses = call_statuses()
            allowed = ", ".join(statuses.get(a, a) for a in problem.allowed or []) or "—"
            errors.add(
                None,
                _(
                    "A call in the state “%(state)s” cannot become “%(target)s”. "
                    "Possible next states: %(allowed)s."
                )
                % {
                    "state": statuses.get(m.group(1), m.group(1)),
                    "target": statuses.get(m.group(2), m.group(2)),
                    "allowed": allowed,
                },
            )
        elif "already has a window" in detail:
            errors.add("code", _("This call already has a window with this code."))
        elif "only title and description" in detail:
            errors.add(
                None, _("The call is published: only the texts of its windows can change now.")
            )
        elif "only while the call is a draft" in detail:
            errors.add(None, _("This can change only while the call is a draft."))
        elif "judged by these rules" in detail:
            errors.add(
                None,
                _("Proposals were already submitted to this window: its rules cannot change now."),
            )
        elif "its rubric is frozen" in detail:
            errors.add(
                None,
                _("Proposals were already submitted to this window: its rubric cannot change now."),
            )
        else:
            errors.add(None, detail or problem.title)
        return errors
    names = dict(field_names or {})
    issues = problem.errors or []
    if not issues:
        errors.add(None, humane(detail or problem.title))
        return errors
    for issue in issues:
        message = issue.message
        path = issue.field.removeprefix("body.").removeprefix("$.")
        if at := _AT.search(message):
            path = at.group(1) or path
            message = _AT.sub("", message)
        path = re.sub(r"\[(\d+)\]", r".\1", path)
        target = names.get(path, path)
        if path == "windows" and "at least one window" in message:
            errors.add(None, _("A call needs at least one window before it is published."))
        elif path.startswith("windows.") and message == "has no eligibility rules":
            errors.add(
                None,
                _("Window %(code)s has no eligibility rules yet.") % {"code": path[8:]},
            )
        elif path.startswith("windows.") and message == "has no eligible territory":
            errors.add(
                None,
                _("Window %(code)s has no eligible territory yet.") % {"code": path[8:]},
            )
        elif message == "must be after opens_at":
            errors.add(target, _("The closing time must be after the opening time."))
        elif message == "must be after closes_at":
            errors.add(target, _("The review deadline must be after the window closes."))
        elif message == "must be at least min_grant":
            errors.add(target, _("The maximum grant must be at least the minimum grant."))
        elif m := _ENVELOPE.match(message):
            errors.add(
                target,
                _(
                    "%(source)s would give the windows %(wanted)s but contributes only "
                    "%(available)s to the call."
                )
                % {
                    "source": (sources or {}).get(m.group(1), m.group(1)),
                    "wanted": i18n.money(int(m.group(2)), currency),
                    "available": i18n.money(int(m.group(3)), currency),
                },
            )
        elif m := _NOTHING.match(message):
            errors.add(
                target,
                _("%(source)s contributes nothing to this call.")
                % {"source": (sources or {}).get(m.group(1), m.group(1))},
            )
        elif message == "this source is listed twice":
            errors.add(target, _("This funding source is listed twice."))
        elif message == "same currency as the call: rate is 1":
            errors.add(target, _("The source is in the call's currency: the rate is 1."))
        elif message == "must be > 0 and finite":
            errors.add(target, _("Enter a rate greater than zero."))
        elif message.endswith("is used twice"):
            errors.add(target, _("This code is used twice."))
        elif message == "must be above scale_min":
            errors.add(target, _("The top of the scale must be above its bottom."))
        elif message == "must divide the scale's range":
            errors.add(target, _("The step must divide the scale's range evenly."))
        elif message == "must lie on the scale":
            errors.add(target, _("The threshold must lie on the scale."))
        elif message == "above every criterion's maximum":
            errors.add(target, _("The overall threshold is above every criterion's maximum."))
        elif message.startswith("no criterion"):
            errors.add(target, _("There is no criterion with this code."))
        elif message == "a criterion is listed twice":
            errors.add(target, _("A criterion is listed twice."))
        elif message == "is required":
            errors.add(target, _("This field is required."))
        elif message in ("must be an integer", "must not be negative") or message.startswith(
            "must be ≥"
        ):
            errors.add(
                target, _("Enter a whole number, at least %(n)s.") % {"n": _minimum(message)}
            )
        elif message == "must be between 0 and 100" or "decimal" in message:
            errors.add(target, _("Enter a percentage between 0 and 100, e.g. 12.5."))
        elif message.startswith("must name at least one"):
            errors.add(target, _("Choose at least one."))
        elif message.startswith("duplicate id"):
            errors.add(target, _("Another rule already has this identifier."))
        elif path.endswith(".id"):
            errors.add(
                target,
                _("Use 1–64 letters, digits, dots, dashes or underscores."),
            )
        else:
            errors.add(target or None, humane(message))
    return errors


def _minimum(message: str) -> str:
    m = re.search(r"≥ (\d+)", message)
    return m.group(1) if m else "0"


# --- reading the API -----------------------------------------------------------------------


async def all_calls(client: GrantsClient) -> list[CallRead]:
    found: list[CallRead] = []
    cursor: str | None = None
    for _page in range(20):
        result = await client.list_calls(cursor=cursor, limit=200)
        found += result.items
        cursor = result.next_cursor
        if not cursor:
            break
    return sorted(found, key=lambda c: c.created_at, reverse=True)


async def funding_sources(client: GrantsClient) -> list[FundingSourceRead]:
    result = await client.list_funding_sources(limit=200)
    return sorted(result.items, key=lambda s: s.name)


async def territories(client: GrantsClient) -> list[TerritoryRead]:
    return (await client.list_territories()).items


@dataclass
class PlanItems:
    plan: ActionPlanRead
    pcc_name: str
    items: list[ActionPlanItemRead]


async def plan_items(client: GrantsClient) -> list[PlanItems]:
    """Every action plan's items, by plan (the PCC's territory named)."""
    places = {str(t.pcc_id): i18n.localised(t.name) for t in await territories(client) if t.pcc_id}
    plans = (await client.list_action_plans(limit=200)).items
    out = []
    for plan in plans:
        items = (await client.list_action_plan_items(plan.id)).items
        if items:
            out.append(PlanItems(plan, places.get(str(plan.pcc_id), ""), items))
    return out


async def proposal_counts(client: GrantsClient, window: WindowRead) -> tuple[Counter[str], bool]:
    """Proposals of a window by status (drafts included); True when there are more than counted."""
    if str(window.status) == "draft":
        return Counter(), False
    result = await client.list_proposals(window_id=window.id, limit=200)
    return Counter(str(p.status) for p in result.items), result.next_cursor is not None


# --- the officer's home --------------------------------------------------------------------


@get("/officer", name="officer_home", include_in_schema=False)
async def officer_home(request: Request[Any, Any, Any]) -> Any:
    require_officer(request)
    client = client_for(request)
    calls = await all_calls(client)
    groups: dict[str, list[CallRead]] = {"draft": [], "published": [], "closed": []}
    for call in calls:
        if str(call.status) in groups:
            groups[str(call.status)].append(call)
    counts: dict[uuid.UUID, tuple[Counter[str], bool]] = {}
    for call in groups["published"][:20]:
        for w in call.windows:
            counts[w.id] = await proposal_counts(client, w)
    return page(
        request,
        "officer/calls/home.html",
        {
            "groups": groups,
            "counts": counts,
            "stage": window_stage,
            "statuses": call_statuses(),
            "proposal_statuses": proposal_statuses(),
        },
    )


# --- the window hub ------------------------------------------------------------------------


async def _rubric(client: GrantsClient, window: WindowRead) -> RubricRead | None:
    if window.rubric_id is None:
        return None
    return await client.get_rubric(window.rubric_id)


@get("/officer/windows/{window_id:uuid}", name="officer_window", include_in_schema=False)
async def window_hub(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    window = await client.get_window(window_id)
    call = await client.get_call(window.call_id)
    places = {t.id: t for t in await territories(client)}
    sources = {s.id: s for s in await funding_sources(client)}
    counts, more = await proposal_counts(client, window)
    rubric = await _rubric(client, window)
    return page(
        request,
        "officer/calls/window.html",
        {
            "window": window,
            "call": call,
            "section": "overview",
            "stage": window_stage(window),
            "places": [places[t] for t in window.territory_ids if t in places],
            "sources": sources,
            "counts": counts,
            "more": more,
            "rubric": rubric,
            "proposal_statuses": proposal_statuses(),
            "policies": selection_policies(),
            "quota_kinds": quota_kinds(),
            "statuses": call_statuses(),
            "rule_texts": [
                rule_words(
                    r,
                    {
                        str(t): i18n.localised(places[t].name)
                        for t in window.territory_ids
                        if t in places
                    },
                )
                for r in (window.rule_set.rules if window.rule_set else [])
            ],
        },
    )


# --- texts in three languages ----------------------------------------------------------------


def texts_from_form(form: Mapping[str, Any], name: str) -> dict[str, str]:
    return {lang: text(form, f"{name}.{lang}") for lang in LANGS}


def texts_from_read(value: Any) -> dict[str, str]:
    if value is None:
        return dict.fromkeys(LANGS, "")
    return {lang: str(getattr(value, lang, None) or "") for lang in LANGS}


def i18n_text(values: Mapping[str, str]) -> I18nText:
    """English is required by the API (an empty one is refused next to its field)."""
    return I18nText(
        en=values.get("en", ""), ru=values.get("ru") or None, ky=values.get("ky") or None
    )


def optional_i18n(values: Mapping[str, str]) -> I18nText | None:
    return i18n_text(values) if any(values.values()) else None


# --- the call form ---------------------------------------------------------------------------


@dataclass
class ContributionRow:
    funding_source_id: str = ""
    amount: str = ""
    rate: str = "1"

    @property
    def blank(self) -> bool:
        return not (self.funding_source_id or self.amount)


@dataclass
class CallDraft:
    version: int = 0
    currency: str = "KGS"
    title: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LANGS, ""))
    description: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LANGS, ""))
    contributions: list[ContributionRow] = field(default_factory=list)


_CONTRIB = re.compile(r"^contributions\.(\d+)\.")


def _row_numbers(form: Mapping[str, Any], pattern: re.Pattern[str]) -> list[int]:
    return sorted({int(m.group(1)) for key in form if (m := pattern.match(str(key)))})


def call_draft_from_form(form: Mapping[str, Any]) -> CallDraft:
    try:
        version = int(text(form, "version") or 0)
    except ValueError:
        version = 0
    return CallDraft(
        version=version,
        currency=(text(form, "currency") or "KGS").upper(),
        title=texts_from_form(form, "title"),
        description=texts_from_form(form, "description"),
        contributions=[
            ContributionRow(
                funding_source_id=text(form, f"contributions.{n}.funding_source_id"),
                amount=text(form, f"contributions.{n}.amount"),
                rate=text(form, f"contributions.{n}.rate") or "1",
            )
            for n in _row_numbers(form, _CONTRIB)
        ],
    )


def call_draft_from_read(call: CallRead) -> CallDraft:
    return CallDraft(
        version=call.version,
        currency=call.currency,
        title=texts_from_read(call.title),
        description=texts_from_read(call.description),
        contributions=[
            ContributionRow(
                funding_source_id=str(k.funding_source_id),
                amount=i18n.major_units(k.amount, k.currency),
                rate=format(k.rate.normalize(), "f"),
            )
            for k in call.contributions
        ],
    )


def parse_contributions(
    rows: list[ContributionRow], sources: Mapping[str, FundingSourceRead], errors: FormErrors
) -> list[ContributionCreate]:
    """The filled rows (blank ones left out); each amount in its source's currency."""
    out: list[ContributionCreate] = []
    for n, row in enumerate(rows):
        if row.blank:
            continue
        source = sources.get(row.funding_source_id)
        if source is None:
            errors.add(f"contributions.{n}.funding_source_id", _("Choose a funding source."))
            continue
        try:
            amount = i18n.parse_major_units(row.amount, source.currency)
        except (ValueError, InvalidOperation):
            errors.add(
                f"contributions.{n}.amount",
                _("Enter an amount such as 1500 or 1500.50."),
            )
            continue
        try:
            rate = Decimal(row.rate.replace(",", ".").replace(" ", ""))
        except InvalidOperation:
            errors.add(f"contributions.{n}.rate", _("Enter a rate greater than zero."))
            continue
        out.append(ContributionCreate(funding_source_id=source.id, amount=amount, rate=rate))
    return out


async def _call_form(
    request: Request[Any, Any, Any],
    draft: CallDraft,
    *,
    call: CallRead | None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Any:
    client = client_for(request)
    rows = list(draft.contributions)
    if not rows or not rows[-1].blank:
        rows.append(ContributionRow())
    draft.contributions = rows
    return page(
        request,
        "officer/calls/call_form.html",
        {
            "call": call,
            "draft": draft,
            "errors": errors or FormErrors(),
            "sources": await funding_sources(client),
            "langs": LANGS,
        },
        status=status,
    )


@get("/officer/calls/new", name="officer_call_new", include_in_schema=False)
async def call_new(request: Request[Any, Any, Any]) -> Any:
    require_officer(request)
    return await _call_form(request, CallDraft(), call=None)


async def _save_call(request: Request[Any, Any, Any], call: CallRead | None) -> Any:
    client = client_for(request)
    form = await request.form()
    draft = call_draft_from_form(form)
    action = text(form, "action")
    if action == "add_contribution":
        draft.contributions.append(ContributionRow())
        return await _call_form(request, draft, call=call)
    if action.startswith("remove_contribution:"):
        with contextlib.suppress(ValueError, IndexError):
            del draft.contributions[int(action.split(":", 1)[1])]
        return await _call_form(request, draft, call=call)
    sources = {str(s.id): s for s in await funding_sources(client)}
    errors = FormErrors()
    contributions = parse_contributions(draft.contributions, sources, errors)
    if errors:
        return await _call_form(request, draft, call=call, errors=errors, status=422)
    names = {k: s.name for k, s in sources.items()}
    try:
        if call is None:
            saved = await client.create_call(
                CallCreate(
                    title=i18n_text(draft.title),
                    description=i18n_text(draft.description),
                    currency=draft.currency,
                    contributions=contributions,
                )
            )
            flash(request, _("The call was created. Now add its windows."), "success")
        else:
            update = CallUpdate(
                version=draft.version,
                title=i18n_text(draft.title),
                description=i18n_text(draft.description),
            )
            if str(call.status) == "draft":
                update.contributions = contributions
            saved = await client.update_call(call.id, update)
            flash(request, _("The call was saved."), "success")
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = api_errors(exc, sources=names, currency=draft.currency)
        if call is not None and exc.problem.type.endswith(STALE):
            call = await client.get_call(call.id)
            draft = call_draft_from_read(call)
        return await _call_form(request, draft, call=call, errors=errors, status=exc.status)
    return redirect(request, f"/officer/calls/{saved.id}")


@post("/officer/calls/new", name="officer_call_create", include_in_schema=False)
async def call_create(request: Request[Any, Any, Any]) -> Any:
    require_officer(request)
    return await _save_call(request, None)


@get("/officer/calls/{call_id:uuid}/edit", name="officer_call_edit", include_in_schema=False)
async def call_edit(request: Request[Any, Any, Any], call_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    call = await client_for(request).get_call(call_id)
    return await _call_form(request, call_draft_from_read(call), call=call)


@post("/officer/calls/{call_id:uuid}/edit", name="officer_call_update", include_in_schema=False)
async def call_update(request: Request[Any, Any, Any], call_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    call = await client_for(request).get_call(call_id)
    return await _save_call(request, call)


# --- the call's page: windows, publishing, closing ------------------------------------------


async def _call_page(
    request: Request[Any, Any, Any],
    call: CallRead,
    *,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Any:
    client = client_for(request)
    sources = {s.id: s for s in await funding_sources(client)}
    return page(
        request,
        "officer/calls/call.html",
        {
            "call": call,
            "sources": sources,
            "errors": errors or FormErrors(),
            "stage": window_stage,
            "statuses": call_statuses(),
            "langs": LANGS,
            "next_states": {
                "draft": [("published", _("Publish the call"))],
                "published": [("closed", _("Close the call"))],
                "closed": [("archived", _("Archive the call"))],
            }.get(str(call.status), []),
        },
        status=status,
    )


@get("/officer/calls/{call_id:uuid}", name="officer_call", include_in_schema=False)
async def call_view(request: Request[Any, Any, Any], call_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    return await _call_page(request, await client_for(request).get_call(call_id))


@post(
    "/officer/calls/{call_id:uuid}/transition",
    name="officer_call_transition",
    include_in_schema=False,
)
async def call_transition(request: Request[Any, Any, Any], call_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    form = await request.form()
    target = text(form, "status")
    try:
        version = int(text(form, "version"))
    except ValueError:
        version = 1
    try:
        new_status = CallStatus(target)
    except ValueError:
        call = await client.get_call(call_id)
        errors = FormErrors()
        errors.add(None, _("Choose one of the options."))
        return await _call_page(request, call, errors=errors, status=422)
    try:
        call = await client.create_call_transition(
            call_id, CallTransition(version=version, status=new_status)
        )
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        call = await client.get_call(call_id)
        return await _call_page(request, call, errors=api_errors(exc), status=exc.status)
    flash(
        request,
        _("The call is now: %(status)s.") % {"status": call_statuses().get(str(call.status), "")},
        "success",
    )
    return redirect(request, f"/officer/calls/{call.id}")


# --- the window form -------------------------------------------------------------------------


@dataclass
class QuotaRow:
    kind: str = ""
    group: str = ""
    value: str = ""

    @property
    def blank(self) -> bool:
        return not (self.kind or self.value)


@dataclass
class WindowDraft:
    version: int = 0
    code: str = ""
    title: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LANGS, ""))
    description: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LANGS, ""))
    opens_at: str = ""
    closes_at: str = ""
    min_grant: str = ""
    max_grant: str = ""
    allocations: dict[str, str] = field(default_factory=dict)
    territory_ids: list[str] = field(default_factory=list)
    action_plan_item_ids: list[str] = field(default_factory=list)
    blind_review: bool = False
    reviewers_per_proposal: str = "2"
    review_deadline: str = ""
    avoid_same_territory_reviewers: bool = False
    reviewers_see_panel_scores: bool = False
    selection_policy: str = ""
    quotas: list[QuotaRow] = field(default_factory=list)
    calibration: str = "none"
    partial_funding_floor_pct: str = ""


_QUOTA = re.compile(r"^quotas\.(\d+)\.")
_ALLOC = re.compile(r"^allocations\.([0-9a-f-]{36})$")


def window_draft_from_form(form: Mapping[str, Any]) -> WindowDraft:
    try:
        version = int(text(form, "version") or 0)
    except ValueError:
        version = 0
    return WindowDraft(
        version=version,
        code=text(form, "code"),
        title=texts_from_form(form, "title"),
        description=texts_from_form(form, "description"),
        opens_at=text(form, "opens_at"),
        closes_at=text(form, "closes_at"),
        min_grant=text(form, "min_grant"),
        max_grant=text(form, "max_grant"),
        allocations={
            m.group(1): text(form, str(key)) for key in form if (m := _ALLOC.match(str(key)))
        },
        territory_ids=many(form, "territory_ids"),
        action_plan_item_ids=many(form, "action_plan_item_ids"),
        blind_review=checked(form, "blind_review"),
        reviewers_per_proposal=text(form, "reviewers_per_proposal") or "2",
        review_deadline=text(form, "review_deadline"),
        avoid_same_territory_reviewers=checked(form, "avoid_same_territory_reviewers"),
        reviewers_see_panel_scores=checked(form, "reviewers_see_panel_scores"),
        selection_policy=text(form, "selection_policy"),
        quotas=[
            QuotaRow(
                kind=text(form, f"quotas.{n}.kind"),
                group=text(form, f"quotas.{n}.group"),
                value=text(form, f"quotas.{n}.value"),
            )
            for n in _row_numbers(form, _QUOTA)
        ],
        calibration=text(form, "calibration") or "none",
        partial_funding_floor_pct=text(form, "partial_funding_floor_pct"),
    )


def window_draft_from_read(w: WindowRead) -> WindowDraft:
    return WindowDraft(
        version=w.version,
        code=w.code,
        title=texts_from_read(w.title),
        description=texts_from_read(w.description),
        opens_at=i18n.local_input(w.opens_at),
        closes_at=i18n.local_input(w.closes_at),
        min_grant=i18n.major_units(w.min_grant, w.currency),
        max_grant=i18n.major_units(w.max_grant, w.currency),
        allocations={
            str(a.funding_source_id): i18n.major_units(a.amount, w.currency) for a in w.allocations
        },
        territory_ids=[str(t) for t in w.territory_ids],
        action_plan_item_ids=[str(i) for i in w.action_plan_item_ids],
        blind_review=w.blind_review,
        reviewers_per_proposal=str(w.reviewers_per_proposal),
        review_deadline=i18n.local_input(w.review_deadline),
        avoid_same_territory_reviewers=w.avoid_same_territory_reviewers,
        reviewers_see_panel_scores=w.reviewers_see_panel_scores,
        selection_policy=str(w.selection_policy or ""),
        quotas=[
            QuotaRow(
                kind=str(q.get("kind", "")),
                group=str(q.get("group", "")),
                value=str(q.get("value", "")),
            )
            for q in w.quotas
        ],
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def parse_local(value: str) -> datetime:
    """A Bishkek wall time from `<input type=datetime-local>` → the moment, in UTC."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=i18n.BISHKEK)
    return moment.astimezone(UTC)


@dataclass
class ParsedWindow:
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    min_grant: int | None = None
    max_grant: int | None = None
    allocations: list[AllocationCreate] = field(default_factory=list)
    reviewers: int = 2
    review_deadline: datetime | None = None
    floor: int | None = None
    quotas: list[QuotaInput] = field(default_factory=list)
    territory_ids: list[uuid.UUID] = field(default_factory=list)
    item_ids: list[uuid.UUID] = field(default_factory=list)
    policy: SelectionPolicy | None = None


def parse_review_deadline(d: WindowDraft, out: ParsedWindow, errors: FormErrors) -> None:
    if not d.review_deadline:
        return
    try:
        out.review_deadline = parse_local(d.review_deadline)
    except ValueError:
        errors.add("review_deadline", _("Enter a date and time such as 2027-03-01 09:00."))


def parse_window(d: WindowDraft, currency: str, errors: FormErrors) -> ParsedWindow:
    out = ParsedWindow()
    parse_review_deadline(d, out, errors)
    for name in ("opens_at", "closes_at"):
        raw = getattr(d, name)
        if not raw:
            errors.add(name, _("Enter a date and time."))
            continue
        try:
            setattr(out, name, parse_local(raw))
        except ValueError:
            errors.add(name, _("Enter a date and time such as 2027-03-01 09:00."))
    for name in ("min_grant", "max_grant"):
        raw = getattr(d, name)
        try:
            setattr(out, name, i18n.parse_major_units(raw, currency))
        except (ValueError, InvalidOperation):
            errors.add(name, _("Enter an amount such as 1500 or 1500.50."))
    for source_id, raw in sorted(d.allocations.items()):
        if not raw:
            continue
        try:
            amount = i18n.parse_major_units(raw, currency)
        except (ValueError, InvalidOperation):
            errors.add(f"allocations.{source_id}", _("Enter an amount such as 1500 or 1500.50."))
            continue
        if amount:
            out.allocations.append(
                AllocationCreate(funding_source_id=uuid.UUID(source_id), amount=amount)
            )
    try:
        out.reviewers = int(d.reviewers_per_proposal)
        if not 1 <= out.reviewers <= 10:
            raise ValueError(d.reviewers_per_proposal)
    except ValueError:
        errors.add("reviewers_per_proposal", _("Enter a whole number from 1 to 10."))
    if d.partial_funding_floor_pct:
        try:
            out.floor = int(d.partial_funding_floor_pct)
            if not 1 <= out.floor <= 100:
                raise ValueError(d.partial_funding_floor_pct)
        except ValueError:
            errors.add("partial_funding_floor_pct", _("Enter a whole number from 1 to 100."))
    for n, q in enumerate(d.quotas):
        if q.blank:
            continue
        if q.kind not in quota_kinds():
            errors.add(f"quotas.{n}.kind", _("Choose one of the options."))
            continue
        if not re.fullmatch(r"\d+(\.\d+)?", q.value):
            errors.add(f"quotas.{n}.value", _("Enter a number such as 0.3 or 5."))
            continue
        out.quotas.append(QuotaInput(kind=q.kind, group=q.group or "any", value=q.value))  # type: ignore[arg-type]
    try:
        out.territory_ids = [uuid.UUID(t) for t in d.territory_ids]
        out.item_ids = [uuid.UUID(i) for i in d.action_plan_item_ids]
    except ValueError:
        errors.add(None, _("Choose one of the options."))
    if d.selection_policy:
        try:
            out.policy = SelectionPolicy(d.selection_policy)
        except ValueError:
            errors.add("selection_policy", _("Choose one of the options."))
    return out


async def _window_form(
    request: Request[Any, Any, Any],
    call: CallRead,
    draft: WindowDraft,
    *,
    window: WindowRead | None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Any:
    client = client_for(request)
    if not draft.quotas or not draft.quotas[-1].blank:
        draft.quotas.append(QuotaRow())
    places = await territories(client)
    sources = {s.id: s for s in await funding_sources(client)}
    groups = [
        ("any", _("Every proposal")),
        ("women_led", _("Women-led organisations")),
        ("youth_led", _("Youth-led organisations")),
    ] + [(f"territory:{t.code}", i18n.localised(t.name)) for t in places]
    return page(
        request,
        "officer/calls/window_form.html",
        {
            "call": call,
            "window": window,
            "draft": draft,
            "errors": errors or FormErrors(),
            "langs": LANGS,
            "frozen": str(call.status) != "draft",
            "places": places,
            "plans": await plan_items(client),
            "chosen_items": {uuid.UUID(i) for i in draft.action_plan_item_ids if _is_uuid(i)},
            "contributions": [(k, sources.get(k.funding_source_id)) for k in call.contributions],
            "policies": selection_policies(),
            "calibrations": calibrations(),
            "quota_kinds": quota_kinds(),
            "quota_groups": groups,
            "section": "overview",
        },
        status=status,
    )


@get(
    "/officer/calls/{call_id:uuid}/windows/new",
    name="officer_window_new",
    include_in_schema=False,
)
async def window_new(request: Request[Any, Any, Any], call_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    call = await client_for(request).get_call(call_id)
    draft = WindowDraft(code=f"W{len(call.windows) + 1}")
    return await _window_form(request, call, draft, window=None)


_WINDOW_FIELDS = {"allocations": "allocations", "rules": "code"}


async def _save_window(
    request: Request[Any, Any, Any], call: CallRead, window: WindowRead | None
) -> Any:
    client = client_for(request)
    form = await request.form()
    draft = window_draft_from_form(form)
    action = text(form, "action")
    if action == "add_quota":
        draft.quotas.append(QuotaRow())
        return await _window_form(request, call, draft, window=window)
    if action.startswith("remove_quota:"):
        with contextlib.suppress(ValueError, IndexError):
            del draft.quotas[int(action.split(":", 1)[1])]
        return await _window_form(request, call, draft, window=window)
    errors = FormErrors()
    frozen = window is not None and str(call.status) != "draft"
    if frozen:
        parsed = ParsedWindow()
        parse_review_deadline(draft, parsed, errors)
    else:
        parsed = parse_window(draft, call.currency, errors)
    if errors:
        return await _window_form(request, call, draft, window=window, errors=errors, status=422)
    names = {str(s.id): s.name for s in await funding_sources(client)}
    try:
        if window is None:
            assert parsed.opens_at
            assert parsed.closes_at
            saved = await client.create_window(
                call.id,
                WindowCreate(
                    code=draft.code,
                    title=i18n_text(draft.title),
                    description=optional_i18n(draft.description),
                    opens_at=parsed.opens_at,
                    closes_at=parsed.closes_at,
                    min_grant=parsed.min_grant or 0,
                    max_grant=parsed.max_grant or 0,
                    allocations=parsed.allocations,
                    territory_ids=parsed.territory_ids,
                    action_plan_item_ids=parsed.item_ids,
                    blind_review=draft.blind_review,
                    reviewers_per_proposal=parsed.reviewers,
                    review_deadline=parsed.review_deadline,
                    avoid_same_territory_reviewers=draft.avoid_same_territory_reviewers,
                    reviewers_see_panel_scores=draft.reviewers_see_panel_scores,
                    selection_policy=parsed.policy,
                    quotas=parsed.quotas,
                    calibration=draft.calibration
                    if draft.calibration in calibrations()
                    else "none",  # type: ignore[arg-type]
                    partial_funding_floor_pct=parsed.floor,
                ),
            )
            flash(request, _("The window was created. Now set its eligibility rules."), "success")
            return redirect(request, f"/officer/windows/{saved.id}/rules")
        update = WindowUpdate(
            version=draft.version,
            title=i18n_text(draft.title),
            description=optional_i18n(draft.description),
            review_deadline=parsed.review_deadline,
            reviewers_see_panel_scores=draft.reviewers_see_panel_scores,
        )
        if not frozen:
            assert parsed.opens_at
            assert parsed.closes_at
            update.opens_at = parsed.opens_at
            update.closes_at = parsed.closes_at
            update.min_grant = parsed.min_grant or 0
            update.max_grant = parsed.max_grant or 0
            update.allocations = parsed.allocations
            update.territory_ids = parsed.territory_ids
            update.action_plan_item_ids = parsed.item_ids
            update.blind_review = draft.blind_review
            update.reviewers_per_proposal = parsed.reviewers
            update.avoid_same_territory_reviewers = draft.avoid_same_territory_reviewers
            update.selection_policy = parsed.policy
            update.quotas = parsed.quotas
        saved = await client.update_window(window.id, update)
        flash(request, _("The window was saved."), "success")
        return redirect(request, f"/officer/windows/{saved.id}")
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = api_errors(exc, _WINDOW_FIELDS, sources=names, currency=call.currency)
        if window is not None and exc.problem.type.endswith(STALE):
            window = await client.get_window(window.id)
            draft = window_draft_from_read(window)
        return await _window_form(
            request, call, draft, window=window, errors=errors, status=exc.status
        )


@post(
    "/officer/calls/{call_id:uuid}/windows/new",
    name="officer_window_create",
    include_in_schema=False,
)
async def window_create(request: Request[Any, Any, Any], call_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    call = await client_for(request).get_call(call_id)
    return await _save_window(request, call, None)


@get("/officer/windows/{window_id:uuid}/edit", name="officer_window_edit", include_in_schema=False)
async def window_edit(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    window = await client.get_window(window_id)
    call = await client.get_call(window.call_id)
    return await _window_form(request, call, window_draft_from_read(window), window=window)


@post(
    "/officer/windows/{window_id:uuid}/edit", name="officer_window_update", include_in_schema=False
)
async def window_update(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    window = await client.get_window(window_id)
    call = await client.get_call(window.call_id)
    return await _save_window(request, call, window)


# --- the eligibility rules editor -----------------------------------------------------------

GROUP_KINDS = ("any", "all")
LEAF_KINDS = tuple(
    [
        "organisation_kind_in",
        "territory_in_window",
        "min_years_since_founding",
        "requested_amount_within_window",
        "min_co_funding_share",
        "led_by",
        "linked_to_eligible_item",
        "attachments_present",
        "max_active_grants",
        "budget_lines_consistent",
    ]
)


@dataclass
class RuleRow:
    """One rule as the form shows it. An `all`/`any` group of plain rules is edited with its
    `children`; a group holding groups is kept whole (`nested`, JSON) and can only be removed."""

    id: str
    kind: str
    kinds: list[str] = field(default_factory=list)
    years: str = ""
    percent: str = ""
    flags: list[str] = field(default_factory=list)
    mode: str = "required"
    min: str = ""
    max: str = ""
    nested: str = ""
    children: list[RuleRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        if self.nested:
            try:
                kept: dict[str, Any] = json.loads(self.nested)
            except ValueError:
                kept = {"kind": self.kind}
            kept["id"] = self.id
            return kept
        out: dict[str, Any] = {"id": self.id, "kind": self.kind}
        if self.kind in ("organisation_kind_in", "attachments_present"):
            out["kinds"] = list(self.kinds)
        elif self.kind == "min_years_since_founding":
            out["years"] = _number(self.years)
        elif self.kind == "min_co_funding_share":
            out["percent"] = self.percent.replace(",", ".").strip()
        elif self.kind == "led_by":
            out["flags"] = list(self.flags)
            out["mode"] = self.mode
        elif self.kind == "linked_to_eligible_item":
            out["min"] = _number(self.min)
        elif self.kind == "max_active_grants":
            out["max"] = _number(self.max)
        elif self.kind in GROUP_KINDS:
            out["rules"] = [c.to_json() for c in self.children]
        return out

    def ids(self) -> list[str]:
        return [self.id] + [i for c in self.children for i in c.ids()]


def _number(raw: str) -> int | str:
    """A whole number as a number; anything else as typed, for the API to refuse in words."""
    try:
        return int(raw.strip())
    except ValueError:
        return raw


def rule_rows(rules: list[dict[str, Any]], depth: int = 0) -> list[RuleRow]:
    rows = []
    for r in rules:
        kind = str(r.get("kind", ""))
        row = RuleRow(id=str(r.get("id", "")), kind=kind)
        if kind in GROUP_KINDS:
            children = list(r.get("rules", []))
            if depth == 0 and all(c.get("kind") in LEAF_KINDS for c in children):
                row.children = rule_rows(children, 1)
            else:
                row.nested = json.dumps(r, ensure_ascii=False)
        row.kinds = [str(k) for k in r.get("kinds", [])]
        row.years = str(r.get("years", ""))
        row.percent = str(r.get("percent", ""))
        row.flags = [str(f) for f in r.get("flags", [])]
        row.mode = str(r.get("mode", "required"))
        row.min = str(r.get("min", ""))
        row.max = str(r.get("max", ""))
        rows.append(row)
    return rows


def rule_rows_from_form(form: Mapping[str, Any], prefix: str = "rules.") -> list[RuleRow]:
    """The rules posted as `rules.N.<field>`, a group's as `rules.N.rules.M.<field>`."""
    pattern = re.compile("^" + re.escape(prefix) + r"(\d+)\.")
    rows = []
    for n in _row_numbers(form, pattern):
        at = f"{prefix}{n}."
        row = RuleRow(
            id=text(form, at + "id"),
            kind=text(form, at + "kind"),
            kinds=many(form, at + "kinds"),
            years=text(form, at + "years"),
            percent=text(form, at + "percent"),
            flags=many(form, at + "flags"),
            mode=text(form, at + "mode") or "required",
            min=text(form, at + "min"),
            max=text(form, at + "max"),
            nested=text(form, at + "nested"),
        )
        if row.kind in GROUP_KINDS and not row.nested and prefix == "rules.":
            row.children = rule_rows_from_form(form, at + "rules.")
        rows.append(row)
    return rows


def new_rule(kind: str, taken: list[str]) -> RuleRow:
    n = 1
    while f"{kind}-{n}" in taken:
        n += 1
    row = RuleRow(id=f"{kind}-{n}", kind=kind)
    defaults = {
        "min_years_since_founding": ("years", "2"),
        "min_co_funding_share": ("percent", "10"),
        "linked_to_eligible_item": ("min", "1"),
        "max_active_grants": ("max", "1"),
    }
    if kind in defaults:
        name, value = defaults[kind]
        setattr(row, name, value)
    if kind == "led_by":
        row.flags = ["women_led"]
    return row


async def _window_proposals(
    client: GrantsClient, window: WindowRead
) -> tuple[list[ProposalSummary], list[ProposalSummary]]:
    """The window's own proposals, and the latest of other windows (to try draft rules on)."""
    own: list[ProposalSummary] = []
    if str(window.status) != "draft":
        own = (await client.list_proposals(window_id=window.id, limit=200)).items
    latest = (await client.list_proposals(sort="-created_at", limit=100)).items
    return own, [p for p in latest if p.window_id != window.id]


async def preview_verdicts(
    client: GrantsClient, window: WindowRead, proposal_id: uuid.UUID
) -> EligibilityRead:
    """The window's saved rules on a proposal: its own proposals by id; one of another window
    through its facts as answers (organisation, amounts, items, documents, budget, active
    grants), as the pre-check would be answered."""
    proposal = await client.get_proposal(proposal_id)
    if proposal.window_id == window.id:
        return await client.create_eligibility_check(
            window.id, EligibilityCheck(proposal_id=proposal.id)
        )
    org = await client.get_organisation(proposal.organisation_id)
    grants = await client.list_grants(organisation_id=org.id, status="active", limit=200)
    answers = EligibilityAnswers(
        organisation_kind=org.kind,
        territory_id=org.territory_id,
        founded_year=org.founded_year,
        women_led=org.women_led,
        youth_led=org.youth_led,
        requested_amount=proposal.requested_amount,
        co_funding_amount=proposal.co_funding_amount,
        action_plan_item_ids=proposal.action_plan_item_ids[:100],
        attachment_kinds=sorted({a.kind for a in proposal.attachments}),
        active_grants=len(grants.items),
        budget_lines=[
            BudgetLineAnswer(currency=b.currency, total=b.total)
            for b in proposal.budget_lines[:200]
        ],
    )
    return await client.create_eligibility_check(window.id, EligibilityCheck(answers=answers))


async def _rules_page(
    request: Request[Any, Any, Any],
    window: WindowRead,
    rows: list[RuleRow],
    *,
    errors: FormErrors | None = None,
    status: int = 200,
    changed: bool = False,
    preview: EligibilityRead | None = None,
    preview_id: str = "",
    preview_errors: FormErrors | None = None,
) -> Any:
    client = client_for(request)
    proposals, others = await _window_proposals(client, window)
    places = {str(t.id): i18n.localised(t.name) for t in await territories(client)}
    window_places = {k: v for k, v in places.items() if uuid.UUID(k) in window.territory_ids}
    return page(
        request,
        "officer/calls/rules.html",
        {
            "window": window,
            "section": "rules",
            "rows": rows,
            "words": lambda r: rule_words(r.to_json(), window_places),
            "errors": errors or FormErrors(),
            "changed": changed,
            "kinds": rule_kinds(),
            "leaf_options": [(k, v) for k, v in rule_kinds().items() if k in LEAF_KINDS],
            "organisation_kinds": organisation_kinds(),
            "attachment_kinds": attachment_kinds(),
            "flags": {"women_led": _("Women-led"), "youth_led": _("Youth-led")},
            "modes": {
                "required": _("Required"),
                "quota": _("For the quotas only"),
            },
            "proposals": proposals,
            "others": others,
            "preview": preview,
            "preview_id": preview_id,
            "preview_errors": preview_errors or FormErrors(),
        },
        status=status,
    )


@get("/officer/windows/{window_id:uuid}/rules", name="officer_rules", include_in_schema=False)
async def rules_view(
    request: Request[Any, Any, Any],
    window_id: FromPath[uuid.UUID],
    proposal: FromQuery[str | None] = None,
) -> Any:
    """The rules as saved; `?proposal=` previews every rule's verdict on that proposal."""
    require_officer(request)
    client = client_for(request)
    window = await client.get_window(window_id)
    rows = rule_rows(window.rule_set.rules if window.rule_set else [])
    preview = None
    preview_errors = FormErrors()
    if proposal:
        try:
            preview = await preview_verdicts(client, window, uuid.UUID(proposal))
        except ValueError:
            preview_errors.add("proposal", _("Choose one of the options."))
        except ApiError as exc:
            if exc.status not in (404, 422):
                raise
            preview_errors.add(
                "proposal", _("This proposal cannot be checked against this window.")
            )
    return await _rules_page(
        request,
        window,
        rows,
        preview=preview,
        preview_id=proposal or "",
        preview_errors=preview_errors,
        status=422 if preview_errors else 200,
    )


@post("/officer/windows/{window_id:uuid}/rules", name="officer_rules_save", include_in_schema=False)
async def rules_save(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    """ "Save", "Add a rule" (of the chosen kind) and "Remove" are submit buttons of one form:
    adding and removing re-render it (not saved yet); saving sends every rule to the API."""
    require_officer(request)
    client = client_for(request)
    window = await client.get_window(window_id)
    form = await request.form()
    rows = rule_rows_from_form(form)
    action = text(form, "action")
    taken = [i for r in rows for i in r.ids()]
    if action == "add" or action.startswith("add_child:"):
        group: RuleRow | None = None
        kind = text(form, "new_kind")
        allowed: tuple[str, ...] = LEAF_KINDS + GROUP_KINDS
        field_name = "new_kind"
        if action.startswith("add_child:"):
            with contextlib.suppress(ValueError, IndexError):
                group = rows[int(action.split(":", 1)[1])]
            if group is None or group.kind not in GROUP_KINDS or group.nested:
                return await _rules_page(request, window, rows, changed=True)
            field_name = f"rules.{rows.index(group)}.new_kind"
            kind = text(form, field_name)
            allowed = LEAF_KINDS
        if kind not in allowed:
            errors = FormErrors()
            errors.add(field_name, _("Choose one of the options."))
            return await _rules_page(request, window, rows, errors=errors, status=422, changed=True)
        (group.children if group else rows).append(new_rule(kind, taken))
        return await _rules_page(request, window, rows, changed=True)
    if action.startswith("remove:"):
        place = action.split(":")[1:]
        with contextlib.suppress(ValueError, IndexError):
            if len(place) == 2:
                del rows[int(place[0])].children[int(place[1])]
            else:
                del rows[int(place[0])]
        return await _rules_page(request, window, rows, changed=True)
    try:
        version = int(text(form, "version"))
    except ValueError:
        version = window.version
    try:
        saved = await client.update_window_rules(
            window.id, RulesReplace(version=version, rules=[r.to_json() for r in rows])
        )
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = api_errors(exc)
        if exc.problem.type.endswith(STALE):
            window = await client.get_window(window.id)
            rows = rule_rows(window.rule_set.rules if window.rule_set else [])
        return await _rules_page(
            request, window, rows, errors=errors, status=exc.status, changed=True
        )
    version_saved = saved.rule_set.version if saved.rule_set else 0
    flash(
        request,
        _("The rules were saved as version %(version)s.") % {"version": version_saved},
        "success",
    )
    return redirect(request, f"/officer/windows/{saved.id}/rules")


# --- the rubric editor ----------------------------------------------------------------------


def points_text(tenths: int | None) -> str:
    """Tenths of a point → "3.5" / "5" for an input field."""
    if tenths is None:
        return ""
    value = Decimal(tenths) / 10
    return format(value.normalize(), "f") if value else "0"


def parse_points(raw: str) -> int:
    """ "3,5" / "3.5" → 35 tenths; ValueError unless it is a whole number of tenths."""
    value = Decimal(raw.replace(",", ".").replace(" ", "").strip()) * 10
    if not value.is_finite() or value != value.to_integral_value() or value < 0:
        raise ValueError(raw)
    return int(value)


def weight_text(thousandths: int) -> str:
    """Thousandths → percent ("250" → "25")."""
    return format((Decimal(thousandths) / 10).normalize(), "f")


@dataclass
class CriterionRow:
    code: str = ""
    name: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LANGS, ""))
    guidance: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LANGS, ""))
    weight: str = ""
    scale_min: str = "0"
    scale_max: str = "5"
    scale_step: str = "0.5"
    threshold: str = ""
    na_allowed: bool = True


@dataclass
class RubricDraft:
    name: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LANGS, ""))
    criteria: list[CriterionRow] = field(default_factory=list)
    overall_threshold: str = ""
    tie_break: str = ""
    aggregation: str = "mean"


def rubric_draft_from_read(r: RubricRead) -> RubricDraft:
    return RubricDraft(
        name=texts_from_read(r.name),
        criteria=[
            CriterionRow(
                code=x.code,
                name=texts_from_read(x.name),
                guidance=texts_from_read(x.guidance),
                weight=weight_text(x.weight),
                scale_min=points_text(x.scale_min),
                scale_max=points_text(x.scale_max),
                scale_step=points_text(x.scale_step),
                threshold=points_text(x.threshold),
                na_allowed=x.na_allowed,
            )
            for x in r.criteria
        ],
        overall_threshold=points_text(r.overall_threshold),
        tie_break=", ".join(r.tie_break),
        aggregation=str(r.aggregation),
    )


_CRITERION = re.compile(r"^criteria\.(\d+)\.")


def rubric_draft_from_form(form: Mapping[str, Any]) -> RubricDraft:
    return RubricDraft(
        name=texts_from_form(form, "name"),
        criteria=[
            CriterionRow(
                code=text(form, f"criteria.{n}.code"),
                name=texts_from_form(form, f"criteria.{n}.name"),
                guidance=texts_from_form(form, f"criteria.{n}.guidance"),
                weight=text(form, f"criteria.{n}.weight"),
                scale_min=text(form, f"criteria.{n}.scale_min"),
                scale_max=text(form, f"criteria.{n}.scale_max"),
                scale_step=text(form, f"criteria.{n}.scale_step"),
                threshold=text(form, f"criteria.{n}.threshold"),
                na_allowed=bool(form.get(f"criteria.{n}.na_allowed")),
            )
            for n in _row_numbers(form, _CRITERION)
        ],
        overall_threshold=text(form, "overall_threshold"),
        tie_break=text(form, "tie_break"),
        aggregation=text(form, "aggregation") or "mean",
    )


def parse_rubric(d: RubricDraft, version: int, errors: FormErrors) -> RubricCreate | None:
    criteria: list[CriterionCreate] = []
    for n, row in enumerate(d.criteria):
        at = f"criteria.{n}."
        values: dict[str, int | None] = {}
        for name in ("scale_min", "scale_max", "scale_step", "threshold"):
            raw = getattr(row, name)
            if not raw and name == "threshold":
                values[name] = None
                continue
            try:
                values[name] = parse_points(raw)
            except (ValueError, InvalidOperation):
                errors.add(at + name, _("Enter points such as 3 or 3.5."))
        try:
            weight = Decimal(row.weight.replace(",", ".").strip()) * 10
            if weight <= 0 or weight != weight.to_integral_value():
                raise ValueError(row.weight)
        except (ValueError, InvalidOperation):
            errors.add(at + "weight", _("Enter a weight above 0, e.g. 25 or 12.5."))
            weight = Decimal(0)
        if errors:
            continue
        criteria.append(
            CriterionCreate(
                code=row.code,
                name=i18n_text(row.name),
                guidance=optional_i18n(row.guidance),
                weight=int(weight),
                scale_min=values["scale_min"] or 0,
                scale_max=values["scale_max"] or 0,
                scale_step=values["scale_step"] or 0,
                threshold=values["threshold"],
                na_allowed=row.na_allowed,
            )
        )
    overall: int | None = None
    if d.overall_threshold:
        try:
            overall = parse_points(d.overall_threshold)
        except (ValueError, InvalidOperation):
            errors.add("overall_threshold", _("Enter points such as 3 or 3.5."))
    try:
        aggregation = AggregationMethod(d.aggregation)
    except ValueError:
        errors.add("aggregation", _("Choose one of the options."))
        aggregation = AggregationMethod.MEAN
    if not d.criteria:
        errors.add(None, _("A rubric needs at least one criterion."))
    if errors:
        return None
    return RubricCreate(
        version=version,
        name=i18n_text(d.name),
        criteria=criteria,
        overall_threshold=overall,
        tie_break=[c.strip() for c in d.tie_break.split(",") if c.strip()],
        aggregation=aggregation,
    )


async def _rubric_page(
    request: Request[Any, Any, Any],
    window: WindowRead,
    draft: RubricDraft,
    *,
    rubric: RubricRead | None,
    errors: FormErrors | None = None,
    status: int = 200,
    changed: bool = False,
) -> Any:
    if not draft.criteria:
        draft.criteria.append(CriterionRow())
    total = Decimal(0)
    for row in draft.criteria:
        with contextlib.suppress(InvalidOperation):
            total += Decimal(row.weight.replace(",", ".") or 0)
    return page(
        request,
        "officer/calls/rubric.html",
        {
            "window": window,
            "section": "rubric",
            "rubric": rubric,
            "draft": draft,
            "errors": errors or FormErrors(),
            "changed": changed,
            "langs": LANGS,
            "aggregations": aggregations(),
            "weight_total": format(total.normalize(), "f"),
        },
        status=status,
    )


@get("/officer/windows/{window_id:uuid}/rubric", name="officer_rubric", include_in_schema=False)
async def rubric_view(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    window = await client.get_window(window_id)
    rubric = await _rubric(client, window)
    draft = rubric_draft_from_read(rubric) if rubric else RubricDraft()
    return await _rubric_page(request, window, draft, rubric=rubric)


_RUBRIC_FIELDS = {f"tie_break.{n}": "tie_break" for n in range(30)}


@post(
    "/officer/windows/{window_id:uuid}/rubric", name="officer_rubric_save", include_in_schema=False
)
async def rubric_save(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    """ "Add a criterion" and "Remove" re-render the form (not saved yet); "Save" sends the
    whole rubric to the API as its new version."""
    require_officer(request)
    client = client_for(request)
    window = await client.get_window(window_id)
    rubric = await _rubric(client, window)
    form = await request.form()
    draft = rubric_draft_from_form(form)
    action = text(form, "action")
    if action == "add":
        draft.criteria.append(CriterionRow())
        return await _rubric_page(request, window, draft, rubric=rubric, changed=True)
    if action.startswith("remove:"):
        with contextlib.suppress(ValueError, IndexError):
            del draft.criteria[int(action.split(":", 1)[1])]
        return await _rubric_page(request, window, draft, rubric=rubric, changed=True)
    try:
        version = int(text(form, "version"))
    except ValueError:
        version = window.version
    errors = FormErrors()
    body = parse_rubric(draft, version, errors)
    if body is None:
        return await _rubric_page(
            request, window, draft, rubric=rubric, errors=errors, status=422, changed=True
        )
    try:
        saved = await client.update_window_rubric(window.id, body)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = api_errors(exc, _RUBRIC_FIELDS)
        if exc.problem.type.endswith(STALE):
            window = await client.get_window(window.id)
            rubric = await _rubric(client, window)
            draft = rubric_draft_from_read(rubric) if rubric else RubricDraft()
        return await _rubric_page(
            request, window, draft, rubric=rubric, errors=errors, status=exc.status, changed=True
        )
    flash(
        request,
        _("The rubric was saved as version %(version)s.") % {"version": saved.version},
        "success",
    )
    return redirect(request, f"/officer/windows/{window.id}/rubric")


ROUTES: list[Any] = [
    officer_home,
    call_new,
    call_create,
    call_view,
    call_edit,
    call_update,
    call_transition,
    window_new,
    window_create,
    window_hub,
    window_edit,
    window_update,
    rules_view,
    rules_save,
    rubric_view,
    rubric_save,
]
