"""Pages anyone may see: open calls, a call with its rules and the pre-check, the language."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from contracts.calls import CallRead, EligibilityAnswers, EligibilityCheck, WindowRead
from contracts.client import ApiError
from contracts.identity import MeUpdate
from web import i18n
from web.forms import FormErrors, from_problem, optional, text
from web.labels import organisation_kinds, required_documents, rule_words
from web.render import page, redirect
from web.session import client_for, current_user, remember_language, safe_next


async def _territory_names(request: Request[Any, Any, Any]) -> dict[str, str]:
    territories = (await client_for(request).list_territories()).items
    return {str(t.id): i18n.localised(t.name) for t in territories}


def _open_windows(call: CallRead, now: datetime) -> list[WindowRead]:
    return [w for w in call.windows if w.opens_at <= now < w.closes_at]


@get("/", name="home", include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Any:
    client = client_for(request)
    calls = (await client.list_calls(status="published", limit=50)).items
    territories = (await client.list_territories()).items
    now = datetime.now(UTC)
    listed = []
    for call in calls:
        windows = sorted(call.windows, key=lambda w: (w.closes_at, w.position))
        upcoming = [w for w in windows if w.closes_at > now]
        if upcoming:
            listed.append((call, upcoming))
    return page(
        request, "public/home.html", {"calls": listed, "territories": territories, "now": now}
    )


async def _call_or_404(request: Request[Any, Any, Any], call_id: FromPath[uuid.UUID]) -> CallRead:
    try:
        return await client_for(request).get_call(call_id)
    except ApiError as exc:
        if exc.status in (403, 404):
            raise NotFoundException() from exc
        raise


def _window_of(call: CallRead, window_id: FromPath[uuid.UUID]) -> WindowRead:
    for window in call.windows:
        if window.id == window_id:
            return window
    raise NotFoundException()


def _rules_view(rules: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"text": rule_words(rule, names), "children": _rules_view(rule.get("rules", []), names)}
        for rule in rules
    ]


async def _call_context(request: Request[Any, Any, Any], call: CallRead) -> dict[str, Any]:
    names = await _territory_names(request)
    now = datetime.now(UTC)
    windows = []
    for window in sorted(call.windows, key=lambda w: w.position):
        rules = window.rule_set.rules if window.rule_set else []
        windows.append(
            {
                "window": window,
                "rules": _rules_view(rules, names),
                "documents": required_documents(rules),
                "territories": [names.get(str(t), "") for t in window.territory_ids],
                "is_open": window.opens_at <= now < window.closes_at,
            }
        )
    user = current_user(request)
    return {
        "call": call,
        "windows": windows,
        "territory_options": sorted(names.items(), key=lambda kv: kv[1]),
        "kind_options": list(organisation_kinds().items()),
        "organisations": user.organisations if user else (),
        "now": now,
    }


@get("/calls/{call_id:uuid}", name="call", include_in_schema=False)
async def call_page(request: Request[Any, Any, Any], call_id: FromPath[uuid.UUID]) -> Any:
    call = await _call_or_404(request, call_id)
    return page(request, "public/call.html", await _call_context(request, call))


def _answers(query: Any, currency: str) -> tuple[EligibilityAnswers, FormErrors]:
    errors = FormErrors()
    founded: int | None = None
    raw_year = optional(query, "founded_year")
    if raw_year:
        try:
            founded = int(raw_year)
        except ValueError:
            errors.add("founded_year", i18n.gettext("Enter a year, e.g. 2019."))
    amounts: dict[str, int | None] = {}
    for name in ("requested_amount", "co_funding_amount"):
        raw = optional(query, name)
        amounts[name] = None
        if raw:
            try:
                amounts[name] = i18n.parse_major_units(raw, currency)
            except ValueError:
                errors.add(name, i18n.gettext("Enter an amount, e.g. 150000 or 150000.50."))

    def flag(name: str) -> bool | None:
        value = text(query, name)
        return {"yes": True, "no": False}.get(value)

    territory = optional(query, "territory_id")
    kind = optional(query, "organisation_kind")
    answers = EligibilityAnswers(
        organisation_kind=kind if kind in organisation_kinds() else None,  # type: ignore[arg-type]  # a checked OrganisationKind value
        territory_id=uuid.UUID(territory) if territory and _is_uuid(territory) else None,
        founded_year=founded if founded and 1900 <= founded <= 2100 else None,
        women_led=flag("women_led"),
        youth_led=flag("youth_led"),
        requested_amount=amounts["requested_amount"],
        co_funding_amount=amounts["co_funding_amount"],
    )
    if founded is not None and not 1900 <= founded <= 2100:
        errors.add("founded_year", i18n.gettext("Enter a year between 1900 and 2100."))
    return answers, errors


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@get(
    "/calls/{call_id:uuid}/windows/{window_id:uuid}/precheck",
    name="precheck",
    include_in_schema=False,
)
async def precheck(
    request: Request[Any, Any, Any], call_id: FromPath[uuid.UUID], window_id: FromPath[uuid.UUID]
) -> Any:
    """The eligibility pre-check: a GET form (nothing is stored), answered rule by rule."""
    call = await _call_or_404(request, call_id)
    window = _window_of(call, window_id)
    query = request.query_params
    answers, errors = _answers(query, window.currency)
    result = None
    if not errors:
        try:
            result = await client_for(request).create_eligibility_check(
                window.id, EligibilityCheck(answers=answers)
            )
        except ApiError as exc:
            if exc.status != 422:
                raise
            errors = from_problem(
                exc,
                {
                    f"answers.{k}": k
                    for k in (
                        "organisation_kind",
                        "territory_id",
                        "founded_year",
                        "requested_amount",
                        "co_funding_amount",
                    )
                },
            )
    context = await _call_context(request, call)
    context.update(
        {"checked_window": window, "result": result, "errors": errors, "answers": dict(query)}
    )
    return page(request, "public/call.html", context, status=422 if errors else 200)


@post("/language", name="language", include_in_schema=False)
async def switch_language(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    lang = text(form, "lang")
    target = safe_next(text(form, "next"))
    if lang in i18n.LANGUAGES:
        remember_language(request, lang)
        if current_user(request) is not None:
            await client_for(request).update_me(MeUpdate(preferred_language=lang))  # type: ignore[arg-type]  # a checked Language value
    return redirect(request, target)


ROUTES: list[Any] = [home, call_page, precheck, switch_language]
