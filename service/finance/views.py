"""Finance views (read-only): the summary by dimension, the tranches awaiting payment, and the
ledger export (CSV, XLSX).

Definitions (see docs/finance.md):
- committed = Σ grant_award.amount (cancelled tranches are already taken out of it);
- disbursed = Σ disbursements − Σ reversals, from the ledger;
- remaining = committed − disbursed; available = envelope − committed where an envelope is known
  (calls, windows: Σ window_allocation; funding sources: Σ of that source's allocations);
- by territory, PCC or action-plan item, each non-cancelled tranche's amount is split equally over
  its action-plan items (largest remainder, so the parts sum exactly to the tranche); committed
  counts the parts of non-cancelled tranches, disbursed the parts of tranches now disbursed.

Money is integer minor units throughout; only the export also shows major units, formatted here
exactly (no floats).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import and_, case, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from contracts import finance as c
from contracts import permissions as p
from contracts.common import ValidationIssue
from contracts.enums import LedgerEntryKind, OrganisationKind, TrancheStatus
from scoring.money import allocate_pro_rata, number_pattern

# currencies' exponents and money in major units have one home, scoring.money (CLDR's ISO 4217
# data; an unknown code is refused); re-exported: open data and the tests import them from here
from scoring.money import format_major as format_major
from scoring.money import minor_unit_exponent as minor_unit_exponent
from scoring.money import to_major as to_major
from service.context import RequestContext, utcnow
from service.mapping import to_read
from service.pagination import keyset, split_page
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    AppUser,
    Call,
    CallWindow,
    FundingSource,
    Grant,
    GrantCharge,
    LedgerEntry,
    LedgerSplit,
    Organisation,
    Pcc,
    Proposal,
    Territory,
    Tranche,
    TrancheActionPlanItem,
    WindowAllocation,
)
from service.problems import InvalidInput
from service.timezones import BISHKEK as BISHKEK  # re-exported: open data imports it from here


def today_in_bishkek() -> date:
    return utcnow().astimezone(BISHKEK).date()


# --- the summary ------------------------------------------------------------------------------

_ORGANISATION_KIND_LABELS: dict[OrganisationKind, str] = {
    OrganisationKind.CSO: "Civil-society organisation",
    OrganisationKind.COMMUNITY_MEDIA: "Community media",
    OrganisationKind.YOUTH_GROUP: "Youth group",
    OrganisationKind.WOMEN_LED: "Women-led organisation",
    OrganisationKind.HUMAN_RIGHTS: "Human-rights organisation",
    OrganisationKind.INITIATIVE_GROUP: "Initiative group",
}

_WITH_ENVELOPE = frozenset({"call", "window", "funding_source"})


@dataclass
class _Group:
    """What one summary row adds up while the rows are being built."""

    label: str
    code: str | None = None
    envelope: int | None = None
    committed: int = 0
    disbursed: int = 0
    grants: int = 0
    grant_ids: set[uuid.UUID] = field(default_factory=set)
    source_currency: str | None = None
    committed_source_amount: int | None = None
    disbursed_source_amount: int | None = None
    exchange_difference: int | None = None


def _en(text: dict[str, str] | None) -> str:
    return (text or {}).get("en") or ""


@dataclass(frozen=True)
class _Scope:
    currency: str
    call_id: uuid.UUID | None
    window_id: uuid.UUID | None

    def windows(self) -> list[Any]:
        """Conditions on `call_window` (joined to whatever is summed)."""
        conds: list[Any] = []
        if self.call_id is not None:
            conds.append(col(CallWindow.call_id) == self.call_id)
        if self.window_id is not None:
            conds.append(col(CallWindow.id) == self.window_id)
        return conds

    def grants(self) -> list[Any]:
        """Conditions on `grant_award` joined to its `call_window`."""
        return [col(Grant.currency) == self.currency, *self.windows()]


def _signed(kind: Any, value: Any) -> Any:
    """A ledger amount with the sign of its entry: reversals count negative."""
    return case((kind == LedgerEntryKind.REVERSAL, -value), else_=value)


def _int(value: Any) -> int:
    return int(value or 0)


async def _by_grant_attribute(session: AsyncSession, scope: _Scope, by: str) -> dict[str, _Group]:
    """call, window, organisation_kind: each grant falls in exactly one group."""
    net = (
        select(
            col(LedgerEntry.grant_id).label("grant_id"),
            func.sum(_signed(col(LedgerEntry.kind), col(LedgerEntry.amount))).label("net"),
        )
        .group_by(col(LedgerEntry.grant_id))
        .subquery()
    )
    key_col: Any = {
        "call": col(CallWindow.call_id),
        "window": col(CallWindow.id),
        "organisation_kind": col(Organisation.kind),
    }[by]
    stmt = (
        select(
            key_col,
            func.count(col(Grant.id)),
            func.sum(col(Grant.amount)),
            func.sum(net.c.net),
        )
        .select_from(Grant)
        .join(CallWindow, col(CallWindow.id) == col(Grant.window_id))
        .outerjoin(net, net.c.grant_id == col(Grant.id))
        .where(*scope.grants())
        .group_by(key_col)
    )
    if by == "organisation_kind":
        stmt = stmt.join(Organisation, col(Organisation.id) == col(Grant.organisation_id))
    groups: dict[str, _Group] = {}
    figures: dict[Any, tuple[int, int, int]] = {
        key: (_int(n), _int(committed), _int(disbursed))
        for key, n, committed, disbursed in await session.execute(stmt)
    }
    envelopes: dict[Any, int] = {}
    if by in ("call", "window"):
        env_key: Any = col(CallWindow.call_id) if by == "call" else col(CallWindow.id)
        envelopes = {
            key: _int(total)
            for key, total in await session.execute(
                select(env_key, func.sum(col(WindowAllocation.amount)))
                .join(CallWindow, col(CallWindow.id) == col(WindowAllocation.window_id))
                .where(col(WindowAllocation.currency) == scope.currency, *scope.windows())
                .group_by(env_key)
            )
        }
    keys = set(figures) | set(envelopes)
    labels: dict[Any, tuple[str, str | None]] = {}
    if by == "call" and keys:
        labels = {
            cid: (_en(title), None)
            for cid, title in await session.execute(
                select(Call.id, Call.title).where(col(Call.id).in_(keys))
            )
        }
    elif by == "window" and keys:
        labels = {
            wid: (_en(title), code)
            for wid, title, code in await session.execute(
                select(CallWindow.id, CallWindow.title, CallWindow.code).where(
                    col(CallWindow.id).in_(keys)
                )
            )
        }
    for key in keys:
        n, committed, disbursed = figures.get(key, (0, 0, 0))
        code: str | None
        if by == "organisation_kind":
            kind = OrganisationKind(key)
            label, code = _ORGANISATION_KIND_LABELS.get(kind, kind.value), kind.value
        else:
            label, code = labels.get(key, (str(key), None))
        groups[str(key.value if isinstance(key, OrganisationKind) else key)] = _Group(
            label=label,
            code=code,
            envelope=envelopes.get(key, 0) if by in ("call", "window") else None,
            committed=committed,
            disbursed=disbursed,
            grants=n,
        )
    return groups


async def _by_funding_source(session: AsyncSession, scope: _Scope) -> tuple[dict[str, _Group], int]:
    """Envelope from the source's allocations, commitment from the grants' charges, disbursement
    from the ledger's splits; the source-currency figures beside them."""
    envelopes = {
        sid: _int(total)
        for sid, total in await session.execute(
            select(col(WindowAllocation.funding_source_id), func.sum(col(WindowAllocation.amount)))
            .join(CallWindow, col(CallWindow.id) == col(WindowAllocation.window_id))
            .where(col(WindowAllocation.currency) == scope.currency, *scope.windows())
            .group_by(col(WindowAllocation.funding_source_id))
        )
    }
    charged: dict[uuid.UUID, tuple[int, int, int]] = {
        sid: (_int(n), _int(amount), _int(source_amount))
        for sid, n, amount, source_amount in await session.execute(
            select(
                col(GrantCharge.funding_source_id),
                func.count(func.distinct(col(GrantCharge.grant_id))),
                func.sum(col(GrantCharge.amount)),
                func.sum(col(GrantCharge.source_amount)),
            )
            .join(Grant, col(Grant.id) == col(GrantCharge.grant_id))
            .join(CallWindow, col(CallWindow.id) == col(Grant.window_id))
            .where(*scope.grants())
            .group_by(col(GrantCharge.funding_source_id))
        )
    }
    kind = col(LedgerEntry.kind)
    paid: dict[uuid.UUID, tuple[int, int, int]] = {
        sid: (_int(amount), _int(source_amount), _int(difference))
        for sid, amount, source_amount, difference in await session.execute(
            select(
                col(LedgerSplit.funding_source_id),
                func.sum(_signed(kind, col(LedgerSplit.amount))),
                func.sum(_signed(kind, col(LedgerSplit.source_amount))),
                func.sum(
                    _signed(
                        kind,
                        col(LedgerSplit.source_amount) - col(LedgerSplit.committed_source_amount),
                    )
                ),
            )
            .join(LedgerEntry, col(LedgerEntry.id) == col(LedgerSplit.ledger_entry_id))
            .join(Grant, col(Grant.id) == col(LedgerEntry.grant_id))
            .join(CallWindow, col(CallWindow.id) == col(Grant.window_id))
            .where(*scope.grants())
            .group_by(col(LedgerSplit.funding_source_id))
        )
    }
    distinct_grants = _int(
        (
            await session.execute(
                select(func.count(func.distinct(col(GrantCharge.grant_id))))
                .join(Grant, col(Grant.id) == col(GrantCharge.grant_id))
                .join(CallWindow, col(CallWindow.id) == col(Grant.window_id))
                .where(*scope.grants())
            )
        ).scalar_one()
    )
    keys = set(envelopes) | set(charged) | set(paid)
    groups: dict[str, _Group] = {}
    if not keys:
        return groups, distinct_grants
    for sid, code, name, currency in await session.execute(
        select(
            FundingSource.id, FundingSource.code, FundingSource.name, FundingSource.currency
        ).where(col(FundingSource.id).in_(keys))
    ):
        n, committed, committed_source = charged.get(sid, (0, 0, 0))
        disbursed, disbursed_source, difference = paid.get(sid, (0, 0, 0))
        groups[str(sid)] = _Group(
            label=name,
            code=code,
            envelope=envelopes.get(sid, 0),
            committed=committed,
            disbursed=disbursed,
            grants=n,
            source_currency=currency,
            committed_source_amount=committed_source,
            disbursed_source_amount=disbursed_source,
            exchange_difference=difference,
        )
    return groups, distinct_grants


