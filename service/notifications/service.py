"""E-mail notifications written to the outbox in the transaction of the change that causes them,
one message per recipient, and sent by the job queue (`notifications.send`).

Who receives what: the applicant organisation's members for their proposals and grants, the
reviewer for an assignment. The facts (titles, receipt numbers, amounts, dates) are taken when
the change happens; the language is the recipient's when the e-mail is sent. A person who
turned a kind off gets no e-mail of it (checked when written and again when sent). A message
with a `dedupe_key` is written at most once (e.g. one reminder per assignment)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.enums import DecisionOutcome, ProposalStatus
from contracts.notifications import NotificationKind
from contracts.webhooks import EventType
from service.context import utcnow
from service.jobs import defer, defer_many
from service.persistence.models import (
    AppUser,
    CallWindow,
    Decision,
    Grant,
    LedgerEntry,
    Membership,
    NotificationPreference,
    OutboxMessage,
    Proposal,
    Report,
    ReviewAssignment,
    SelectionRun,
    Tranche,
)

TOPIC_PREFIX = "email."
REMINDER_BEFORE = timedelta(days=2)
"""A reviewer whose review is not submitted is reminded this long before the deadline."""


def money(amount: int, currency: str) -> dict[str, Any]:
    return {"minor": amount, "currency": currency}


def instant(at: datetime) -> dict[str, Any]:
    return {"instant": at.isoformat()}


async def _wanting(
    session: AsyncSession, kind: NotificationKind, user_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """The active users among `user_ids` who have not turned `kind` off, in a stable order."""
    if not user_ids:
        return []
    off = select(col(NotificationPreference.user_id)).where(
        col(NotificationPreference.kind) == kind.value,
        col(NotificationPreference.enabled).is_(False),
    )
    rows = await session.execute(
        select(col(AppUser.id))
        .where(
            col(AppUser.id).in_(list(user_ids)),
            col(AppUser.is_active),
            col(AppUser.id).not_in(off),
        )
        .order_by(col(AppUser.id))
    )
    return list(rows.scalars())


_OUTBOX: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel tables have one
_EMAIL_FIELDS = ("id", "topic", "payload", "created_at", "available_at", "dedupe_key")


_BATCH = 500
"""E-mails per INSERT (PostgreSQL takes at most 32,767 parameters in a statement)."""


@functools.lru_cache(maxsize=64)
def _write_emails(n: int) -> Any:
    """`n` e-mails in one INSERT (built once per `n`; the parameters of row i end in `_i`), those
    whose `dedupe_key` was written before left out; returns the ids written."""
    return (
        insert(_OUTBOX)
        .values(
            [
                {f: sa.bindparam(f"{f}_{i}", type_=_OUTBOX.c[f].type) for f in _EMAIL_FIELDS}
                for i in range(n)
            ]
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_OUTBOX.c.id)
    )


async def _write(
    session: AsyncSession,
    kind: NotificationKind,
    recipients: Sequence[uuid.UUID],
    params: Mapping[str, Any],
    dedupe_key: str | None,
) -> list[uuid.UUID]:
    """One e-mail of `kind` per recipient (who wants it: checked by the caller) and its sending
    job: two statements per batch of up to `_BATCH` (one INSERT, one deferral of their jobs)."""
    written: list[uuid.UUID] = []
    for start in range(0, len(recipients), _BATCH):
        written += await _write_batch(
            session, kind, recipients[start : start + _BATCH], params, dedupe_key
        )
    return written


async def _write_batch(
    session: AsyncSession,
    kind: NotificationKind,
    recipients: Sequence[uuid.UUID],
    params: Mapping[str, Any],
    dedupe_key: str | None,
) -> list[uuid.UUID]:
    from service.notifications.tasks import send

    now = utcnow()
    ids = [uuid.uuid4() for _ in recipients]
    values: dict[str, Any] = {}
    for i, (message_id, user_id) in enumerate(zip(ids, recipients, strict=True)):
        values |= {
            f"id_{i}": message_id,
            f"topic_{i}": TOPIC_PREFIX + kind.value,
            f"payload_{i}": {"kind": kind.value, "user_id": str(user_id), "params": dict(params)},
            f"created_at_{i}": now,
            f"available_at_{i}": now,
            f"dedupe_key_{i}": f"{dedupe_key}:{user_id}" if dedupe_key else None,
        }
    inserted = set((await session.execute(_write_emails(len(ids)), values)).scalars())
    written = [i for i in ids if i in inserted]  # those already written once are left out
    await defer_many(session, [(send, {"outbox_id": str(i)}) for i in written])
    return written


async def notify(
    session: AsyncSession,
    kind: NotificationKind,
    user_ids: Sequence[uuid.UUID],
    params: Mapping[str, Any],
    *,
    dedupe_key: str | None = None,
) -> list[uuid.UUID]:
    """Write one e-mail of `kind` per recipient who wants it, each with its sending job, in the
    caller's transaction; returns the outbox ids written."""
    return await _write(session, kind, await _wanting(session, kind, user_ids), params, dedupe_key)


