"""The programme officer's review pages of a window: screening (eligibility verdicts and their
overrides), the panel and assignment board, and the ranking board.

Everything through the API's client: ListProposals/GetProposal and CreateEligibilityOverride;
GetPanel, UpdatePanel, CreateAssignments (balanced, with load caps per reviewer),
CreateAssignment, DeleteAssignment, ListWindowAssignments, ListConflicts, CreateReminder;
GetWindowRanking. Every form works without JavaScript (POST → 303 → GET; a refusal re-renders
the page with 422 and each message next to its field). Numbers on the ranking board are the
API's decimal strings, put in the person's locale without passing through floats.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery

from contracts.calls import WindowRead
from contracts.client import ApiError, GrantsClient
from contracts.proposals import EligibilityOverride, ProposalRead
from contracts.ranking import ReminderCreate, WindowRankingRead
from contracts.reviews import (
    AssignmentCreate,
    AssignmentRead,
    AutoAssign,
    PanelReplace,
    ReviewerCap,
)
from web import i18n
from web.forms import FormErrors, from_problem, humane, many, text
from web.i18n import _
from web.labels import proposal_statuses
from web.render import page, redirect
from web.routes.officer_calls import aggregations, require_officer
from web.session import client_for, flash

SCREENED = ("eligible", "ineligible")
FILTERS = ("all", "eligible", "ineligible", "overridden")


def decimal_text(value: str | None) -> str:
    """A decimal string of the API ("3.50", "-0.25") in the locale's digits and separators,
    with exactly its places."""
    if value is None:
        return "—"
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    places = len(value.split(".", 1)[1]) if "." in value else 0
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(number, format=pattern, locale=i18n.current_language())


def _base(window_id: uuid.UUID) -> str:
    return f"/officer/windows/{window_id}"


# --- screening -----------------------------------------------------------------------------


@dataclass
class Screened:
    proposal: ProposalRead
    outcome: str
    """eligible | ineligible | pending (submitted, not judged) | later (past screening)."""
    overridden: bool
    override_at: datetime | None = None


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


async def _screened(client: GrantsClient, window_id: uuid.UUID) -> list[Screened]:
    result = await client.list_proposals(window_id=window_id, limit=200, sort="title")
    out = []
    for summary in result.items:
        status = str(summary.status)
        if status in ("draft", "withdrawn"):
            continue
        proposal = await client.get_proposal(summary.id)
        outcome = (
            status if status in SCREENED else ("pending" if status == "submitted" else "later")
        )
        if outcome == "later":
            outcome = "eligible"  # reviewed, scored or decided: it passed screening
        override = proposal.eligibility_override
        out.append(
            Screened(proposal, outcome, override is not None, _when((override or {}).get("at")))
        )
    return out


def _screening_context(window: WindowRead, rows: list[Screened], show: str) -> dict[str, Any]:
    counts = {
        "all": len(rows),
        "eligible": sum(r.outcome == "eligible" for r in rows),
        "ineligible": sum(r.outcome == "ineligible" for r in rows),
        "overridden": sum(r.overridden for r in rows),
    }
    if show == "overridden":
        shown = [r for r in rows if r.overridden]
    elif show in SCREENED:
        shown = [r for r in rows if r.outcome == show]
    else:
        shown = rows
    return {
        "window": window,
        "section": "screening",
        "rows": shown,
        "show": show,
        "counts": counts,
        "filters": {
            "all": _("All"),
            "eligible": _("Eligible"),
            "ineligible": _("Not eligible"),
            "overridden": _("Overridden"),
        },
        "proposal_statuses": proposal_statuses(),
    }


@get(
    "/officer/windows/{window_id:uuid}/screening", name="officer_screening", include_in_schema=False
)
async def screening(
    request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID], show: FromQuery[str] = "all"
) -> Any:
    require_officer(request)
    client = client_for(request)
    window = await client.get_window(window_id)
    rows = await _screened(client, window_id)
    return page(
        request,
        "officer/review/screening.html",
        _screening_context(window, rows, show if show in FILTERS else "all"),
    )


def _override_page(
    request: Request[Any, Any, Any],
    window: WindowRead,
    proposal: ProposalRead,
    form: dict[str, str],
    errors: FormErrors,
    status: int = 200,
) -> Any:
    return page(
        request,
        "officer/review/override.html",
        {
            "window": window,
            "section": "screening",
            "proposal": proposal,
            "form": form,
            "errors": errors,
            "proposal_statuses": proposal_statuses(),
        },
        status=status,
    )


@get(
    "/officer/windows/{window_id:uuid}/screening/{proposal_id:uuid}",
    name="officer_override",
    include_in_schema=False,
)
async def override_form(
    request: Request[Any, Any, Any],
    window_id: FromPath[uuid.UUID],
    proposal_id: FromPath[uuid.UUID],
) -> Any:
    require_officer(request)
    client = client_for(request)
    window = await client.get_window(window_id)
    proposal = await client.get_proposal(proposal_id)
    return _override_page(request, window, proposal, {"reason": ""}, FormErrors())


@post(
    "/officer/windows/{window_id:uuid}/screening/{proposal_id:uuid}",
    name="officer_override_save",
    include_in_schema=False,
)
async def override_save(
    request: Request[Any, Any, Any],
    window_id: FromPath[uuid.UUID],
    proposal_id: FromPath[uuid.UUID],
) -> Any:
    """Turn the verdict round (eligible ↔ not eligible) with a reason."""
    require_officer(request)
    client = client_for(request)
    posted = await request.form()
    form = {"reason": text(posted, "reason"), "version": text(posted, "version")}
    proposal = await client.get_proposal(proposal_id)
    errors = FormErrors()
    if str(proposal.status) not in SCREENED:
        errors.add(None, _("Only a proposal judged eligible or not eligible can be overridden."))
    elif form["version"] != str(proposal.version):
        errors.add(
            None,
            _(
                "Someone else changed this proposal in the meantime. The page now shows it "
                "as it is: check the verdict and send your reason again."
            ),
        )
    if not errors:
        try:
            await client.create_eligibility_override(
                proposal_id,
                EligibilityOverride(
                    version=proposal.version,
                    eligible=str(proposal.status) == "ineligible",
                    reason=form["reason"],
                ),
            )
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = from_problem(exc, {"reason": "reason"})
            proposal = await client.get_proposal(proposal_id)
        else:
            flash(request, _("The verdict is overridden and the reason recorded."))
            return redirect(request, f"{_base(window_id)}/screening#p-{proposal_id}")
    window = await client.get_window(window_id)
    return _override_page(request, window, proposal, form, errors, status=422)


# --- the panel and assignment board --------------------------------------------------------


@dataclass
class PanelForms:
    """What was posted, and the API's refusal, for whichever form failed."""

    errors: FormErrors = field(default_factory=FormErrors)
    which: str = ""
    values: dict[str, Any] = field(default_factory=dict)