async def _by_action_plan(
    session: AsyncSession, scope: _Scope, by: str
) -> tuple[dict[str, _Group], int]:
    """territory, pcc, action_plan_item: every non-cancelled tranche split equally over its
    items (in item-code order, the leftover minor units to the first items)."""
    rows = await session.execute(
        sa_select(
            col(Tranche.id),
            col(Tranche.grant_id),
            col(Tranche.amount),
            col(Tranche.status),
            col(ActionPlanItem.id),
            col(ActionPlanItem.code),
            col(ActionPlanItem.objective),
            col(Pcc.id),
            col(Pcc.name),
            col(Territory.id),
            col(Territory.code),
            col(Territory.name),
        )
        .select_from(Tranche)
        .join(Grant, col(Grant.id) == col(Tranche.grant_id))
        .join(CallWindow, col(CallWindow.id) == col(Grant.window_id))
        .join(TrancheActionPlanItem, col(TrancheActionPlanItem.tranche_id) == col(Tranche.id))
        .join(
            ActionPlanItem,
            col(ActionPlanItem.id) == col(TrancheActionPlanItem.action_plan_item_id),
        )
        .join(ActionPlan, col(ActionPlan.id) == col(ActionPlanItem.action_plan_id))
        .join(Pcc, col(Pcc.id) == col(ActionPlan.pcc_id))
        .join(Territory, col(Territory.id) == col(Pcc.territory_id))
        .where(col(Tranche.status) != TrancheStatus.CANCELLED, *scope.grants())
        .order_by(col(Tranche.id), col(ActionPlanItem.code), col(ActionPlanItem.id))
    )
    tranches: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        tranches[row[0]].append(row)
    groups: dict[str, _Group] = {}
    all_grants: set[uuid.UUID] = set()
    for items in tranches.values():
        _, grant_id, amount, status, *_rest = items[0]
        all_grants.add(grant_id)
        parts = allocate_pro_rata(amount, [1] * len(items))
        for row, part in zip(items, parts, strict=True):
            item_id, item_code, objective, pcc_id, pcc_name, t_id, t_code, t_name = row[4:]
            if by == "action_plan_item":
                key, label, code = str(item_id), _en(objective), item_code
            elif by == "pcc":
                key, label, code = str(pcc_id), _en(pcc_name), None
            else:
                key, label, code = str(t_id), _en(t_name), t_code
            group = groups.setdefault(key, _Group(label=label, code=code))
            group.committed += part
            if status == TrancheStatus.DISBURSED:
                group.disbursed += part
            group.grant_ids.add(grant_id)
    for group in groups.values():
        group.grants = len(group.grant_ids)
    return groups, len(all_grants)


