"""The reviewer's queue through the typed client: what an assignment tells (call and window
titles, the review deadline, the receipt code, blind or not), and the declaration of no conflict
of interest that must come before the proposal is shown or scored."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.calls import WindowUpdate
from contracts.client import ApiError
from contracts.reviews import AutoAssign, ConflictCreate, PanelReplace, ReviewSave
from service.persistence.models import AuditEvent
from tests.conftest import MakeUser
from tests.factories import criterion_scores, make_reviewers, submitted_proposal
from tests.journey import CLOSES, Programme

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


async def test_the_proposal_opens_only_after_the_no_conflict_declaration(
    programme: Programme, make_user: MakeUser, session: AsyncSession
) -> None:
    w = programme
    w1, proposal_id = await submitted_proposal(w)
    window = await w.officer.get_window(w1)
    deadline = CLOSES + timedelta(days=14)
    updated = await w.officer.update_window(
        w1, WindowUpdate(version=window.version, review_deadline=deadline)
    )
    assert updated.review_deadline == deadline
    (r1,) = await make_reviewers(make_user, 1)
    await w.officer.update_panel(w1, PanelReplace(reviewer_ids=[r1.id]))
    await w.officer.create_assignments(w1, AutoAssign(seed="queue"))

    (a,) = (await r1.client.list_assignments()).items
    proposal = await w.applicant.get_proposal(proposal_id)
    assert (a.proposal_id, a.receipt_number, a.blind) == (
        proposal_id,
        proposal.receipt_number,
        False,
    )
    assert a.window_title is not None
    assert a.window_title.ru == "Окно W1"
    assert a.call_title is not None
    assert a.call_title.ky == "Гранттар 2026"
    assert a.call_id == window.call_id
    assert a.review_deadline == deadline
    assert a.no_conflict_declared_at is None

    # nothing of the proposal before the declaration: not its text, files or a review
    for refused in (
        r1.client.get_assigned_proposal(a.id),
        r1.client.get_assigned_attachment_content(a.id, uuid.uuid4()),
        r1.client.update_review(a.id, ReviewSave(scores=criterion_scores(30, 30, 30))),
    ):
        with pytest.raises(ApiError) as caught:
            await refused
        assert caught.value.status == 409
        assert "conflict of interest" in (caught.value.problem.detail or "")

    declared = await r1.client.create_no_conflict_declaration(a.id)
    assert declared.no_conflict_declared_at is not None
    again = await r1.client.create_no_conflict_declaration(a.id)
    assert again.no_conflict_declared_at == declared.no_conflict_declared_at
    events = (
        (
            await session.execute(
                select(AuditEvent).where(
                    col(AuditEvent.action) == "review_assignment.no_conflict_declared"
                )
            )
        )
        .scalars()
        .all()
    )
    assert [e.entity_id for e in events] == [str(a.id)]
    view = await r1.client.get_assigned_proposal(a.id)
    assert view.id == proposal_id
    saved = await r1.client.update_review(a.id, ReviewSave(scores=criterion_scores(30, 30, 30)))
    assert [s.value for s in saved.scores] == [30, 30, 30]

    # a conflict may still be declared after reading: the assignment then leaves the queue
    await r1.client.create_conflict(a.id, ConflictCreate(reason="I now see I advised them"))
    (gone,) = (await r1.client.list_assignments()).items
    assert gone.status == "declined"
    with pytest.raises(ApiError) as caught:
        await r1.client.create_no_conflict_declaration(a.id)
    assert caught.value.status == 404


async def test_a_review_deadline_before_the_window_closes_is_refused(
    programme: Programme,
) -> None:
    w = programme
    w1, _ = await submitted_proposal(w)
    window = await w.officer.get_window(w1)
    with pytest.raises(ApiError) as caught:
        await w.officer.update_window(
            w1, WindowUpdate(version=window.version, review_deadline=window.closes_at)
        )
    assert caught.value.status == 422
    assert [e.field for e in caught.value.problem.errors or []] == ["body.review_deadline"]
    assert (await w.officer.get_window(w1)).version == window.version
