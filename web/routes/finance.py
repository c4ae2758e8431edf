"""The finance officers' pages: the payment queues, a tranche's approval, confirmation, payment
and reversal, the ledger with its exports, and the funding sources.

- `/finance`: three queues from `ListUpcomingTranches` — due (a programme officer approves),
  approved and awaiting a second finance officer's confirmation (above the API's threshold), and
  approved and ready to pay — each row with the grant (agreement reference, organisation), the
  PCC and action-plan items it pays for, whether its release conditions are met, the amount, and
  what the signed-in person may do there (the four eyes in words).
- `/finance/tranches/{id}`: the tranche and its forms. The payment form carries an
  Idempotency-Key made when the form is rendered (a hidden field): a double click, a retry after
  a timeout or the back button followed by a resubmit sends the same key with the same body, the
  API replays its first answer, and the page shows the one payment. The key is never made on
  the POST (that would make every resubmission a new payment request).
- `/finance/ledger`: the ledger (keyset pages), filtered by grant or tranche; CSV and XLSX
  exports streamed from the API (`/finance/ledger/export/csv|xlsx`, value dates from/to).
- `/finance/sources`: the funding sources and a form to add one.

Programme officers use `/finance` and the tranche page too (they approve); finance officers
confirm, pay and reverse. The API decides every refusal; the pages say it in words.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery

from contracts.awards import (
    DisbursementCreate,
    GrantRead,
    LedgerEntryRead,
    ReversalCreate,
    TrancheRead,
    TrancheTransition,
)
from contracts.client import ApiError, GrantsClient
from contracts.currencies import CODES
from contracts.enums import FundingSourceKind
from contracts.finance import ExchangeRateCreate, FundingSourceCreate, UpcomingTrancheRead
from contracts.pcc import ActionPlanItemRead
from web import i18n
from web.forms import FormErrors, from_problem, text
from web.i18n import _
from web.render import page, redirect
from web.routes.account import require_user
from web.session import SessionUser, client_for, flash

BISHKEK = ZoneInfo("Asia/Bishkek")
HORIZON_DAYS = 3660  # every due and approved tranche, whatever its planned date
QUEUE_LIMIT = 100
IN_FLIGHT_RETRIES = 10
IN_FLIGHT_WAIT = 0.3  # seconds between asking again about a key still being processed
_RATE = re.compile(r"^\d{1,10}(\.\d{1,8})?$")


def require_finance(request: Request[Any, Any, Any]) -> SessionUser:
    """Finance officers, and programme officers (who approve tranches)."""
    user = require_user(request)
    if not (user.is_finance or user.is_officer):
        raise PermissionDeniedException()
    return user


def _slug(exc: ApiError) -> str:
    return exc.type.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def refusal(exc: ApiError) -> str:
    """A refusal of the API (403 four eyes, 409 state) in the person's language."""
    detail = exc.problem.detail or ""
    slug = _slug(exc)
    if exc.status == 403 and "four eyes" in detail:
        if "approved" in detail:
            return _(
                "Four eyes: you approved this tranche, so someone else must confirm and pay it."
            )
        if "confirmed" in detail:
            return _("Four eyes: you confirmed this tranche, so another finance officer pays it.")
        if "payment" in detail:
            return _("Four eyes: you made this payment, so another finance officer reverses it.")
        return _("Four eyes: another person must do this.")
    if exc.status == 403:
        return _("You may not do this: %(reason)s") % {"reason": detail}
    if slug == "stale-version":
        return _("Someone else changed this tranche after you opened it. Check it and try again.")
    if "already disbursed" in detail:
        return _("This tranche is already paid.")
    if "already reversed" in detail:
        return _("This payment is already reversed.")
    if "already confirmed" in detail:
        return _("This tranche is already confirmed.")
    if "needs a second finance officer" in detail:
        return _("A second finance officer must confirm this payment before it is made.")
    if "without a second confirmation" in detail:
        return _("This amount is paid without a second confirmation.")
    return _("The change was refused: %(reason)s") % {"reason": detail or exc.problem.title}


# --- the queues ---------------------------------------------------------------------------