async def finance_summary(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    by: c.FinanceDimension,
    call_id: uuid.UUID | None,
    window_id: uuid.UUID | None,
    currency: str,
) -> c.FinanceSummaryRead:
    ctx.require(p.can_read_ledger(ctx.actor))
    scope = _Scope(currency=currency, call_id=call_id, window_id=window_id)
    if by in ("call", "window", "organisation_kind"):
        groups = await _by_grant_attribute(session, scope, by)
        grant_total = sum(g.grants for g in groups.values())
    elif by == "funding_source":
        groups, grant_total = await _by_funding_source(session, scope)
    else:
        groups, grant_total = await _by_action_plan(session, scope, by)
    with_envelope = by in _WITH_ENVELOPE
    rows = [
        c.FinanceSummaryRow(
            key=key,
            label=g.label,
            code=g.code,
            currency=currency,
            envelope=g.envelope if with_envelope else None,
            committed=g.committed,
            disbursed=g.disbursed,
            remaining=g.committed - g.disbursed,
            available=(g.envelope or 0) - g.committed if with_envelope else None,
            grants=g.grants,
            source_currency=g.source_currency,
            committed_source_amount=g.committed_source_amount,
            disbursed_source_amount=g.disbursed_source_amount,
            exchange_difference=g.exchange_difference,
        )
        for key, g in sorted(groups.items(), key=lambda kv: (kv[1].label, kv[1].code or "", kv[0]))
    ]
    committed = sum(r.committed for r in rows)
    disbursed = sum(r.disbursed for r in rows)
    envelope = sum(r.envelope or 0 for r in rows) if with_envelope else None
    totals = c.FinanceSummaryTotals(
        currency=currency,
        envelope=envelope,
        committed=committed,
        disbursed=disbursed,
        remaining=committed - disbursed,
        available=envelope - committed if envelope is not None else None,
        grants=grant_total,
    )
    return c.FinanceSummaryRead(
        by=by, currency=currency, call_id=call_id, window_id=window_id, rows=rows, totals=totals
    )


