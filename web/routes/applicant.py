"""The applicant: dashboard, proposal editor, eligibility check, submission, receipt, withdrawal.

Every page reads and writes through the API client as the signed-in person; the API decides who
may see and do what (`allowed_actions` on the proposal). The editor is one form that works
without JavaScript: "Save", "Add a line", "Remove" and "Check eligibility" are submit buttons
(POST → 303 → GET; a 422 re-renders the form with each message next to its field). With htmx it
also saves itself a moment after each change (`/autosave`), showing "saved at 11:02" and taking
the new version out of band; when someone saved a newer version first (the API's 409
stale-version), it says so and offers to reload — it never overwrites.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from babel.dates import format_time
from babel.numbers import format_decimal, get_currency_precision
from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from contracts.calls import CallRead, EligibilityCheck, EligibilityRead, WindowRead
from contracts.client import ApiError, GrantsClient
from contracts.pcc import ActionPlanItemRead
from contracts.proposals import (
    BudgetLineCreate,
    BudgetLinesReplace,
    ProposalCreate,
    ProposalRead,
    ProposalSubmit,
    ProposalSummary,
    ProposalUpdate,
    ProposalWithdraw,
    TimelineEntry,
)
from web import i18n
from web.forms import FormErrors, from_problem, many, optional, text
from web.i18n import _
from web.labels import attachment_kinds, gender_markers, required_documents
from web.render import page, redirect
from web.routes.account import require_user
from web.session import client_for, current_user, flash

MAX_UPLOAD_BODY = 12 * 1024 * 1024
"""The web accepts a little more than the API's 10 MB per file, so the API's own refusal (with
its limit in words) is what the person reads."""

STALE = "stale-version"
DECIDED = {"selected", "reserve", "not_selected", "awarded"}
STATUS_ORDER = (
    "draft",
    "submitted",
    "eligible",
    "ineligible",
    "in_review",
    "scored",
    "selected",
    "reserve",
    "not_selected",
    "awarded",
    "withdrawn",
)


def budget_categories() -> list[str]:
    """Suggestions for the category of a budget line (any text is accepted)."""
    return [
        _("Staff"),
        _("Travel"),
        _("Venues and meals"),
        _("Equipment"),
        _("Materials"),
        _("Communication"),
        _("Administration"),
        _("Other"),
    ]


# --- the editor's values, as text ------------------------------------------------------------


@dataclass
class Step:
    activity: str = ""
    start: str = ""
    end: str = ""

    @property
    def blank(self) -> bool:
        return not (self.activity or self.start or self.end)


@dataclass
class Line:
    category: str = ""
    description: str = ""
    quantity: str = ""
    unit_cost: str = ""
    total: int | None = None

    @property
    def blank(self) -> bool:
        return not (self.category or self.description or self.quantity or self.unit_cost)


@dataclass
class Draft:
    """What the form shows: the proposal as read, or as the person typed it."""

    version: int
    title: str = ""
    summary: str = ""
    problem_statement: str = ""
    activities: str = ""
    requested_amount: str = ""
    co_funding_amount: str = ""
    target_groups: str = ""
    gender_marker: str = ""
    gender_justification: str = ""
    conflict_sensitivity: str = ""
    timeline: list[Step] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    action_plan_item_ids: list[str] = field(default_factory=list)
    co_applicant_ids: list[str] = field(default_factory=list)


def _quantity_text(q: Decimal) -> str:
    """1.500 → "1.5", 2 → "2": the quantity as a person would type it."""
    return format(q.normalize(), "f")


def draft_from_read(p: ProposalRead) -> Draft:
    return Draft(
        version=p.version,
        title=p.title,
        summary=p.summary,
        problem_statement=p.problem_statement or "",
        activities=p.activities or "",
        requested_amount=i18n.major_units(p.requested_amount, p.currency)
        if p.requested_amount
        else "",
        co_funding_amount=i18n.major_units(p.co_funding_amount, p.currency)
        if p.co_funding_amount
        else "",
        target_groups="\n".join(p.target_groups),
        gender_marker="" if p.gender_marker is None else str(p.gender_marker),
        gender_justification=p.gender_justification or "",
        conflict_sensitivity=p.conflict_sensitivity or "",
        timeline=[
            Step(
                activity=str(t.get("activity", "")),
                start=str(t.get("start", "")),
                end=str(t.get("end", "")),
            )
            for t in p.timeline
        ],
        lines=[
            Line(
                category=b.category,
                description=b.description,
                quantity=_quantity_text(b.quantity),
                unit_cost=i18n.major_units(b.unit_cost, b.currency),
                total=b.total,
            )
            for b in p.budget_lines
        ],
        action_plan_item_ids=[str(i) for i in p.action_plan_item_ids],
        co_applicant_ids=[str(i) for i in p.co_applicant_ids],
    )


_ROW = re.compile(r"^(timeline|lines)\.(\d+)\.([a-z_]+)$")


def _rows(form: Mapping[str, Any], group: str) -> list[int]:
    found = set()
    for key in form:
        m = _ROW.match(str(key))
        if m and m.group(1) == group:
            found.add(int(m.group(2)))
    return sorted(found)


def draft_from_form(form: Any) -> Draft:
    try:
        version = int(text(form, "version"))
    except ValueError:
        version = 1
    d = Draft(version=version)
    for name in (
        "title",
        "summary",
        "problem_statement",
        "activities",
        "requested_amount",
        "co_funding_amount",
        "gender_marker",
        "gender_justification",
        "conflict_sensitivity",
    ):
        setattr(d, name, text(form, name))
    raw_groups = form.get("target_groups")
    d.target_groups = str(raw_groups[0] if isinstance(raw_groups, list) else raw_groups or "")
    d.timeline = [
        Step(
            activity=text(form, f"timeline.{n}.activity"),
            start=text(form, f"timeline.{n}.start"),
            end=text(form, f"timeline.{n}.end"),
        )
        for n in _rows(form, "timeline")
    ]
    d.lines = [
        Line(
            category=text(form, f"lines.{n}.category"),
            description=text(form, f"lines.{n}.description"),
            quantity=text(form, f"lines.{n}.quantity"),
            unit_cost=text(form, f"lines.{n}.unit_cost"),
        )
        for n in _rows(form, "lines")
    ]
    d.action_plan_item_ids = many(form, "action_plan_item_ids")
    d.co_applicant_ids = many(form, "co_applicant_ids")
    return d


def line_total(quantity: Decimal, unit_cost: int) -> int:
    """quantity × unit cost in minor units, rounded half to even (the API's documented rule)."""
    return int((quantity * unit_cost).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _quantity(raw: str) -> Decimal:
    cleaned = raw.replace(" ", "").replace("\u00a0", "").replace(",", ".")
    value = Decimal(cleaned)
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.001")):
        raise InvalidOperation(raw)
    return value


@dataclass
class Parsed:
    """The draft as API bodies; fields that did not parse are left out (and named in errors)."""

    fields: dict[str, Any]
    lines: list[BudgetLineCreate] | None
    errors: FormErrors


def parse_draft(d: Draft, currency: str) -> Parsed:
    errors = FormErrors()
    fields: dict[str, Any] = {
        "summary": d.summary,
        "problem_statement": d.problem_statement or None,
        "activities": d.activities or None,
        "gender_justification": d.gender_justification or None,
        "conflict_sensitivity": d.conflict_sensitivity or None,
        "target_groups": [g.strip() for g in d.target_groups.splitlines() if g.strip()],
    }
    if d.title:
        fields["title"] = d.title
    else:
        errors.add("title", _("Give the proposal a title."))
    for name in ("requested_amount", "co_funding_amount"):
        raw = getattr(d, name)
        if not raw:
            fields[name] = 0
            continue
        try:
            fields[name] = i18n.parse_major_units(raw, currency)
        except ValueError:
            errors.add(name, _("Enter an amount, e.g. 150000 or 150000.50."))
    if d.gender_marker in ("", "0", "1", "2", "3"):
        fields["gender_marker"] = int(d.gender_marker) if d.gender_marker else None
    else:
        errors.add("gender_marker", _("Choose one of the options."))
    timeline: list[TimelineEntry] = []
    timeline_ok = True
    for n, step in enumerate(s for s in d.timeline if not s.blank):
        prefix = f"timeline.{n}"
        start = end = None
        if not step.activity:
            errors.add(f"{prefix}.activity", _("Say what the activity is."))
            timeline_ok = False
        try:
            start = date.fromisoformat(step.start)
        except ValueError:
            errors.add(f"{prefix}.start", _("Enter a date, e.g. 2027-03-01."))
            timeline_ok = False
        try:
            end = date.fromisoformat(step.end)
        except ValueError:
            errors.add(f"{prefix}.end", _("Enter a date, e.g. 2027-03-31."))
            timeline_ok = False
        if start and end and end < start:
            errors.add(f"{prefix}.end", _("The end is before the start."))
            timeline_ok = False
        if timeline_ok and start and end:
            timeline.append(TimelineEntry(activity=step.activity, start=start, end=end))
    if timeline_ok:
        fields["timeline"] = timeline
    try:
        fields["action_plan_item_ids"] = [uuid.UUID(i) for i in d.action_plan_item_ids]
    except ValueError:
        errors.add("action_plan_item_ids", _("Choose one of the options."))
    try:
        fields["co_applicant_ids"] = [uuid.UUID(i) for i in d.co_applicant_ids]
    except ValueError:
        errors.add("co_applicant_ids", _("Choose one of the options."))
    lines: list[BudgetLineCreate] | None = []
    for n, line in enumerate(ln for ln in d.lines if not ln.blank):
        prefix = f"lines.{n}"
        ok = True
        if not line.category:
            errors.add(f"{prefix}.category", _("Enter a category, e.g. Travel."))
            ok = False
        if not line.description:
            errors.add(f"{prefix}.description", _("Describe what the money is for."))
            ok = False
        quantity = None
        try:
            quantity = _quantity(line.quantity)
        except (InvalidOperation, ValueError):
            errors.add(
                f"{prefix}.quantity",
                _("Enter a quantity greater than zero, with at most 3 decimals."),
            )
            ok = False
        unit_cost = None
        try:
            unit_cost = i18n.parse_major_units(line.unit_cost, currency)
        except ValueError:
            errors.add(f"{prefix}.unit_cost", _("Enter an amount, e.g. 150000 or 150000.50."))
            ok = False
        if ok and lines is not None and quantity is not None and unit_cost is not None:
            lines.append(
                BudgetLineCreate(
                    category=line.category,
                    description=line.description,
                    quantity=quantity,
                    unit_cost=unit_cost,
                    currency=currency,
                )
            )
        else:
            lines = None
    return Parsed(fields=fields, lines=lines, errors=errors)


def _api_errors(exc: ApiError) -> FormErrors:
    """The API's problem as messages on the editor's fields (`target_groups.3` →
    `target_groups`, `lines.0.quantity` stays)."""
    raw = from_problem(exc)
    errors = FormErrors(general=list(raw.general))
    for name, messages in raw.fields.items():
        target = name
        for whole in ("target_groups", "action_plan_item_ids", "co_applicant_ids"):
            if name.startswith(whole):
                target = whole
        if target == "lines":
            target = "budget"
        for message in messages:
            if message == "before start":
                message = _("The end is before the start.")
            errors.add(target, message)
    return errors


def _same_lines(a: list[BudgetLineCreate], p: ProposalRead) -> bool:
    have = [(b.category, b.description, b.quantity, b.unit_cost) for b in p.budget_lines]
    want = [(b.category, b.description, b.quantity, b.unit_cost) for b in a]
    return have == want


class StaleVersion(Exception):
    """Someone saved a newer version first."""


async def save_draft(client: GrantsClient, p: ProposalRead, parsed: Parsed, version: int) -> Any:
    """PATCH the fields, then PUT the budget lines when they changed; the proposal as saved."""
    body = ProposalUpdate(version=version, **parsed.fields)
    try:
        saved = await client.update_proposal(p.id, body)
        if parsed.lines is not None and not _same_lines(parsed.lines, saved):
            saved = await client.update_budget_lines(
                p.id, BudgetLinesReplace(version=saved.version, lines=parsed.lines)
            )
    except ApiError as exc:
        if exc.status == 409 and exc.type.endswith(STALE):
            raise StaleVersion() from exc
        raise
    return saved


# --- loading -------------------------------------------------------------------------------


async def _proposal(client: GrantsClient, proposal_id: uuid.UUID) -> ProposalRead:
    try:
        return await client.get_proposal(proposal_id)
    except ApiError as exc:
        if exc.status in (403, 404):
            raise NotFoundException() from exc
        raise


@dataclass
class ItemChoice:
    item: ActionPlanItemRead
    territory: str


async def _items_for(client: GrantsClient, window: WindowRead) -> list[ItemChoice]:
    """The PCC action-plan items a proposal of this window may link: the window's items, of the
    PCCs of the window's territories."""
    territories, pccs, plans = await asyncio.gather(
        client.list_territories(), client.list_pccs(), client.list_action_plans(limit=100)
    )
    names = {t.id: i18n.localised(t.name) for t in territories.items}
    pcc_territory = {p.id: p.territory_id for p in pccs}
    wanted = set(window.territory_ids)
    chosen = [
        plan
        for plan in plans.items
        if pcc_territory.get(plan.pcc_id) in wanted and str(plan.status) == "active"
    ]
    lists = await asyncio.gather(*(client.list_action_plan_items(plan.id) for plan in chosen))
    eligible = set(window.action_plan_item_ids)
    out: list[ItemChoice] = []
    for plan, items in zip(chosen, lists, strict=True):
        place = names.get(pcc_territory[plan.pcc_id], "")
        for item in items.items:
            if not eligible or item.id in eligible:
                out.append(ItemChoice(item=item, territory=place))
    out.sort(key=lambda c: (c.territory, c.item.code))
    return out


async def _organisation_names(
    client: GrantsClient, window: WindowRead, chosen: list[uuid.UUID]
) -> dict[str, str]:
    """Partners to choose from: the organisations registered in the window's territories (the
    directory shows names only), and those already chosen wherever they are."""
    try:
        local = await client.list_organisation_directory(
            territory_ids=list(window.territory_ids) or None, limit=500
        )
        names = {str(o.id): o.name for o in local.items}
        if any(str(i) not in names for i in chosen):
            everyone = await client.list_organisation_directory(limit=500)
            names.update({str(o.id): o.name for o in everyone.items if o.id in chosen})
    except ApiError as exc:
        if exc.status in (403, 404):
            return {}
        raise
    return names


def _category_totals(lines: list[Line]) -> list[tuple[str, int]]:
    sums: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.category and line.total is not None:
            sums[line.category] += line.total
    return sorted(sums.items())


def _with_totals(lines: list[Line], currency: str) -> list[Line]:
    """Each line's total from its texts, as the API computes it (blank when it does not parse)."""
    for line in lines:
        try:
            line.total = line_total(
                _quantity(line.quantity), i18n.parse_major_units(line.unit_cost, currency)
            )
        except (InvalidOperation, ValueError):
            line.total = None
    return lines


async def _editor_context(
    request: Request[Any, Any, Any],
    p: ProposalRead,
    *,
    draft: Draft | None = None,
    errors: FormErrors | None = None,
    blank_steps: int = 1,
    blank_lines: int = 1,
    eligibility: EligibilityRead | None = None,
    upload_errors: FormErrors | None = None,
    upload_kind: str | None = None,
    conflict: bool = False,
) -> dict[str, Any]:
    client = client_for(request)
    window, call = await asyncio.gather(client.get_window(p.window_id), client.get_call(p.call_id))
    editable = "update" in p.allowed_actions
    items: list[ItemChoice] = []
    orgs: dict[str, str] = {}
    if editable or p.action_plan_item_ids or p.co_applicant_ids:
        items, orgs = await asyncio.gather(
            _items_for(client, window),
            _organisation_names(client, window, list(p.co_applicant_ids)),
        )
    d = draft or draft_from_read(p)
    lines = _with_totals(list(d.lines), p.currency)
    if editable:
        d.timeline = [s for s in d.timeline if not s.blank] + [Step() for _ in range(blank_steps)]
        d.lines = [ln for ln in lines if not ln.blank] + [Line() for _ in range(blank_lines)]
    budget_total = sum(ln.total or 0 for ln in lines)
    linked = set(d.action_plan_item_ids)
    rules = window.rule_set.rules if window.rule_set else []
    required = required_documents(rules)
    attached = {str(a.kind) for a in p.attachments}
    try:
        requested: int | None = i18n.parse_major_units(d.requested_amount or "0", p.currency)
    except ValueError:
        requested = None
    return {
        "p": p,
        "d": d,
        "window": window,
        "call": call,
        "editable": editable,
        "errors": errors or FormErrors(),
        "upload_errors": upload_errors or FormErrors(),
        "eligibility": eligibility,
        "conflict": conflict,
        "items": items,
        "linked_items": [c for c in items if str(c.item.id) in linked],
        "co_applicant_options": [(k, v) for k, v in orgs.items() if k != str(p.organisation_id)],
        "co_applicant_names": [orgs.get(str(i), str(i)) for i in p.co_applicant_ids],
        "gender_options": list(gender_markers().items()),
        "attachment_options": list(attachment_kinds().items()),
        "categories": budget_categories(),
        "budget_total": budget_total,
        "category_totals": _category_totals(lines),
        "now": datetime.now(UTC),
        "saved_at": p.updated_at,
        "required": required,
        "attached_kinds": attached,
        "upload_kind": upload_kind or next((k for k in required if k not in attached), "other"),
        "requested_minor": requested,
        "amount": amount_text,
        "size": size_text,
        "clock": clock,
        "to_date": _to_date,
    }


def amount_text(minor: int | None, currency: str = "KGS") -> str:
    """Minor units as a number with the currency's decimals in the locale's digits, no symbol
    (the budget table's cells; app.js writes the same with Intl.NumberFormat)."""
    if minor is None:
        return ""
    exponent = get_currency_precision(currency)
    pattern = "#,##0" + ("." + "0" * exponent if exponent else "")
    return format_decimal(
        Decimal(minor).scaleb(-exponent), format=pattern, locale=i18n.current_language()
    )


def clock(value: datetime | None) -> str:
    """The hour and minute of a moment in Bishkek ("saved at 11:02")."""
    if value is None:
        return ""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return format_time(moment.astimezone(i18n.BISHKEK), "short", locale=i18n.current_language())


def size_text(size: int) -> str:
    if size < 1024 * 1024:
        return _("%(n)s KB") % {"n": i18n.number(max(1, round(size / 1024)))}
    return _("%(n)s MB") % {"n": i18n.number(round(Decimal(size) / (1024 * 1024), 1))}


def _to_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


# --- dashboard -------------------------------------------------------------------------------


@dataclass
class Row:
    proposal: ProposalSummary
    window: WindowRead | None
    call: CallRead | None


@get("/my", name="my_proposals", include_in_schema=False)
async def dashboard(request: Request[Any, Any, Any]) -> Any:
    user = require_user(request)
    client = client_for(request)
    proposals, calls = await asyncio.gather(
        client.list_proposals(limit=100, sort="-created_at"),
        client.list_calls(status="published", limit=50),
    )
    windows: dict[uuid.UUID, tuple[WindowRead, CallRead]] = {}
    for call in calls.items:
        for w in call.windows:
            windows[w.id] = (w, call)
    # staff see every proposal through the API; this page is the person's own organisations'
    mine = {oid for oid, _name in user.organisations}
    own = [pr for pr in proposals.items if pr.organisation_id in mine]
    missing = {pr.window_id for pr in own} - set(windows)
    for window_id in missing:
        try:
            w = await client.get_window(window_id)
            windows[w.id] = (w, await client.get_call(w.call_id))
        except ApiError as exc:
            if exc.status not in (403, 404):
                raise
    groups: dict[str, list[Row]] = {}
    for pr in own:
        w_c = windows.get(pr.window_id)
        groups.setdefault(str(pr.status), []).append(
            Row(pr, w_c[0] if w_c else None, w_c[1] if w_c else None)
        )
    ordered = [(s, groups[s]) for s in STATUS_ORDER if s in groups]
    now = datetime.now(UTC)
    open_windows = [
        (w, call)
        for call in calls.items
        for w in sorted(call.windows, key=lambda x: x.position)
        if w.opens_at <= now < w.closes_at
    ]
    return page(
        request,
        "applicant/dashboard.html",
        {
            "groups": ordered,
            "count": len(own),
            "open_windows": open_windows,
            "now": now,
            "organisations": user.organisations,
            "decided": DECIDED,
        },
    )


# --- starting a proposal ----------------------------------------------------------------------


@post("/windows/{window_id:uuid}/proposals", name="proposal_create", include_in_schema=False)
async def create(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    user = require_user(request)
    form = await request.form()
    raw = text(form, "organisation_id")
    mine = {str(oid) for oid, _name in user.organisations}
    if raw not in mine:
        if len(mine) != 1:
            flash(request, _("Choose the organisation you apply for."), "error")
            return redirect(request, "/my")
        raw = next(iter(mine))
    client = client_for(request)
    try:
        created = await client.create_proposal(
            window_id,
            ProposalCreate(organisation_id=uuid.UUID(raw), title=_("Untitled proposal")),
        )
    except ApiError as exc:
        if exc.status != 409:
            raise
        flash(request, _("This window no longer accepts new proposals."), "error")
        return redirect(request, "/my")
    flash(request, _("Your draft is created. It is saved as you go."), "success")
    return redirect(request, f"/proposals/{created.id}")


# --- the editor ------------------------------------------------------------------------------


def _count(raw: str | None, default: int = 1) -> int:
    try:
        return min(max(int(raw or default), 1), 20)
    except ValueError:
        return default


@get("/proposals/{proposal_id:uuid}", name="proposal", include_in_schema=False)
async def proposal_page(
    request: Request[Any, Any, Any],
    proposal_id: FromPath[uuid.UUID],
    steps: FromQuery[str | None] = None,
    lines: FromQuery[str | None] = None,
) -> Any:
    require_user(request)
    p = await _proposal(client_for(request), proposal_id)
    context = await _editor_context(
        request, p, blank_steps=_count(steps), blank_lines=_count(lines)
    )
    return page(request, "applicant/proposal.html", context)


@get("/proposals/{proposal_id:uuid}/check", name="proposal_check", include_in_schema=False)
async def proposal_check(request: Request[Any, Any, Any], proposal_id: FromPath[uuid.UUID]) -> Any:
    """The editor with each eligibility rule's verdict for the draft as saved (nothing stored)."""
    require_user(request)
    client = client_for(request)
    p = await _proposal(client, proposal_id)
    result = await client.create_eligibility_check(p.window_id, EligibilityCheck(proposal_id=p.id))
    context = await _editor_context(request, p, eligibility=result)
    return page(request, "applicant/proposal.html", context)


@post("/proposals/{proposal_id:uuid}", name="proposal_save", include_in_schema=False)
async def proposal_save(request: Request[Any, Any, Any], proposal_id: FromPath[uuid.UUID]) -> Any:
    """The whole form: save, then go where the pressed button asks (another row, the check,
    the submission's confirmation)."""
    require_user(request)
    client = client_for(request)
    p = await _proposal(client, proposal_id)
    form = await request.form()
    d = draft_from_form(form)
    action = text(form, "action") or "save"
    remove_step = optional(form, "remove_step")
    remove_line = optional(form, "remove_line")
    if remove_step is not None and remove_step.isdigit() and int(remove_step) < len(d.timeline):
        del d.timeline[int(remove_step)]
        action = "remove"
    if remove_line is not None and remove_line.isdigit() and int(remove_line) < len(d.lines):
        del d.lines[int(remove_line)]
        action = "remove"
    parsed = parse_draft(d, p.currency)
    status = 422
    conflict = False
    errors = parsed.errors
    if not errors:
        try:
            await save_draft(client, p, parsed, d.version)
        except StaleVersion:
            conflict, status = True, 409
        except ApiError as exc:
            if exc.status != 422:
                raise
            errors = _api_errors(exc)
        else:
            return _after_save(request, p, action, d)
    context = await _editor_context(
        request,
        p,
        draft=d,
        errors=errors,
        conflict=conflict,
        blank_steps=1 if action != "add_step" else 2,
        blank_lines=1 if action != "add_line" else 2,
    )
    return page(request, "applicant/proposal.html", context, status=status, whole=True)


def _after_save(request: Request[Any, Any, Any], p: ProposalRead, action: str, d: Draft) -> Any:
    base = f"/proposals/{p.id}"
    if action == "check":
        return redirect(request, f"{base}/check#eligibility")
    if action == "submit":
        return redirect(request, f"{base}/submit")
    if action == "add_step":
        blanks = sum(1 for s in d.timeline if s.blank)
        return redirect(request, f"{base}?steps={blanks + 1}#timeline")
    if action == "add_line":
        blanks = sum(1 for ln in d.lines if ln.blank)
        return redirect(request, f"{base}?lines={blanks + 1}#budget")
    if action == "remove":
        return redirect(request, f"{base}#editor")
    flash(request, _("Your proposal is saved."), "success")
    return redirect(request, base)


@post("/proposals/{proposal_id:uuid}/autosave", name="proposal_autosave", include_in_schema=False)
async def proposal_autosave(
    request: Request[Any, Any, Any], proposal_id: FromPath[uuid.UUID]
) -> Any:
    """htmx: save what parses, answer with the "saved" state and the new version (out of band);
    409 with a way to reload when a newer version was saved elsewhere. It never navigates away
    or replaces the page: a lost session or a failing server is said in the state, and the
    person's text stays where it is."""
    form = await request.form()
    d = draft_from_form(form)
    context: dict[str, Any] = {
        "d": d,
        "conflict": False,
        "clock": clock,
        "errors": None,
        "from_autosave": True,
    }
    context["proposal_id"] = proposal_id

    def failed(message: str, status: int) -> Any:
        context.update(failure=message)
        return page(request, "applicant/proposal.html", context, status=status, block="save_state")

    signed_out = _(
        "Not saved: you are signed out. Copy your latest text, sign in again in another tab, "
        "then press Save."
    )
    if current_user(request) is None:
        return failed(signed_out, 401)
    client = client_for(request)
    try:
        p = await client.get_proposal(proposal_id)
        parsed = parse_draft(d, p.currency)
        context.update(p=p, errors=parsed.errors)
        saved = await save_draft(client, p, parsed, d.version)
    except StaleVersion:
        context.update(conflict=True, saved_at=p.updated_at)
        return page(request, "applicant/proposal.html", context, status=409, block="save_state")
    except ApiError as exc:
        if exc.status == 422:
            context.update(errors=_api_errors(exc), saved_at=None)
            return page(request, "applicant/proposal.html", context, status=422, block="save_state")
        if exc.status == 401:
            return failed(signed_out, 401)
        if exc.status == 409:
            return failed(
                _("Not saved: this proposal is no longer a draft (submitted or withdrawn)."),
                409,
            )
        if exc.status in (403, 404):
            return failed(_("Not saved: this proposal is not yours to edit."), exc.status)
        return failed(
            _(
                "Not saved: the server did not answer. Your text is still here; it is saved "
                "with your next change, or press Save."
            ),
            503,
        )
    d.version = saved.version
    status = 422 if parsed.errors else 200
    context.update(p=saved, saved_at=saved.updated_at, autosaved=True)
    return page(request, "applicant/proposal.html", context, status=status, block="save_state")


# --- attachments -------------------------------------------------------------------------------


def _upload_refusal(status: int) -> str:
    if status == 413:
        return _(
            "The file is too large. A file may be at most 10 MB, and the attachments of a "
            "proposal at most 40 MB together."
        )
    if status == 415:
        return _(
            "This type of file is not accepted. Upload a PDF, Word (DOCX), Excel (XLSX), "
            "JPEG or PNG file."
        )
    return _("The file is empty or its name is not acceptable. Choose another file.")


async def _attachments_answer(
    request: Request[Any, Any, Any],
    p: ProposalRead,
    errors: FormErrors,
    status: int,
    kind: str | None = None,
) -> Any:
    context = await _editor_context(request, p, upload_errors=errors, upload_kind=kind)
    return page(request, "applicant/proposal.html", context, status=status)


@post(
    "/proposals/{proposal_id:uuid}/attachments",
    name="proposal_upload",
    include_in_schema=False,
    request_max_body_size=MAX_UPLOAD_BODY,
)
async def upload(request: Request[Any, Any, Any], proposal_id: FromPath[uuid.UUID]) -> Any:
    require_user(request)
    client = client_for(request)
    p = await _proposal(client, proposal_id)
    try:
        form = await request.form()
    except HTTPException as exc:
        if exc.status_code != 413:
            raise
        # larger than even the web accepts: the same words as the API's refusal
        too_large = FormErrors()
        too_large.add("file", _upload_refusal(413))
        return await _attachments_answer(request, p, too_large, 422)
    kind = text(form, "kind")
    file = form.get("file")
    errors = FormErrors()
    if kind not in attachment_kinds():
        errors.add("kind", _("Choose what the document is."))
    if not isinstance(file, UploadFile) or not file.filename:
        errors.add("file", _("Choose a file to upload."))
    if not errors and isinstance(file, UploadFile):
        data = await file.read()
        try:
            await client.create_attachment(p.id, data, file.filename, kind)
        except ApiError as exc:
            if exc.status not in (413, 415, 422):
                raise
            errors.add("file", _upload_refusal(exc.status))
        else:
            if request.headers.get("hx-request") == "true":
                p = await client.get_proposal(p.id)
                return await _attachments_answer(request, p, errors, 200)
            flash(request, _("The file is attached."), "success")
            return redirect(request, f"/proposals/{p.id}#attachments")
    return await _attachments_answer(request, p, errors, 422, kind or None)


@post(
    "/proposals/{proposal_id:uuid}/attachments/{attachment_id:uuid}/delete",
    name="proposal_attachment_delete",
    include_in_schema=False,
)
async def delete_attachment(
    request: Request[Any, Any, Any],
    proposal_id: FromPath[uuid.UUID],
    attachment_id: FromPath[uuid.UUID],
) -> Any:
    require_user(request)
    client = client_for(request)
    p = await _proposal(client, proposal_id)
    if attachment_id not in {a.id for a in p.attachments}:
        raise NotFoundException()
    await client.delete_attachment(attachment_id)
    if request.headers.get("hx-request") == "true":
        p = await client.get_proposal(p.id)
        return await _attachments_answer(request, p, FormErrors(), 200)
    flash(request, _("The file is deleted."), "success")
    return redirect(request, f"/proposals/{p.id}#attachments")


@get(
    "/proposals/{proposal_id:uuid}/attachments/{attachment_id:uuid}",
    name="proposal_attachment",
    include_in_schema=False,
)
async def download(
    request: Request[Any, Any, Any],
    proposal_id: FromPath[uuid.UUID],
    attachment_id: FromPath[uuid.UUID],
) -> Response[bytes]:
    require_user(request)
    client = client_for(request)
    p = await _proposal(client, proposal_id)
    if attachment_id not in {a.id for a in p.attachments}:
        raise NotFoundException()
    content, headers = await client.get_attachment_content(attachment_id)
    keep = {
        k: v
        for k, v in headers.items()
        if k.lower() in {"content-type", "content-disposition", "x-content-type-options"}
    }
    return Response(content=content, headers=keep, media_type=keep.get("content-type"))


# --- submission, receipt, withdrawal ----------------------------------------------------------


@get("/proposals/{proposal_id:uuid}/submit", name="proposal_confirm", include_in_schema=False)
async def confirm_submission(
    request: Request[Any, Any, Any], proposal_id: FromPath[uuid.UUID]
) -> Any:
    require_user(request)
    client = client_for(request)
    p = await _proposal(client, proposal_id)
    if "submit" not in p.allowed_actions:
        return redirect(request, f"/proposals/{p.id}")
    window = await client.get_window(p.window_id)
    result = await client.create_eligibility_check(p.window_id, EligibilityCheck(proposal_id=p.id))
    return page(
        request,
        "applicant/submit.html",
        {
            "p": p,
            "window": window,
            "result": result,
            "key": uuid.uuid4().hex,
            "errors": FormErrors(),
            "now": datetime.now(UTC),
        },
    )


@post("/proposals/{proposal_id:uuid}/submission", name="proposal_submit", include_in_schema=False)
async def submit(request: Request[Any, Any, Any], proposal_id: FromPath[uuid.UUID]) -> Any:
    require_user(request)
    client = client_for(request)
    p = await _proposal(client, proposal_id)
    form = await request.form()
    key = text(form, "idempotency_key")
    try:
        version = int(text(form, "version"))
    except ValueError:
        version = p.version
    errors = FormErrors()
    try:
        await client.create_submission(
            p.id,
            ProposalSubmit(version=version),
            idempotency_key=key if re.fullmatch(r"[0-9a-f]{32}", key) else None,
        )
    except ApiError as exc:
        if exc.status == 409 and exc.type.endswith(STALE):
            errors.add(
                None,
                _(
                    "The proposal was changed after you opened this page. Read it again "
                    "before you submit."
                ),
            )
        elif exc.status == 409:
            errors.add(
                None,
                _("The window has closed: submissions are no longer accepted (server time).")
                if "closed" in (exc.problem.detail or "")
                else _("This proposal cannot be submitted now: %(reason)s")
                % {"reason": exc.problem.detail or exc.problem.title},
            )
        elif exc.status == 422:
            errors.add(
                None, _("The proposal is not complete: give a title and a requested amount.")
            )
        else:
            raise
        p = await client.get_proposal(p.id)
        window = await client.get_window(p.window_id)
        result = None
        if "submit" in p.allowed_actions:
            result = await client.create_eligibility_check(
                p.window_id, EligibilityCheck(proposal_id=p.id)
            )
        return page(
            request,
            "applicant/submit.html",
            {
                "p": p,
                "window": window,
                "result": result,
                "key": uuid.uuid4().hex,
                "errors": errors,
                "now": datetime.now(UTC),
            },
            status=exc.status,
        )
    flash(request, _("Your proposal is submitted."), "success")
    return redirect(request, f"/proposals/{p.id}/receipt")


@get("/proposals/{proposal_id:uuid}/receipt", name="proposal_receipt", include_in_schema=False)
async def receipt(request: Request[Any, Any, Any], proposal_id: FromPath[uuid.UUID]) -> Any:
    require_user(request)
    client = client_for(request)
    p = await _proposal(client, proposal_id)
    if p.receipt_number is None:
        return redirect(request, f"/proposals/{p.id}")
    window, call = await asyncio.gather(client.get_window(p.window_id), client.get_call(p.call_id))
    return page(request, "applicant/receipt.html", {"p": p, "window": window, "call": call})


@get("/proposals/{proposal_id:uuid}/withdraw", name="proposal_withdraw", include_in_schema=False)
async def confirm_withdrawal(
    request: Request[Any, Any, Any], proposal_id: FromPath[uuid.UUID]
) -> Any:
    require_user(request)
    client = client_for(request)
    p = await _proposal(client, proposal_id)
    if "withdraw" not in p.allowed_actions:
        return redirect(request, f"/proposals/{p.id}")
    window = await client.get_window(p.window_id)
    return page(
        request,
        "applicant/withdraw.html",
        {"p": p, "window": window, "errors": FormErrors(), "reason": ""},
    )


@post(
    "/proposals/{proposal_id:uuid}/withdrawal", name="proposal_withdrawal", include_in_schema=False
)
async def withdraw(request: Request[Any, Any, Any], proposal_id: FromPath[uuid.UUID]) -> Any:
    require_user(request)
    client = client_for(request)
    p = await _proposal(client, proposal_id)
    form = await request.form()
    reason = optional(form, "reason")
    try:
        version = int(text(form, "version"))
    except ValueError:
        version = p.version
    try:
        await client.create_withdrawal(p.id, ProposalWithdraw(version=version, reason=reason))
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = _api_errors(exc) if exc.status == 422 else FormErrors()
        if exc.status == 409:
            errors.add(
                None,
                _("The proposal was changed after you opened this page. Read it again.")
                if exc.type.endswith(STALE)
                else _("The proposal can no longer be withdrawn: the window has closed."),
            )
        p = await client.get_proposal(p.id)
        window = await client.get_window(p.window_id)
        return page(
            request,
            "applicant/withdraw.html",
            {"p": p, "window": window, "errors": errors, "reason": reason or ""},
            status=exc.status,
        )
    flash(request, _("Your proposal is withdrawn."), "success")
    return redirect(request, f"/proposals/{p.id}")


ROUTES: list[Any] = [
    dashboard,
    create,
    proposal_page,
    proposal_check,
    proposal_save,
    proposal_autosave,
    upload,
    delete_attachment,
    download,
    confirm_submission,
    submit,
    receipt,
    confirm_withdrawal,
    withdraw,
]