async def _items(
    client: GrantsClient, ids: list[uuid.UUID], cache: dict[uuid.UUID, ActionPlanItemRead | None]
) -> list[ActionPlanItemRead]:
    found: list[ActionPlanItemRead] = []
    for item_id in ids:
        if item_id not in cache:
            try:
                cache[item_id] = await client.get_action_plan_item(item_id)
            except ApiError as exc:
                if exc.status not in (403, 404):
                    raise
                cache[item_id] = None
        item = cache[item_id]
        if item is not None:
            found.append(item)
    return found


async def _pcc_names(client: GrantsClient) -> dict[uuid.UUID, str]:
    """Each action plan's PCC, named by its territory."""
    territories = (await client.list_territories()).items
    by_pcc = {t.pcc_id: i18n.localised(t.name) for t in territories if t.pcc_id}
    plans: dict[uuid.UUID, str] = {}
    cursor: str | None = None
    while True:
        result = await client.list_action_plans(cursor=cursor, limit=100)
        for plan in result.items:
            plans[plan.id] = by_pcc.get(plan.pcc_id, "—")
        if not result.next_cursor:
            return plans
        cursor = result.next_cursor


def who(user: SessionUser, person: uuid.UUID | None, name: str | None = None) -> str:
    """A person of the four eyes by name, and whether it is the reader."""
    if person is None:
        return "—"
    if person == user.id:
        return _("%(name)s (you)") % {"name": name} if name else _("you")
    return name or _("another officer")


def allowed(user: SessionUser, tranche: TrancheRead) -> dict[str, bool]:
    """What this person may do with the tranche, by the API's four-eyes rules (the API decides;
    this only chooses which buttons to show)."""
    approved = tranche.status == "approved"
    confirmed = tranche.confirmed_by is not None
    return {
        "approve": user.is_officer and tranche.status == "due",
        "confirm": user.is_finance
        and approved
        and tranche.needs_confirmation
        and not confirmed
        and tranche.approved_by != user.id,
        "pay": user.is_finance
        and approved
        and (confirmed or not tranche.needs_confirmation)
        and user.id not in (tranche.approved_by, tranche.confirmed_by),
    }


def four_eyes(user: SessionUser, tranche: TrancheRead) -> list[str]:
    """Who approved, who must confirm, who may pay — in plain words."""
    lines: list[str] = []
    if tranche.status == "due":
        lines.append(_("A programme officer approves it."))
        if tranche.needs_confirmation:
            lines.append(_("Then a finance officer confirms it, and another one pays it."))
        else:
            lines.append(_("Then a finance officer other than the approver pays it."))
        return lines
    if tranche.approved_by is not None:
        lines.append(
            _("Approved by %(who)s.")
            % {"who": who(user, tranche.approved_by, tranche.approved_by_name)}
        )
    if tranche.needs_confirmation:
        if tranche.confirmed_by is None:
            lines.append(_("A second finance officer, not the approver, must confirm it first."))
        else:
            lines.append(
                _("Confirmed by %(who)s.")
                % {"who": who(user, tranche.confirmed_by, tranche.confirmed_by_name)}
            )
    if tranche.status == "approved":
        if tranche.needs_confirmation:
            lines.append(_("Paid by a finance officer who neither approved nor confirmed it."))
        else:
            lines.append(_("Paid by a finance officer other than the approver."))
    return lines


def conditions_met(tranche: TrancheRead) -> bool:
    return all(c.met_at is not None for c in tranche.conditions)


async def _rows(
    request: Request[Any, Any, Any],
    client: GrantsClient,
    upcoming: list[UpcomingTrancheRead],
    plans: dict[uuid.UUID, str],
    cache: dict[uuid.UUID, ActionPlanItemRead | None],
) -> list[dict[str, Any]]:
    user = require_finance(request)
    rows: list[dict[str, Any]] = []
    for u in upcoming:
        tranche = await client.get_tranche(u.id)
        items = await _items(client, tranche.action_plan_item_ids, cache)
        rows.append(
            {
                "up": u,
                "tranche": tranche,
                "plan_items": items,
                "pccs": sorted({plans.get(i.action_plan_id, "—") for i in items}),
                "met": conditions_met(tranche),
                "can": allowed(user, tranche),
                "eyes": four_eyes(user, tranche),
            }
        )
    return rows