# --- tranches awaiting payment ----------------------------------------------------------------

_AWAITING_PAYMENT = (TrancheStatus.DUE, TrancheStatus.APPROVED)


async def list_upcoming_tranches(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    within_days: int,
    status: c.UpcomingTrancheStatus | None,
    cursor: str | None,
    limit: int,
) -> c.UpcomingTranchePage:
    """Due and approved tranches (whatever their date), and planned ones whose planned date is
    at most `within_days` days from today (Bishkek) — overdue ones included; by planned date."""
    ctx.require(p.can_read_ledger(ctx.actor))
    today = today_in_bishkek()
    horizon = today + timedelta(days=within_days)
    planned_date, tranche_id = col(Tranche.planned_date), col(Tranche.id)
    stmt = (
        sa_select(
            Tranche,
            col(Organisation.name),
            col(Proposal.id),
            col(Proposal.title),
            col(CallWindow.id),
            col(CallWindow.code),
            col(Grant.organisation_id),
            col(Grant.agreement_reference),
        )
        .join(Grant, col(Grant.id) == col(Tranche.grant_id))
        .join(Organisation, col(Organisation.id) == col(Grant.organisation_id))
        .join(Proposal, col(Proposal.id) == col(Grant.proposal_id))
        .join(CallWindow, col(CallWindow.id) == col(Grant.window_id))
        .where(
            or_(
                col(Tranche.status).in_(_AWAITING_PAYMENT),
                and_(col(Tranche.status) == TrancheStatus.PLANNED, planned_date <= horizon),
            )
        )
    )
    if status is not None:
        stmt = stmt.where(col(Tranche.status) == TrancheStatus(status))
    stmt = keyset(stmt, planned_date, tranche_id, cursor, limit)
    rows = list((await session.execute(stmt)).all())
    rows, next_cursor = split_page(rows, limit, lambda r: (r[0].planned_date, r[0].id))
    return c.UpcomingTranchePage(
        as_of=today,
        items=[
            to_read(
                c.UpcomingTrancheRead,
                t,
                organisation_id=org_id,
                organisation_name=org_name,
                proposal_id=proposal_id,
                proposal_title=title,
                window_id=window_id,
                window_code=window_code,
                agreement_reference=agreement,
                overdue=t.planned_date < today,
                days_until=(t.planned_date - today).days,
            )
            for t, org_name, proposal_id, title, window_id, window_code, org_id, agreement in rows
        ],
        next_cursor=next_cursor,
    )


