"""The reviewer: the assignment queue, the conflict-of-interest declaration, the scoring form,
the submission, the submitted review, and the proposal's attachments.

Everything goes through the API as the signed-in reviewer; the API decides what may be seen
(a proposal opens only after the no-conflict declaration; a blind window gives no organisation,
people or file names, and these pages show none either). The scoring form works without
JavaScript (Save / Save and next / Submit are submit buttons: POST → 303 → GET; a refusal
re-renders the form with 422 and each message beside its criterion). With htmx it also saves
itself a moment after each change (`/autosave`), like the applicant's editor, and
`review.js` shows the weighted total as the reviewer scores; the server's total is shown after
every save, so it is there without JavaScript too.

N/A is offered only on the criteria whose rubric allows it (`CriterionRead.na_allowed`).

The panel's scores: once the reviewer's own review is submitted, and only when the window allows
it (`WindowRead.reviewers_see_panel_scores`; the API's `ListProposalReviews` decides and refuses
otherwise), the submitted view shows the panel's scores per criterion, the other reviewers as
"Reviewer 2", "Reviewer 3"… in the order they submitted (the API never names them to a reviewer).

The queue shows the programme officer's reminders (`ListReminders`): when, how many reviews were
outstanding, in which window.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from contracts.client import ApiError, GrantsClient
from contracts.ranking import ReminderRead
from contracts.reviews import (
    AssignmentRead,
    ConflictCreate,
    CriterionRead,
    CriterionScoreInput,
    ReviewerProposalView,
    ReviewRead,
    ReviewSave,
    ReviewSubmit,
    RubricRead,
)
from web import i18n
from web.forms import FormErrors, from_problem, text
from web.i18n import _
from web.labels import attachment_kinds
from web.render import page, redirect
from web.routes.account import require_user
from web.session import client_for, current_user, flash

STALE = "stale-version"
NA = "na"


# --- the queue --------------------------------------------------------------------------------


def state_of(a: AssignmentRead) -> str:
    """One word for where the reviewer is with an assignment."""
    if a.status == "declined":
        return "conflict"
    if a.no_conflict_declared_at is None:
        return "to_declare"
    if a.review_status == "submitted":
        return "submitted"
    if a.review_status == "reopened":
        return "reopened"
    if a.review_status == "draft":
        return "in_progress"
    return "to_score"


def state_labels() -> dict[str, str]:
    return {
        "to_declare": _("Declare conflicts first"),
        "to_score": _("To score"),
        "in_progress": _("In progress"),
        "submitted": _("Submitted"),
        "reopened": _("Reopened"),
        "conflict": _("Conflict declared"),
    }


OPEN_STATES = ("reopened", "to_declare", "to_score", "in_progress")


@dataclass
class WindowGroup:
    window_id: uuid.UUID
    call_title: Any
    window_title: Any
    deadline: datetime | None
    blind: bool
    items: list[AssignmentRead] = field(default_factory=list)
    reminder: ReminderRead | None = None
    """The programme officer's latest reminder about this window."""

    @property
    def done(self) -> int:
        return sum(1 for a in self.items if state_of(a) == "submitted")


def queue_groups(items: list[AssignmentRead]) -> tuple[list[WindowGroup], list[AssignmentRead]]:
    """The live assignments grouped by window (in the order first assigned), and the declined
    ones (conflicts declared) apart."""
    groups: dict[uuid.UUID, WindowGroup] = {}
    declined = []
    for a in items:
        if a.status == "declined":
            declined.append(a)
            continue
        g = groups.get(a.window_id)
        if g is None:
            g = groups[a.window_id] = WindowGroup(
                a.window_id, a.call_title, a.window_title, a.review_deadline, a.blind
            )
        g.items.append(a)
    for g in groups.values():
        g.items.sort(key=lambda a: OPEN_STATES.index(s) if (s := state_of(a)) in OPEN_STATES else 9)
    return list(groups.values()), declined


def next_open(items: list[AssignmentRead], after: uuid.UUID) -> AssignmentRead | None:
    """The next assignment still to do, after `after` in the queue's order (wrapping round)."""
    live = [a for a in items if a.status != "declined"]
    ids = [a.id for a in live]
    start = ids.index(after) + 1 if after in ids else 0
    for a in live[start:] + live[:start]:
        if a.id != after and state_of(a) in OPEN_STATES:
            return a
    return None