async def _members(session: AsyncSession, organisation_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        select(col(Membership.user_id)).where(col(Membership.organisation_id) == organisation_id)
    )
    return list(rows.scalars())


async def _proposal_facts(
    session: AsyncSession, proposal_id: uuid.UUID
) -> tuple[Proposal, CallWindow, dict[str, Any]] | None:
    proposal = await session.get(Proposal, proposal_id)
    window = await session.get(CallWindow, proposal.window_id) if proposal else None
    if proposal is None or window is None:
        return None
    facts: dict[str, Any] = {
        "title": proposal.title,
        "receipt": proposal.receipt_number or "",
        "window": window.title,
    }
    return proposal, window, facts


async def notify_proposal(
    session: AsyncSession, kind: NotificationKind, proposal_id: uuid.UUID, **extra: Any
) -> list[uuid.UUID]:
    """An e-mail about a proposal to its organisation's members (receipt, eligibility,
    decision)."""
    found = await _proposal_facts(session, proposal_id)
    if found is None:
        return []
    proposal, _, facts = found
    if kind == NotificationKind.SUBMISSION_RECEIPT and proposal.submitted_at is not None:
        facts["submitted_at"] = instant(proposal.submitted_at)
    if kind == NotificationKind.ELIGIBILITY_RESULT:
        facts["outcome"] = (
            "eligible" if proposal.status != ProposalStatus.INELIGIBLE else "ineligible"
        )
    facts.update(extra)
    return await notify(session, kind, await _members(session, proposal.organisation_id), facts)


async def notify_assignment(
    session: AsyncSession, kind: NotificationKind, assignment_id: uuid.UUID
) -> list[uuid.UUID]:
    """An e-mail to the reviewer of an assignment (assigned, reminder); an assignment also
    queues its reminder for two days before the window's review deadline."""
    from service.notifications.tasks import remind_reviewer

    assignment = await session.get(ReviewAssignment, assignment_id)
    found = await _proposal_facts(session, assignment.proposal_id) if assignment else None
    if assignment is None or found is None:
        return []
    _, window, facts = found
    facts["deadline"] = instant(window.review_deadline) if window.review_deadline else "—"
    key = f"{kind.value}:{assignment_id}"
    written = await notify(session, kind, [assignment.reviewer_id], facts, dedupe_key=key)
    if kind == NotificationKind.REVIEW_ASSIGNED and window.review_deadline is not None:
        await defer(
            session,
            remind_reviewer,
            assignment_id=str(assignment_id),
            schedule_at=max(window.review_deadline - REMINDER_BEFORE, utcnow()),
        )
    return written


async def _grant_facts(session: AsyncSession, grant: Grant) -> dict[str, Any]:
    proposal = await session.get(Proposal, grant.proposal_id)
    if proposal is None:  # pragma: no cover - a grant always has its proposal (foreign key)
        return {"title": "", "receipt": ""}
    return {"title": proposal.title, "receipt": proposal.receipt_number or ""}


async def notify_grant(
    session: AsyncSession, kind: NotificationKind, grant_id: uuid.UUID
) -> list[uuid.UUID]:
    grant = await session.get(Grant, grant_id)
    if grant is None:
        return []
    facts = await _grant_facts(session, grant)
    tranches = (
        await session.execute(select(col(Tranche.id)).where(col(Tranche.grant_id) == grant.id))
    ).all()
    facts |= {
        "amount": money(grant.amount, grant.currency),
        "start": {"date": grant.start_date.isoformat()},
        "end": {"date": grant.end_date.isoformat()},
        "tranches": len(tranches),
    }
    return await notify(session, kind, await _members(session, grant.organisation_id), facts)


@dataclass(frozen=True)
class TranchePaid:
    """The rows of a payment, in the hands of the use case that wrote them (the tranche and its
    grant as they now are, the ledger entry): its e-mail is written from them, not read back."""

    grant: Grant
    tranche: Tranche
    entry: LedgerEntry


_OFF = select(col(NotificationPreference.user_id)).where(
    col(NotificationPreference.kind) == sa.bindparam("kind"),
    col(NotificationPreference.enabled).is_(False),
)
_FACTS_AND_MEMBERS = select(
    col(Proposal.title),
    col(Proposal.receipt_number),
    sa.func.array(
        select(col(AppUser.id))
        .where(
            col(AppUser.id).in_(
                select(col(Membership.user_id)).where(
                    col(Membership.organisation_id) == sa.bindparam("organisation_id")
                )
            ),
            col(AppUser.is_active),
            col(AppUser.id).not_in(_OFF),
        )
        .order_by(col(AppUser.id))
        .scalar_subquery()
    ).label("recipients"),
).where(col(Proposal.id) == sa.bindparam("proposal_id"))
"""A grant's proposal's title and receipt number, and the members of its organisation who want
an e-mail of a kind (`_members` then `_wanting`, in one statement built once)."""


