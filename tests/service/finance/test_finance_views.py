"""Finance views: the summary by dimension, tranches awaiting payment, the ledger export.

The world below is built from ORM rows; every figure asserted is computed by hand in the comments
next to the rows, never by the code under test.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.client import ApiError, GrantsClient
from contracts.enums import (
    FundingSourceKind,
    LedgerEntryKind,
    OrganisationKind,
    Role,
    TrancheStatus,
)
from contracts.finance import FinanceDimension, FinanceSummaryRead, FinanceSummaryRow
from service.context import Clock
from service.finance.views import EXPORT_COLUMNS, format_major, minor_unit_exponent, to_major
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
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
from tests.conftest import MakeOrganisation, MakeUser, Person, QueryCounter

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

BISHKEK = ZoneInfo("Asia/Bishkek")
TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=BISHKEK)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INJECTION = '=HYPERLINK("http://evil.example","click")'


@dataclass
class World:
    finance: Person
    approver: Person
    reviewer: Person
    applicant: Person
    anonymous: GrantsClient
    call: Call
    usd_call: Call
    w1: CallWindow
    w2: CallWindow
    w3: CallWindow
    kgs: FundingSource
    usd: FundingSource
    osh: Territory
    batken: Territory
    pcc_osh: Pcc
    pcc_batken: Pcc
    i1: ActionPlanItem
    i2: ActionPlanItem
    i3: ActionPlanItem
    org_a: Organisation
    org_b: Organisation
    ga: Grant
    gb: Grant
    gc: Grant
    gd: Grant
    t: dict[str, Tranche]
    d1: LedgerEntry
    d2: LedgerEntry
    r1: LedgerEntry


async def _add(session: AsyncSession, *rows: Any) -> None:
    session.add_all(rows)
    await session.flush()


@pytest.fixture
async def world(
    session: AsyncSession,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    territory: Territory,
    client: GrantsClient,
    frozen_clock: Clock,
) -> World:
    frozen_clock.frozen = NOW
    finance = await make_user(Role.FINANCE_OFFICER)
    approver = await make_user(Role.FINANCE_OFFICER)
    reviewer = await make_user(Role.REVIEWER)
    tag = uuid.uuid4().hex[:6].upper()

    # places, PCCs, plans, items: Osh has items 1.1 and 1.2, Batken has 2.1
    osh = territory
    batken = Territory(
        code=f"batken-{tag}",
        kind="city",
        name={"en": "Batken", "ru": "Баткен"},
        region={"en": "Batken"},
    )
    await _add(session, batken)
    pcc_osh = Pcc(territory_id=osh.id, name={"en": "Osh PCC"})
    pcc_batken = Pcc(territory_id=batken.id, name={"en": "Batken PCC"})
    await _add(session, pcc_osh, pcc_batken)
    plan_osh = ActionPlan(
        pcc_id=pcc_osh.id,
        title={"en": "Osh plan"},
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    plan_batken = ActionPlan(
        pcc_id=pcc_batken.id,
        title={"en": "Batken plan"},
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    await _add(session, plan_osh, plan_batken)

    def item(plan: ActionPlan, code: str, objective: str, first_hex: str) -> ActionPlanItem:
        return ActionPlanItem(
            id=uuid.UUID(first_hex + uuid.uuid4().hex[1:]),
            action_plan_id=plan.id,
            code=code,
            objective={"en": objective},
            activities="a",
            budget_estimate=1_000_000,
        )

    # ids in the reverse of code order: a split by id order would give other parts
    i1 = item(plan_osh, "1.1", "Youth dialogue", "f")
    i2 = item(plan_osh, "1.2", "Women mediators", "8")
    i3 = item(plan_batken, "2.1", "Water-use committees", "0")
    await _add(session, i1, i2, i3)

    # funding sources: one in KGS, one in USD (codes sort KGS… before PBF…)
    kgs = FundingSource(
        code=f"KGS-LOCAL-{tag}", name="Local co-funding", kind=FundingSourceKind.DONOR
    )
    usd = FundingSource(
        code=f"PBF-USD-{tag}", name="PBF via UNDP", kind=FundingSourceKind.DONOR, currency="USD"
    )
    await _add(session, kgs, usd)

    # calls and windows: C1 (KGS) with W1, W2; C2 (USD) with W3
    call = Call(
        title={"en": "Peace call"},
        description={"en": "d"},
        created_by=finance.id,
        status="published",
    )
    usd_call = Call(
        title={"en": "Dollar call"},
        description={"en": "d"},
        currency="USD",
        created_by=finance.id,
        status="published",
    )
    await _add(session, call, usd_call)

    def window(c: Call, code: str, position: int, currency: str = "KGS") -> CallWindow:
        return CallWindow(
            call_id=c.id,
            code=code,
            position=position,
            title={"en": f"Window {code}"},
            opens_at=datetime(2026, 1, 1, tzinfo=UTC),
            closes_at=datetime(2026, 2, 1, tzinfo=UTC),
            min_grant=1,
            max_grant=10_000_000,
            currency=currency,
            status="published",
        )

    w1, w2, w3 = window(call, "W1", 0), window(call, "W2", 1), window(usd_call, "W3", 0, "USD")
    await _add(session, w1, w2, w3)
    # envelopes: W1 = 600 000 + 400 000 = 1 000 000; W2 = 300 000; C1 = 1 300 000; W3 = 10 000 USD
    await _add(
        session,
        WindowAllocation(window_id=w1.id, funding_source_id=kgs.id, amount=600_000),
        WindowAllocation(window_id=w1.id, funding_source_id=usd.id, amount=400_000),
        WindowAllocation(window_id=w2.id, funding_source_id=kgs.id, amount=300_000),
        WindowAllocation(window_id=w3.id, funding_source_id=usd.id, amount=10_000, currency="USD"),
    )

    org_a = await make_organisation(name="Osh Dialogue Centre", kind=OrganisationKind.CSO)
    org_b = await make_organisation(
        name="Batken Youth", kind=OrganisationKind.YOUTH_GROUP, territory_id=batken.id
    )
    applicant = await make_user(member_of=(org_a,))

    def proposal(w: CallWindow, org: Organisation, title: str, currency: str = "KGS") -> Proposal:
        return Proposal(
            window_id=w.id,
            organisation_id=org.id,
            title=title,
            summary="s",
            currency=currency,
            created_by=applicant.id,
        )

    pa = proposal(w1, org_a, "Dialogue in Osh")
    pb = proposal(w1, org_b, "Water peace")
    pc = proposal(w2, org_a, "Mediators network")
    pd = proposal(w3, org_a, "Dollar project", "USD")
    await _add(session, pa, pb, pc, pd)

    def grant(p: Proposal, amount: int, ref: str, disbursed: int = 0) -> Grant:
        return Grant(
            proposal_id=p.id,
            organisation_id=p.organisation_id,
            window_id=p.window_id,
            amount=amount,
            currency=p.currency,
            start_date=date(2026, 2, 1),
            end_date=date(2027, 1, 31),
            agreement_reference=f"{ref}-{tag}",
            disbursed_amount=disbursed,
            created_by=finance.id,
        )

    ga = grant(pa, 300_001, "AGR-A", disbursed=100_001)
    gb = grant(pb, 150_000, "AGR-B")
    gc = grant(pc, 90_000, "AGR-C")
    gd = grant(pd, 5_000, "AGR-D")
    await _add(session, ga, gb, gc, gd)

    def charge(g: Grant, s: FundingSource, amount: int, source_amount: int, rate: str) -> Any:
        return GrantCharge(
            grant_id=g.id,
            funding_source_id=s.id,
            amount=amount,
            currency=g.currency,
            source_amount=source_amount,
            source_currency=s.currency,
            rate=Decimal(rate),
        )

    await _add(
        session,
        charge(ga, kgs, 180_001, 180_001, "1"),
        charge(ga, usd, 120_000, 1_500, "80"),  # 1 200.00 KGS at 80 = 15.00 USD
        charge(gb, kgs, 90_000, 90_000, "1"),
        charge(gb, usd, 60_000, 750, "80"),  # 600.00 KGS at 80 = 7.50 USD
        charge(gc, kgs, 90_000, 90_000, "1"),
        charge(gd, usd, 5_000, 5_000, "1"),
    )

    approved_at = datetime(2026, 2, 20, tzinfo=UTC)

    def tranche(
        g: Grant, position: int, amount: int, status: TrancheStatus, planned: date
    ) -> Tranche:
        approved = status in (TrancheStatus.APPROVED, TrancheStatus.DISBURSED)
        return Tranche(
            grant_id=g.id,
            position=position,
            amount=amount,
            currency=g.currency,
            planned_date=planned,
            status=status,
            approved_by=approver.id if approved else None,
            approved_at=approved_at if approved else None,
            cancelled_reason="no longer needed" if status == TrancheStatus.CANCELLED else None,
        )

    t = {
        # GA = 100 001 + 200 000 (T3 was cancelled and is no longer part of GA's amount)
        "T1": tranche(ga, 0, 100_001, TrancheStatus.DISBURSED, date(2026, 3, 1)),
        "T2": tranche(ga, 1, 200_000, TrancheStatus.APPROVED, date(2026, 6, 1)),
        "T3": tranche(ga, 2, 50_000, TrancheStatus.CANCELLED, date(2026, 5, 1)),
        # GB: its one tranche was paid, the payment reversed, so it is due again
        "T4": tranche(gb, 0, 150_000, TrancheStatus.DUE, date(2026, 6, 15)),
        # GC = 40 000 + 30 000 + 20 000, all planned
        "T5": tranche(gc, 0, 40_000, TrancheStatus.PLANNED, date(2026, 6, 10)),
        "T7": tranche(gc, 1, 30_000, TrancheStatus.PLANNED, date(2026, 8, 14)),
        "T8": tranche(gc, 2, 20_000, TrancheStatus.PLANNED, date(2026, 8, 15)),
        # GD (USD)
        "T6": tranche(gd, 0, 5_000, TrancheStatus.DUE, date(2026, 12, 1)),
    }
    await _add(session, *t.values())
    links = {
        "T1": [i1, i2, i3],
        "T2": [i1],
        "T3": [i2],
        "T4": [i3],
        "T5": [i2],
        "T7": [i2],
        "T8": [i2],
        "T6": [i3],
    }
    await _add(
        session,
        *(
            TrancheActionPlanItem(tranche_id=t[name].id, action_plan_item_id=it.id)
            for name, items in links.items()
            for it in items
        ),
    )

    def entry(
        tr: Tranche,
        kind: LedgerEntryKind,
        value_date: date,
        created_at: datetime,
        reference: str,
        reverses: LedgerEntry | None = None,
        reason: str | None = None,
    ) -> LedgerEntry:
        return LedgerEntry(
            tranche_id=tr.id,
            grant_id=tr.grant_id,
            kind=kind,
            amount=tr.amount,
            currency="KGS",
            source_amount=tr.amount,
            source_currency="KGS",
            rate=Decimal("1"),
            value_date=value_date,
            reference=reference,
            reverses_id=reverses.id if reverses else None,
            reason=reason,
            approved_by=approver.id if kind == LedgerEntryKind.DISBURSEMENT else None,
            created_by=finance.id,
            created_at=created_at,
        )

    d1 = entry(
        t["T1"],
        LedgerEntryKind.DISBURSEMENT,
        date(2026, 3, 5),
        datetime(2026, 3, 5, 4, 0, tzinfo=UTC),  # 10:00 in Bishkek
        "PAY-1",
    )
    d2 = entry(
        t["T4"],
        LedgerEntryKind.DISBURSEMENT,
        date(2026, 4, 10),
        datetime(2026, 4, 10, 5, 30, tzinfo=UTC),
        "PAY-2",
    )
    await _add(session, d1, d2)
    r1 = entry(
        t["T4"],
        LedgerEntryKind.REVERSAL,
        date(2026, 4, 20),
        datetime(2026, 4, 20, 20, 15, tzinfo=UTC),  # 02:15 the next day in Bishkek
        "REV-2",
        reverses=d2,
        reason=INJECTION,
    )
    await _add(session, r1)

    def split(
        e: LedgerEntry, s: FundingSource, amount: int, paid: int, committed: int, rate: str
    ) -> LedgerSplit:
        return LedgerSplit(
            ledger_entry_id=e.id,
            funding_source_id=s.id,
            amount=amount,
            source_amount=paid,
            committed_source_amount=committed,
            source_currency=s.currency,
            rate=Decimal(rate),
        )

    await _add(
        session,
        # D1 100 001 = 60 001 (KGS) + 40 000 (USD: 400.00 KGS at 82 = 4.88 USD; at 80 = 5.00)
        split(d1, kgs, 60_001, 60_001, 60_001, "1"),
        split(d1, usd, 40_000, 488, 500, "82"),
        # D2 150 000 = 90 000 + 60 000 (600.00 KGS at 78 = 7.69 USD; at 80 = 7.50)
        split(d2, kgs, 90_000, 90_000, 90_000, "1"),
        split(d2, usd, 60_000, 769, 750, "78"),
        # R1 undoes D2 exactly
        split(r1, kgs, 90_000, 90_000, 90_000, "1"),
        split(r1, usd, 60_000, 769, 750, "78"),
    )
    return World(
        finance=finance,
        approver=approver,
        reviewer=reviewer,
        applicant=applicant,
        anonymous=client,
        call=call,
        usd_call=usd_call,
        w1=w1,
        w2=w2,
        w3=w3,
        kgs=kgs,
        usd=usd,
        osh=osh,
        batken=batken,
        pcc_osh=pcc_osh,
        pcc_batken=pcc_batken,
        i1=i1,
        i2=i2,
        i3=i3,
        org_a=org_a,
        org_b=org_b,
        ga=ga,
        gb=gb,
        gc=gc,
        gd=gd,
        t=t,
        d1=d1,
        d2=d2,
        r1=r1,
    )


# --- major units ------------------------------------------------------------------------------


def test_format_major_is_exact_for_every_sign_and_exponent() -> None:
    assert format_major(123_456, "KGS") == "1234.56"
    assert format_major(100_001, "KGS") == "1000.01"
    assert format_major(5, "USD") == "0.05"
    assert format_major(-5, "EUR") == "-0.05"
    assert format_major(-12_300, "KGS") == "-123.00"
    assert format_major(0, "KGS") == "0.00"
    assert format_major(10**15 + 1, "KGS") == "10000000000000.01"
    assert format_major(7, "JPY") == "7"
    assert format_major(1_234, "KWD") == "1.234"
    assert minor_unit_exponent("kgs") == 2
    assert to_major(-199, "USD") == Decimal("-1.99")
    assert str(to_major(100, "KGS")) == "1.00"


# --- the summary ------------------------------------------------------------------------------


def _rows(summary: FinanceSummaryRead) -> dict[str, FinanceSummaryRow]:
    return {r.key: r for r in summary.rows}


def _figures(r: FinanceSummaryRow) -> tuple[int | None, int, int, int, int | None, int]:
    return (r.envelope, r.committed, r.disbursed, r.remaining, r.available, r.grants)


async def test_summary_by_call_sums_windows_and_the_ledger(world: World) -> None:
    s = await world.finance.client.get_finance_summary("call")
    assert s.by == "call"
    assert s.currency == "KGS"
    # only the KGS call: envelope 1 300 000, committed 300 001 + 150 000 + 90 000, disbursed
    # 100 001 + 150 000 − 150 000 (the reversal)
    assert [(r.key, r.label, r.currency) for r in s.rows] == [
        (str(world.call.id), "Peace call", "KGS")
    ]
    assert _figures(s.rows[0]) == (1_300_000, 540_001, 100_001, 440_000, 759_999, 3)
    assert s.rows[0].source_currency is None
    assert s.rows[0].exchange_difference is None
    assert (s.totals.envelope, s.totals.committed, s.totals.disbursed) == (
        1_300_000,
        540_001,
        100_001,
    )
    assert (s.totals.remaining, s.totals.available, s.totals.grants) == (440_000, 759_999, 3)


async def test_summary_by_window(world: World) -> None:
    s = await world.finance.client.get_finance_summary("window", call_id=world.call.id)
    rows = _rows(s)
    assert set(rows) == {str(world.w1.id), str(world.w2.id)}
    w1, w2 = rows[str(world.w1.id)], rows[str(world.w2.id)]
    assert (w1.label, w1.code, w2.label, w2.code) == ("Window W1", "W1", "Window W2", "W2")
    assert _figures(w1) == (1_000_000, 450_001, 100_001, 350_000, 549_999, 2)
    assert _figures(w2) == (300_000, 90_000, 0, 90_000, 210_000, 1)
    assert s.call_id == world.call.id

    only_w2 = await world.finance.client.get_finance_summary("window", window_id=world.w2.id)
    assert [r.key for r in only_w2.rows] == [str(world.w2.id)]
    assert only_w2.totals.committed == 90_000


async def test_summary_by_organisation_kind(world: World) -> None:
    s = await world.finance.client.get_finance_summary("organisation_kind")
    rows = _rows(s)
    assert set(rows) == {"cso", "youth_group"}
    assert rows["cso"].label == "Civil-society organisation"
    assert rows["youth_group"].label == "Youth group"
    assert _figures(rows["cso"]) == (None, 390_001, 100_001, 290_000, None, 2)
    assert _figures(rows["youth_group"]) == (None, 150_000, 0, 150_000, None, 1)
    assert (s.totals.envelope, s.totals.available, s.totals.grants) == (None, None, 3)


async def test_summary_by_funding_source_shows_source_currency_and_exchange_difference(
    world: World,
) -> None:
    s = await world.finance.client.get_finance_summary("funding_source")
    rows = _rows(s)
    assert set(rows) == {str(world.kgs.id), str(world.usd.id)}
    kgs, usd = rows[str(world.kgs.id)], rows[str(world.usd.id)]
    assert (kgs.label, kgs.code) == ("Local co-funding", world.kgs.code)
    # KGS: envelope 600 000 + 300 000; charges 180 001 + 90 000 + 90 000; paid 60 001 (+90 000
    # −90 000)
    assert _figures(kgs) == (900_000, 360_001, 60_001, 300_000, 539_999, 3)
    assert (kgs.source_currency, kgs.committed_source_amount, kgs.disbursed_source_amount) == (
        "KGS",
        360_001,
        60_001,
    )
    assert kgs.exchange_difference == 0
    # USD: envelope 400 000; charges 120 000 + 60 000; paid 40 000 (+60 000 −60 000)
    assert _figures(usd) == (400_000, 180_000, 40_000, 140_000, 220_000, 2)
    # in USD cents: committed 1 500 + 750; paid 488 (+769 −769); exchange difference
    # (488 − 500) + (769 − 750) − (769 − 750) = −12: the reversal undoes D2's difference
    assert (usd.source_currency, usd.committed_source_amount, usd.disbursed_source_amount) == (
        "USD",
        2_250,
        488,
    )
    assert usd.exchange_difference == -12
    assert (s.totals.envelope, s.totals.committed, s.totals.disbursed, s.totals.grants) == (
        1_300_000,
        540_001,
        100_001,
        3,
    )


async def test_summary_in_another_currency_sums_only_its_grants(world: World) -> None:
    s = await world.finance.client.get_finance_summary("funding_source", currency="USD")
    assert [r.key for r in s.rows] == [str(world.usd.id)]
    usd = s.rows[0]
    assert usd.currency == "USD"
    assert _figures(usd) == (10_000, 5_000, 0, 5_000, 5_000, 1)
    assert (usd.committed_source_amount, usd.disbursed_source_amount) == (5_000, 0)
    by_call = await world.finance.client.get_finance_summary("call", currency="USD")
    assert [(r.key, r.label) for r in by_call.rows] == [(str(world.usd_call.id), "Dollar call")]


async def test_summary_by_action_plan_item_splits_tranches_equally_and_exactly(
    world: World,
) -> None:
    s = await world.finance.client.get_finance_summary("action_plan_item")
    rows = _rows(s)
    assert set(rows) == {str(world.i1.id), str(world.i2.id), str(world.i3.id)}
    i1, i2, i3 = rows[str(world.i1.id)], rows[str(world.i2.id)], rows[str(world.i3.id)]
    assert [(r.code, r.label) for r in s.rows] == [
        ("2.1", "Water-use committees"),
        ("1.2", "Women mediators"),
        ("1.1", "Youth dialogue"),
    ]
    # T1 = 100 001 over 1.1, 1.2, 2.1 (code order) = 33 334 + 33 334 + 33 333, disbursed
    # 1.1: 33 334 + T2 200 000; 1.2: 33 334 + T5..T8 90 000 (T3 cancelled: not counted)
    # 2.1: 33 333 + T4 150 000 (due again after the reversal: not disbursed)
    assert _figures(i1) == (None, 233_334, 33_334, 200_000, None, 1)
    assert _figures(i2) == (None, 123_334, 33_334, 90_000, None, 2)
    assert _figures(i3) == (None, 183_333, 33_333, 150_000, None, 2)
    assert i1.disbursed + i2.disbursed + i3.disbursed == world.t["T1"].amount
    assert (s.totals.committed, s.totals.disbursed, s.totals.grants) == (540_001, 100_001, 3)

    w2 = await world.finance.client.get_finance_summary("action_plan_item", window_id=world.w2.id)
    assert [(r.key, r.committed, r.disbursed, r.grants) for r in w2.rows] == [
        (str(world.i2.id), 90_000, 0, 1)
    ]


async def test_summary_by_territory_and_pcc_follow_items_to_their_places(world: World) -> None:
    by_territory = await world.finance.client.get_finance_summary("territory")
    rows = _rows(by_territory)
    osh, batken = rows[str(world.osh.id)], rows[str(world.batken.id)]
    assert set(rows) == {str(world.osh.id), str(world.batken.id)}
    assert (osh.label, osh.code, batken.label) == ("Osh", world.osh.code, "Batken")
    # Osh = items 1.1 + 1.2; Batken = item 2.1
    assert _figures(osh) == (None, 356_668, 66_668, 290_000, None, 2)
    assert _figures(batken) == (None, 183_333, 33_333, 150_000, None, 2)

    by_pcc = await world.finance.client.get_finance_summary("pcc")
    rows = _rows(by_pcc)
    assert set(rows) == {str(world.pcc_osh.id), str(world.pcc_batken.id)}
    assert rows[str(world.pcc_osh.id)].label == "Osh PCC"
    assert _figures(rows[str(world.pcc_osh.id)]) == _figures(osh)
    assert _figures(rows[str(world.pcc_batken.id)]) == _figures(batken)


DIMENSIONS: list[FinanceDimension] = [
    "call",
    "window",
    "territory",
    "pcc",
    "action_plan_item",
    "funding_source",
    "organisation_kind",
]


@pytest.mark.parametrize("by", DIMENSIONS)
async def test_summary_rows_add_up_to_the_totals(world: World, by: FinanceDimension) -> None:
    s = await world.finance.client.get_finance_summary(by)
    assert s.rows
    for r in s.rows:
        assert r.remaining == r.committed - r.disbursed
        if r.envelope is not None:
            assert r.available == r.envelope - r.committed
    t = s.totals
    assert t.committed == sum(r.committed for r in s.rows) == 540_001
    assert t.disbursed == sum(r.disbursed for r in s.rows) == 100_001
    assert t.remaining == sum(r.remaining for r in s.rows) == t.committed - t.disbursed
    assert t.grants == 3
    if by in ("call", "window", "funding_source"):
        assert t.envelope == sum(r.envelope or 0 for r in s.rows) == 1_300_000
        assert t.available == t.envelope - t.committed
    else:
        assert (t.envelope, t.available) == (None, None)
        assert all(r.envelope is None and r.available is None for r in s.rows)


async def test_summary_query_count_does_not_grow_with_grants(
    world: World,
    session: AsyncSession,
    make_organisation: MakeOrganisation,
    count_queries: QueryCounter,
) -> None:
    async def counts() -> dict[str, tuple[int, int]]:
        out = {}
        for by in DIMENSIONS:
            count_queries.count = 0
            s = await world.finance.client.get_finance_summary(by)
            out[by] = (count_queries.count, s.totals.grants)
        return out

    before = await counts()
    org = await make_organisation(kind=OrganisationKind.WOMEN_LED)
    p = Proposal(
        window_id=world.w2.id,
        organisation_id=org.id,
        title="One more",
        summary="s",
        created_by=world.applicant.id,
    )
    await _add(session, p)
    g = Grant(
        proposal_id=p.id,
        organisation_id=org.id,
        window_id=world.w2.id,
        amount=10_000,
        start_date=date(2026, 2, 1),
        end_date=date(2026, 12, 31),
        created_by=world.finance.id,
    )
    await _add(session, g)
    tr = Tranche(grant_id=g.id, position=0, amount=10_000, planned_date=date(2026, 9, 1))
    await _add(
        session,
        tr,
        GrantCharge(
            grant_id=g.id,
            funding_source_id=world.kgs.id,
            amount=10_000,
            source_amount=10_000,
            source_currency="KGS",
            rate=Decimal(1),
        ),
    )
    await _add(session, TrancheActionPlanItem(tranche_id=tr.id, action_plan_item_id=world.i3.id))
    after = await counts()
    assert {by: n for by, (_, n) in after.items()} == dict.fromkeys(DIMENSIONS, 4)
    assert {by: q for by, (q, _) in after.items()} == {by: q for by, (q, _) in before.items()}
    # a handful each: 5 by funding source (envelopes, charges, splits, grants, names), 3 by
    # call or window, 1 for the rest, plus the request's own (signing in and its transaction)
    assert max(q for q, _ in after.values()) - min(q for q, _ in after.values()) == 4


async def test_summary_refuses_an_unknown_dimension(world: World) -> None:
    with pytest.raises(ApiError) as err:
        await world.finance.client.get_finance_summary("grantee")  # type: ignore[arg-type]
    assert err.value.status == 422


# --- tranches awaiting payment ----------------------------------------------------------------


async def test_upcoming_tranches_by_planned_date_with_overdue_flag(world: World) -> None:
    page = await world.finance.client.list_upcoming_tranches()
    assert page.as_of == TODAY
    t = world.t
    # due/approved whatever the date; planned up to 60 days ahead (to 14 August), overdue too
    assert [(i.id, i.status, i.planned_date, i.overdue, i.days_until) for i in page.items] == [
        (t["T2"].id, TrancheStatus.APPROVED, date(2026, 6, 1), True, -14),
        (t["T5"].id, TrancheStatus.PLANNED, date(2026, 6, 10), True, -5),
        (t["T4"].id, TrancheStatus.DUE, date(2026, 6, 15), False, 0),
        (t["T7"].id, TrancheStatus.PLANNED, date(2026, 8, 14), False, 60),
        (t["T6"].id, TrancheStatus.DUE, date(2026, 12, 1), False, 169),
    ]
    first = page.items[0]
    assert (first.grant_id, first.position, first.amount, first.currency) == (
        world.ga.id,
        1,
        200_000,
        "KGS",
    )
    assert (first.organisation_name, first.proposal_title, first.window_code) == (
        "Osh Dialogue Centre",
        "Dialogue in Osh",
        "W1",
    )
    assert first.agreement_reference == world.ga.agreement_reference
    last = page.items[-1]
    assert (last.window_code, last.currency, last.amount) == ("W3", "USD", 5_000)
    assert page.next_cursor is None


async def test_upcoming_tranches_horizon_and_status_filter(world: World) -> None:
    t = world.t
    wider = await world.finance.client.list_upcoming_tranches(within_days=61)
    assert [i.id for i in wider.items] == [
        t["T2"].id,
        t["T5"].id,
        t["T4"].id,
        t["T7"].id,
        t["T8"].id,
        t["T6"].id,
    ]
    planned = await world.finance.client.list_upcoming_tranches(status="planned")
    assert [i.id for i in planned.items] == [t["T5"].id, t["T7"].id]
    none_ahead = await world.finance.client.list_upcoming_tranches(within_days=0, status="planned")
    assert [i.id for i in none_ahead.items] == [t["T5"].id]  # only the overdue one
    with pytest.raises(ApiError) as err:
        await world.finance.client.list_upcoming_tranches(status="disbursed")  # type: ignore[arg-type]
    assert err.value.status == 422


async def test_upcoming_tranches_pages_by_cursor(world: World) -> None:
    t = world.t
    seen: list[uuid.UUID] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await world.finance.client.list_upcoming_tranches(cursor=cursor, limit=2)
        pages += 1
        seen.extend(i.id for i in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert seen == [t["T2"].id, t["T5"].id, t["T4"].id, t["T7"].id, t["T6"].id]
    with pytest.raises(ApiError) as err:
        await world.finance.client.list_upcoming_tranches(cursor="not-a-cursor")
    assert err.value.status == 422


async def test_upcoming_tranches_query_count_does_not_grow(
    world: World, session: AsyncSession, count_queries: QueryCounter
) -> None:
    count_queries.count = 0
    before = await world.finance.client.list_upcoming_tranches(within_days=0, status="approved")
    one = count_queries.count
    # two more approved tranches, of other grants and organisations
    for n, g in enumerate((world.gb, world.gc), start=10):
        session.add(
            Tranche(
                grant_id=g.id,
                position=n,
                amount=1,
                planned_date=date(2026, 7, 1),
                status=TrancheStatus.APPROVED,
                approved_by=world.approver.id,
                approved_at=datetime(2026, 6, 1, tzinfo=UTC),
            )
        )
    await session.flush()
    count_queries.count = 0
    after = await world.finance.client.list_upcoming_tranches(within_days=0, status="approved")
    assert (len(before.items), len(after.items)) == (1, 3)
    assert count_queries.count == one


# --- the ledger export ------------------------------------------------------------------------


def _expected_export(w: World) -> list[dict[str, str]]:
    """The ledger as the export should give it, written out by hand."""
    fin, appr = w.finance.user.email, w.approver.user.email

    def line(
        e: LedgerEntry,
        g: Grant,
        org: str,
        position: int,
        created: str,
        kind: str,
        **cells: str,
    ) -> dict[str, str]:
        base = {
            "entry_id": str(e.id),
            "kind": kind,
            "value_date": e.value_date.isoformat(),
            "created_at": created,
            "grant_id": str(g.id),
            "agreement_reference": g.agreement_reference or "",
            "organisation": org,
            "tranche_position": str(position),
            "reference": e.reference,
            "currency": "KGS",
            "reverses_id": str(e.reverses_id) if e.reverses_id else "",
            "reason": "",
            "created_by": fin,
            "approved_by": appr if kind == "disbursement" else "",
            "confirmed_by": "",
        }
        base.update(cells)
        return base

    def entry(amount: str, minor: str) -> dict[str, str]:
        return {
            "line": "entry",
            "amount_minor": minor,
            "amount": amount,
            "funding_source": "",
            "source_amount_minor": minor,
            "source_amount": amount,
            "source_currency": "KGS",
            "rate": "1.00",
            "exchange_difference_minor": "",
            "exchange_difference": "",
        }

    def split(
        source: FundingSource,
        minor: str,
        amount: str,
        src_minor: str,
        src: str,
        rate: str,
        diff_minor: str,
        diff: str,
    ) -> dict[str, str]:
        return {
            "line": "split",
            "amount_minor": minor,
            "amount": amount,
            "funding_source": source.code,
            "source_amount_minor": src_minor,
            "source_amount": src,
            "source_currency": source.currency,
            "rate": rate,
            "exchange_difference_minor": diff_minor,
            "exchange_difference": diff,
        }

    a, b = "Osh Dialogue Centre", "Batken Youth"
    d1 = (w.d1, w.ga, a, 0, "2026-03-05T10:00:00+06:00", "disbursement")
    d2 = (w.d2, w.gb, b, 0, "2026-04-10T11:30:00+06:00", "disbursement")
    r1 = (w.r1, w.gb, b, 0, "2026-04-21T02:15:00+06:00", "reversal")
    reason = {"reason": "'" + INJECTION}  # a formula typed by someone is shown as text
    kgs_d1 = split(w.kgs, "60001", "600.01", "60001", "600.01", "1.00", "0", "0.00")
    usd_d1 = split(w.usd, "40000", "400.00", "488", "4.88", "82.00", "-12", "-0.12")
    kgs_d2 = split(w.kgs, "90000", "900.00", "90000", "900.00", "1.00", "0", "0.00")
    usd_d2 = split(w.usd, "60000", "600.00", "769", "7.69", "78.00", "19", "0.19")
    usd_r1 = split(w.usd, "60000", "600.00", "769", "7.69", "78.00", "-19", "-0.19")
    return [
        line(*d1, **entry("1000.01", "100001")),
        line(*d1, **kgs_d1),
        line(*d1, **usd_d1),
        line(*d2, **entry("1500.00", "150000")),
        line(*d2, **kgs_d2),
        line(*d2, **usd_d2),
        line(*r1, **entry("1500.00", "150000"), **reason),
        line(*r1, **kgs_d2, **reason),
        line(*r1, **usd_r1, **reason),
    ]


async def test_ledger_export_csv_parses_back_to_the_ledger(world: World) -> None:
    content, content_type = await world.finance.client.get_ledger_export("csv")
    assert content_type == "text/csv; charset=utf-8"
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    assert reader.fieldnames == list(EXPORT_COLUMNS)
    assert list(reader) == _expected_export(world)


async def test_ledger_export_is_a_named_download(world: World, http: Any) -> None:
    resp = await http.get(
        "ledger-entries/export",
        params={"format": "xlsx"},
        headers={"authorization": f"Bearer {world.finance.token}"},
    )
    assert resp.status_code == 200
    assert resp.headers["content-disposition"].startswith(
        'attachment; filename="ledger-2026-06-15.xlsx"'
    )
    assert resp.headers["x-content-type-options"] == "nosniff"
    resp = await http.get(
        "ledger-entries/export", headers={"authorization": f"Bearer {world.finance.token}"}
    )
    assert resp.headers["content-disposition"].startswith(
        'attachment; filename="ledger-2026-06-15.csv"'
    )


async def test_ledger_export_filters_by_value_date(world: World) -> None:
    content, _ = await world.finance.client.get_ledger_export(
        "csv", date_from=date(2026, 4, 1), date_to=date(2026, 4, 20)
    )
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert rows == _expected_export(world)[3:]
    content, _ = await world.finance.client.get_ledger_export("csv", date_to=date(2026, 4, 19))
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert [(r["entry_id"], r["line"]) for r in rows] == [
        (str(world.d1.id), "entry"),
        (str(world.d1.id), "split"),
        (str(world.d1.id), "split"),
        (str(world.d2.id), "entry"),
        (str(world.d2.id), "split"),
        (str(world.d2.id), "split"),
    ]
    with pytest.raises(ApiError) as err:
        await world.finance.client.get_ledger_export(
            "csv", date_from=date(2026, 5, 1), date_to=date(2026, 4, 1)
        )
    assert err.value.status == 422


async def test_ledger_export_xlsx_parses_back_with_numbers_and_formats(world: World) -> None:
    content, content_type = await world.finance.client.get_ledger_export("xlsx")
    assert content_type == XLSX
    wb = load_workbook(io.BytesIO(content))
    ws = wb["Ledger"]
    assert ws.freeze_panes == "A2"
    header = [cell.value for cell in ws[1]]
    assert header == list(EXPORT_COLUMNS)
    assert all(cell.font.bold for cell in ws[1])
    col = {name: i for i, name in enumerate(EXPORT_COLUMNS)}
    data = list(ws.iter_rows(min_row=2))
    expected = _expected_export(world)
    assert len(data) == len(expected) == 9
    for cells, want in zip(data, expected, strict=True):
        got = {name: cells[i] for name, i in col.items()}
        assert got["entry_id"].value == want["entry_id"]
        assert got["line"].value == want["line"]
        assert got["amount_minor"].value == int(want["amount_minor"])
        assert isinstance(got["amount"].value, int | float)
        assert Decimal(str(got["amount"].value)) == Decimal(want["amount"])
        assert got["amount"].number_format == "#,##0.00"
        assert Decimal(str(got["source_amount"].value)) == Decimal(want["source_amount"])
        assert got["source_currency"].value == want["source_currency"]
        assert got["value_date"].value.date().isoformat() == want["value_date"]
        assert got["value_date"].number_format == "yyyy-mm-dd"
        # Bishkek wall-clock time, without the offset Excel cannot store
        assert got["created_at"].value.isoformat() == want["created_at"][:19]
        assert got["funding_source"].value == (want["funding_source"] or None)
        if want["exchange_difference"]:
            assert Decimal(str(got["exchange_difference"].value)) == Decimal(
                want["exchange_difference"]
            )
        else:
            assert got["exchange_difference"].value is None
    reason = data[6][col["reason"]]
    assert (reason.value, reason.data_type) == (INJECTION, "s")  # text, never a formula
    assert data[2][col["exchange_difference"]].value == pytest.approx(-0.12)


async def test_ledger_export_refuses_an_unknown_format(world: World) -> None:
    with pytest.raises(ApiError) as err:
        await world.finance.client.get_ledger_export("pdf")  # type: ignore[arg-type]
    assert err.value.status == 422
    assert err.value.problem.errors


# --- who may look -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.PROGRAMME_OFFICER, Role.AUDITOR, Role.ADMIN])
async def test_finance_views_are_open_to_ledger_readers(
    world: World, make_user: MakeUser, role: Role
) -> None:
    reader = (await make_user(role)).client
    assert (await reader.get_finance_summary("call")).totals.committed == 540_001
    assert len((await reader.list_upcoming_tranches()).items) == 5
    content, _ = await reader.get_ledger_export("csv")
    assert content.count(b"\r\n") == 10  # the header and nine lines


async def test_finance_views_refuse_reviewers_applicants_and_anonymous(world: World) -> None:
    callers = {"reviewer": world.reviewer.client, "applicant": world.applicant.client}
    for who, caller in [*callers.items(), ("anonymous", world.anonymous)]:
        expected = 401 if who == "anonymous" else 403
        for call in (
            lambda c: c.get_finance_summary("call"),
            lambda c: c.list_upcoming_tranches(),
            lambda c: c.get_ledger_export("csv"),
        ):
            with pytest.raises(ApiError) as err:
                await call(caller)
            assert (who, err.value.status) == (who, expected)
