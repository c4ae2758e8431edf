"""The programme officer's selection: the "what if" form, the runs, approval (four eyes),
decisions and their changes.

- `/officer/windows/{id}/selection`: the configuration (policy, budget, quotas, partial-funding
  floor, reserve size, calibration) as a form. Submitting it makes a run and computes it
  (`CreateSelectionRun` + `CreateSelectionComputation`): with htmx the result — funded set,
  reserve, quota checks, each proposal's reason and what changed against the run shown before —
  replaces the block below the form; without JavaScript the POST redirects to the run's page,
  which shows the same.
- `/officer/selection-runs/{id}`: inputs, configuration, seed hash and seed, outputs, a replay,
  who made it, approval by a second programme officer, and (once approved) the decisions, their
  overrides and the pending changes another officer confirms or rejects; then the publication
  of the feedback to the window's applicants (`CreateFeedbackPublication`), once.

Everything goes through the API client; the API decides (403 and 409 refusals are shown as
messages on the page).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath

from contracts.calls import WindowRead
from contracts.client import ApiError, GrantsClient
from contracts.enums import DecisionOutcome, SelectionPolicy
from contracts.proposals import ProposalSummary
from contracts.selection import (
    DecisionChangeRead,
    DecisionChangeTransition,
    DecisionCreate,
    DecisionRead,
    FeedbackPublicationRead,
    QuotaInput,
    SelectionRunCreate,
    SelectionRunRead,
    SelectionRunSummary,
    SelectionRunTransition,
)
from web import i18n
from web.forms import FormErrors, from_problem, optional, text
from web.i18n import _
from web.render import page, redirect
from web.routes.account import require_user
from web.routes.grants import points
from web.session import SessionUser, client_for, flash

QUOTA_KINDS = (
    "min_share_money",
    "min_share_count",
    "min_count",
    "max_count",
    "min_money",
    "max_money",
    "max_per_organisation",
)
SHARE_KINDS = frozenset({"min_share_money", "min_share_count"})
MONEY_KINDS = frozenset({"min_money", "max_money"})
EXTRA_QUOTA_ROWS = 2
"""Empty quota rows below the filled ones (no JavaScript needed to add a quota)."""
MAX_QUOTA_ROWS = 30


# --- words ----------------------------------------------------------------------------------


def policy_names() -> dict[str, str]:
    return {
        "optimal": _("Optimal: the highest total score within the budget and quotas"),
        "rank_with_skipping": _("Rank order, skipping what does not fit"),
        "strict_funding_line": _("Strict funding line in rank order"),
    }


def quota_kind_names() -> dict[str, str]:
    return {
        "min_share_money": _("At least this share of the budget (%)"),
        "min_share_count": _("At least this share of the awards (%)"),
        "min_count": _("At least this many awards"),
        "max_count": _("At most this many awards"),
        "min_money": _("At least this amount"),
        "max_money": _("At most this amount"),
        "max_per_organisation": _("At most this many awards per organisation"),
    }


def calibration_names() -> dict[str, str]:
    return {
        "": _("The window's setting"),
        "none": _("None: the reviewers' scores as given"),
        "z": _("Standardised per reviewer (z)"),
        "severity": _("Reviewer severity model"),
    }


def run_statuses() -> dict[str, str]:
    return {
        "pending": _("Pending: not computed"),
        "computed": _("Computed, awaiting approval"),
        "approved": _("Approved"),
        "failed": _("Failed"),
        "superseded": _("Superseded"),
    }


def outcome_names() -> dict[str, str]:
    return {
        "funded": _("Funded"),
        "reserve": _("Reserve"),
        "not_funded": _("Not funded"),
        "ineligible": _("Not eligible"),
        "selected": _("Selected"),
        "not_selected": _("Not selected"),
    }


def group_names(territories: dict[str, str]) -> dict[str, str]:
    names = {
        "women_led": _("Women-led organisations"),
        "youth_led": _("Youth-led organisations"),
        "any": _("All proposals"),
    }
    for code, name in territories.items():
        names[f"territory:{code}"] = _("Territory: %(name)s") % {"name": name}
    return names


# --- the form -------------------------------------------------------------------------------


@dataclass
class QuotaRow:
    kind: str = ""
    group: str = ""
    value: str = ""


@dataclass
class SelectionForm:
    policy: str = ""
    budget: str = ""
    quotas: list[QuotaRow] = field(default_factory=list)
    floor: str = ""
    reserve: str = ""
    calibration: str = ""
    previous: str = ""

    def rows(self) -> list[tuple[int, QuotaRow]]:
        filled = [q for q in self.quotas if q.kind or q.value]
        rows = filled + [QuotaRow() for _ in range(EXTRA_QUOTA_ROWS)]
        return list(enumerate(rows[:MAX_QUOTA_ROWS]))


def _percent(share: str) -> str:
    """ "0.3" → "30"; "0.125" → "12.5"."""
    try:
        value = (Decimal(share) * 100).normalize()
    except InvalidOperation:
        return share
    return f"{value:f}"


def _quota_value_shown(kind: str, value: Any, currency: str) -> str:
    if kind in SHARE_KINDS:
        return _percent(str(value))
    if kind in MONEY_KINDS:
        try:
            return i18n.major_units(int(value), currency)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def form_from_config(config: dict[str, Any], currency: str, previous: str = "") -> SelectionForm:
    return SelectionForm(
        policy=str(config.get("policy") or ""),
        budget=i18n.major_units(config.get("budget"), currency),
        quotas=[
            QuotaRow(
                kind=str(q.get("kind", "")),
                group=str(q.get("group", "")),
                value=_quota_value_shown(str(q.get("kind", "")), q.get("value"), currency),
            )
            for q in config.get("quotas") or []
        ],
        floor=str(config.get("partial_funding_floor_pct") or ""),
        reserve="" if config.get("reserve_size") is None else str(config["reserve_size"]),
        calibration=str(config.get("calibration") or ""),
        previous=previous,
    )


def form_from_window(window: WindowRead) -> SelectionForm:
    return form_from_config(
        {
            "policy": window.selection_policy.value if window.selection_policy else "",
            "budget": window.envelope,
            "quotas": window.quotas,
        },
        window.currency,
    )


def _whole(raw: str, name: str, errors: FormErrors, lo: int, hi: int) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors.add(name, _("Enter a whole number."))
        return None
    if not lo <= value <= hi:
        errors.add(name, _("Enter a whole number from %(lo)s to %(hi)s.") % {"lo": lo, "hi": hi})
        return None
    return value


def parse_form(
    form: Any, currency: str
) -> tuple[SelectionForm, SelectionRunCreate | None, FormErrors]:
    """The posted form → what it shows again, the API's request (None when invalid), errors."""
    errors = FormErrors()
    rows: list[QuotaRow] = []
    for n in range(MAX_QUOTA_ROWS):
        if f"quota.{n}.kind" not in form and f"quota.{n}.value" not in form:
            continue
        rows.append(
            QuotaRow(
                kind=text(form, f"quota.{n}.kind"),
                group=text(form, f"quota.{n}.group"),
                value=text(form, f"quota.{n}.value"),
            )
        )
    shown = SelectionForm(
        policy=text(form, "policy"),
        budget=text(form, "budget"),
        quotas=rows,
        floor=text(form, "floor"),
        reserve=text(form, "reserve"),
        calibration=text(form, "calibration"),
        previous=text(form, "previous"),
    )
    policy = None
    if shown.policy:
        try:
            policy = SelectionPolicy(shown.policy)
        except ValueError:
            errors.add("policy", _("Choose one of the options."))
    budget = None
    if shown.budget:
        try:
            budget = i18n.parse_major_units(shown.budget, currency)
        except ValueError:
            errors.add("budget", _("Enter an amount, e.g. 1500000 or 1 500 000,00."))
    quotas: list[QuotaInput] = []
    # the rows as shown again are renumbered: errors are keyed by their new position
    for n, row in enumerate(r for r in rows if r.kind or r.value):
        if not (row.kind and row.group and row.value):
            errors.add(
                f"quota.{n}.value",
                _("Give the quota's kind, group and value; leave kind and value empty to drop it."),
            )
            continue
        if row.kind not in QUOTA_KINDS:
            errors.add(f"quota.{n}.kind", _("Choose one of the options."))
            continue
        value = _quota_value(row, currency)
        if value is None:
            errors.add(
                f"quota.{n}.value",
                _("Enter a percentage from 0 to 100.")
                if row.kind in SHARE_KINDS
                else _("Enter an amount, e.g. 1500000 or 1 500 000,00.")
                if row.kind in MONEY_KINDS
                else _("Enter a whole number."),
            )
            continue
        quotas.append(QuotaInput(kind=row.kind, group=row.group, value=value))  # type: ignore[arg-type]  # kind checked against QUOTA_KINDS
    floor = _whole(shown.floor, "floor", errors, 1, 100)
    reserve = _whole(shown.reserve, "reserve", errors, 0, 1000)
    calibration = shown.calibration or None
    if calibration not in (None, "none", "z", "severity"):
        errors.add("calibration", _("Choose one of the options."))
        calibration = None
    if errors:
        return shown, None, errors
    body = SelectionRunCreate(
        policy=policy,
        budget=budget,
        quotas=quotas,
        partial_funding_floor_pct=floor,
        reserve_size=reserve,
        calibration=calibration,  # type: ignore[arg-type]  # checked above
    )
    return shown, body, errors