@get("/review", name="review_queue", include_in_schema=False)
async def queue(request: Request[Any, Any, Any]) -> Any:
    require_user(request)
    client = client_for(request)
    assignments, reminders = await asyncio.gather(
        client.list_assignments(), client.list_reminders()
    )
    groups, declined = queue_groups(assignments.items)
    for r in reminders.items:  # newest first: the latest per window
        for g in groups:
            if g.window_id == r.window_id and g.reminder is None:
                g.reminder = r
    return page(
        request,
        "reviewer/queue.html",
        {
            "groups": groups,
            "declined": declined,
            "state_of": state_of,
            "states": state_labels(),
            "now": datetime.now(UTC),
        },
    )


async def _assignment(client: GrantsClient, assignment_id: uuid.UUID) -> AssignmentRead:
    """One of the caller's assignments (the API lists only the caller's)."""
    try:
        items = (await client.list_assignments()).items
    except ApiError as exc:
        if exc.status in (403, 404):
            raise NotFoundException() from exc
        raise
    for a in items:
        if a.id == assignment_id:
            return a
    raise NotFoundException()


# --- the declaration --------------------------------------------------------------------------


@dataclass
class Declaration:
    choice: str = ""
    reason: str = ""


def _declaration_page(
    request: Request[Any, Any, Any],
    a: AssignmentRead,
    d: Declaration,
    errors: FormErrors,
    status: int = 200,
) -> Any:
    return page(
        request,
        "reviewer/declare.html",
        {"a": a, "d": d, "errors": errors, "now": datetime.now(UTC)},
        status=status,
    )


@post(
    "/review/assignments/{assignment_id:uuid}/declaration",
    name="review_declaration",
    include_in_schema=False,
)
async def declare(request: Request[Any, Any, Any], assignment_id: FromPath[uuid.UUID]) -> Any:
    require_user(request)
    client = client_for(request)
    a = await _assignment(client, assignment_id)
    form = await request.form()
    d = Declaration(choice=text(form, "choice"), reason=text(form, "reason"))
    errors = FormErrors()
    if a.status == "declined":
        return redirect(request, "/review")
    if d.choice == "none":
        try:
            await client.create_no_conflict_declaration(a.id)
        except ApiError as exc:
            if exc.status in (403, 404):
                raise NotFoundException() from exc
            raise
        return redirect(request, f"/review/assignments/{a.id}")
    if d.choice != "conflict":
        errors.add("choice", _("Say whether you have a conflict of interest."))
        return _declaration_page(request, a, d, errors, 422)
    if len(d.reason) < 10:
        errors.add("reason", _("Say in a sentence what the conflict is (at least 10 characters)."))
        return _declaration_page(request, a, d, errors, 422)
    try:
        await client.create_conflict(a.id, ConflictCreate(reason=d.reason))
    except ApiError as exc:
        if exc.status != 422:
            raise
        return _declaration_page(request, a, d, from_problem(exc), 422)
    flash(
        request,
        _("Your conflict of interest is recorded: the proposal is no longer yours to review."),
        "success",
    )
    return redirect(request, "/review")


# --- the scoring form -------------------------------------------------------------------------


@dataclass
class Entry:
    """One criterion as the form shows it: the raw choice ("" / "na" / tenths) and comment."""

    choice: str = ""
    comment: str = ""


@dataclass
class Draft:
    version: int
    entries: dict[str, Entry] = field(default_factory=dict)
    comment: str = ""
    recommendation: str = ""


def draft_from_review(rubric: RubricRead, review: ReviewRead | None) -> Draft:
    scores = {s.criterion: s for s in review.scores} if review else {}
    d = Draft(
        version=review.version if review else 0,
        comment=(review.comment or "") if review else "",
        recommendation=str(review.recommendation or "") if review else "",
    )
    for x in rubric.criteria:
        s = scores.get(x.code)
        if s is None:
            d.entries[x.code] = Entry()
        else:
            d.entries[x.code] = Entry(
                choice=NA if s.value is None else str(s.value), comment=s.comment or ""
            )
    return d


