"""The funding source statement: for one source and a period of value dates, each grant charged
to it — its share committed, disbursed before / in / by the end of the period — and a chart of
committed vs disbursed. For staff who read funding sources and the ledger."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.enums import LedgerEntryKind
from contracts.permissions import can_read_funding_sources, can_read_ledger
from service.context import RequestContext
from service.documents import format as f
from service.documents.render import RenderPool
from service.documents.service import Pdf, _base, _major, _slug
from service.documents.texts import translator
from service.persistence.models import (
    FundingSource,
    Grant,
    GrantCharge,
    LedgerEntry,
    LedgerSplit,
    Organisation,
    Proposal,
)
from service.problems import InvalidInput, NotFound, issue

CHART_GRANTS = 12
"""The chart shows the largest commitments; the table lists every grant."""


async def source_statement(
    session: AsyncSession,
    ctx: RequestContext,
    pool: RenderPool,
    source_id: uuid.UUID,
    lang: str,
    start: date,
    end: date,
    today: date,
) -> Pdf:
    ctx.require(can_read_funding_sources(ctx.actor))
    ctx.require(can_read_ledger(ctx.actor))
    if end < start:
        raise InvalidInput(
            "the period ends before it starts", [issue("query.end", "before query.start")]
        )
    source = await session.get(FundingSource, source_id)
    if source is None:
        raise NotFound(f"funding source {source_id} does not exist")
    t = translator(lang)
    charges = (
        await session.execute(
            select(GrantCharge, Grant, col(Organisation.name), col(Proposal.receipt_number))
            .join(Grant, col(Grant.id) == col(GrantCharge.grant_id))
            .join(Organisation, col(Organisation.id) == col(Grant.organisation_id))
            .join(Proposal, col(Proposal.id) == col(Grant.proposal_id))
            .where(col(GrantCharge.funding_source_id) == source_id)
            .order_by(col(GrantCharge.amount).desc(), col(Grant.id))
        )
    ).all()
    paid: dict[uuid.UUID, list[tuple[date, int]]] = defaultdict(list)
    for split, entry in (
        await session.execute(
            select(LedgerSplit, LedgerEntry)
            .join(LedgerEntry, col(LedgerEntry.id) == col(LedgerSplit.ledger_entry_id))
            .where(col(LedgerSplit.funding_source_id) == source_id)
        )
    ).all():
        sign = 1 if entry.kind == LedgerEntryKind.DISBURSEMENT else -1
        paid[entry.grant_id].append((entry.value_date, sign * split.amount))
    rows: list[dict[str, Any]] = []
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for charge, grant, organisation, receipt in charges:
        before = sum(a for d, a in paid[grant.id] if d < start)
        within = sum(a for d, a in paid[grant.id] if start <= d <= end)
        by_end = before + within
        total = totals[grant.currency]
        for i, value in enumerate((charge.amount, before, within, by_end)):
            total[i] += value
        rows.append(
            {
                "reference": grant.agreement_reference or receipt or str(grant.id)[:8],
                "grantee": organisation,
                "committed": f.money(charge.amount, grant.currency, lang),
                "before": f.money(before, grant.currency, lang),
                "within": f.money(within, grant.currency, lang),
                "by_end": f.money(by_end, grant.currency, lang),
                "chart": (grant.agreement_reference or receipt or "?", charge.amount, by_end),
            }
        )
    shown = rows[:CHART_GRANTS]
    view = _base(lang, "source_statement", source.code, today)
    view.update(
        {
            "source": source.name,
            "period": t("period", start=f.day(start, lang), end=f.day(end, lang)),
            "rows": [{k: v for k, v in r.items() if k != "chart"} for r in rows],
            "totals": [
                {
                    "currency": currency,
                    "committed": f.money(v[0], currency, lang),
                    "before": f.money(v[1], currency, lang),
                    "within": f.money(v[2], currency, lang),
                    "by_end": f.money(v[3], currency, lang),
                }
                for currency, v in sorted(totals.items())
            ],
            "charts": {
                "summary": {
                    "title": t("summary"),
                    "labels": [r["chart"][0] for r in shown],
                    "series": [
                        [t("committed"), [_major(r["chart"][1]) for r in shown]],
                        [t("disbursed_to_end"), [_major(r["chart"][2]) for r in shown]],
                    ],
                }
            },
        }
    )
    content = await pool.render("source_statement.html", view)
    return Pdf(content, f"source-statement-{_slug(source.code)}-{start}-{end}-{lang}.pdf")