def _quota_value(row: QuotaRow, currency: str) -> str | None:
    raw = row.value.replace("%", "").strip()
    if row.kind in SHARE_KINDS:
        try:
            pct = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            return None
        if not pct.is_finite() or not 0 <= pct <= 100:
            return None
        share = (pct / 100).normalize()
        return f"{share:f}"
    if row.kind in MONEY_KINDS:
        try:
            return str(i18n.parse_major_units(raw, currency))
        except ValueError:
            return None
    return raw if raw.isdigit() else None


_API_FIELDS = {
    "policy": "policy",
    "budget": "budget",
    "partial_funding_floor_pct": "floor",
    "reserve_size": "reserve",
    "calibration": "calibration",
}


def _api_errors(exc: ApiError) -> FormErrors:
    """The API's refusal in the form: a quota's problem above the quotas, a setting's next to
    its field, anything else in the summary; the problem's own sentence (e.g. the infeasible
    quotas' diagnosis) leads the summary when the fields alone do not say it."""
    raw = from_problem(exc, _API_FIELDS)
    errors = FormErrors(general=list(raw.general))
    for name, messages in raw.fields.items():
        for message in messages:
            if name.startswith(("quotas", "config.quotas")):
                errors.add("quotas", message)
            elif name in _API_FIELDS.values():
                errors.add(name, message)
            else:
                errors.add(None, message)
    detail = exc.problem.detail
    if exc.problem.errors and detail and detail not in errors.general:
        errors.general.insert(0, detail)
    return errors


