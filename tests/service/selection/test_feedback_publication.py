"""Feedback published deliberately: a window's applicants read their decision and the panel's
feedback once a programme officer publishes it, after the selection's approval and with no change
of decision pending; staff read it before. Refusals change nothing; the publication is audited."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.client import ApiError, GrantsClient
from contracts.enums import Role
from contracts.selection import (
    FEEDBACK_NOT_PUBLISHED,
    DecisionChangeTransition,
    SelectionRunCreate,
    SelectionRunTransition,
)
from service.persistence.models import AuditEvent
from tests.conftest import MakeOrganisation, MakeUser
from tests.factories import (
    CONFLICT,
    FORBIDDEN,
    UNSELECT,
    another_officer,
    approved_window,
    scored_window,
)
from tests.journey import MONTHS, Programme

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


async def _published_events(session: AsyncSession, window_id: uuid.UUID) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.action == "window.feedback_published",
                    AuditEvent.entity_id == str(window_id),
                )
            )
        ).scalar_one()
    )


async def _refused(call: object, status: int, problem: str, detail: str = "") -> None:
    with pytest.raises(ApiError) as refused:
        await call  # type: ignore[misc]
    assert (refused.value.status, refused.value.problem.type) == (status, problem)
    assert detail in (refused.value.problem.detail or "")


async def test_applicants_read_feedback_once_an_officer_publishes_it(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    session: AsyncSession,
) -> None:
    w = programme
    win = await scored_window(w, make_user, make_organisation)
    me = await w.officer.get_me()

    # before the approval: nothing to publish; the applicant is told it is not published
    await _refused(
        w.officer.create_feedback_publication(win.id), 409, CONFLICT, "no approved selection run"
    )
    await _refused(
        win.applicant.get_feedback(win.proposal), 409, FEEDBACK_NOT_PUBLISHED, "not yet published"
    )
    state = await w.officer.get_feedback_publication(win.id)
    assert (state.published_at, state.approved_run_id, state.proposals) == (None, None, 0)

    run = await w.officer.create_selection_run(win.id, SelectionRunCreate())
    await w.officer.create_selection_computation(run.id)
    second = await another_officer(make_user)
    await second.client.approve_selection_run(run.id, SelectionRunTransition())

    # approved, not published: staff read the feedback, the applicant still waits
    staff = await w.officer.get_feedback(win.proposal)
    assert staff.decision is not None
    assert staff.decision.outcome == "selected"
    await _refused(
        win.applicant.get_feedback(win.proposal), 409, FEEDBACK_NOT_PUBLISHED, "not yet published"
    )
    window = await win.applicant.get_window(win.id)
    assert (window.feedback_published_at, window.feedback_published_by) == (None, None)
    state = await w.officer.get_feedback_publication(win.id)
    assert (state.approved_run_id, state.pending_decision_changes, state.proposals) == (
        run.id,
        0,
        1,
    )

    # a change of decision awaiting its second officer holds the publication back
    change = await second.client.create_decision_change(win.proposal, UNSELECT)
    assert (await w.officer.get_feedback_publication(win.id)).pending_decision_changes == 1
    await _refused(w.officer.create_feedback_publication(win.id), 409, CONFLICT, "await a second")
    await w.officer.create_decision_change_rejection(
        change.id, DecisionChangeTransition(reason="The donor's grant covers other work")
    )
    assert await _published_events(session, win.id) == 0

    published = await w.officer.create_feedback_publication(win.id)
    assert published.published_at is not None
    assert (published.published_by, published.published_by_name) == (me.id, me.full_name)
    window = await win.applicant.get_window(win.id)
    assert window.feedback_published_at == published.published_at
    assert window.feedback_published_by == me.id
    assert await _published_events(session, win.id) == 1

    # the applicant reads it now
    fb = await win.applicant.get_feedback(win.proposal)
    assert fb.decision is not None
    assert fb.decision.outcome == "selected"
    assert [x.code for x in fb.criteria] == ["relevance", "feasibility", "gender"]

    # once only: a second publication is refused and the first one's time and officer stay
    await _refused(
        second.client.create_feedback_publication(win.id), 409, CONFLICT, "already published"
    )
    again = await second.client.get_feedback_publication(win.id)
    assert (again.published_at, again.published_by) == (published.published_at, me.id)
    assert await _published_events(session, win.id) == 1


async def test_only_programme_officers_publish(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    session: AsyncSession,
) -> None:
    w = programme
    win, _ = await approved_window(w, make_user, make_organisation)
    finance = await make_user(Role.FINANCE_OFFICER, token_expires_in=MONTHS)
    reviewer = await make_user(Role.REVIEWER, token_expires_in=MONTHS)
    refused: list[GrantsClient] = [win.applicant, finance.client, reviewer.client]
    for client in refused:
        await _refused(client.create_feedback_publication(win.id), 403, FORBIDDEN)
    # the applicant and reviewers do not read the publication's state either
    for client in (win.applicant, reviewer.client):
        await _refused(client.get_feedback_publication(win.id), 403, FORBIDDEN)
    assert (await finance.client.get_feedback_publication(win.id)).published_at is None
    # finance staff read the feedback before it is published, as programme officers do
    assert (await finance.client.get_feedback(win.proposal)).decision is not None
    assert await _published_events(session, win.id) == 0
    await _refused(
        w.officer.create_feedback_publication(uuid.uuid4()),
        404,
        "urn:pcc-grants:problem:not-found",
    )


async def test_the_database_keeps_the_time_and_the_officer_together(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    session: AsyncSession,
) -> None:
    win, _ = await approved_window(programme, make_user, make_organisation)
    with pytest.raises(DBAPIError, match="feedback_publication_pair"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE call_window SET feedback_published_at = now() WHERE id = :id"),
                {"id": win.id},
            )
