"""The demo's grants (`data/grants.yaml`): window 1's selected proposals become grants, with
tranches in every state — planned (waiting for a report), due, approved and awaiting payment,
disbursed (one paid from the USD source at the day's rate), a payment reversed, and a cancelled
tranche.

Made through the grant use cases as the programme and finance officers, so every row is checked,
audited and on the ledger as it would be through the API. Idempotent: nothing happens when the
first grant exists.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

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
from service import awards
from service.context import PaymentPolicy, RequestContext, utcnow
from service.demo.base import demo_email
from service.demo.spec import GrantsSpec, World
from service.persistence.models import (
    AppUser,
    Grant,
    Proposal,
    ProposalActionPlanItem,
)
from service.settings import Settings
from service.timezones import BISHKEK


async def _staff(
    session: AsyncSession, local: str, role: Role, payments: PaymentPolicy
) -> RequestContext:
    user = (
        (await session.execute(select(AppUser).where(col(AppUser.email) == demo_email(local))))
        .scalars()
        .one()
    )
    return RequestContext(
        actor=Actor(kind="user", id=user.id, label=f"user:{user.email}", roles=frozenset({role})),
        request_id="demo-data",
        payments=payments,
    )


def _schedule(
    spec: GrantsSpec, amount: int, start: date, items: list[uuid.UUID]
) -> list[TrancheInput]:
    """The amount in the data's shares (40 % on signature, 40 % after the first progress report,
    20 % after the financial report), each on its condition."""
    parts = allocate_pro_rata(amount, list(spec.tranche_shares))
    kinds = spec.tranche_conditions
    return [
        TrancheInput(
            amount=part,
            planned_date=start + timedelta(days=spec.every_days * i + spec.first_after_days),
            action_plan_item_ids=items,
            conditions=[
                ConditionInput(kind=kind)
                if kind == TrancheConditionKind.AGREEMENT_SIGNED
                else ConditionInput(kind=kind, params={"count": 1})
            ],
        )
        for i, (part, kind) in enumerate(zip(parts, kinds, strict=True))
    ]


async def load_demo_grants(session: AsyncSession, data: World) -> int:
    """Grants for window 1's selected proposals; the number made (0 when they exist)."""
    spec = data.grants
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
    payments = PaymentPolicy.from_settings(Settings())
    officer = await _staff(session, "officer", Role.PROGRAMME_OFFICER, payments)
    finance = await _staff(session, "finance", Role.FINANCE_OFFICER, payments)
    finance2 = await _staff(session, "finance2", Role.FINANCE_OFFICER, payments)
    today = utcnow().astimezone(BISHKEK).date()
    start = today + timedelta(days=spec.start_in_days)
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
                tranches=_schedule(spec, proposal.requested_amount, start, items),
            ),
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
                agreement_reference=spec.agreement_reference.format(n=n + 1),
                signed_on=start,
            ),
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
                    reason=spec.cancel_reason,
                ),
            )
            continue
        first = await awards.approve_tranche(
            session,
            officer,
            first.id,
            TrancheTransition(version=first.version, comment=spec.approve_comment),
        )
        if n == 1:
            continue  # the second: approved, awaiting the finance officer
        payment = DisbursementCreate(
            amount=first.amount,
            value_date=start + timedelta(days=3),
            reference=f"{spec.bank}-{start:%Y%m%d}-{n + 1:03d}",
            bank_details={"bank": spec.bank, "account": f"1280{n:012d}"},
            rates=dict(spec.rates),
        )
        wrong = await awards.disburse(session, finance, first.id, payment)
        # a wrong account: reversed by the second finance officer, approved and paid again
        await awards.reverse(
            session,
            finance2,
            wrong.id,
            ReversalCreate(
                reason=spec.reversal_reason,
                value_date=start + timedelta(days=5),
                reference=f"{spec.bank}-RET-{n + 1:03d}",
            ),
        )
        again = await awards.get_tranche(session, officer, first.id)
        again = await awards.approve_tranche(
            session,
            officer,
            first.id,
            TrancheTransition(version=again.version, comment=spec.approve_again_comment),
        )
        payment.reference = f"{spec.bank}-{start:%Y%m%d}-{n + 1:03d}-B"
        payment.bank_details = {"bank": spec.bank, "account": f"1290{n:012d}"}
        payment.value_date = start + timedelta(days=6)
        await awards.disburse(session, finance2, again.id, payment)
    return made