async def _tranche_paid(
    session: AsyncSession, kind: NotificationKind, paid: TranchePaid
) -> list[uuid.UUID]:
    """`notify_tranche` of a payment from its rows: three statements (the facts and recipients,
    the e-mails, their jobs)."""
    grant, tranche, entry = paid.grant, paid.tranche, paid.entry
    row = (
        await session.execute(
            _FACTS_AND_MEMBERS,
            {
                "proposal_id": grant.proposal_id,
                "organisation_id": grant.organisation_id,
                "kind": kind.value,
            },
        )
    ).one()
    facts: dict[str, Any] = {
        "title": row.title,
        "receipt": row.receipt_number or "",
        "number": tranche.position + 1,
        "amount": money(tranche.amount, tranche.currency),
        "value_date": {"date": entry.value_date.isoformat()},
        "reference": entry.reference,
    }
    return await _write(session, kind, row.recipients, facts, None)


async def notify_tranche(
    session: AsyncSession,
    kind: NotificationKind,
    tranche_id: uuid.UUID,
    *,
    paid: TranchePaid | None = None,
) -> list[uuid.UUID]:
    """An e-mail about a tranche to its grant's organisation's members (due, paid); of a
    payment whose rows are given (`paid`), from those rows."""
    if paid is not None and kind == NotificationKind.TRANCHE_PAID:
        return await _tranche_paid(session, kind, paid)
    tranche = await session.get(Tranche, tranche_id)
    grant = await session.get(Grant, tranche.grant_id) if tranche else None
    if tranche is None or grant is None:
        return []
    facts = await _grant_facts(session, grant)
    facts |= {"number": tranche.position + 1, "amount": money(tranche.amount, tranche.currency)}
    if kind == NotificationKind.TRANCHE_PAID:
        entry = (
            await session.execute(
                select(LedgerEntry)
                .where(col(LedgerEntry.tranche_id) == tranche.id)
                .order_by(col(LedgerEntry.created_at).desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        facts["value_date"] = {"date": entry.value_date.isoformat()} if entry else "—"
        facts["reference"] = entry.reference if entry else "—"
    return await notify(
        session,
        kind,
        await _members(session, grant.organisation_id),
        facts,
        # "due" once per tranche; "paid" again after a reversal and a new payment
        dedupe_key=f"{kind.value}:{tranche_id}" if kind == NotificationKind.TRANCHE_DUE else None,
    )


async def notify_report(
    session: AsyncSession, kind: NotificationKind, report_id: uuid.UUID
) -> list[uuid.UUID]:
    report = await session.get(Report, report_id)
    grant = await session.get(Grant, report.grant_id) if report else None
    if report is None or grant is None:
        return []
    facts = await _grant_facts(session, grant)
    facts["comment"] = report.review_comment or "—"
    return await notify(session, kind, await _members(session, grant.organisation_id), facts)


async def notify_decisions(session: AsyncSession, window_id: uuid.UUID) -> list[uuid.UUID]:
    """The decision e-mail for every proposal of the window's approved selection."""
    run_ids = select(col(SelectionRun.id)).where(
        col(SelectionRun.window_id) == window_id, col(SelectionRun.approved_at).is_not(None)
    )
    decisions = (
        await session.execute(
            select(col(Decision.proposal_id), col(Decision.outcome))
            .where(col(Decision.run_id).in_(run_ids), col(Decision.is_current))
            .order_by(col(Decision.proposal_id))
        )
    ).all()
    written: list[uuid.UUID] = []
    for proposal_id, outcome in decisions:
        written += await notify_proposal(
            session,
            NotificationKind.DECISION,
            proposal_id,
            outcome=DecisionOutcome(outcome).value,
        )
    return written


async def on_event(
    session: AsyncSession,
    event_type: EventType,
    data: Mapping[str, object],
    *,
    known: TranchePaid | None = None,
) -> list[uuid.UUID]:
    """The e-mails an event brings (called by `emit`, in its transaction); none when the event
    does not name an existing row. `known`: the rows of a payment, in the caller's hands."""

    def ident(key: str) -> uuid.UUID:
        try:
            return uuid.UUID(str(data.get(key)))
        except ValueError:
            return uuid.UUID(int=0)  # no row has it

    if event_type == EventType.PROPOSAL_SUBMITTED:
        return await notify_proposal(
            session, NotificationKind.SUBMISSION_RECEIPT, ident("proposal_id")
        )
    if event_type == EventType.GRANT_CREATED:
        return await notify_grant(session, NotificationKind.GRANT_CREATED, ident("grant_id"))
    if event_type == EventType.TRANCHE_DUE:
        return await notify_tranche(session, NotificationKind.TRANCHE_DUE, ident("tranche_id"))
    if event_type == EventType.TRANCHE_DISBURSED:
        return await notify_tranche(
            session, NotificationKind.TRANCHE_PAID, ident("tranche_id"), paid=known
        )
    if event_type == EventType.SELECTION_APPROVED:
        return await notify_decisions(session, ident("window_id"))
    return []