def draft_from_form(rubric: RubricRead, form: Mapping[str, Any]) -> Draft:
    try:
        version = int(text(form, "version"))
    except ValueError:
        version = 0
    d = Draft(
        version=version,
        comment=text(form, "comment"),
        recommendation=text(form, "recommendation"),
    )
    for x in rubric.criteria:
        d.entries[x.code] = Entry(
            choice=text(form, f"score.{x.code}"), comment=text(form, f"comment.{x.code}")
        )
    return d


def scale(x: CriterionRead) -> list[int]:
    return list(range(x.scale_min, x.scale_max + 1, x.scale_step))


def points(tenths: int | Fraction) -> str:
    """Tenths as points in the person's locale: 35 → "3,5" in Russian."""
    value = Fraction(tenths) / 10
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    # half up, as review.js's Intl.NumberFormat rounds the live total
    return i18n.number(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def parse_draft(rubric: RubricRead, d: Draft) -> tuple[list[CriterionScoreInput], FormErrors]:
    """The scores to send (a criterion left blank is not sent) and what cannot be sent."""
    scores: list[CriterionScoreInput] = []
    errors = FormErrors()
    for x in rubric.criteria:
        e = d.entries[x.code]
        comment = e.comment or None
        if e.choice == NA and not x.na_allowed:
            errors.add(f"score.{x.code}", _("This criterion cannot be marked not applicable."))
        elif e.choice == NA:
            scores.append(CriterionScoreInput(criterion=x.code, value=None, comment=comment))
        elif e.choice:
            try:
                value = int(e.choice)
            except ValueError:
                errors.add(f"score.{x.code}", _("Choose a score on the scale."))
                continue
            if value not in scale(x):
                errors.add(f"score.{x.code}", _("Choose a score on the scale."))
                continue
            scores.append(CriterionScoreInput(criterion=x.code, value=value, comment=comment))
        elif comment:
            errors.add(f"score.{x.code}", _("Choose a score for this comment to be saved."))
    return scores, errors


def weighted_total(rubric: RubricRead, d: Draft) -> Fraction | None:
    """The weighted mean of the criteria scored (not applicable ones left out, the weights
    renormalised over the rest): the rubric's ranking score for this one review, in tenths."""
    num = Fraction(0)
    den = 0
    for x in rubric.criteria:
        choice = d.entries[x.code].choice
        if choice and choice != NA and choice.isdigit():
            num += Fraction(int(choice) * x.weight)
            den += x.weight
    return num / den if den else None


_SCORE_FIELD = re.compile(r"^scores\.(\d+)\.(value|comment|criterion)$")
_MISSING = re.compile(r"missing: (.+)$")


def api_errors(rubric: RubricRead, exc: ApiError, sent: list[CriterionScoreInput]) -> FormErrors:
    """The API's problem on the form's fields: `scores[2].value` → that criterion's score,
    `scores: missing: a, b` → each missing criterion."""
    raw = from_problem(exc)
    errors = FormErrors(general=list(raw.general))
    codes = {x.code for x in rubric.criteria}
    for name, messages in raw.fields.items():
        m = _SCORE_FIELD.match(name)
        for message in messages:
            missing = _MISSING.search(message)
            if name == "scores" and missing:
                for code in (c.strip() for c in missing.group(1).split(",")):
                    if code in codes:
                        errors.add(
                            f"score.{code}", _("Score this criterion, or mark it not applicable.")
                        )
            elif m and int(m.group(1)) < len(sent):
                code = sent[int(m.group(1))].criterion
                target = "comment" if m.group(2) == "comment" else "score"
                errors.add(f"{target}.{code}", message)
            elif name in ("comment", "recommendation"):
                errors.add(name, message)
            else:
                errors.add(None, message)
    return errors


def recommendations() -> dict[str, str]:
    return {
        "fund": _("Fund"),
        "fund_with_changes": _("Fund with changes"),
        "do_not_fund": _("Do not fund"),
    }


async def _review(client: GrantsClient, assignment_id: uuid.UUID) -> ReviewRead | None:
    try:
        return await client.get_review(assignment_id)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


@dataclass
class Opened:
    a: AssignmentRead
    view: ReviewerProposalView
    rubric: RubricRead
    review: ReviewRead | None


async def _open(client: GrantsClient, assignment_id: uuid.UUID) -> Opened | AssignmentRead:
    """The assignment with its proposal, rubric and review; or the assignment alone when the
    declaration is still to be made."""
    a = await _assignment(client, assignment_id)
    if a.status == "declined" or a.no_conflict_declared_at is None:
        return a
    try:
        view, review = await asyncio.gather(
            client.get_assigned_proposal(a.id), _review(client, a.id)
        )
    except ApiError as exc:
        if exc.status in (403, 404):  # e.g. a conflict the system detected since
            raise NotFoundException() from exc
        raise
    if view.rubric is None:
        raise NotFoundException()
    return Opened(a, view, view.rubric, review)


def attachment_names(view: ReviewerProposalView) -> dict[str, str]:
    """What each attachment's link says: its kind and number, and in an open window its
    original file name too. Never a file name in a blind window."""
    kinds = attachment_kinds()
    names = {}
    for n, f in enumerate(view.attachments, start=1):
        kind = kinds.get(str(f.get("kind")), _("Document"))
        if view.blind or not f.get("original_name"):
            names[str(f["id"])] = _("%(kind)s, document %(n)s") % {"kind": kind, "n": n}
        else:
            names[str(f["id"])] = f"{kind}: {f['original_name']}"
    return names


def _form_context(o: Opened, d: Draft, errors: FormErrors | None, **more: Any) -> dict[str, Any]:
    total = weighted_total(o.rubric, d)
    editable = o.review is None or o.review.status != "submitted"
    weights = sum(x.weight for x in o.rubric.criteria) or 1
    shares = {x.code: i18n.number(round(x.weight * 100 / weights, 1)) for x in o.rubric.criteria}
    return {
        "shares": shares,
        "a": o.a,
        "p": o.view,
        "rubric": o.rubric,
        "review": o.review,
        "d": d,
        "errors": errors,
        "total": total,
        "points": points,
        "scale": scale,
        "NA": NA,
        "editable": editable,
        "recommendations": recommendations(),
        "attachment_names": attachment_names(o.view),
        "now": datetime.now(UTC),
        "states": state_labels(),
        "state": state_of(o.a),
        **more,
    }


@get("/review/assignments/{assignment_id:uuid}", name="review_assignment", include_in_schema=False)
async def assignment_page(
    request: Request[Any, Any, Any], assignment_id: FromPath[uuid.UUID]
) -> Any:
    require_user(request)
    client = client_for(request)
    opened = await _open(client, assignment_id)
    if isinstance(opened, AssignmentRead):
        if opened.status == "declined":
            return redirect(request, "/review")
        return _declaration_page(request, opened, Declaration(), FormErrors())
    d = draft_from_review(opened.rubric, opened.review)
    panel = None
    if opened.review is not None and opened.review.status == "submitted":
        user = current_user(request)
        panel = await panel_scores(client, opened, user.id if user else None)
    return page(request, "reviewer/review.html", _form_context(opened, d, None, panel=panel))


@dataclass
class PanelColumn:
    label: str
    mine: bool
    draft: Draft
    total: Fraction | None


@dataclass
class PanelScores:
    columns: list[PanelColumn]
    means: dict[str, Fraction | None]
    """Per criterion, the mean of the scores given (N/A left out)."""


async def panel_scores(client: GrantsClient, o: Opened, me: uuid.UUID | None) -> PanelScores | None:
    """The panel's submitted reviews of the proposal, when the API shows them to this reviewer
    (the window allows it and their own review is submitted); None otherwise. The other
    reviewers are numbered, never named: the reviewer's own column is "Your review", the
    others "Reviewer 2", … in the order they submitted."""
    try:
        reviews = (await client.list_proposal_reviews(o.view.id)).items
    except ApiError as exc:
        if exc.status in (403, 404, 409):
            return None
        raise
    columns = []
    n = 1
    for r in reviews:
        d = draft_from_review(o.rubric, r)
        mine = me is not None and r.reviewer_id == me
        if mine:
            label = _("Your review")
        else:
            n += 1
            label = _("Reviewer %(n)s") % {"n": n}
        columns.append(PanelColumn(label, mine, d, weighted_total(o.rubric, d)))
    columns.sort(key=lambda c: not c.mine)
    means: dict[str, Fraction | None] = {}
    for x in o.rubric.criteria:
        given = [
            int(c.draft.entries[x.code].choice)
            for c in columns
            if c.draft.entries[x.code].choice.isdigit()
        ]
        means[x.code] = Fraction(sum(given), len(given)) if given else None
    return PanelScores(columns, means)


class StaleVersion(Exception):
    pass


async def _save(client: GrantsClient, o: Opened, d: Draft) -> tuple[ReviewRead, list[Any]]:
    scores, errors = parse_draft(o.rubric, d)
    if errors:
        raise _Invalid(errors)
    body = ReviewSave(
        version=d.version,
        scores=scores,
        comment=d.comment or None,
        recommendation=d.recommendation or None,  # type: ignore[arg-type]  # checked by the API
    )
    try:
        return await client.update_review(o.a.id, body), scores
    except ApiError as exc:
        if exc.status == 409 and exc.type.endswith(STALE):
            raise StaleVersion() from exc
        if exc.status == 422:
            raise _Invalid(api_errors(o.rubric, exc, scores)) from exc
        raise


class _Invalid(Exception):
    def __init__(self, errors: FormErrors) -> None:
        super().__init__("invalid")
        self.errors = errors


async def _opened_or_redirect(
    request: Request[Any, Any, Any], assignment_id: uuid.UUID
) -> Opened | Any:
    opened = await _open(client_for(request), assignment_id)
    if isinstance(opened, AssignmentRead):
        return redirect(request, f"/review/assignments/{assignment_id}")
    return opened


@post("/review/assignments/{assignment_id:uuid}", name="review_save", include_in_schema=False)
async def save(request: Request[Any, Any, Any], assignment_id: FromPath[uuid.UUID]) -> Any:
    """The whole form: save, then go where the pressed button asks (stay, the next open
    assignment, or the submission's confirmation)."""
    require_user(request)
    client = client_for(request)
    o = await _opened_or_redirect(request, assignment_id)
    if not isinstance(o, Opened):
        return o
    form = await request.form()
    d = draft_from_form(o.rubric, form)
    action = text(form, "action") or "save"
    base = f"/review/assignments/{o.a.id}"
    if o.review is not None and o.review.status == "submitted":
        flash(request, _("This review is submitted: it can no longer be changed."), "error")
        return redirect(request, base)
    try:
        saved, _sent = await _save(client, o, d)
    except StaleVersion:
        o.review = await _review(client, o.a.id)
        return page(
            request, "reviewer/review.html", _form_context(o, d, None, conflict=True), status=409
        )
    except _Invalid as bad:
        return page(request, "reviewer/review.html", _form_context(o, d, bad.errors), status=422)
    if action == "submit":
        return redirect(request, f"{base}/submit")
    if action == "next":
        following = next_open((await client.list_assignments()).items, o.a.id)
        flash(request, _("Your review is saved."), "success")
        if following is None:
            flash(request, _("No other assignment is waiting for you."), "info")
            return redirect(request, "/review")
        return redirect(request, f"/review/assignments/{following.id}")
    flash(
        request,
        _("Your review is saved (version %(v)s). It is not submitted yet.") % {"v": saved.version},
        "success",
    )
    return redirect(request, base)


@post(
    "/review/assignments/{assignment_id:uuid}/autosave",
    name="review_autosave",
    include_in_schema=False,
)
async def autosave(request: Request[Any, Any, Any], assignment_id: FromPath[uuid.UUID]) -> Any:
    """htmx: save the draft, answer with the "saved" state and the new version (out of band),
    or say why not (a newer version saved elsewhere, a score off the scale, signed out)."""
    context: dict[str, Any] = {"from_autosave": True, "assignment_id": assignment_id}

    def state(status: int, **values: Any) -> Any:
        context.update(values)
        return page(request, "reviewer/review.html", context, status=status, block="save_state")

    if current_user(request) is None:
        return state(
            401, failure=_("Not saved: you are signed out. Sign in again, then press Save.")
        )
    client = client_for(request)
    try:
        o = await _open(client, assignment_id)
    except NotFoundException:
        return state(404, failure=_("Not saved: this assignment is no longer yours."))
    if not isinstance(o, Opened):
        return state(409, failure=_("Not saved: declare your conflicts of interest first."))
    form = await request.form()
    d = draft_from_form(o.rubric, form)
    context.update(d=d, a=o.a)
    if o.review is not None and o.review.status == "submitted":
        return state(409, failure=_("Not saved: this review is already submitted."))
    try:
        saved, _sent = await _save(client, o, d)
    except StaleVersion:
        return state(409, conflict=True)
    except _Invalid as bad:
        return state(422, errors=bad.errors)
    except ApiError as exc:
        if exc.status == 401:
            return state(
                401, failure=_("Not saved: you are signed out. Sign in again, then press Save.")
            )
        if exc.status == 409:
            return state(409, failure=_("Not saved: the reviews of this proposal are closed."))
        raise
    d.version = saved.version
    return state(200, autosaved=True, saved_at=datetime.now(UTC), clock=_clock)


def _clock(value: datetime) -> str:
    return i18n.when(value, "short")


# --- submission -------------------------------------------------------------------------------


@get(
    "/review/assignments/{assignment_id:uuid}/submit",
    name="review_confirm",
    include_in_schema=False,
)
async def confirm(request: Request[Any, Any, Any], assignment_id: FromPath[uuid.UUID]) -> Any:
    require_user(request)
    o = await _opened_or_redirect(request, assignment_id)
    if not isinstance(o, Opened):
        return o
    if o.review is None or o.review.status == "submitted":
        return redirect(request, f"/review/assignments/{o.a.id}")
    d = draft_from_review(o.rubric, o.review)
    missing = [x for x in o.rubric.criteria if not d.entries[x.code].choice]
    return page(request, "reviewer/submit.html", _form_context(o, d, None, missing=missing))


@post(
    "/review/assignments/{assignment_id:uuid}/submission",
    name="review_submit",
    include_in_schema=False,
)
async def submit(request: Request[Any, Any, Any], assignment_id: FromPath[uuid.UUID]) -> Any:
    require_user(request)
    client = client_for(request)
    o = await _opened_or_redirect(request, assignment_id)
    if not isinstance(o, Opened):
        return o
    form = await request.form()
    base = f"/review/assignments/{o.a.id}"
    if o.review is None:
        return redirect(request, base)
    try:
        version = int(text(form, "version"))
    except ValueError:
        version = o.review.version
    try:
        await client.create_review_submission(o.a.id, ReviewSubmit(version=version))
    except ApiError as exc:
        d = draft_from_review(o.rubric, o.review)
        if exc.status == 422:
            errors = api_errors(o.rubric, exc, [])
            return page(request, "reviewer/review.html", _form_context(o, d, errors), status=422)
        if exc.status == 409 and exc.type.endswith(STALE):
            return page(
                request,
                "reviewer/review.html",
                _form_context(o, d, None, conflict=True),
                status=409,
            )
        if exc.status == 409:
            flash(request, _("This review can no longer be submitted."), "error")
            return redirect(request, base)
        raise
    flash(request, _("Your review is submitted. Thank you."), "success")
    return redirect(request, base)


# --- attachments ------------------------------------------------------------------------------


@get(
    "/review/assignments/{assignment_id:uuid}/attachments/{attachment_id:uuid}",
    name="review_attachment",
    include_in_schema=False,
)
async def attachment(
    request: Request[Any, Any, Any],
    assignment_id: FromPath[uuid.UUID],
    attachment_id: FromPath[uuid.UUID],
) -> Response[bytes]:
    """The file as the API serves it to the reviewer, with the API's safe headers (its type,
    `nosniff`, and a Content-Disposition naming no one in a blind window); a PDF opens in the
    browser."""
    require_user(request)
    client = client_for(request)
    try:
        content, headers = await client.get_assigned_attachment_content(
            assignment_id, attachment_id
        )
    except ApiError as exc:
        if exc.status in (403, 404, 409):
            raise NotFoundException() from exc
        raise
    keep = {
        k: v
        for k, v in headers.items()
        if k.lower() in {"content-type", "content-disposition", "x-content-type-options"}
    }
    if keep.get("content-type", "").startswith("application/pdf"):
        disposition = keep.get("content-disposition", "")
        keep["content-disposition"] = re.sub(r"^\s*attachment", "inline", disposition) or "inline"
    return Response(content=content, headers=keep, media_type=keep.get("content-type"))


ROUTES: list[Any] = [
    queue,
    declare,
    assignment_page,
    save,
    autosave,
    confirm,
    submit,
    attachment,
]
