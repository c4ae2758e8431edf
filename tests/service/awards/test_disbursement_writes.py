"""What a payment writes, now that its writes are Core statements built once and its e-mail is
written from the rows in hand (issue 16): the statements it sends, the answer against the entry
read back, the session's own view, the e-mails (facts and recipients), the webhook event, the
jobs and the audit chain."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from contracts.awards import TrancheTransition
from contracts.client import GrantsClient
from contracts.enums import GrantStatus, MembershipRole, TrancheStatus
from contracts.notifications import NotificationKind
from service.audit.service import verify
from service.persistence.models import (
    AppUser,
    AuditEvent,
    Grant,
    Membership,
    NotificationPreference,
    OutboxMessage,
    Proposal,
    Tranche,
)
from tests.conftest import hashed_test_password
from tests.money_world import MoneyWorld, build_money_world, grant_body
from tests.service.awards.test_grants import pay

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

STATEMENTS = 13
"""The POST's statements, SAVEPOINT and RELEASE not counted (bench/statements.py: 15 with them):
authentication, the idempotency claim (2) and its record (1), the grant's and the tranche's
locks, the payment's facts, its writes, the audit append, the webhook event, the e-mail's facts
and recipients, the e-mails, their jobs."""


async def _member(
    session: AsyncSession, world: MoneyWorld, name: str, *, active: bool = True
) -> uuid.UUID:
    user = AppUser(
        email=f"{name}-{uuid.uuid4().hex[:8]}@test.example",
        full_name=name,
        password_hash=hashed_test_password(),
        is_active=active,
    )
    session.add(user)
    await session.flush()
    session.add(
        Membership(
            user_id=user.id, organisation_id=world.organisation_id, role=MembershipRole.MEMBER
        )
    )
    await session.flush()
    return user.id


async def test_a_payment_sends_its_statements_and_writes_what_the_read_back_shows(
    http: httpx.AsyncClient, session: AsyncSession, connection: AsyncConnection
) -> None:
    world = await build_money_world(session)
    # the organisation's members: one who wants the e-mail (`member`), one who turned it off,
    # one whose account is closed
    quiet = await _member(session, world, "quiet")
    session.add(
        NotificationPreference(
            user_id=quiet, kind=NotificationKind.TRANCHE_PAID.value, enabled=False
        )
    )
    await _member(session, world, "gone", active=False)
    await session.flush()
    po = GrantsClient(http, token=world.tokens["po"])
    fo1 = GrantsClient(http, token=world.tokens["fo1"])
    grant = await po.create_grant(grant_body(world, world.proposals[0], [6_000_000, 4_000_000]))
    first = grant.tranches[0]
    approved = await po.approve_tranche(first.id, TrancheTransition(version=first.version))

    sent: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            sent.append(statement)

    event.listen(connection.sync_engine, "before_cursor_execute", count)
    try:
        entry = await fo1.create_disbursement(approved.id, pay(6_000_000, "PAY-W"), "w-1")
    finally:
        event.remove(connection.sync_engine, "before_cursor_execute", count)
    assert len(sent) <= STATEMENTS, "\n".join(s[:100] for s in sent)

    # the answer, built from the rows just written, is the entry as read back
    assert await fo1.get_ledger_entry(entry.id) == entry
    assert entry.created_by_name == "fo1"
    assert len(entry.splits) == 2
    assert [s.funding_source_code for s in entry.splits] == sorted(
        s.funding_source_code for s in entry.splits
    )
    # the tranche and the grant as paid (read afresh)
    session.expunge_all()
    tranche = await session.get(Tranche, first.id)
    paid_grant = await session.get(Grant, grant.id)
    assert tranche is not None
    assert paid_grant is not None
    assert (tranche.status, tranche.version) == (TrancheStatus.DISBURSED, approved.version + 1)
    assert (paid_grant.disbursed_amount, paid_grant.status) == (6_000_000, GrantStatus.ACTIVE)

    # one e-mail, to the member who wants it, with the payment's facts
    proposal = await session.get(Proposal, grant.proposal_id)
    assert proposal is not None
    emails = list(
        (
            await session.execute(
                select(OutboxMessage).where(col(OutboxMessage.topic) == "email.tranche_paid")
            )
        ).scalars()
    )
    assert [m.payload["user_id"] for m in emails] == [str(world.user_ids["member"])]
    assert emails[0].payload == {
        "kind": "tranche_paid",
        "user_id": str(world.user_ids["member"]),
        "params": {
            "title": proposal.title,
            "receipt": proposal.receipt_number or "",
            "number": 1,
            "amount": {"minor": 6_000_000, "currency": "KGS"},
            "value_date": {"date": "2027-01-15"},
            "reference": "PAY-W",
        },
    }
    # its sending job, and the webhook event (delivered to its subscriptions: none here)
    jobs = (
        await session.execute(
            text(
                "SELECT args->>'outbox_id' FROM procrastinate_jobs"
                " WHERE task_name = 'notifications.send'"
            )
        )
    ).scalars()
    assert str(emails[0].id) in set(jobs)
    events = list(
        (
            await session.execute(
                select(OutboxMessage).where(col(OutboxMessage.topic) == "webhook.tranche.disbursed")
            )
        ).scalars()
    )
    assert [e.payload["data"] for e in events] == [
        {"tranche_id": str(first.id), "grant_id": str(grant.id)}
    ]
    assert events[0].delivered_at is not None

    # the two audit events, chained: the tranche's before and after, the entry as written
    audited = {
        a.action: a
        for a in (
            await session.execute(
                select(AuditEvent).where(
                    col(AuditEvent.entity_id).in_([str(entry.id), str(first.id)])
                )
            )
        ).scalars()
    }
    assert audited["tranche.disbursed"].before is not None
    assert audited["tranche.disbursed"].before["status"] == "approved"
    assert audited["tranche.disbursed"].after is not None
    assert audited["tranche.disbursed"].after["status"] == "disbursed"
    assert audited["tranche.disbursed"].after["version"] == approved.version + 1
    after_entry = audited["ledger.disbursement"].after
    assert after_entry is not None
    assert after_entry["reference"] == "PAY-W"
    assert after_entry["created_at"] is not None
    assert audited["tranche.disbursed"].seq == audited["ledger.disbursement"].seq + 1
    assert (await verify(session)).ok


async def test_the_second_payment_nets_the_first_off_each_source_and_completes_the_grant(
    http: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The second tranche of a grant: the payment's facts net the first payment off each source
    (what is left of each charge), and the grant is completed."""
    world = await build_money_world(session)
    po = GrantsClient(http, token=world.tokens["po"])
    fo1 = GrantsClient(http, token=world.tokens["fo1"])
    grant = await po.create_grant(grant_body(world, world.proposals[0], [6_000_000, 4_000_000]))
    for n, tranche in enumerate(grant.tranches):
        current = next(t for t in (await po.get_grant(grant.id)).tranches if t.id == tranche.id)
        approved = await po.approve_tranche(tranche.id, TrancheTransition(version=current.version))
        await fo1.create_disbursement(approved.id, pay(tranche.amount, f"PAY-{n}"), f"c-{n}")
    done = await po.get_grant(grant.id)
    assert done.status == GrantStatus.COMPLETED
    assert done.disbursed_amount == 10_000_000
    # each source paid exactly its charge, net
    paid = dict(
        (
            await session.execute(
                text(
                    "SELECT s.funding_source_id, sum(s.amount) FROM ledger_split s"
                    " JOIN ledger_entry e ON e.id = s.ledger_entry_id"
                    " WHERE e.grant_id = :g GROUP BY 1"
                ),
                {"g": grant.id},
            )
        ).all()
    )
    charged = dict(
        (
            await session.execute(
                text("SELECT funding_source_id, amount FROM grant_charge WHERE grant_id = :g"),
                {"g": grant.id},
            )
        ).all()
    )
    assert paid == charged
