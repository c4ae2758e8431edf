"""Grants, tranche schedules, charges, the tranche lifecycle, four eyes, reversals, amendments and
the append-only ledger, through the typed client against a real database."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.awards import (
    AgreementSignature,
    AmendmentCreate,
    ChargeInput,
    DisbursementCreate,
    ReversalCreate,
    TrancheCancellation,
    TrancheInput,
    TrancheTransition,
)
from contracts.client import ApiError, GrantsClient
from contracts.enums import (
    GrantStatus,
    LedgerEntryKind,
    ProposalStatus,
    Role,
    TrancheStatus,
)
from scoring.money import convert
from service.persistence.models import (
    AuditEvent,
    Grant,
    GrantCharge,
    LedgerEntry,
    Proposal,
    Tranche,
    UserRole,
)
from tests.money_world import (
    AGREEMENT,
    END,
    START,
    USD_RATE,
    MoneyWorld,
    build_money_world,
    grant_body,
)

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


@pytest.fixture
async def world(session: AsyncSession) -> MoneyWorld:
    return await build_money_world(session)


def who(http: httpx.AsyncClient, world: MoneyWorld, name: str) -> GrantsClient:
    return GrantsClient(http, token=world.tokens[name])


def pay(tranche_amount: int, ref: str = "PAY-1") -> DisbursementCreate:
    return DisbursementCreate(
        amount=tranche_amount,
        value_date=date(2027, 1, 15),
        reference=ref,
        bank_details={"bank": "KICB", "account": "1280000000000001"},
        rates={"USD": "88.0"},
    )


async def _count(session: AsyncSession, model: type) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_selected_proposal_becomes_a_grant_charged_pro_rata(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession
) -> None:
    po = who(http, world, "po")
    grant = await po.create_grant(
        grant_body(world, world.proposals[0], [6_000_001, 3_999_999], agreement_reference="A-1")
    )
    assert grant.amount == 10_000_000
    assert grant.version == 1
    assert [t.amount for t in grant.tranches] == [6_000_001, 3_999_999]
    assert [t.status for t in grant.tranches] == [TrancheStatus.DUE, TrancheStatus.DUE]
    # pro rata to what each source has: 18,000,000 KGS and 12,000,000 (in KGS) of USD
    by_code = {ch.source_currency: ch for ch in grant.charges}
    assert by_code["KGS"].amount == 6_000_000
    assert by_code["USD"].amount == 4_000_000
    assert sum(ch.amount for ch in grant.charges) == grant.amount
    assert by_code["USD"].source_amount == convert(4_000_000, USD_RATE) == 45_714
    assert Decimal(by_code["USD"].rate) == USD_RATE
    proposal = await session.get(Proposal, world.proposals[0])
    assert proposal is not None
    await session.refresh(proposal)
    assert proposal.status == ProposalStatus.AWARDED
    versions = await po.list_grant_versions(grant.id)
    assert [v.version for v in versions] == [1]
    assert versions[0].terms["amount"] == 10_000_000
    # the grantee reads it; another organisation's member and a reviewer do not
    member = await who(http, world, "member").get_grant(grant.id)
    assert member.id == grant.id
    with pytest.raises(ApiError) as refused:
        await who(http, world, "reviewer").get_grant(grant.id)
    assert refused.value.status == 404
    # one grant per proposal
    with pytest.raises(ApiError) as again:
        await po.create_grant(grant_body(world, world.proposals[0], [10_000_000]))
    assert again.value.status == 409
    assert "already has its grant" in (again.value.problem.detail or "")


@pytest.mark.parametrize(
    ("amounts", "total", "field", "message"),
    [
        ([5_000_000, 4_000_000], 10_000_000, "body.tranches", "1000000 short of"),
        ([6_000_000, 5_000_000], 10_000_000, "body.tranches", "1000000 over"),
        ([11_000_000], 11_000_000, "body.amount", "exceeds the requested"),
        ([4_000_000], 4_000_000, "body.amount", "below the window's floor 5000000"),
    ],
)
async def test_a_bad_schedule_is_refused_naming_the_difference_and_writes_nothing(
    http: httpx.AsyncClient,
    world: MoneyWorld,
    session: AsyncSession,
    amounts: list[int],
    total: int,
    field: str,
    message: str,
) -> None:
    body = grant_body(world, world.proposals[0], amounts)
    body.amount = total
    events = await _count(session, AuditEvent)
    with pytest.raises(ApiError) as refused:
        await who(http, world, "po").create_grant(body)
    assert refused.value.status == 422
    problem = refused.value.problem
    assert problem.errors is not None
    assert problem.errors[0].field == field
    assert message in problem.errors[0].message
    assert await _count(session, Grant) == 0
    assert await _count(session, AuditEvent) == events


async def test_tranche_dates_items_and_conditions_are_checked(
    http: httpx.AsyncClient, world: MoneyWorld
) -> None:
    po = who(http, world, "po")
    late = grant_body(world, world.proposals[0], [10_000_000])
    late.tranches[0].planned_date = date(2028, 6, 1)
    stranger = grant_body(world, world.proposals[0], [10_000_000])
    stranger.tranches[0].action_plan_item_ids = [uuid.uuid4()]
    bad_condition = grant_body(world, world.proposals[0], [10_000_000])
    bad_condition.tranches[0].conditions = [
        AGREEMENT.__class__(kind=AGREEMENT.kind, params={"x": 1})
    ]
    for body, fragment in [
        (late, "outside the grant period"),
        (stranger, "is not one the proposal or its window implements"),
        (bad_condition, "takes no parameters"),
    ]:
        with pytest.raises(ApiError) as refused:
            await po.create_grant(body)
        assert refused.value.status == 422
        assert fragment in (refused.value.problem.detail or "")


async def test_the_envelope_and_each_source_are_never_over_committed(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession
) -> None:
    po = who(http, world, "po")
    await po.create_grant(grant_body(world, world.proposals[0], [10_000_000]))
    await po.create_grant(grant_body(world, world.proposals[1], [10_000_000]))
    # 20,000,000 of 30,000,000 committed: a third 10,000,000 fits exactly, an explicit charge of
    # 8,000,000 to the USD source (4,000,000 left) does not
    over = grant_body(
        world,
        world.proposals[2],
        [10_000_000],
        charges=[
            ChargeInput(funding_source_id=world.usd_source, amount=8_000_000),
            ChargeInput(funding_source_id=world.kgs_source, amount=2_000_000),
        ],
    )
    with pytest.raises(ApiError) as refused:
        await po.create_grant(over)
    assert refused.value.status == 409
    assert "over-commit it by 4000000" in (refused.value.problem.detail or "")
    third = await po.create_grant(grant_body(world, world.proposals[2], [10_000_000]))
    assert third.amount == 10_000_000
    committed = (
        await session.execute(
            select(GrantCharge.funding_source_id, func.sum(GrantCharge.amount)).group_by(
                GrantCharge.funding_source_id
            )
        )
    ).all()
    assert dict(committed) == {world.kgs_source: 18_000_000, world.usd_source: 12_000_000}


async def test_a_grant_beyond_the_envelope_names_what_is_left(
    http: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await build_money_world(session, kgs_allocation=9_000_000, usd_allocation=0)
    with pytest.raises(ApiError) as refused:
        await who(http, world, "po").create_grant(
            grant_body(world, world.proposals[0], [10_000_000])
        )
    assert refused.value.status == 409
    assert "9000000 minor units left" in (refused.value.problem.detail or "")
    assert await _count(session, Grant) == 0


async def test_lifecycle_agreement_approval_payment_with_four_eyes(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession
) -> None:
    po, fo1 = who(http, world, "po"), who(http, world, "fo1")
    grant = await po.create_grant(
        grant_body(world, world.proposals[0], [7_000_000, 3_000_000], conditions=[[AGREEMENT], []])
    )
    first, second = grant.tranches
    assert first.status == TrancheStatus.PLANNED
    assert second.status == TrancheStatus.DUE
    # a planned tranche is neither approved nor paid
    with pytest.raises(ApiError) as early:
        await po.approve_tranche(first.id, TrancheTransition(version=first.version))
    assert early.value.status == 409
    assert early.value.problem.allowed == ["cancelled", "due"]
    signed = await po.create_agreement_signature(
        grant.id, AgreementSignature(version=grant.version, agreement_reference="AGR-77")
    )
    assert signed.tranches[0].status == TrancheStatus.DUE
    assert signed.tranches[0].conditions[0].met_at is not None
    approved = await po.approve_tranche(
        first.id, TrancheTransition(version=signed.tranches[0].version)
    )
    assert approved.status == TrancheStatus.APPROVED
    assert approved.approved_by == world.user_ids["po"]
    # the programme officer cannot pay, nor can a finance officer pay a wrong amount
    with pytest.raises(ApiError) as not_finance:
        await po.create_disbursement(first.id, pay(7_000_000), "k-po")
    assert not_finance.value.status == 403
    with pytest.raises(ApiError) as wrong:
        await fo1.create_disbursement(first.id, pay(6_999_999), "k-wrong")
    assert wrong.value.status == 422
    no_rate = pay(7_000_000)
    no_rate.rates = {}
    with pytest.raises(ApiError) as missing_rate:
        await fo1.create_disbursement(first.id, no_rate, "k-rate")
    assert missing_rate.value.status == 422
    assert "USD" in (missing_rate.value.problem.detail or "")
    entry = await fo1.create_disbursement(first.id, pay(7_000_000), "k-1")
    assert entry.kind == LedgerEntryKind.DISBURSEMENT
    assert entry.amount == 7_000_000
    assert entry.approved_by == world.user_ids["po"]
    assert entry.created_by == world.user_ids["fo1"]
    assert sum(s.amount for s in entry.splits) == 7_000_000
    usd = next(s for s in entry.splits if s.source_currency == "USD")
    assert usd.amount == 2_800_000  # 40 % of the tranche, the USD share of the charges
    assert usd.source_amount == convert(2_800_000, Decimal("88.0")) == 31_818
    assert usd.committed_source_amount == 32_000  # 45,714 × 2.8/4 = 31,999.8
    assert usd.exchange_difference == usd.source_amount - usd.committed_source_amount
    # paid once: the same key replays, another key is refused
    replay = await fo1.create_disbursement(first.id, pay(7_000_000), "k-1")
    assert replay.id == entry.id
    with pytest.raises(ApiError) as twice:
        await who(http, world, "fo2").create_disbursement(first.id, pay(7_000_000), "k-2")
    assert twice.value.status == 409
    with pytest.raises(ApiError) as reused:
        await fo1.create_disbursement(first.id, pay(7_000_000, ref="OTHER"), "k-1")
    assert reused.value.status == 422
    after = await po.get_grant(grant.id)
    assert after.disbursed_amount == 7_000_000
    assert after.tranches[0].status == TrancheStatus.DISBURSED
    ledger = await fo1.list_ledger_entries(grant_id=grant.id)
    assert [e.id for e in ledger.items] == [entry.id]


async def test_the_approver_never_pays_even_with_both_roles(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession
) -> None:
    session.add(UserRole(user_id=world.user_ids["po"], role=Role.FINANCE_OFFICER))
    await session.flush()
    po = who(http, world, "po")
    grant = await po.create_grant(grant_body(world, world.proposals[0], [10_000_000]))
    tranche = grant.tranches[0]
    await po.approve_tranche(tranche.id, TrancheTransition(version=tranche.version))
    with pytest.raises(ApiError) as refused:
        await po.create_disbursement(tranche.id, pay(10_000_000), "own")
    assert refused.value.status == 403
    assert "four eyes" in (refused.value.problem.detail or "")
    # and the database refuses such a row whoever writes it
    row = await session.get(Tranche, tranche.id)
    assert row is not None
    with pytest.raises(DBAPIError, match="four_eyes_approval"):
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO ledger_entry (id, tranche_id, grant_id, kind, amount, currency,"
                    " source_amount, source_currency, rate, value_date, reference, bank_details,"
                    " approved_by, created_by) VALUES (gen_random_uuid(), :t, :g, 'disbursement',"
                    " 1, 'KGS', 1, 'KGS', 1, '2027-01-01', 'x', '{}', :u, :u)"
                ),
                {"t": tranche.id, "g": grant.id, "u": world.user_ids["po"]},
            )


async def test_a_large_payment_needs_a_second_finance_officer(
    http: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await build_money_world(session, requested=20_000_000)
    po, fo1, fo2 = (who(http, world, n) for n in ("po", "fo1", "fo2"))
    grant = await po.create_grant(grant_body(world, world.proposals[0], [16_000_000, 4_000_000]))
    big, small = grant.tranches
    assert big.needs_confirmation
    assert not small.needs_confirmation
    big = await po.approve_tranche(big.id, TrancheTransition(version=big.version))
    with pytest.raises(ApiError) as unconfirmed:
        await fo1.create_disbursement(big.id, pay(16_000_000), "b-1")
    assert unconfirmed.value.status == 409
    assert "second finance officer" in (unconfirmed.value.problem.detail or "")
    confirmed = await fo2.create_tranche_confirmation(
        big.id, TrancheTransition(version=big.version)
    )
    assert confirmed.confirmed_by == world.user_ids["fo2"]
    with pytest.raises(ApiError) as same_person:
        await fo2.create_disbursement(big.id, pay(16_000_000), "b-2")
    assert same_person.value.status == 403
    entry = await fo1.create_disbursement(big.id, pay(16_000_000), "b-3")
    assert entry.confirmed_by == world.user_ids["fo2"]
    # a small one needs no confirmation (and refuses one)
    small = await po.approve_tranche(small.id, TrancheTransition(version=small.version))
    with pytest.raises(ApiError) as needless:
        await fo2.create_tranche_confirmation(small.id, TrancheTransition(version=small.version))
    assert needless.value.status == 409
    await fo1.create_disbursement(small.id, pay(4_000_000), "s-1")
    done = await po.get_grant(grant.id)
    assert done.status == GrantStatus.COMPLETED
    assert done.disbursed_amount == done.amount == 20_000_000


async def test_a_reversal_undoes_a_payment_and_the_tranche_is_paid_again(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession
) -> None:
    po, fo1, fo2 = (who(http, world, n) for n in ("po", "fo1", "fo2"))
    grant = await po.create_grant(grant_body(world, world.proposals[0], [10_000_000]))
    tranche = await po.approve_tranche(
        grant.tranches[0].id, TrancheTransition(version=grant.tranches[0].version)
    )
    paid = await fo1.create_disbursement(tranche.id, pay(10_000_000), "r-1")
    undo = ReversalCreate(reason="wrong account", value_date=date(2027, 1, 16), reference="REV-1")
    with pytest.raises(ApiError) as own:  # four eyes: not by the officer who paid
        await fo1.create_reversal(paid.id, undo)
    assert own.value.status == 403
    assert "four eyes" in (own.value.problem.detail or "")
    assert (await po.get_grant(grant.id)).disbursed_amount == 10_000_000
    reversal = await fo2.create_reversal(paid.id, undo)
    assert reversal.kind == LedgerEntryKind.REVERSAL
    assert reversal.reverses_id == paid.id
    assert reversal.amount == paid.amount
    with pytest.raises(ApiError) as again:
        await fo2.create_reversal(paid.id, undo)
    assert again.value.status == 409
    after = await po.get_grant(grant.id)
    assert after.disbursed_amount == 0
    assert after.tranches[0].status == TrancheStatus.DUE
    assert after.tranches[0].approved_by is None
    # re-approved and paid again: a second attempt, the ledger nets to one payment
    again_approved = await po.approve_tranche(
        tranche.id, TrancheTransition(version=after.tranches[0].version)
    )
    second = await fo1.create_disbursement(again_approved.id, pay(10_000_000, "PAY-2"), "r-2")
    assert second.attempt == 1
    final = await po.get_grant(grant.id)
    assert final.disbursed_amount == 10_000_000
    entries = (await fo1.list_ledger_entries(grant_id=grant.id)).items
    assert sorted(e.kind for e in entries) == ["disbursement", "disbursement", "reversal"]


async def test_cancelling_a_tranche_returns_its_money_to_the_window(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession
) -> None:
    po = who(http, world, "po")
    a = await po.create_grant(grant_body(world, world.proposals[0], [6_000_000, 4_000_000]))
    await po.create_grant(grant_body(world, world.proposals[1], [10_000_000]))
    await po.create_grant(grant_body(world, world.proposals[2], [10_000_000]))
    # the window is full; cancel a tranche of the first grant with a reason
    with pytest.raises(ApiError) as no_reason:
        await po.create_tranche_cancellation(
            a.tranches[1].id, TrancheCancellation(version=a.tranches[1].version, reason="")
        )
    assert no_reason.value.status == 400 or no_reason.value.status == 422
    cancelled = await po.create_tranche_cancellation(
        a.tranches[1].id,
        TrancheCancellation(version=a.tranches[1].version, reason="activity dropped"),
    )
    assert cancelled.status == TrancheStatus.CANCELLED
    assert cancelled.cancelled_reason == "activity dropped"
    after = await po.get_grant(a.id)
    assert after.amount == 6_000_000
    assert sum(ch.amount for ch in after.charges) == 6_000_000
    assert after.version == 2
    versions = await po.list_grant_versions(a.id)
    assert [v.amount for v in versions] == [10_000_000, 6_000_000]
    window_total = (
        await session.execute(
            select(func.sum(Grant.amount)).where(Grant.window_id == world.window_id)
        )
    ).scalar_one()
    assert window_total == 26_000_000
    # a cancelled tranche is final
    with pytest.raises(ApiError) as final:
        await po.approve_tranche(cancelled.id, TrancheTransition(version=cancelled.version))
    assert final.value.status == 409


async def test_an_amendment_replaces_the_unpaid_schedule_and_never_edits_a_paid_tranche(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession
) -> None:
    po, fo1 = who(http, world, "po"), who(http, world, "fo1")
    grant = await po.create_grant(grant_body(world, world.proposals[0], [3_000_000, 5_000_000]))
    paid_tranche = grant.tranches[0]
    await po.approve_tranche(paid_tranche.id, TrancheTransition(version=paid_tranche.version))
    await fo1.create_disbursement(paid_tranche.id, pay(3_000_000), "am-1")
    grant = await po.get_grant(grant.id)
    amended = await po.create_amendment(
        grant.id,
        AmendmentCreate(
            version=grant.version,
            reason="second phase extended",
            end_date=END,
            tranches=[
                TrancheInput(
                    amount=4_000_000,
                    planned_date=date(2027, 6, 1),
                    action_plan_item_ids=[world.item_id],
                ),
                TrancheInput(
                    amount=3_000_000,
                    planned_date=date(2027, 9, 1),
                    action_plan_item_ids=[world.item_id],
                ),
            ],
        ),
    )
    assert amended.amount == 10_000_000
    assert amended.version == grant.version + 1
    statuses = [(t.position, t.amount, t.status) for t in amended.tranches]
    assert statuses == [
        (0, 3_000_000, TrancheStatus.DISBURSED),
        (1, 5_000_000, TrancheStatus.CANCELLED),
        (2, 4_000_000, TrancheStatus.DUE),
        (3, 3_000_000, TrancheStatus.DUE),
    ]
    live = [t.amount for t in amended.tranches if t.status != TrancheStatus.CANCELLED]
    assert sum(live) == amended.amount
    assert sum(ch.amount for ch in amended.charges) == amended.amount
    with pytest.raises(ApiError) as stale:
        await po.create_amendment(
            grant.id, AmendmentCreate(version=grant.version, reason="again", start_date=START)
        )
    assert stale.value.status == 409
    versions = await po.list_grant_versions(grant.id)
    assert versions[-1].reason == "second phase extended"


async def _as_service_role(session: AsyncSession, statement: str, entry_id: uuid.UUID) -> None:
    async with session.begin_nested():
        await session.execute(text("SET LOCAL ROLE grants_app"))
        await session.execute(text(statement), {"id": entry_id})


async def test_the_ledger_refuses_update_and_delete(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession
) -> None:
    po, fo1 = who(http, world, "po"), who(http, world, "fo1")
    grant = await po.create_grant(grant_body(world, world.proposals[0], [10_000_000]))
    t = await po.approve_tranche(
        grant.tranches[0].id, TrancheTransition(version=grant.tranches[0].version)
    )
    entry = await fo1.create_disbursement(t.id, pay(10_000_000), "l-1")
    for statement in (
        "UPDATE ledger_entry SET amount = 1 WHERE id = :id",
        "DELETE FROM ledger_entry WHERE id = :id",
        "UPDATE ledger_split SET amount = 1 WHERE ledger_entry_id = :id",
        "DELETE FROM ledger_split WHERE ledger_entry_id = :id",
    ):
        # the trigger refuses it even to the table's owner…
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(statement), {"id": entry.id})
        # …and the service's role has no such privilege at all
        with pytest.raises(DBAPIError, match="permission denied"):
            await _as_service_role(session, statement, entry.id)
    row = await session.get(LedgerEntry, entry.id)
    assert row is not None
    await session.refresh(row)
    assert row.amount == 10_000_000
    # and the grant's CHECK: never more disbursed than the amount
    with pytest.raises(DBAPIError, match="disbursed_within_amount"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE grant_award SET disbursed_amount = amount + 1 WHERE id = :id"),
                {"id": grant.id},
            )


async def test_a_payment_without_an_idempotency_key_is_refused(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession
) -> None:
    po = who(http, world, "po")
    grant = await po.create_grant(grant_body(world, world.proposals[0], [10_000_000]))
    t = await po.approve_tranche(
        grant.tranches[0].id, TrancheTransition(version=grant.tranches[0].version)
    )
    events = await _count(session, AuditEvent)
    response = await http.post(
        f"tranches/{t.id}/disbursements",
        json={
            "amount": 10_000_000,
            "value_date": "2027-01-15",
            "reference": "NO-KEY",
            "rates": {"USD": "88.0"},
        },
        headers={"Authorization": f"Bearer {world.tokens['fo1']}"},
    )
    assert response.status_code == 422  # a missing required header, like any invalid input
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Idempotency-Key" in response.text
    assert await _count(session, LedgerEntry) == 0
    assert await _count(session, AuditEvent) == events
    assert (await po.get_tranche(t.id)).status == TrancheStatus.APPROVED


async def test_a_payment_worth_nothing_in_the_paid_currency_is_refused_by_name(
    http: httpx.AsyncClient, world: MoneyWorld, session: AsyncSession
) -> None:
    po, fo1 = who(http, world, "po"), who(http, world, "fo1")
    grant = await po.create_grant(grant_body(world, world.proposals[0], [40, 9_999_960]))
    t = await po.approve_tranche(
        grant.tranches[0].id, TrancheTransition(version=grant.tranches[0].version)
    )
    body = pay(40)
    body.paid_currency, body.paid_rate = "USD", "88.5"
    with pytest.raises(ApiError) as refused:
        await fo1.create_disbursement(t.id, body, "tiny")
    assert refused.value.status == 422
    assert refused.value.problem.errors is not None
    assert refused.value.problem.errors[0].field == "body.paid_rate"
    assert await _count(session, LedgerEntry) == 0
    body.paid_currency, body.paid_rate = None, None
    paid = await fo1.create_disbursement(t.id, body, "tiny-kgs")
    assert (paid.source_currency, paid.source_amount) == ("KGS", 40)
