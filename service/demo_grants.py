"""Demo data, part three: window 1's selected proposals become grants, with tranches in every
state — planned (waiting for a report), due, approved and awaiting payment, disbursed (one paid
from the USD source at the day's rate), a payment reversed, and a cancelled tranche.

Made through the grant use cases as the programme and finance officers, so every row is checked,
audited and on the ledger as it would be through the API. Idempotent: nothing happens when the
first grant exists.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.awards import (
    AgreementSignature,
    ConditionInput,
    DisbursementCreate,
    GrantCreate,
    ReversalCreate,
    TrancheCancellation,
    TrancheInput,
    TrancheTransition,
)
from contracts.enums import ProposalStatus, Role, TrancheConditionKind
from contracts.permissions import Actor
from scoring.money import allocate_pro_rata
from service.awards import service as awards
from service.context import RequestContext, utcnow
from service.persistence.models import (
    AppUser,
    Grant,
    Proposal,
    ProposalActionPlanItem,
)
from service.settings import Settings

BISHKEK = ZoneInfo("Asia/Bishkek")
DOMAIN = "demo.pcc-grants.kg"
RATES = {"USD": "88.10", "EUR": "95.40"}  # the day's rates, KGS per unit


async def _staff(session: AsyncSession, local: str, role: Role) -> RequestContext:
    user = (
        (await session.execute(select(AppUser).where(col(AppUser.email) == f"{local}@{DOMAIN}")))
        .scalars()
        .one()
    )
    return RequestContext(
        actor=Actor(kind="user", id=user.id, label=f"user:{user.email}", roles=frozenset({role})),
        request_id="demo-data",
    )


def _schedule(amount: int, start: date, items: list[uuid.UUID]) -> list[TrancheInput]:
    """40 % on signature, 40 % after the first progress report, 20 % after the financial
    report."""
    parts = allocate_pro_rata(amount, [4, 4, 2])
    kinds = (
        TrancheConditionKind.AGREEMENT_SIGNED,
        TrancheConditionKind.PROGRESS_REPORT_ACCEPTED,
        TrancheConditionKind.FINANCIAL_REPORT_ACCEPTED,
    )
    return [
        TrancheInput(
            amount=part,
            planned_date=start + timedelta(days=120 * i + 10),
            action_plan_item_ids=items,
            conditions=[
                ConditionInput(kind=kind)
                if kind == TrancheConditionKind.AGREEMENT_SIGNED
                else ConditionInput(kind=kind, params={"count": 1})
            ],
        )
        for i, (part, kind) in enumerate(zip(parts, kinds, strict=True))
    ]


async def load_demo_grants(session: AsyncSession) -> int:
    """Grants for window 1's selected proposals; the number made (0 when they exist)."""
    if (await session.execute(select(Grant.id).limit(1))).first() is not None:
        return 0
    selected = list(
        (
            await session.execute(
                select(Proposal)
                .where(col(Proposal.status) == ProposalStatus.SELECTED)
                .order_by(col(Proposal.receipt_number))
            )
        ).scalars()
    )
    if not selected:
        return 0
    officer = await _staff(session, "officer", Role.PROGRAMME_OFFICER)
    finance = await _staff(session, "finance", Role.FINANCE_OFFICER)
    finance2 = await _staff(session, "finance2", Role.FINANCE_OFFICER)
    threshold = Settings().second_confirmation_above
    today = utcnow().astimezone(BISHKEK).date()
    start = today - timedelta(days=20)
    made = 0
    for n, proposal in enumerate(selected):
        items = list(
            (
                await session.execute(
                    select(ProposalActionPlanItem.action_plan_item_id)
                    .where(col(ProposalActionPlanItem.proposal_id) == proposal.id)
                    .order_by(col(ProposalActionPlanItem.action_plan_item_id))
                )
            ).scalars()
        )
        grant = await awards.create_grant(
            session,
            officer,
            GrantCreate(
                proposal_id=proposal.id,
                amount=proposal.requested_amount,
                start_date=start,
                end_date=start + timedelta(days=364),
                tranches=_schedule(proposal.requested_amount, start, items),
            ),
            threshold,
        )
        made += 1
        if n == 3:
            continue  # the fourth waits for its agreement: every tranche planned
        grant = await awards.sign_agreement(
            session,
            officer,
            grant.id,
            AgreementSignature(
                version=grant.version,
                agreement_reference=f"PCC-2026-{n + 1:03d}",
                signed_on=start,
            ),
            threshold,
        )
        first = grant.tranches[0]
        if n == 2:
            # the third: its last tranche is cancelled (the activity was dropped), its first due
            last = grant.tranches[2]
            await awards.cancel_tranche(
                session,
                officer,
                last.id,
                TrancheCancellation(
                    version=last.version,
                    reason="The closing festival was cancelled by the municipality",
                ),
                threshold,
            )
            continue
        first = await awards.approve_tranche(
            session,
            officer,
            first.id,
            TrancheTransition(version=first.version, comment="Agreement signed"),
            threshold,
        )
        if n == 1:
            continue  # the second: approved, awaiting the finance officer
        payment = DisbursementCreate(
            amount=first.amount,
            value_date=start + timedelta(days=3),
            reference=f"KICB-{start:%Y%m%d}-{n + 1:03d}",
            bank_details={"bank": "KICB", "account": f"1280{n:012d}"},
            rates=RATES,
        )
        wrong = await awards.disburse(session, finance, first.id, payment, threshold)
        # a wrong account: reversed by the second finance officer, approved and paid again
        await awards.reverse(
            session,
            finance2,
            wrong.id,
            ReversalCreate(
                reason="Paid to a closed account; the bank returned the transfer",
                value_date=start + timedelta(days=5),
                reference=f"KICB-RET-{n + 1:03d}",
            ),
        )
        again = await awards.get_tranche(session, officer, first.id, threshold)
        again = await awards.approve_tranche(
            session,
            officer,
            first.id,
            TrancheTransition(version=again.version, comment="New account checked"),
            threshold,
        )
        payment.reference = f"KICB-{start:%Y%m%d}-{n + 1:03d}-B"
        payment.bank_details = {"bank": "KICB", "account": f"1290{n:012d}"}
        payment.value_date = start + timedelta(days=6)
        await awards.disburse(session, finance2, again.id, payment, threshold)
    return made