# --- the result as shown --------------------------------------------------------------------


@dataclass
class Row:
    """One proposal in a run's result, with what the page needs of the proposal."""

    proposal_id: str
    receipt: str
    title: str
    organisation: str
    requested: int
    rank: int | None
    score: str
    status: str
    amount: int
    reason: str
    reserve_position: int | None
    current: str
    """The proposal's status now (after approval: the decision in force)."""
    ahead: str = ""
    """Why it ranks ahead of the next one: a tie-break criterion or the lottery."""


@dataclass
class QuotaLine:
    name: str
    engine: str
    required: str
    achieved: str
    met: bool
    detail: str


@dataclass
class Changes:
    newly_funded: list[Row] = field(default_factory=list)
    dropped: list[Row] = field(default_factory=list)
    amount_changed: list[tuple[Row, int, int]] = field(default_factory=list)
    reserve_moved: list[tuple[Row, int | None, int | None]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.newly_funded or self.dropped or self.amount_changed or self.reserve_moved)


@dataclass
class Result:
    rows: list[Row]
    funded: list[Row]
    reserve: list[Row]
    others: list[Row]
    funded_total: int
    quotas: list[QuotaLine]
    notes: list[str]
    currency: str


async def window_proposals(
    client: GrantsClient, window_id: uuid.UUID
) -> dict[str, ProposalSummary]:
    found: dict[str, ProposalSummary] = {}
    cursor = None
    for _page in range(50):
        batch = await client.list_proposals(window_id=window_id, cursor=cursor, limit=200)
        found.update({str(p.id): p for p in batch.items})
        if batch.next_cursor is None:
            break
        cursor = str(batch.next_cursor)
    return found