async def _panel_context(
    client: GrantsClient, window_id: uuid.UUID, forms: PanelForms
) -> dict[str, Any]:
    window = await client.get_window(window_id)
    board = await client.get_panel(window_id)
    assignments = (await client.list_window_assignments(window_id)).items
    conflicts = (await client.list_conflicts(window_id)).items
    proposals = (await client.list_proposals(window_id=window_id, limit=200, sort="title")).items
    names = {r.id: r.full_name for r in board.reviewers}
    titles = {p.id: p.title for p in proposals}
    titles.update({a.proposal_id: a.proposal_title for a in assignments})
    by_proposal: dict[uuid.UUID, list[AssignmentRead]] = {}
    for a in assignments:
        by_proposal.setdefault(a.proposal_id, []).append(a)
    reviewable = [p for p in proposals if str(p.status) in ("eligible", "in_review")]
    return {
        "window": window,
        "section": "panel",
        "board": board,
        "members": [r for r in board.reviewers if r.member],
        "names": names,
        "titles": titles,
        "by_proposal": sorted(by_proposal.items(), key=lambda kv: titles.get(kv[0], "")),
        "conflicts": conflicts,
        "reviewable": reviewable,
        "forms": forms,
        "seed": forms.values.get("seed") or f"{window.code}-{datetime.now(UTC):%Y%m%d-%H%M}",
        "now": datetime.now(UTC),
    }


async def _panel_page(
    request: Request[Any, Any, Any], window_id: uuid.UUID, forms: PanelForms, status: int = 200
) -> Any:
    context = await _panel_context(client_for(request), window_id, forms)
    return page(request, "officer/review/panel.html", context, status=status)