# --- the ledger export ------------------------------------------------------------------------

EXPORT_COLUMNS: tuple[str, ...] = (
    "line",
    "entry_id",
    "kind",
    "value_date",
    "created_at",
    "grant_id",
    "agreement_reference",
    "organisation",
    "tranche_position",
    "reference",
    "amount_minor",
    "amount",
    "currency",
    "funding_source",
    "source_amount_minor",
    "source_amount",
    "source_currency",
    "rate",
    "exchange_difference_minor",
    "exchange_difference",
    "reverses_id",
    "reason",
    "created_by",
    "approved_by",
    "confirmed_by",
)
"""The export's columns, in order. `line` is `entry` for a ledger entry and `split` for the part
of it paid from one funding source (listed right after its entry)."""

_TEXT_COLUMNS = frozenset(
    {
        "agreement_reference",
        "organisation",
        "reference",
        "reason",
        "created_by",
        "approved_by",
        "confirmed_by",
    }
)
"""Free text typed by people: guarded against spreadsheet formula injection."""

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CSV_MEDIA_TYPE = "text/csv"
"""Served as `text/csv; charset=utf-8` (the framework adds the charset to text types)."""
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class ExportLine:
    """One line of the export, typed; CSV and XLSX render it each their own way."""

    line: str
    entry_id: uuid.UUID
    kind: LedgerEntryKind
    value_date: date
    created_at: datetime
    grant_id: uuid.UUID
    agreement_reference: str | None
    organisation: str
    tranche_position: int
    reference: str
    amount_minor: int
    currency: str
    funding_source: str | None
    source_amount_minor: int
    source_currency: str
    rate: Decimal
    exchange_difference_minor: int | None
    reverses_id: uuid.UUID | None
    reason: str | None
    created_by: str
    approved_by: str | None
    confirmed_by: str | None


@dataclass(frozen=True)
class LedgerExport:
    content: bytes
    media_type: str
    filename: str