async def _upcoming(
    client: GrantsClient, status: Literal["due", "approved"]
) -> list[UpcomingTrancheRead]:
    """Every tranche in that state (due and approved ones whatever their planned date)."""
    found: list[UpcomingTrancheRead] = []
    cursor: str | None = None
    while True:
        result = await client.list_upcoming_tranches(
            within_days=HORIZON_DAYS, status=status, cursor=cursor, limit=QUEUE_LIMIT
        )
        found += result.items
        if not result.next_cursor:
            return found
        cursor = result.next_cursor


@get("/finance", name="finance", include_in_schema=False)
async def queues(request: Request[Any, Any, Any]) -> Any:
    require_finance(request)
    client = client_for(request)
    plans = await _pcc_names(client)
    cache: dict[uuid.UUID, ActionPlanItemRead | None] = {}
    due = await _upcoming(client, "due")
    approved = await _upcoming(client, "approved")
    approved_rows = await _rows(request, client, approved, plans, cache)
    return page(
        request,
        "finance/queues.html",
        {
            "due": await _rows(request, client, due, plans, cache),
            "to_confirm": [
                r
                for r in approved_rows
                if r["tranche"].needs_confirmation and r["tranche"].confirmed_by is None
            ],
            "to_pay": [
                r
                for r in approved_rows
                if not (r["tranche"].needs_confirmation and r["tranche"].confirmed_by is None)
            ],
        },
    )


# --- one tranche ---------------------------------------------------------------------------


def _rate_currencies(grant: GrantRead) -> list[str]:
    return sorted({c.source_currency for c in grant.charges if c.source_currency != grant.currency})


async def _latest_rates(
    client: GrantsClient, currencies: list[str], quote: str
) -> dict[str, tuple[str, date]]:
    """The most recent rate entered for each currency against the grant's (a default for the
    payment form; the payer still confirms the rate of the day)."""
    found: dict[str, tuple[str, date]] = {}
    for cur in currencies:
        for r in (await client.list_exchange_rates(currency=cur, limit=10)).items:
            if r.quote_currency == quote:
                found[cur] = (r.rate, r.valid_on)
                break
    return found


async def _show(
    request: Request[Any, Any, Any],
    tranche_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    form: dict[str, Any] | None = None,
    key: str | None = None,
    status: int = 200,
) -> Any:
    user = require_finance(request)
    client = client_for(request)
    try:
        tranche = await client.get_tranche(tranche_id)
    except ApiError as exc:
        if exc.status == 404:
            raise NotFoundException() from exc
        raise
    grant = await client.get_grant(tranche.grant_id)
    organisation = await client.get_organisation(grant.organisation_id)
    plans = await _pcc_names(client)
    items = await _items(client, tranche.action_plan_item_ids, {})
    entries = (await client.list_ledger_entries(tranche_id=tranche_id, limit=100)).items
    currencies = _rate_currencies(grant)
    reversed_ids = {e.reverses_id for e in entries if e.reverses_id}
    return page(
        request,
        "finance/tranche.html",
        {
            "tranche": tranche,
            "grant": grant,
            "organisation": organisation,
            "items": items,
            "pccs": sorted({plans.get(i.action_plan_id, "—") for i in items}),
            "met": conditions_met(tranche),
            "can": allowed(user, tranche),
            "eyes": four_eyes(user, tranche),
            "entries": entries,
            "reversible": {
                e.id: e.kind == "disbursement"
                and e.id not in reversed_ids
                and user.is_finance
                and e.created_by != user.id
                for e in entries
            },
            "payer_is_me": {e.id: e.created_by == user.id for e in entries},
            "rate_currencies": currencies,
            "latest_rates": await _latest_rates(client, currencies, grant.currency),
            "errors": errors,
            "form": form or {},
            # made when the form is rendered; a re-rendered form after a refusal keeps its key
            "idempotency_key": key or str(uuid.uuid4()),
            "reversal_key": str(uuid.uuid4()),  # its own key: never the payment form's
            "today": datetime.now(BISHKEK).date().isoformat(),
        },
        status=status,
    )


@get("/finance/tranches/{tranche_id:uuid}", name="finance_tranche", include_in_schema=False)
async def tranche_page(request: Request[Any, Any, Any], tranche_id: FromPath[uuid.UUID]) -> Any:
    return await _show(request, tranche_id)


