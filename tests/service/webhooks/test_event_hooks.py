"""The use cases write their events (and the e-mails they bring) in their own transaction: the
demo data, loaded through the use cases, leaves them in the outbox with their jobs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.enums import LedgerEntryKind
from service.demo import load_demo_data
from service.persistence.models import (
    Grant,
    LedgerEntry,
    OutboxMessage,
    Proposal,
    ReviewAssignment,
    SelectionRun,
)


async def test_the_use_cases_write_their_events_and_emails(
    session: AsyncSession, storage_dir: Path
) -> None:
    await load_demo_data(session, storage_dir)
    topics = Counter((await session.execute(select(OutboxMessage.topic))).scalars())
    submitted = await session.scalar(
        select(func.count()).select_from(Proposal).where(col(Proposal.submitted_at).is_not(None))
    )
    approved = await session.scalar(
        select(func.count())
        .select_from(SelectionRun)
        .where(col(SelectionRun.approved_at).is_not(None))
    )
    assert submitted
    assert approved
    assert topics["webhook.call.published"] >= 1
    assert topics["webhook.proposal.submitted"] == submitted
    assert topics["webhook.selection.approved"] == approved
    # every submitted proposal's members got a receipt and an eligibility result
    assert topics["email.submission_receipt"] >= submitted
    assert topics["email.eligibility_result"] >= submitted
    assert topics["email.decision"] >= 1
    grants = await session.scalar(select(func.count()).select_from(Grant))
    payments = await session.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.kind == LedgerEntryKind.DISBURSEMENT)
    )
    assignments = await session.scalar(select(func.count()).select_from(ReviewAssignment))
    assert grants
    assert payments
    assert topics["webhook.grant.created"] == grants
    assert topics["webhook.tranche.disbursed"] == payments
    assert topics["webhook.tranche.due"] >= 1
    assert topics["email.grant_created"] >= grants
    assert topics["email.tranche_paid"] >= payments
    assert topics["email.review_assigned"] == assignments
    # each e-mail has its sending job
    jobs = await session.scalar(
        text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'notifications.send'")
    )
    assert jobs == sum(n for t, n in topics.items() if t.startswith("email."))
