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

import re
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar import Request, get
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath

from contracts.calls import (
    CallRead,
    WindowRead,
)
from contracts.client import ApiError, GrantsClient
from contracts.finance import FundingSourceRead
from contracts.pcc import ActionPlanItemRead, ActionPlanRead, TerritoryRead
from contracts.reviews import RubricRead
from web import i18n
from web.forms import FormErrors, from_problem, humane
from web.i18n import _
from web.labels import proposal_statuses, rule_words
from web.render import page
from web.routes.account import require_user
from web.session import SessionUser, client_for

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
    other = from_problem(exc, names)
    for issue in issues:
        message = issue.message
        path = issue.field.removeprefix("body.").removeprefix("$.")
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
            for message_words in other.get(target):
                errors.add(target, message_words)
            if not other.get(target):
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
                rule_words(r, {}) for r in (window.rule_set.rules if window.rule_set else [])
            ],
        },
    )


ROUTES: list[Any] = [officer_home, window_hub]