def _version(form: Any) -> int:
    raw = text(form, "version")
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


@post(
    "/finance/tranches/{tranche_id:uuid}/approval",
    name="finance_approve",
    include_in_schema=False,
)
async def approve(request: Request[Any, Any, Any], tranche_id: FromPath[uuid.UUID]) -> Any:
    require_finance(request)
    posted = await request.form()
    try:
        await client_for(request).approve_tranche(
            tranche_id, TrancheTransition(version=_version(posted))
        )
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        errors = FormErrors()
        errors.add(None, refusal(exc))
        return await _show(request, tranche_id, errors=errors, status=exc.status)
    flash(request, _("The tranche is approved for payment."), "success")
    return redirect(request, f"/finance/tranches/{tranche_id}")


@post(
    "/finance/tranches/{tranche_id:uuid}/confirmation",
    name="finance_confirm",
    include_in_schema=False,
)
async def confirm(request: Request[Any, Any, Any], tranche_id: FromPath[uuid.UUID]) -> Any:
    require_finance(request)
    posted = await request.form()
    try:
        await client_for(request).create_tranche_confirmation(
            tranche_id, TrancheTransition(version=_version(posted))
        )
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        errors = FormErrors()
        errors.add(None, refusal(exc))
        return await _show(request, tranche_id, errors=errors, status=exc.status)
    flash(
        request, _("The payment is confirmed; another finance officer may now pay it."), "success"
    )
    return redirect(request, f"/finance/tranches/{tranche_id}")


def _pay_form(posted: Any, currencies: list[str]) -> dict[str, Any]:
    return {
        "value_date": text(posted, "value_date"),
        "reference": text(posted, "reference"),
        "bank_account": text(posted, "bank_account"),
        "rates": {cur: text(posted, f"rate_{cur}") for cur in currencies},
    }


@post(
    "/finance/tranches/{tranche_id:uuid}/disbursements",
    name="finance_pay",
    include_in_schema=False,
)
async def pay(request: Request[Any, Any, Any], tranche_id: FromPath[uuid.UUID]) -> Any:
    """Pay with the key the form was rendered with: the same key and body always pay once."""
    require_finance(request)
    client = client_for(request)
    posted = await request.form()
    key = text(posted, "idempotency_key")
    amount_raw = text(posted, "amount")
    tranche = await client.get_tranche(tranche_id)
    grant = await client.get_grant(tranche.grant_id)
    currencies = _rate_currencies(grant)
    form = _pay_form(posted, currencies)
    errors = FormErrors()
    try:
        uuid.UUID(key)
    except ValueError:
        errors.add(None, _("This form has expired. Open the tranche again to pay it."))
        return await _show(request, tranche_id, errors=errors, form=form, status=422)
    value_date: date | None = None
    try:
        value_date = date.fromisoformat(form["value_date"])
    except ValueError:
        errors.add("value_date", _("Enter the value date as a date."))
    if not form["reference"]:
        errors.add("reference", _("Enter the payment reference."))
    for cur, rate in form["rates"].items():
        if not _RATE.match(rate) or float(rate) <= 0:  # checked as text; never used as money
            errors.add(f"rate_{cur}", _("Enter the rate as a number, e.g. 89.45."))
    if errors or value_date is None or not amount_raw.isdigit():
        if not amount_raw.isdigit():
            errors.add(None, _("This form has expired. Open the tranche again to pay it."))
        return await _show(request, tranche_id, errors=errors, form=form, key=key, status=422)
    body = DisbursementCreate(
        amount=int(amount_raw),
        value_date=value_date,
        reference=form["reference"],
        bank_details={"account": form["bank_account"]} if form["bank_account"] else {},
        rates=dict(form["rates"]),
    )
    entry: LedgerEntryRead | None = None
    for _attempt in range(IN_FLIGHT_RETRIES):
        try:
            entry = await client.create_disbursement(tranche_id, body, key)
            break
        except ApiError as exc:
            if exc.status == 409 and _slug(exc) == "idempotency-key-in-flight":
                await asyncio.sleep(IN_FLIGHT_WAIT)  # the first click is still paying
                continue
            if exc.status == 409 and "already disbursed" in (exc.problem.detail or ""):
                flash(request, _("This tranche is already paid; here is its payment."), "info")
                return redirect(request, f"/finance/tranches/{tranche_id}")
            if _slug(exc) == "idempotency-key-reused":
                errors.add(
                    None,
                    _(
                        "This form was already sent with other details. "
                        "Open the tranche again to see what was paid."
                    ),
                )
            elif exc.status == 422:
                errors = from_problem(exc, {"value_date": "value_date", "reference": "reference"})
            elif exc.status in (403, 409):
                errors.add(None, refusal(exc))
            else:
                raise
            return await _show(
                request, tranche_id, errors=errors, form=form, key=key, status=exc.status
            )
    if entry is None:
        flash(request, _("The payment is still being recorded. Check the tranche again."), "info")
    else:
        flash(
            request,
            _("Paid: %(amount)s, reference %(ref)s.")
            % {"amount": i18n.money(entry.amount, entry.currency), "ref": entry.reference},
            "success",
        )
    return redirect(request, f"/finance/tranches/{tranche_id}")


