"""Explicit assignments in one call (CreateAssignmentBatch): all or nothing, each pair checked as
CreateAssignment checks it, refused pairs named by index, Idempotency-Key honoured."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import msgspec
import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.client import ApiError
from contracts.enums import ProposalStatus, Role
from contracts.proposals import ProposalCreate
from contracts.reviews import (
    MAX_ASSIGNMENT_BATCH,
    AssignmentBatchCreate,
    AssignmentCreate,
    AssignmentPair,
)
from service.persistence.models import (
    AuditEvent,
    Conflict,
    IdempotencyRecord,
    Membership,
    OutboxMessage,
    Proposal,
    ReviewAssignment,
)
from tests.conftest import MakeUser, Person
from tests.factories import apply_to_window, make_reviewers, submitted_proposal
from tests.journey import Programme

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


@dataclass
class Round:
    window_id: uuid.UUID
    proposals: list[uuid.UUID]
    reviewers: list[Person]


@pytest.fixture
async def round_(programme: Programme, make_user: MakeUser) -> Round:
    """A window with two eligible proposals and three reviewers, nobody assigned yet."""
    w = programme
    w1, first = await submitted_proposal(w)
    second = await apply_to_window(w, w1, w.applicant, w.org.id, "Second proposal")
    return Round(w1, [first, second], await make_reviewers(make_user, 3))


def pairs(*items: tuple[uuid.UUID, uuid.UUID]) -> AssignmentBatchCreate:
    return AssignmentBatchCreate(
        items=[AssignmentPair(proposal_id=p, reviewer_id=r) for p, r in items]
    )


def every_pair(r: Round) -> list[tuple[uuid.UUID, uuid.UUID]]:
    return [(p, x.id) for p in r.proposals for x in r.reviewers]


async def counts(session: AsyncSession) -> dict[str, int]:
    tables = (ReviewAssignment, Conflict, AuditEvent, OutboxMessage, IdempotencyRecord)
    return {
        t.__name__: int((await session.execute(select(func.count()).select_from(t))).scalar_one())
        for t in tables
    }


async def statuses(session: AsyncSession, ids: list[uuid.UUID]) -> list[str]:
    found = select(Proposal.id, Proposal.status).where(col(Proposal.id).in_(ids))
    rows = dict((await session.execute(found)).tuples().all())
    return [str(rows[i]) for i in ids]


async def test_one_call_assigns_every_pair_and_audits_each(
    programme: Programme, round_: Round, session: AsyncSession
) -> None:
    before = await counts(session)
    wanted = every_pair(round_)
    made = await programme.officer.create_assignment_batch(round_.window_id, pairs(*wanted))
    assert [(a.proposal_id, a.reviewer_id) for a in made.items] == wanted
    assert {a.window_id for a in made.items} == {round_.window_id}
    listed = await programme.officer.list_window_assignments(round_.window_id)
    assert sorted((a.proposal_id, a.reviewer_id) for a in listed.items) == sorted(wanted)
    assert await statuses(session, round_.proposals) == [ProposalStatus.IN_REVIEW] * 2
    created = (
        await session.execute(
            select(AuditEvent.entity_id).where(
                col(AuditEvent.action) == "review_assignment.created"
            )
        )
    ).scalars()
    assert sorted(created) == sorted(str(a.id) for a in made.items)
    after = await counts(session)
    assert after["ReviewAssignment"] - before["ReviewAssignment"] == 6
    assert after["OutboxMessage"] - before["OutboxMessage"] == 6  # one e-mail per assignment
    # every reviewer sees its own two
    for x in round_.reviewers:
        mine = await x.client.list_assignments()
        assert sorted(a.proposal_id for a in mine.items) == sorted(round_.proposals)


async def test_one_conflicted_pair_refuses_the_batch_and_nothing_changes(
    programme: Programme, round_: Round, session: AsyncSession
) -> None:
    """The last reviewer belongs to the applicant organisation: a conflict the system detects.
    Five good pairs and its one: 409 naming its index, nothing assigned, no conflict kept."""
    w = programme
    r3 = round_.reviewers[2]
    session.add(Membership(user_id=r3.id, organisation_id=w.org.id))
    await session.flush()
    wanted = [x for x in every_pair(round_) if x[1] != r3.id] + [(round_.proposals[1], r3.id)]
    before = await counts(session)
    with pytest.raises(ApiError) as refused:
        await w.officer.create_assignment_batch(round_.window_id, pairs(*wanted))
    assert refused.value.status == 409
    last = f"body.items[{len(wanted) - 1}]"
    assert [e.field for e in refused.value.problem.errors or []] == [last]
    assert "conflict of interest" in (refused.value.problem.errors or [])[0].message
    assert await counts(session) == before
    assert await statuses(session, round_.proposals) == [ProposalStatus.ELIGIBLE] * 2

    # the single call refuses the same pair the same way
    with pytest.raises(ApiError) as single:
        await w.officer.create_assignment(round_.proposals[1], AssignmentCreate(reviewer_id=r3.id))
    assert single.value.status == 409


async def test_every_bad_pair_is_named_by_index_in_one_problem(
    programme: Programme, round_: Round, session: AsyncSession, make_user: MakeUser
) -> None:
    w = programme
    p1, p2 = round_.proposals
    r1, r2, _ = round_.reviewers
    officer = await make_user(Role.PROGRAMME_OFFICER)
    draft = await w.applicant.create_proposal(
        round_.window_id, ProposalCreate(organisation_id=w.org.id, title="Still a draft")
    )
    await w.officer.create_assignment(p2, AssignmentCreate(reviewer_id=r2.id))
    before = await counts(session)
    with pytest.raises(ApiError) as refused:
        await w.officer.create_assignment_batch(
            round_.window_id,
            pairs(
                (p1, r1.id),  # 0: fine
                (uuid.uuid4(), r1.id),  # 1: no such proposal
                (p1, officer.id),  # 2: not a reviewer
                (p1, r1.id),  # 3: repeats 0
                (draft.id, r1.id),  # 4: a draft is not reviewed
                (p2, r2.id),  # 5: assigned already
                (p2, r1.id),  # 6: fine
            ),
        )
    assert refused.value.status == 422
    assert [e.field for e in refused.value.problem.errors or []] == [
        "body.items[1].proposal_id",
        "body.items[2].reviewer_id",
        "body.items[3]",
        "body.items[4].proposal_id",
        "body.items[5]",
    ]
    assert await counts(session) == before

    # without the invalid pairs, the state refusals remain: 409, still nothing assigned
    with pytest.raises(ApiError) as conflicting:
        await w.officer.create_assignment_batch(
            round_.window_id, pairs((p1, r1.id), (draft.id, r1.id), (p2, r2.id))
        )
    assert conflicting.value.status == 409
    assert [e.field for e in conflicting.value.problem.errors or []] == [
        "body.items[1].proposal_id",
        "body.items[2]",
    ]
    assert await counts(session) == before


async def test_a_proposal_of_another_window_is_refused(
    programme: Programme, round_: Round, session: AsyncSession
) -> None:
    w = programme
    other_window, other = await submitted_proposal(w)
    assert other_window != round_.window_id
    before = await counts(session)
    with pytest.raises(ApiError) as refused:
        await w.officer.create_assignment_batch(
            round_.window_id, pairs((other, round_.reviewers[0].id))
        )
    assert refused.value.status == 422
    assert [e.field for e in refused.value.problem.errors or []] == ["body.items[0].proposal_id"]
    assert await counts(session) == before


async def test_the_batch_is_bounded(programme: Programme, round_: Round) -> None:
    r1 = round_.reviewers[0].id
    too_many = [(uuid.uuid4(), r1) for _ in range(MAX_ASSIGNMENT_BATCH + 1)]
    for items in (too_many, []):
        with pytest.raises(ApiError) as refused:
            await programme.officer.create_assignment_batch(round_.window_id, pairs(*items))
        assert refused.value.status == 422
        assert refused.value.type == "urn:pcc-grants:problem:validation-error"


async def test_a_retry_with_the_same_key_replays_the_first_answer(
    programme: Programme, round_: Round, session: AsyncSession
) -> None:
    w = programme
    body = pairs(*every_pair(round_))
    first = await w.officer.create_assignment_batch(round_.window_id, body, idempotency_key="b-1")
    after_first = await counts(session)
    again = await w.officer.create_assignment_batch(round_.window_id, body, idempotency_key="b-1")
    assert again == first
    assert await counts(session) == after_first
    # the raw answer says it is a replay
    raw = await w.officer.http.post(
        f"windows/{round_.window_id}/assignment-batch",
        content=msgspec.json.encode(body),
        headers={
            "Idempotency-Key": "b-1",
            "content-type": "application/json",
            "authorization": f"Bearer {w.officer.token}",
        },
    )
    assert (raw.status_code, raw.headers.get("Idempotent-Replayed")) == (201, "true")
    # without a key, the same pairs are refused: they are assigned already
    with pytest.raises(ApiError) as refused:
        await w.officer.create_assignment_batch(round_.window_id, body)
    assert refused.value.status == 409
    assert len(refused.value.problem.errors or []) == 6


async def test_only_review_managers_may_assign_in_batch(
    programme: Programme, round_: Round, session: AsyncSession
) -> None:
    before = await counts(session)
    for who in (programme.applicant, round_.reviewers[0].client):
        with pytest.raises(ApiError) as refused:
            await who.create_assignment_batch(round_.window_id, pairs(*every_pair(round_)))
        assert refused.value.status == 403
    assert await counts(session) == before
