"""End to end through the typed client, on the demo data: window 1's selected proposals become
grants; the agreement releases the first tranches, which are approved and paid; a progress
report is accepted, the next tranche becomes due, is approved and paid; the finance summary,
the upcoming tranches and the ledger export show it."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.awards import (
    AgreementSignature,
    ConditionInput,
    DisbursementCreate,
    GrantCreate,
    TrancheInput,
    TrancheTransition,
)
from contracts.client import ApiError, GrantsClient
from contracts.enums import (
    ProposalStatus,
    ReportKind,
    ReportStatus,
    TrancheConditionKind,
    TrancheStatus,
)
from contracts.reports import ReportCreate, ReportDecisionCreate, ReportSubmit
from scoring.money import allocate_pro_rata
from service.context import utcnow
from service.demo import DEMO_PASSWORD, load_demo_data
from service.persistence.models import AppUser, Membership, Proposal, ProposalActionPlanItem

DOMAIN = "demo.pcc-grants.kg"


async def _signed_in(client: GrantsClient, email: str) -> GrantsClient:
    token = await client.create_token(email, DEMO_PASSWORD)
    return client.as_user(token.access_token)


async def test_demo_selection_to_paid_tranches_and_the_finance_summary(
    session: AsyncSession, client: GrantsClient, storage_dir: Path
) -> None:
    await load_demo_data(session, storage_dir, with_grants=False)
    officer = await _signed_in(client, f"officer@{DOMAIN}")
    finance = await _signed_in(client, f"finance@{DOMAIN}")
    finance2 = await _signed_in(client, f"finance2@{DOMAIN}")
    selected = list(
        (
            await session.execute(
                select(Proposal)
                .where(col(Proposal.status) == ProposalStatus.SELECTED)
                .order_by(col(Proposal.receipt_number))
            )
        ).scalars()
    )
    assert len(selected) >= 2
    start = utcnow().date() - timedelta(days=10)
    grants = []
    for proposal in selected:
        items = list(
            (
                await session.execute(
                    select(ProposalActionPlanItem.action_plan_item_id).where(
                        col(ProposalActionPlanItem.proposal_id) == proposal.id
                    )
                )
            ).scalars()
        )
        first, second = allocate_pro_rata(proposal.requested_amount, [6, 4])
        grants.append(
            await officer.create_grant(
                GrantCreate(
                    proposal_id=proposal.id,
                    amount=proposal.requested_amount,
                    start_date=start,
                    end_date=start + timedelta(days=300),
                    tranches=[
                        TrancheInput(
                            amount=first,
                            planned_date=start + timedelta(days=5),
                            action_plan_item_ids=items,
                            conditions=[ConditionInput(kind=TrancheConditionKind.AGREEMENT_SIGNED)],
                        ),
                        TrancheInput(
                            amount=second,
                            planned_date=start + timedelta(days=150),
                            action_plan_item_ids=items,
                            conditions=[
                                ConditionInput(
                                    kind=TrancheConditionKind.PROGRESS_REPORT_ACCEPTED,
                                    params={"count": 1},
                                )
                            ],
                        ),
                    ],
                )
            )
        )
    for proposal in selected:
        assert (await officer.get_proposal(proposal.id)).status == ProposalStatus.AWARDED
    assert all(
        [t.status for t in g.tranches] == [TrancheStatus.PLANNED, TrancheStatus.PLANNED]
        for g in grants
    )
    # part of window 1 is charged to the USD source (PBF via UNDP)
    assert {ch.source_currency for ch in grants[0].charges} == {"KGS", "USD"}

    grant = await officer.create_agreement_signature(
        grants[0].id, AgreementSignature(version=grants[0].version, agreement_reference="PCC-E2E")
    )
    first_tranche, second_tranche = grant.tranches
    assert first_tranche.status == TrancheStatus.DUE
    assert second_tranche.status == TrancheStatus.PLANNED
    first_tranche = await officer.approve_tranche(
        first_tranche.id, TrancheTransition(version=first_tranche.version)
    )

    def payment(amount: int, ref: str) -> DisbursementCreate:
        return DisbursementCreate(
            amount=amount,
            value_date=start + timedelta(days=6),
            reference=ref,
            bank_details={"bank": "KICB"},
            rates={"USD": "88.25"},
        )

    if first_tranche.needs_confirmation:  # above the four-eyes threshold: a second officer
        first_tranche = await finance2.create_tranche_confirmation(
            first_tranche.id, TrancheTransition(version=first_tranche.version)
        )
    paid_first = await finance.create_disbursement(
        first_tranche.id, payment(first_tranche.amount, "E2E-1"), f"e2e-{uuid.uuid4()}"
    )
    assert paid_first.amount == first_tranche.amount

    # the grantee reports; the programme officer accepts; the second tranche becomes due
    member_email = (
        (
            await session.execute(
                select(AppUser.email)
                .join(Membership, col(Membership.user_id) == AppUser.id)
                .where(col(Membership.organisation_id) == grant.organisation_id)
                .order_by(col(AppUser.email))
            )
        )
        .scalars()
        .first()
    )
    assert member_email is not None
    grantee = await _signed_in(client, member_email)
    report = await grantee.create_report(
        grant.id,
        ReportCreate(
            kind=ReportKind.PROGRESS,
            tranche_id=second_tranche.id,
            narrative="Six mediation circles met; 140 residents took part.",
        ),
    )
    report = await grantee.submit_report(report.id, ReportSubmit(version=report.version))
    assert report.status == ReportStatus.SUBMITTED
    with pytest.raises(ApiError) as not_officer:
        await finance.create_report_decision(
            report.id, ReportDecisionCreate(version=report.version, outcome="accept")
        )
    assert not_officer.value.status == 403
    accepted = await officer.create_report_decision(
        report.id, ReportDecisionCreate(version=report.version, outcome="accept")
    )
    assert accepted.status == ReportStatus.ACCEPTED
    second_tranche = await officer.get_tranche(second_tranche.id)
    assert second_tranche.status == TrancheStatus.DUE
    second_tranche = await officer.approve_tranche(
        second_tranche.id, TrancheTransition(version=second_tranche.version)
    )
    if second_tranche.needs_confirmation:
        second_tranche = await finance.create_tranche_confirmation(
            second_tranche.id, TrancheTransition(version=second_tranche.version)
        )
    paid_second = await finance2.create_disbursement(
        second_tranche.id, payment(second_tranche.amount, "E2E-2"), f"e2e-{uuid.uuid4()}"
    )
    done = await officer.get_grant(grant.id)
    assert done.disbursed_amount == done.amount == paid_first.amount + paid_second.amount

    # the finance summary shows it, by window and by funding source
    by_window = await finance.get_finance_summary("window", call_id=done.call_id)
    w1 = next(r for r in by_window.rows if r.key == str(done.window_id))
    assert w1.committed == sum(g.amount for g in grants)
    assert w1.disbursed == done.amount
    assert w1.remaining == w1.committed - w1.disbursed
    by_source = await finance.get_finance_summary("funding_source", window_id=done.window_id)
    assert sum(r.disbursed for r in by_source.rows) == done.amount
    usd = next(r for r in by_source.rows if r.source_currency == "USD")
    assert usd.disbursed > 0
    assert usd.exchange_difference is not None
    # the other grants' first tranches wait for their agreements
    upcoming = await finance.list_upcoming_tranches(within_days=30)
    waiting = {(u.grant_id, u.position) for u in upcoming.items}
    for other in grants[1:]:
        assert (other.id, 0) in waiting
    assert (grant.id, 0) not in waiting
    # the ledger export lists both payments
    data, content_type = await finance.get_ledger_export("csv")
    assert content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    references = {r["reference"] for r in rows}
    assert {"E2E-1", "E2E-2"} <= references