@post(
    "/finance/ledger/{entry_id:uuid}/reversal",
    name="finance_reverse",
    include_in_schema=False,
)
async def reverse(request: Request[Any, Any, Any], entry_id: FromPath[uuid.UUID]) -> Any:
    require_finance(request)
    client = client_for(request)
    entry = await client.get_ledger_entry(entry_id)
    posted = await request.form()
    reason = text(posted, "reason")
    reference = text(posted, "reversal_reference")
    key = text(posted, "idempotency_key")
    form = {"reason": reason, "reversal_reference": reference}
    errors = FormErrors()
    if len(reason) < 3:
        errors.add("reason", _("Say why the payment is reversed (at least 3 characters)."))
    if not reference:
        errors.add("reversal_reference", _("Enter the reference of the returned payment."))
    try:
        uuid.UUID(key)
    except ValueError:
        key = ""
    status = 422
    if not errors:
        try:
            await client.create_reversal(
                entry_id,
                ReversalCreate(
                    reason=reason, value_date=datetime.now(BISHKEK).date(), reference=reference
                ),
                idempotency_key=key or None,
            )
        except ApiError as exc:
            if exc.status == 422:
                errors = from_problem(exc, {"reason": "reason", "reference": "reversal_reference"})
            elif exc.status in (403, 409):
                errors.add(None, refusal(exc))
                status = exc.status
            else:
                raise
        else:
            flash(
                request,
                _("The payment is reversed; the tranche is due again and needs a new approval."),
                "success",
            )
            return redirect(request, f"/finance/tranches/{entry.tranche_id}")
    return await _show(request, entry.tranche_id, errors=errors, form=form, status=status)


# --- the ledger -----------------------------------------------------------------------------