async def ledger_lines(
    session: AsyncSession, date_from: date | None, date_to: date | None
) -> list[ExportLine]:
    """Every ledger entry with a value date in [from, to], oldest first, each followed by its
    splits (by funding-source code). Two queries, however long the ledger."""
    conds: list[Any] = []
    if date_from is not None:
        conds.append(col(LedgerEntry.value_date) >= date_from)
    if date_to is not None:
        conds.append(col(LedgerEntry.value_date) <= date_to)
    creator, approver, confirmer = aliased(AppUser), aliased(AppUser), aliased(AppUser)
    entries = (
        await session.execute(
            sa_select(
                LedgerEntry,
                col(Grant.agreement_reference),
                col(Organisation.name),
                col(Tranche.position),
                col(creator.email),
                col(approver.email),
                col(confirmer.email),
            )
            .join(Grant, col(Grant.id) == col(LedgerEntry.grant_id))
            .join(Organisation, col(Organisation.id) == col(Grant.organisation_id))
            .join(Tranche, col(Tranche.id) == col(LedgerEntry.tranche_id))
            .join(creator, col(creator.id) == col(LedgerEntry.created_by))
            .outerjoin(approver, col(approver.id) == col(LedgerEntry.approved_by))
            .outerjoin(confirmer, col(confirmer.id) == col(LedgerEntry.confirmed_by))
            .where(*conds)
            .order_by(col(LedgerEntry.value_date), col(LedgerEntry.created_at), col(LedgerEntry.id))
        )
    ).all()
    splits: dict[uuid.UUID, list[tuple[LedgerSplit, str]]] = defaultdict(list)
    for split, code in await session.execute(
        select(LedgerSplit, FundingSource.code)
        .join(FundingSource, col(FundingSource.id) == col(LedgerSplit.funding_source_id))
        .join(LedgerEntry, col(LedgerEntry.id) == col(LedgerSplit.ledger_entry_id))
        .where(*conds)
        .order_by(col(FundingSource.code), col(LedgerSplit.id))
    ):
        splits[split.ledger_entry_id].append((split, code))
    lines: list[ExportLine] = []
    for entry, agreement, organisation, position, created_by, approved_by, confirmed_by in entries:
        sign = -1 if entry.kind == LedgerEntryKind.REVERSAL else 1
        common: dict[str, Any] = {
            "entry_id": entry.id,
            "kind": entry.kind,
            "value_date": entry.value_date,
            "created_at": entry.created_at,
            "grant_id": entry.grant_id,
            "agreement_reference": agreement,
            "organisation": organisation,
            "tranche_position": position,
            "reference": entry.reference,
            "currency": entry.currency,
            "reverses_id": entry.reverses_id,
            "reason": entry.reason,
            "created_by": created_by,
            "approved_by": approved_by,
            "confirmed_by": confirmed_by,
        }
        lines.append(
            ExportLine(
                line="entry",
                amount_minor=entry.amount,
                funding_source=None,
                source_amount_minor=entry.source_amount,
                source_currency=entry.source_currency,
                rate=entry.rate,
                exchange_difference_minor=None,  # on the split lines, in each source's currency
                **common,
            )
        )
        for split, code in splits.get(entry.id, []):
            lines.append(
                ExportLine(
                    line="split",
                    amount_minor=split.amount,
                    funding_source=code,
                    source_amount_minor=split.source_amount,
                    source_currency=split.source_currency,
                    rate=split.rate,
                    exchange_difference_minor=sign
                    * (split.source_amount - split.committed_source_amount),
                    **common,
                )
            )
    return lines


def _bishkek(instant: datetime) -> datetime:
    return instant.astimezone(BISHKEK)