def _quota_name(quota: dict[str, Any], groups: dict[str, str], currency: str) -> str:
    kind = str(quota.get("kind", ""))
    value = _quota_value_shown(kind, quota.get("value"), currency)
    if kind in MONEY_KINDS:
        value = i18n.money(int(quota.get("value") or 0), currency)
    elif kind in SHARE_KINDS:
        value = f"{value} %"
    return _("%(group)s — %(kind)s: %(value)s") % {
        "group": groups.get(str(quota.get("group")), str(quota.get("group"))),
        "kind": quota_kind_names().get(kind, kind),
        "value": value,
    }


def _ahead(decided_by: Any, ticket: str) -> str:
    """The ranking's reason for being ahead of the next proposal, in words (not the score)."""
    if not decided_by or decided_by == "score":
        return ""
    if decided_by == "lottery":
        return _("ahead of the next by the lottery for an exact tie (ticket %(ticket)s…)") % {
            "ticket": ticket[:12]
        }
    if str(decided_by).startswith("tie_break:"):
        return _("ahead of the next by the tie-break on %(criterion)s") % {
            "criterion": str(decided_by).removeprefix("tie_break:")
        }
    return str(decided_by)


def build_result(
    run: SelectionRunRead,
    proposals: dict[str, ProposalSummary],
    groups: dict[str, str],
    currency: str,
) -> Result | None:
    outputs = run.outputs
    if outputs is None:
        return None
    reserve_ids = list(outputs.reserve)
    rows = []
    for e in outputs.entries:
        pid = e.proposal_id
        p = proposals.get(pid)
        rows.append(
            Row(
                proposal_id=pid,
                receipt=(p.receipt_number or "") if p else "",
                title=p.title if p else pid,
                organisation=p.organisation_name if p else "",
                requested=p.requested_amount if p else 0,
                rank=e.rank,
                score=points(e.score),
                status=e.status,
                amount=e.amount,
                reason=e.reason,
                reserve_position=reserve_ids.index(pid) + 1 if pid in reserve_ids else None,
                current=str(p.status) if p else "",
                ahead=_ahead(e.decided_by, e.ticket),
            )
        )
    by_id = {r.proposal_id: r for r in rows}
    config_quotas: list[dict[str, Any]] = [msgspec.to_builtins(q) for q in run.config.quotas]
    checks = outputs.quota_checks
    lines = []
    for n, q in enumerate(checks):
        quota = config_quotas[n] if n < len(config_quotas) else {}
        kind = str(quota.get("kind", ""))
        unit = (
            (lambda v: i18n.money(v, currency))
            if kind in MONEY_KINDS or kind == "min_share_money"
            else i18n.number
        )
        lines.append(
            QuotaLine(
                name=_quota_name(quota, groups, currency) if quota else q.quota,
                engine=q.quota,
                required=unit(q.required),
                achieved=unit(q.achieved),
                met=q.met,
                detail=q.detail,
            )
        )
    return Result(
        rows=rows,
        funded=[r for r in rows if r.status == "funded"],
        reserve=[by_id[i] for i in reserve_ids if i in by_id],
        others=[r for r in rows if r.status not in ("funded",) and r.reserve_position is None],
        funded_total=outputs.funded_total,
        quotas=lines,
        notes=list(outputs.notes),
        currency=currency,
    )