def _uuid_or_none(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


def _date_or_none(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


async def _ledger_options(client: GrantsClient) -> dict[str, list[tuple[str, str]]]:
    """The choices of the ledger's filters: windows (by call), PCCs, funding sources."""
    windows: list[tuple[str, str]] = []
    cursor: str | None = None
    while True:
        calls = await client.list_calls(cursor=cursor, limit=100)
        for call in calls.items:
            for w in call.windows:
                windows.append(
                    (
                        str(w.id),
                        f"{i18n.localised(call.title)} · {w.code} {i18n.localised(w.title)}",
                    )
                )
        if not calls.next_cursor:
            break
        cursor = calls.next_cursor
    territories = (await client.list_territories()).items
    pccs = sorted(
        ((str(t.pcc_id), i18n.localised(t.name)) for t in territories if t.pcc_id),
        key=lambda o: o[1],
    )
    sources: list[tuple[str, str]] = []
    cursor = None
    while True:
        page_ = await client.list_funding_sources(cursor=cursor, limit=100)
        sources += [(str(s.id), f"{s.code} · {s.name}") for s in page_.items]
        if not page_.next_cursor:
            break
        cursor = page_.next_cursor
    return {"windows": windows, "pccs": pccs, "sources": sources}


@get("/finance/ledger", name="finance_ledger", include_in_schema=False)
async def ledger(
    request: Request[Any, Any, Any],
    grant: FromQuery[str | None] = None,
    tranche: FromQuery[str | None] = None,
    window: FromQuery[str | None] = None,
    pcc: FromQuery[str | None] = None,
    source: FromQuery[str | None] = None,
    date_from: FromQuery[str | None] = None,
    date_to: FromQuery[str | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Any:
    """The ledger filtered by window, PCC, funding source and value dates (Bishkek dates), and by
    grant or tranche (from a tranche's page); keyset pages; the exports for the same dates."""
    require_finance(request)
    client = client_for(request)
    filters: dict[str, Any] = {
        "grant_id": _uuid_or_none(grant),
        "tranche_id": _uuid_or_none(tranche),
        "window_id": _uuid_or_none(window),
        "pcc_id": _uuid_or_none(pcc),
        "funding_source_id": _uuid_or_none(source),
        "date_from": _date_or_none(date_from),
        "date_to": _date_or_none(date_to),
    }
    try:
        result = await client.list_ledger_entries(**filters, cursor=cursor or None, limit=50)
    except ApiError as exc:
        if exc.status != 422 or not cursor:  # a stale or mangled cursor: start again
            raise
        result = await client.list_ledger_entries(**filters, limit=50)
    titles: dict[uuid.UUID, GrantRead] = {}
    for e in result.items:
        if e.grant_id not in titles:
            titles[e.grant_id] = await client.get_grant(e.grant_id)
    query = {
        "grant": filters["grant_id"],
        "tranche": filters["tranche_id"],
        "window": filters["window_id"],
        "pcc": filters["pcc_id"],
        "source": filters["funding_source_id"],
        "date_from": filters["date_from"],
        "date_to": filters["date_to"],
    }
    query_text = {
        k: (v.isoformat() if isinstance(v, date) else str(v)) if v else "" for k, v in query.items()
    }
    return page(
        request,
        "finance/ledger.html",
        {
            "entries": result.items,
            "grants": titles,
            "next_cursor": result.next_cursor,
            "query": query_text,
            "query_string": urlencode({k: v for k, v in query_text.items() if v}),
            "options": await _ledger_options(client),
        },
    )


@get("/finance/ledger/export/{fmt:str}", name="finance_ledger_export", include_in_schema=False)
async def ledger_export(
    request: Request[Any, Any, Any],
    fmt: FromPath[str],
    date_from: FromQuery[str | None] = None,
    date_to: FromQuery[str | None] = None,
) -> Response[bytes]:
    require_finance(request)
    if fmt not in ("csv", "xlsx"):
        raise NotFoundException()
    content, media_type = await client_for(request).get_ledger_export(
        "csv" if fmt == "csv" else "xlsx",
        date_from=_date_or_none(date_from),
        date_to=_date_or_none(date_to),
    )
    stamp = datetime.now(BISHKEK).date().isoformat()
    return Response(
        content=content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="ledger-{stamp}.{fmt}"'},
    )


# --- funding sources ------------------------------------------------------------------------


def source_kinds() -> list[tuple[str, str]]:
    words = {
        "donor": _("Donor"),
        "un_agency": _("UN agency"),
        "local_government": _("Local government"),
        "private": _("Private"),
    }
    return [(k.value, words[k.value]) for k in FundingSourceKind]


async def _sources_page(
    request: Request[Any, Any, Any],
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    which: str = "source",
    status: int = 200,
) -> Any:
    user = require_finance(request)
    client = client_for(request)
    sources = []
    cursor: str | None = None
    while True:
        result = await client.list_funding_sources(cursor=cursor, limit=100)
        sources += result.items
        if not result.next_cursor:
            break
        cursor = result.next_cursor
    rates = await client.list_exchange_rates(limit=50)
    return page(
        request,
        "finance/sources.html",
        {
            "sources": sources,
            "kinds": source_kinds(),
            "kind_words": dict(source_kinds()),
            "errors": errors if which == "source" else None,
            "form": (form if which == "source" else None) or {"currency": "KGS"},
            "rate_errors": errors if which == "rate" else None,
            "rate_form": (form if which == "rate" else None)
            or {"rate_quote": "KGS", "rate_valid_on": datetime.now(BISHKEK).date().isoformat()},
            "rates": rates.items,
            "may_add": user.is_finance,
        },
        status=status,
    )


@get("/finance/sources", name="finance_sources", include_in_schema=False)
async def sources(request: Request[Any, Any, Any]) -> Any:
    return await _sources_page(request)


@post("/finance/sources", name="finance_source_create", include_in_schema=False)
async def create_source(request: Request[Any, Any, Any]) -> Any:
    require_finance(request)
    posted = await request.form()
    form = {k: text(posted, k) for k in ("code", "name", "kind", "currency", "description")}
    form["currency"] = form["currency"].upper()
    errors = FormErrors()
    if not form["code"]:
        errors.add("code", _("Enter a short code."))
    if not form["name"]:
        errors.add("name", _("Enter the name."))
    if form["kind"] not in {k.value for k in FundingSourceKind}:
        errors.add("kind", _("Choose the kind of source."))
    if form["currency"] not in CODES:
        errors.add("currency", _("Enter an ISO 4217 currency code, e.g. KGS or USD."))
    if not errors:
        try:
            created = await client_for(request).create_funding_source(
                FundingSourceCreate(
                    code=form["code"],
                    name=form["name"],
                    kind=FundingSourceKind(form["kind"]),
                    currency=form["currency"],
                    description=form["description"] or None,
                )
            )
        except ApiError as exc:
            if exc.status == 422:
                errors = from_problem(exc)
            elif exc.status in (403, 409):
                errors.add(None, refusal(exc))
            else:
                raise
        else:
            flash(request, _("Funding source %(code)s added.") % {"code": created.code}, "success")
            return redirect(request, "/finance/sources")
    return await _sources_page(request, errors=errors, form=form, status=422)


@post("/finance/rates", name="finance_rate_create", include_in_schema=False)
async def create_rate(request: Request[Any, Any, Any]) -> Any:
    """A rate of the day; the API refuses a second one for the same pair and day (409)."""
    require_finance(request)
    posted = await request.form()
    names = ("rate_currency", "rate_quote", "rate", "rate_valid_on", "rate_source")
    form = {k: text(posted, k) for k in names}
    form["rate_currency"] = form["rate_currency"].upper()
    form["rate_quote"] = (form["rate_quote"] or "KGS").upper()
    form["rate"] = form["rate"].replace(",", ".").replace(" ", "")
    errors = FormErrors()
    if form["rate_currency"] not in CODES:
        errors.add("rate_currency", _("Enter an ISO 4217 currency code, e.g. KGS or USD."))
    if form["rate_quote"] not in CODES:
        errors.add("rate_quote", _("Enter an ISO 4217 currency code, e.g. KGS or USD."))
    if not _RATE.match(form["rate"]):
        errors.add("rate", _("Enter the rate as a number, e.g. 89.45."))
    valid_on = _date_or_none(form["rate_valid_on"])
    if valid_on is None:
        errors.add("rate_valid_on", _("Enter the day the rate is valid on."))
    if not errors and valid_on is not None:
        try:
            await client_for(request).create_exchange_rate(
                ExchangeRateCreate(
                    currency=form["rate_currency"],
                    quote_currency=form["rate_quote"],
                    rate=form["rate"],
                    valid_on=valid_on,
                    source=form["rate_source"] or None,
                )
            )
        except ApiError as exc:
            if exc.status == 422:
                errors = from_problem(
                    exc,
                    {
                        "currency": "rate_currency",
                        "quote_currency": "rate_quote",
                        "valid_on": "rate_valid_on",
                        "source": "rate_source",
                    },
                )
            elif exc.status == 409:
                errors.add(
                    "rate_valid_on",
                    _("A rate for this currency and day is already recorded; it is not changed."),
                )
            elif exc.status == 403:
                errors.add(None, refusal(exc))
            else:
                raise
        else:
            flash(
                request,
                _("Rate recorded: 1 %(cur)s = %(rate)s %(quote)s.")
                % {"cur": form["rate_currency"], "rate": form["rate"], "quote": form["rate_quote"]},
                "success",
            )
            return redirect(request, "/finance/sources#rates-h")
    return await _sources_page(request, errors=errors, form=form, which="rate", status=422)


ROUTES: list[Any] = [
    create_rate,
    queues,
    tranche_page,
    approve,
    confirm,
    pay,
    reverse,
    ledger,
    ledger_export,
    sources,
    create_source,
]
