"""The documents' use cases: each loads what a document shows through the same permission checks
as the API's reads (the grant, the feedback, the ranking board), builds a view (plain strings,
picklable) in the document's language, and renders it in the pool."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import awards as ca
from contracts.enums import DecisionReasonCode, LedgerEntryKind
from scoring.money import format_money
from service.awards import get_grant
from service.context import RequestContext
from service.documents import format as f
from service.documents.render import RenderPool
from service.documents.texts import translator
from service.persistence.models import (
    ActionPlanItem,
    Call,
    CallWindow,
    Decision,
    FundingSource,
    LedgerEntry,
    Organisation,
    Proposal,
    Territory,
    Tranche,
)
from service.problems import InvalidInput, issue
from service.selection import service as selection


class Pdf:
    """A rendered document: its bytes and the file name it is saved under."""

    def __init__(self, content: bytes, filename: str) -> None:
        self.content = content
        self.filename = filename


def pick(text: Mapping[str, str] | None, lang: str) -> str:
    """A stored {"en", "ru", "ky"} text in `lang`, English when that one is missing."""
    if not text:
        return ""
    return text.get(lang) or text.get("en") or next(iter(text.values()), "")


def page_counter(lang: str) -> str:
    """The CSS `content` of "Page X of Y" in `lang` (the catalogue's phrase around counters)."""
    phrase = translator(lang)("page_of", page="\x00page\x00", pages="\x00pages\x00")
    parts: list[str] = []
    for i, piece in enumerate(phrase.split("\x00")):
        if i % 2:
            parts.append(f"counter({piece})")
        elif piece:
            parts.append('"' + piece.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(parts)


def _base(lang: str, title_key: str, reference: str, today: date) -> dict[str, Any]:
    t = translator(lang)
    return {
        "lang": lang,
        "title": t(title_key),
        "reference": reference,
        "issued": f.day(today, lang),
        "page_counter": page_counter(lang),
    }


def _slug(text: str) -> str:
    keep = "".join(ch if ch.isalnum() else "-" for ch in text)
    return "-".join(p for p in keep.split("-") if p)[:60] or "document"


def _condition(kind: str, params: Mapping[str, Any], lang: str) -> str:
    t = translator(lang)
    if kind == "indicator_reported":
        return t(
            "cond_indicator_reported",
            code=str(params.get("indicator_code") or params.get("code") or "?"),
        )
    return t(f"cond_{kind}")


async def _grant_view(session: AsyncSession, grant: ca.GrantRead, lang: str) -> dict[str, Any]:
    organisation = await session.get_one(Organisation, grant.organisation_id)
    territory = await session.get_one(Territory, organisation.territory_id)
    proposal = await session.get_one(Proposal, grant.proposal_id)
    window = await session.get_one(CallWindow, grant.window_id)
    call = await session.get_one(Call, window.call_id)
    item_ids = {i for tr in grant.tranches for i in tr.action_plan_item_ids}
    items: dict[uuid.UUID, str] = {}
    if item_ids:
        for item in (
            await session.execute(
                select(ActionPlanItem).where(col(ActionPlanItem.id).in_(item_ids))
            )
        ).scalars():
            items[item.id] = f"{item.code} — {pick(item.objective, lang)}"
    sources = {
        s.id: s.name
        for s in (
            await session.execute(
                select(FundingSource).where(
                    col(FundingSource.id).in_([ch.funding_source_id for ch in grant.charges])
                )
            )
        ).scalars()
    }

    def money(minor: int) -> str:
        return f.money(minor, grant.currency, lang)

    tranches = [
        {
            "position": tr.position + 1,
            "planned": f.day(tr.planned_date, lang),
            "amount": money(tr.amount),
            "items": [items[i] for i in tr.action_plan_item_ids if i in items],
            "conditions": [_condition(c.kind, c.params, lang) for c in tr.conditions],
        }
        for tr in grant.tranches
        if tr.status != "cancelled"
    ]
    return {
        "organisation": organisation.name,
        "registration": organisation.registration_number or "—",
        "territory": pick(territory.name, lang),
        "project": grant.title,
        "receipt": proposal.receipt_number or "—",
        "window": pick(window.title, lang),
        "call": pick(call.title, lang),
        "amount": money(grant.amount),
        "words": f.money_words(grant.amount, grant.currency, lang),
        "start": f.day(grant.start_date, lang),
        "end": f.day(grant.end_date, lang),
        "tranches": tranches,
        "plan_items": sorted(set(items.values())),
        "charges": [
            {
                "source": sources.get(ch.funding_source_id, ch.funding_source_code),
                "amount": money(ch.amount),
            }
            for ch in grant.charges
        ],
    }


def _reference(grant: ca.GrantRead) -> str:
    return grant.agreement_reference or f"G-{str(grant.id)[:8].upper()}"


async def grant_document(
    session: AsyncSession,
    ctx: RequestContext,
    pool: RenderPool,
    grant_id: uuid.UUID,
    kind: str,
    lang: str,
    today: date,
) -> Pdf:
    """The award letter or the grant agreement of a grant (whoever may read the grant)."""
    grant = await get_grant(session, ctx, grant_id)
    title_key = "award_letter" if kind == "award_letter" else "grant_agreement"
    view = _base(lang, title_key, _reference(grant), today)
    view.update(await _grant_view(session, grant, lang))
    t = translator(lang)
    view["signed"] = (
        t("signed_on", date=f.day(grant.agreement_signed_at, lang))
        if grant.agreement_signed_at
        else t("not_signed")
    )
    content = await pool.render(f"{kind}.html", view)
    return Pdf(content, f"{kind.replace('_', '-')}-{_slug(_reference(grant))}-{lang}.pdf")


async def grant_statement(
    session: AsyncSession,
    ctx: RequestContext,
    pool: RenderPool,
    grant_id: uuid.UUID,
    lang: str,
    start: date,
    end: date,
    today: date,
) -> Pdf:
    """A grant's disbursements (and reversals) with value dates in [start, end]; committed vs
    disbursed before, in and by the end of the period, with a chart."""
    if end < start:
        raise InvalidInput(
            "the period ends before it starts", [issue("query.end", "before query.start")]
        )
    grant = await get_grant(session, ctx, grant_id)
    t = translator(lang)

    def money(minor: int) -> str:
        return f.money(minor, grant.currency, lang)

    rows = (
        await session.execute(
            select(LedgerEntry, col(Tranche.position))
            .join(Tranche, col(Tranche.id) == col(LedgerEntry.tranche_id))
            .where(col(LedgerEntry.grant_id) == grant.id)
            .order_by(col(LedgerEntry.value_date), col(LedgerEntry.created_at))
        )
    ).all()

    def signed(entry: LedgerEntry) -> int:
        return entry.amount if entry.kind == LedgerEntryKind.DISBURSEMENT else -entry.amount

    before = sum(signed(e) for e, _ in rows if e.value_date < start)
    within = [(e, pos) for e, pos in rows if start <= e.value_date <= end]
    in_period = sum(signed(e) for e, _ in within)
    view = _base(lang, "grant_statement", _reference(grant), today)
    view.update(
        {
            "period": t("period", start=f.day(start, lang), end=f.day(end, lang)),
            "grant": grant.title,
            "organisation": (await session.get_one(Organisation, grant.organisation_id)).name,
            "entries": [
                {
                    "date": f.day(e.value_date, lang),
                    "kind": t(f"kind_{e.kind.value}"),
                    "tranche": pos + 1,
                    "reference": e.reference,
                    "amount": money(signed(e)),
                }
                for e, pos in within
            ],
            "summary": [
                (t("committed"), money(grant.amount)),
                (t("disbursed_before"), money(before)),
                (t("disbursed_in"), money(in_period)),
                (t("disbursed_to_end"), money(before + in_period)),
                (t("remaining"), money(grant.amount - before - in_period)),
            ],
            "charts": {
                "summary": {
                    "title": t("summary"),
                    "labels": [t("committed"), t("disbursed_to_end"), t("remaining")],
                    "series": [
                        [
                            grant.currency,
                            [
                                _major(grant.amount),
                                _major(before + in_period),
                                _major(grant.amount - before - in_period),
                            ],
                        ]
                    ],
                }
            },
        }
    )
    content = await pool.render("grant_statement.html", view)
    return Pdf(content, f"statement-{_slug(_reference(grant))}-{start}-{end}-{lang}.pdf")


def _major(minor: int) -> float:
    """For a chart's bar height only (never for money arithmetic)."""
    return minor / 100


async def _decision_reason(
    session: AsyncSession, proposal: Proposal, currency: str, lang: str
) -> tuple[str, bool]:
    """The proposal's current decision's reason for the document, and whether it is the
    officer's own words: what the selection run decided is worded in `lang`
    (`selection.reason_wording`); anything else is what an officer (or the applicant) typed:
    shown as written, in its own language, and labelled so."""
    t = translator(lang)
    decision = (
        await session.execute(
            select(Decision).where(
                col(Decision.proposal_id) == proposal.id, col(Decision.is_current).is_(True)
            )
        )
    ).scalar_one_or_none()
    if decision is None:
        return "", False
    wording = await selection.reason_wording(session, decision)
    place = str(wording.place)
    match wording.code:
        case DecisionReasonCode.MOVED_UP:
            return t("reason_moved_up", place=place), False
        case DecisionReasonCode.RESERVE:
            return t("reason_reserve", place=place), False
        case DecisionReasonCode.FUNDED:
            amount = format_money(wording.amount or 0, currency, lang)
            return t("reason_funded", amount=amount), False
        case DecisionReasonCode.NOT_FUNDED:
            return t("reason_not_funded"), False
        case DecisionReasonCode.INELIGIBLE:
            return t("reason_ineligible"), False
        case DecisionReasonCode.DECLINED:
            return t("reason_declined"), False
    return decision.reason, True


async def feedback_summary(
    session: AsyncSession,
    ctx: RequestContext,
    pool: RenderPool,
    proposal_id: uuid.UUID,
    lang: str,
    today: date,
) -> Pdf:
    """The applicant's feedback: the same read as GET /proposals/{id}/feedback (published
    windows only for applicants); never a reviewer's name."""
    fb = await selection.feedback(session, ctx, proposal_id)
    proposal = await session.get_one(Proposal, proposal_id)
    window = await session.get_one(CallWindow, proposal.window_id)
    organisation = await session.get_one(Organisation, proposal.organisation_id)
    t = translator(lang)
    call = await session.get_one(Call, window.call_id)
    reason, by_officer = ("", False)
    if fb.decision is not None:  # the applicant may see it (the feedback is published)
        reason, by_officer = await _decision_reason(session, proposal, call.currency, lang)
    reference = proposal.receipt_number or f"P-{str(proposal.id)[:8].upper()}"
    view = _base(lang, "feedback_summary", reference, today)
    view.update(
        {
            "proposal": proposal.title,
            "organisation": organisation.name,
            "window": pick(window.title, lang),
            "receipt": proposal.receipt_number or "—",
            "decision": (
                t(f"outcome_{fb.decision.outcome.value}") if fb.decision is not None else "—"
            ),
            "decision_reason": reason,
            "reason_by_officer": by_officer,
            "criteria": [
                {
                    "name": pick(
                        {"en": c.title.en, "ru": c.title.ru or "", "ky": c.title.ky or ""}
                        if c.title
                        else {"en": c.name},
                        lang,
                    ),
                    "value": _points(c.value, lang),
                    "max": _points(str(c.scale_max), lang) if c.scale_max is not None else "",
                    "threshold": _points(str(c.threshold), lang)
                    if c.threshold is not None
                    else "—",
                    "passed": "—" if c.passed is None else t("yes") if c.passed else t("no"),
                }
                for c in fb.criteria
            ],
            "score": _points(fb.score, lang) if fb.score else "—",
            "band": t(f"band_{fb.rank_band}") if fb.rank_band else "—",
            "comments": fb.comments,
        }
    )
    content = await pool.render("feedback_summary.html", view)
    return Pdf(content, f"feedback-{_slug(reference)}-{lang}.pdf")


def _points(value: object, lang: str, *, tenths: bool = True) -> str:
    """A score in tenths (a decimal string or "n/d"), or in points (`tenths=False`), as points
    with one or two decimals in the language's notation."""
    if value is None:
        return "—"
    from fractions import Fraction

    from babel.numbers import format_decimal

    number = Fraction(str(value)) / (10 if tenths else 1)
    return format_decimal(round(float(number), 2), format="0.0#", locale=f.LOCALES[lang])


def now_date(now: datetime) -> date:
    return now.astimezone(f.BISHKEK).date()