@get("/officer/windows/{window_id:uuid}/panel", name="officer_panel", include_in_schema=False)
async def panel(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    return await _panel_page(request, window_id, PanelForms())


def _refused(
    exc: ApiError, which: str, names: dict[str, str], values: dict[str, Any]
) -> PanelForms:
    if exc.status not in (409, 422):
        raise exc
    errors = from_problem(exc, names)
    if exc.status == 409:
        detail = exc.problem.detail or ""
        errors = FormErrors()
        target = next(iter(names.values()), None)
        if "conflict of interest" in detail:
            errors.add(target, _("This reviewer has a conflict of interest with the proposal."))
        elif "already assigned" in detail:
            errors.add(target, _("This reviewer is already assigned to the proposal."))
        elif "is submitted" in detail:
            errors.add(None, _("The review is submitted: it stays. Reopen it first if needed."))
        elif "no review panel" in detail:
            errors.add(None, _("Choose the panel's members first."))
        elif "owes no review" in detail:
            errors.add(None, _("This reviewer has no outstanding review in this window."))
        elif "is not reviewed" in detail:
            errors.add(None, _("This proposal is not in review."))
        else:
            errors.add(None, humane(detail or exc.problem.title))
    return PanelForms(errors, which, values)


@post(
    "/officer/windows/{window_id:uuid}/panel/members",
    name="officer_panel_members",
    include_in_schema=False,
)
async def panel_members(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    posted = await request.form()
    chosen = many(posted, "reviewer")
    try:
        ids = [uuid.UUID(x) for x in chosen]
        await client_for(request).update_panel(window_id, PanelReplace(reviewer_ids=ids))
    except ValueError:
        forms = PanelForms(which="members")
        forms.errors.add("reviewer", _("Choose one of the options."))
        return await _panel_page(request, window_id, forms, 422)
    except ApiError as exc:
        forms = _refused(exc, "members", {"reviewer_ids": "reviewer"}, {})
        return await _panel_page(request, window_id, forms, exc.status)
    flash(
        request,
        i18n.ngettext("The panel has %(num)d member.", "The panel has %(num)d members.", len(ids))
        % {"num": len(ids)},
    )
    return redirect(request, f"{_base(window_id)}/panel")


@post(
    "/officer/windows/{window_id:uuid}/panel/assign",
    name="officer_panel_assign",
    include_in_schema=False,
)
async def panel_assign(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    """Balanced automatic assignment, each member held to its load cap. The caps are stored on
    the panel membership first (`UpdatePanel` with the members as they are), so the page shows
    them next time and the API's automatic assignment uses them by default."""
    require_officer(request)
    posted = await request.form()
    values: dict[str, Any] = {"seed": text(posted, "seed")}
    forms = PanelForms(which="assign", values=values)
    caps: dict[uuid.UUID, int] = {}
    for key in posted:
        if not str(key).startswith("cap-"):
            continue
        raw = text(posted, str(key))
        values[str(key)] = raw
        if not raw:
            continue
        try:
            rid = uuid.UUID(str(key)[4:])
            cap = int(raw)
            if not 0 <= cap <= 1000:
                raise ValueError(raw)
            caps[rid] = cap
        except ValueError:
            forms.errors.add(str(key), _("Enter a whole number between 0 and 1000."))
    if not values["seed"]:
        forms.errors.add("seed", _("This field is required."))
    if forms.errors:
        return await _panel_page(request, window_id, forms, 422)
    client = client_for(request)
    names = {"seed": "seed"}
    try:
        members = [r.id for r in (await client.get_panel(window_id)).reviewers if r.member]
        await client.update_panel(
            window_id,
            PanelReplace(
                reviewer_ids=members,
                caps=[ReviewerCap(reviewer_id=k, cap=v) for k, v in caps.items() if k in members],
            ),
        )
        made = await client.create_assignments(window_id, AutoAssign(seed=values["seed"]))
    except ApiError as exc:
        return await _panel_page(
            request, window_id, _refused(exc, "assign", names, values), exc.status
        )
    message = i18n.ngettext(
        "%(num)d assignment made.", "%(num)d assignments made.", len(made.items)
    ) % {"num": len(made.items)}
    short = sum(made.short.values())
    if short:
        message += " " + i18n.ngettext(
            "%(num)d reviewer is still missing (conflicts or caps).",
            "%(num)d reviewers are still missing (conflicts or caps).",
            short,
        ) % {"num": short}
    flash(request, message, "error" if short else "info")
    return redirect(request, f"{_base(window_id)}/panel")


@post(
    "/officer/windows/{window_id:uuid}/panel/assignments",
    name="officer_panel_add",
    include_in_schema=False,
)
async def panel_add(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    """Give one proposal to one reviewer by hand."""
    require_officer(request)
    posted = await request.form()
    values = {
        "proposal_id": text(posted, "proposal_id"),
        "reviewer_id": text(posted, "reviewer_id"),
    }
    forms = PanelForms(which="add", values=values)
    try:
        proposal_id = uuid.UUID(values["proposal_id"])
    except ValueError:
        forms.errors.add("proposal_id", _("Choose one of the options."))
    try:
        reviewer_id = uuid.UUID(values["reviewer_id"])
    except ValueError:
        forms.errors.add("reviewer_id", _("Choose one of the options."))
    if forms.errors:
        return await _panel_page(request, window_id, forms, 422)
    try:
        await client_for(request).create_assignment(
            proposal_id, AssignmentCreate(reviewer_id=reviewer_id)
        )
    except ApiError as exc:
        names = {"reviewer_id": "reviewer_id", "proposal_id": "proposal_id"}
        return await _panel_page(
            request, window_id, _refused(exc, "add", names, values), exc.status
        )
    flash(request, _("The proposal is assigned to the reviewer."))
    return redirect(request, f"{_base(window_id)}/panel#assignments")


@post(
    "/officer/windows/{window_id:uuid}/panel/assignments/{assignment_id:uuid}/remove",
    name="officer_panel_remove",
    include_in_schema=False,
)
async def panel_remove(
    request: Request[Any, Any, Any],
    window_id: FromPath[uuid.UUID],
    assignment_id: FromPath[uuid.UUID],
) -> Any:
    require_officer(request)
    try:
        await client_for(request).delete_assignment(assignment_id)
    except ApiError as exc:
        if exc.status == 404:
            flash(request, _("This assignment no longer exists."), "error")
            return redirect(request, f"{_base(window_id)}/panel#assignments")
        return await _panel_page(request, window_id, _refused(exc, "remove", {}, {}), exc.status)
    flash(request, _("The assignment is removed."))
    return redirect(request, f"{_base(window_id)}/panel#assignments")


@post(
    "/officer/windows/{window_id:uuid}/panel/reminders",
    name="officer_panel_remind",
    include_in_schema=False,
)
async def panel_remind(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    posted = await request.form()
    try:
        reviewer_id = uuid.UUID(text(posted, "reviewer_id"))
        done = await client_for(request).create_reminder(
            window_id, ReminderCreate(reviewer_id=reviewer_id)
        )
    except ValueError:
        flash(request, _("Choose one of the options."), "error")
        return redirect(request, f"{_base(window_id)}/panel")
    except ApiError as exc:
        return await _panel_page(request, window_id, _refused(exc, "remind", {}, {}), exc.status)
    flash(
        request,
        i18n.ngettext(
            "Reminder recorded: %(num)d review outstanding.",
            "Reminder recorded: %(num)d reviews outstanding.",
            done.outstanding,
        )
        % {"num": done.outstanding},
    )
    return redirect(request, f"{_base(window_id)}/panel#progress")


# --- the ranking board ---------------------------------------------------------------------


def decided_words(value: str | None, criteria: dict[str, str]) -> str:
    if value is None:
        return ""
    if value == "score":
        return _("Higher score")
    if value == "lottery":
        return _("Exact tie: the lottery")
    if value == "tie":
        return _("Exact tie: no lottery drawn yet")
    if value.startswith("tie_break:"):
        code = value.removeprefix("tie_break:")
        return _("Equal score: higher on “%(criterion)s”") % {"criterion": criteria.get(code, code)}
    return value


@get("/officer/windows/{window_id:uuid}/ranking", name="officer_ranking", include_in_schema=False)
async def ranking(request: Request[Any, Any, Any], window_id: FromPath[uuid.UUID]) -> Any:
    require_officer(request)
    client = client_for(request)
    window = await client.get_window(window_id)
    board: WindowRankingRead | None = None
    problem = ""
    try:
        board = await client.get_window_ranking(window_id)
    except ApiError as exc:
        if exc.status != 409:
            raise
        problem = _("The window has no rubric yet: there is nothing to rank.")
    criteria = {c.code: i18n.localised(c.name) for c in board.criteria} if board else {}
    return page(
        request,
        "officer/review/ranking.html",
        {
            "window": window,
            "section": "ranking",
            "board": board,
            "problem": problem,
            "criteria_names": criteria,
            "dec": decimal_text,
            "decided": lambda v: decided_words(v, criteria),
            "aggregations": aggregations(),
            "calibration_words": {
                "z": _("Each reviewer's scores standardised (z-scores)"),
                "severity": _("Each reviewer's severity corrected (additive model)"),
            },
        },
    )


ROUTES: list[Any] = [
    screening,
    override_form,
    override_save,
    panel,
    panel_members,
    panel_assign,
    panel_add,
    panel_remove,
    panel_remind,
    ranking,
]