def _guard_text(value: str | None) -> str:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (OWASP advice)."""
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _rate_text(rate: Decimal) -> str:
    """The rate as stored, without trailing zeros beyond the second decimal."""
    text = format(rate.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def _csv_values(x: ExportLine) -> list[str]:
    diff = x.exchange_difference_minor
    values: dict[str, str] = {
        "line": x.line,
        "entry_id": str(x.entry_id),
        "kind": x.kind.value,
        "value_date": x.value_date.isoformat(),
        "created_at": _bishkek(x.created_at).isoformat(timespec="seconds"),
        "grant_id": str(x.grant_id),
        "agreement_reference": _guard_text(x.agreement_reference),
        "organisation": _guard_text(x.organisation),
        "tranche_position": str(x.tranche_position),
        "reference": _guard_text(x.reference),
        "amount_minor": str(x.amount_minor),
        "amount": format_major(x.amount_minor, x.currency),
        "currency": x.currency,
        "funding_source": x.funding_source or "",
        "source_amount_minor": str(x.source_amount_minor),
        "source_amount": format_major(x.source_amount_minor, x.source_currency),
        "source_currency": x.source_currency,
        "rate": _rate_text(x.rate),
        "exchange_difference_minor": "" if diff is None else str(diff),
        "exchange_difference": "" if diff is None else format_major(diff, x.source_currency),
        "reverses_id": str(x.reverses_id) if x.reverses_id else "",
        "reason": _guard_text(x.reason),
        "created_by": _guard_text(x.created_by),
        "approved_by": _guard_text(x.approved_by),
        "confirmed_by": _guard_text(x.confirmed_by),
    }
    return [values[name] for name in EXPORT_COLUMNS]


def render_csv(lines: Iterable[ExportLine]) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads it as UTF-8), comma-separated, CRLF."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for x in lines:
        writer.writerow(_csv_values(x))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render_xlsx(lines: Sequence[ExportLine]) -> bytes:
    """One sheet `Ledger`: bold frozen header, an auto-filter; amounts are numbers in major
    units with the currency's decimals, dates are dates, `created_at` is Bishkek local time."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Ledger"
    ws.append(list(EXPORT_COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    index = {name: i + 1 for i, name in enumerate(EXPORT_COLUMNS)}
    for r, x in enumerate(lines, start=2):
        diff = x.exchange_difference_minor
        values: dict[str, Any] = {
            "line": x.line,
            "entry_id": str(x.entry_id),
            "kind": x.kind.value,
            "value_date": x.value_date,
            "created_at": _bishkek(x.created_at).replace(tzinfo=None, microsecond=0),
            "grant_id": str(x.grant_id),
            "agreement_reference": x.agreement_reference,
            "organisation": x.organisation,
            "tranche_position": x.tranche_position,
            "reference": x.reference,
            "amount_minor": x.amount_minor,
            "amount": to_major(x.amount_minor, x.currency),
            "currency": x.currency,
            "funding_source": x.funding_source,
            "source_amount_minor": x.source_amount_minor,
            "source_amount": to_major(x.source_amount_minor, x.source_currency),
            "source_currency": x.source_currency,
            "rate": x.rate,
            "exchange_difference_minor": diff,
            "exchange_difference": None if diff is None else to_major(diff, x.source_currency),
            "reverses_id": str(x.reverses_id) if x.reverses_id else None,
            "reason": x.reason,
            "created_by": x.created_by,
            "approved_by": x.approved_by,
            "confirmed_by": x.confirmed_by,
        }
        for name, value in values.items():
            cell = ws.cell(row=r, column=index[name], value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text a person typed, never a formula
        ws.cell(row=r, column=index["value_date"]).number_format = "yyyy-mm-dd"
        ws.cell(row=r, column=index["created_at"]).number_format = "yyyy-mm-dd hh:mm:ss"
        ws.cell(row=r, column=index["amount"]).number_format = number_pattern(x.currency)
        for name in ("source_amount", "exchange_difference"):
            ws.cell(row=r, column=index[name]).number_format = number_pattern(x.source_currency)
        ws.cell(row=r, column=index["rate"]).number_format = "0.00######"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    widths = {"entry_id": 38, "grant_id": 38, "reverses_id": 38, "organisation": 30}
    for name, i in index.items():
        ws.column_dimensions[get_column_letter(i)].width = widths.get(name, max(12, len(name) + 2))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def export_ledger(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    file_format: c.LedgerExportFormat,
    date_from: date | None,
    date_to: date | None,
) -> LedgerExport:
    ctx.require(p.can_read_ledger(ctx.actor))
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(
            "`from` is after `to`",
            [ValidationIssue(field="query.from", message="must not be after `to`")],
        )
    lines = await ledger_lines(session, date_from, date_to)
    stamp = today_in_bishkek().isoformat()
    if file_format == "xlsx":
        return LedgerExport(render_xlsx(lines), XLSX_MEDIA_TYPE, f"ledger-{stamp}.xlsx")
    return LedgerExport(render_csv(lines), CSV_MEDIA_TYPE, f"ledger-{stamp}.csv")