def compare(before: Result | None, after: Result | None) -> Changes | None:
    """What changed from one run's result to the next: newly funded, dropped, amounts, reserve."""
    if before is None or after is None:
        return None
    old = {r.proposal_id: r for r in before.rows}
    changes = Changes()
    for row in after.rows:
        was = old.get(row.proposal_id)
        was_funded = was is not None and was.status == "funded"
        if row.status == "funded" and not was_funded:
            changes.newly_funded.append(row)
        elif row.status != "funded" and was_funded:
            changes.dropped.append(row)
        elif row.status == "funded" and was is not None and was.amount != row.amount:
            changes.amount_changed.append((row, was.amount, row.amount))
        old_pos = was.reserve_position if was is not None else None
        if old_pos != row.reserve_position and (old_pos or row.reserve_position):
            changes.reserve_moved.append((row, old_pos, row.reserve_position))
    return changes


# --- helpers --------------------------------------------------------------------------------


def require_officer(request: Request[Any, Any, Any]) -> SessionUser:
    user = require_user(request)
    if not user.is_officer:
        raise PermissionDeniedException()
    return user


async def _territory_names(client: GrantsClient, window: WindowRead) -> dict[str, str]:
    ids = set(window.territory_ids)
    return {
        t.code: i18n.localised(t.name)
        for t in (await client.list_territories()).items
        if not ids or t.id in ids
    }


def _options(names: dict[str, str]) -> list[tuple[str, str]]:
    return list(names.items())


async def _context(
    client: GrantsClient, window: WindowRead
) -> tuple[dict[str, Any], dict[str, str], dict[str, ProposalSummary]]:
    territories = await _territory_names(client, window)
    groups = group_names(territories)
    proposals = await window_proposals(client, window.id)
    call = await client.get_call(window.call_id)
    return (
        {
            "window": window,
            "call": call,
            "section": "selection",
            "policies": _options(policy_names()),
            "quota_kinds": _options(quota_kind_names()),
            "groups": _options(groups),
            "calibrations": _options(calibration_names()),
            "outcome_names": outcome_names(),
            "run_statuses": run_statuses(),
            "scored": sum(1 for p in proposals.values() if p.status == "scored"),
        },
        groups,
        proposals,
    )


async def _result_of(
    client: GrantsClient,
    run_id: str | None,
    proposals: dict[str, ProposalSummary],
    groups: dict[str, str],
    currency: str,
) -> tuple[SelectionRunRead | None, Result | None]:
    if not run_id:
        return None, None
    try:
        run = await client.get_selection_run(uuid.UUID(run_id))
    except (ValueError, ApiError):
        return None, None
    return run, build_result(run, proposals, groups, currency)


async def _runs(client: GrantsClient, window_id: uuid.UUID) -> list[SelectionRunSummary]:
    """The window's runs, newest first."""
    return list(await client.list_selection_runs(window_id))


def _computed(runs: list[SelectionRunSummary], before: uuid.UUID | None = None) -> str | None:
    """The newest computed run (older than `before` when given): what a new result is compared
    with."""
    seen = before is None
    for r in runs:
        if not seen:
            seen = r.id == before
            continue
        if r.funded_count is not None:
            return str(r.id)
    return None


# --- the selection page ---------------------------------------------------------------------


@get(
    "/officer/windows/{window_id:uuid}/selection", name="officer_selection", include_in_schema=False
)
async def selection_page(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    """The form with the window's settings (or those of `?from=<run>`), and the latest result."""
    require_officer(request)
    client = client_for(request)
    window = await client.get_window(window_id)
    ctx, groups, proposals = await _context(client, window)
    run: SelectionRunRead | None = None
    _result: Result | None = None
    source = request.query_params.get("from")
    if source:
        run, _result = await _result_of(client, source, proposals, groups, window.currency)
    runs = await _runs(client, window.id)
    ctx["runs"] = runs
    if run is None:
        run, _result = await _result_of(client, _computed(runs), proposals, groups, window.currency)
    result = _result if run is not None else None
    form = (
        form_from_config(msgspec.to_builtins(run.config), window.currency, previous=str(run.id))
        if run is not None
        else form_from_window(window)
    )
    ctx.update(
        {"form": form, "errors": FormErrors(), "run": run, "result": result, "changes": None}
    )
    return page(request, "officer/selection/selection.html", ctx)


@post(
    "/officer/windows/{window_id:uuid}/selection",
    name="officer_selection_what_if",
    include_in_schema=False,
)
async def selection_what_if(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    """A "what if": a new run with these settings, computed at once. htmx gets the result block
    with what changed; a plain form is sent to the run's page."""
    require_officer(request)
    client = client_for(request)
    window = await client.get_window(window_id)
    shown, body, errors = parse_form(await request.form(), window.currency)
    ctx, groups, proposals = await _context(client, window)
    previous, before = await _result_of(client, shown.previous, proposals, groups, window.currency)
    htmx = request.headers.get("hx-request") == "true"
    run = None
    if body is not None:
        try:
            run = await client.create_selection_run(window.id, body)
            run = await client.create_selection_computation(run.id)
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = _api_errors(exc)
    ctx["runs"] = await _runs(client, window.id)
    if errors or run is None:
        ctx.update(
            {"form": shown, "errors": errors, "run": previous, "result": before, "changes": None}
        )
        return page(request, "officer/selection/selection.html", ctx, status=422)
    if not htmx:
        suffix = f"?previous={previous.id}" if previous is not None else ""
        flash(request, _("The selection was computed with these settings."))
        return redirect(request, f"/officer/selection-runs/{run.id}{suffix}")
    result = build_result(run, proposals, groups, window.currency)
    shown.previous = str(run.id)
    ctx.update(
        {
            "form": shown,
            "errors": errors,
            "run": run,
            "result": result,
            "changes": compare(before, result),
            "previous": previous,
            "oob_status": _("Computed: %(funded)s funded, %(reserve)s in reserve.")
            % {
                "funded": len(result.funded) if result else 0,
                "reserve": len(result.reserve) if result else 0,
            },
        }
    )
    return page(request, "officer/selection/selection.html", ctx)


# --- a run ----------------------------------------------------------------------------------


def _approval(user: SessionUser, run: SelectionRunRead) -> dict[str, Any]:
    """Four eyes: who created or computed the run may not approve it; their names, in words."""
    makers = {str(run.created_by): run.created_by_name}
    if run.computed_by is not None:
        makers[str(run.computed_by)] = run.computed_by_name or ""
    return {"own": str(user.id) in makers, "by": ", ".join(n for n in makers.values() if n)}


async def _changes(client: GrantsClient, run: SelectionRunRead) -> list[DecisionChangeRead]:
    """The window's changes of decision (four eyes after approval), newest first."""
    if run.status != "approved":
        return []
    return list(await client.list_decision_changes(run.window_id))


async def run_context(
    request: Request[Any, Any, Any], run_id: uuid.UUID, *, replay: bool = False
) -> dict[str, Any]:
    user = require_officer(request)
    client = client_for(request)
    run = await client.get_selection_run(run_id)
    window = await client.get_window(run.window_id)
    ctx, groups, proposals = await _context(client, window)
    result = build_result(run, proposals, groups, window.currency)
    previous_id = request.query_params.get("previous") or _computed(
        await _runs(client, window.id), run.id
    )
    previous, before = await _result_of(client, previous_id, proposals, groups, window.currency)
    replayed = None
    if replay and run.outputs is not None:
        try:
            replayed = (await client.replay_selection_run(run.id)).identical
        except ApiError as exc:
            if exc.status not in (403, 409):
                raise
            flash(request, exc.problem.detail or exc.problem.title, "error")
    changes = await _changes(client, run)
    publication: FeedbackPublicationRead | None = (
        await client.get_feedback_publication(window.id) if run.status == "approved" else None
    )
    history = (
        list(reversed(await client.list_window_decisions(window.id)))
        if run.status == "approved"
        else []
    )
    config_quotas = [
        _quota_name(msgspec.to_builtins(q), groups, window.currency) for q in run.config.quotas
    ]
    ctx.update(
        {
            "run": run,
            "result": result,
            "previous": previous,
            "changes": compare(before, result),
            "replayed": replayed,
            "approval": _approval(user, run),
            "config_quotas": config_quotas,
            "policy_names": policy_names(),
            "calibration_names": calibration_names(),
            "inputs_count": len(run.outputs.entries) if run.outputs is not None else 0,
            "history": history,
            "in_force": {str(d.proposal_id): d for d in history if d.current},
            "decision_changes": changes,
            "publication": publication,
            "publication_errors": FormErrors(),
            "pending": [c for c in changes if c.status == "pending"],
            "settled": [c for c in changes if c.status != "pending"],
            "outcomes": [(o.value, outcome_names()[o.value]) for o in DecisionOutcome],
            "errors": FormErrors(),
            "decision_errors": {},
            "decision_values": {},
        }
    )
    return ctx


@get("/officer/selection-runs/{run_id:uuid}", name="officer_selection_run", include_in_schema=False)
async def run_page(request: Request[Any, Any, Any], run_id: FromPath[uuid.UUID]) -> Any:
    """The run; `?replay=1` recomputes it from its stored inputs and seed (nothing is changed)."""
    ctx = await run_context(request, run_id, replay=request.query_params.get("replay") == "1")
    return page(request, "officer/selection/run.html", ctx)


@post(
    "/officer/selection-runs/{run_id:uuid}/approval",
    name="officer_selection_approve",
    include_in_schema=False,
)
async def run_approve(request: Request[Any, Any, Any], run_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    form = await request.form()
    reason = optional(form, "reason")
    try:
        await client_for(request).approve_selection_run(
            run_id, SelectionRunTransition(reason=reason)
        )
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        ctx = await run_context(request, run_id)
        ctx["errors"] = _refusal(exc, "reason")
        ctx["approval_reason"] = reason or ""
        return page(request, "officer/selection/run.html", ctx, status=_status(exc), whole=True)
    flash(request, _("The selection is approved; the decisions are recorded."))
    return redirect(request, f"/officer/selection-runs/{run_id}#decisions")


@post(
    "/officer/selection-runs/{run_id:uuid}/feedback-publication",
    name="officer_selection_publish_feedback",
    include_in_schema=False,
)
async def run_publish_feedback(request: Request[Any, Any, Any], run_id: FromPath[uuid.UUID]) -> Any:
    """Publish the decisions and the panel's feedback to the window's applicants (once, after the
    approval and with no change of decision waiting; the API refuses otherwise)."""
    require_officer(request)
    client = client_for(request)
    try:
        run = await client.get_selection_run(run_id)
        await client.create_feedback_publication(run.window_id)
    except ApiError as exc:
        if exc.status not in (403, 409):
            raise
        ctx = await run_context(request, run_id)
        # shown in the publication's section; above the page when there is none (not approved)
        ctx["publication_errors" if ctx["publication"] else "errors"] = _refusal(exc, "reason")
        return page(request, "officer/selection/run.html", ctx, status=exc.status, whole=True)
    flash(
        request,
        _("The feedback is published: the applicants read their decision and the feedback now."),
    )
    return redirect(request, f"/officer/selection-runs/{run_id}#publication-title")


def _status(exc: ApiError) -> int:
    return 422 if exc.status == 422 else exc.status


def _refusal(exc: ApiError, field_name: str) -> FormErrors:
    errors = from_problem(exc, {"reason": field_name})
    if exc.status == 403:
        return FormErrors(
            general=[
                _("The API refused this: %(detail)s")
                % {"detail": exc.problem.detail or exc.problem.title}
            ]
        )
    if exc.status == 409:
        return FormErrors(general=[exc.problem.detail or exc.problem.title])
    return errors


@post(
    "/officer/selection-runs/{run_id:uuid}/decisions",
    name="officer_selection_decision",
    include_in_schema=False,
)
async def run_decision(request: Request[Any, Any, Any], run_id: FromPath[uuid.UUID]) -> Any:
    """Change one proposal's decision, with a reason (after approval: a change a second officer
    confirms, when the API asks for one)."""
    require_officer(request)
    form = await request.form()
    proposal = text(form, "proposal_id")
    outcome = text(form, "outcome")
    reason = text(form, "reason")
    errors = FormErrors()
    try:
        proposal_id = uuid.UUID(proposal)
    except ValueError:
        proposal_id = None
        errors.add(None, _("Choose one of the options."))
    if outcome not in {o.value for o in DecisionOutcome}:
        errors.add("outcome", _("Choose one of the options."))
    if len(reason) < 10:
        errors.add("reason", _("Enter at least %(n)s characters.") % {"n": 10})
    made: DecisionRead | DecisionChangeRead | None = None
    status = 422
    client = client_for(request)
    if not errors and proposal_id is not None:
        body = DecisionCreate(outcome=DecisionOutcome(outcome), reason=reason)
        try:
            run = await client.get_selection_run(run_id)
            # after approval a change waits for a second officer; before, it is recorded
            made = await (
                client.create_decision_change(proposal_id, body)
                if run.status == "approved"
                else client.create_decision(proposal_id, body)
            )
        except ApiError as exc:
            if exc.status not in (403, 404, 409, 422):
                raise
            errors = _refusal(exc, "reason")
            status = _status(exc)
    if made is None:
        ctx = await run_context(request, run_id)
        ctx["decision_errors"] = {proposal: errors}
        ctx["decision_values"] = {proposal: {"outcome": outcome, "reason": reason}}
        return page(request, "officer/selection/run.html", ctx, status=status, whole=True)
    if isinstance(made, DecisionChangeRead) and made.status == "pending":
        flash(request, _("The change is recorded; a second programme officer must confirm it."))
    else:
        flash(request, _("The decision is changed."))
    return redirect(request, f"/officer/selection-runs/{run_id}#decisions")


@post(
    "/officer/selection-runs/{run_id:uuid}/decision-changes/{change_id:uuid}",
    name="officer_selection_decision_change",
    include_in_schema=False,
)
async def run_decision_change(
    request: Request[Any, Any, Any], run_id: FromPath[uuid.UUID], change_id: FromPath[uuid.UUID]
) -> Any:
    """A second officer confirms or rejects a pending change of decision."""
    require_officer(request)
    form = await request.form()
    verdict = text(form, "verdict")
    body = DecisionChangeTransition(reason=optional(form, "reason"))
    client = client_for(request)
    try:
        if verdict == "confirm":
            await client.create_decision_change_confirmation(change_id, body)
            flash(request, _("The change is confirmed; the decision is recorded."))
        elif verdict == "reject":
            await client.create_decision_change_rejection(change_id, body)
            flash(request, _("The change is rejected; the decision stays as it was."))
        else:
            flash(request, _("Choose one of the options."), "error")
    except ApiError as exc:
        if exc.status not in (403, 404, 409, 422):
            raise
        ctx = await run_context(request, run_id)
        ctx["errors"] = _refusal(exc, "reason")
        return page(request, "officer/selection/run.html", ctx, status=_status(exc), whole=True)
    return redirect(request, f"/officer/selection-runs/{run_id}#decisions")


ROUTES: list[Any] = [
    selection_page,
    selection_what_if,
    run_page,
    run_approve,
    run_decision,
    run_decision_change,
    run_publish_feedback,
]
