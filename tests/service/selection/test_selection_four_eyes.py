"""Four eyes on the selection: a second programme officer approves a run (never the officer who
created it nor the one who computed it), and a change of decision after the approval is proposed
by one officer and confirmed by another. Refused in the API (403, nothing changed) and in the
database (CHECK constraints)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.client import ApiError
from contracts.enums import ProposalStatus
from contracts.selection import (
    DecisionChangeTransition,
    DecisionCreate,
    DeclineCreate,
    SelectionRunCreate,
    SelectionRunTransition,
)
from service.persistence.models import AuditEvent, Decision, SelectionRun
from tests.conftest import MakeOrganisation, MakeUser
from tests.factories import (
    CONFLICT,
    FORBIDDEN,
    UNSELECT,
    another_officer,
    approved_window,
    scored_window,
)
from tests.journey import Programme

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


async def _events(session: AsyncSession, action: str, entity_id: uuid.UUID) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.entity_id == str(entity_id))
            )
        ).scalar_one()
    )


async def test_a_second_officer_approves_the_run(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    session: AsyncSession,
) -> None:
    w = programme
    win = await scored_window(w, make_user, make_organisation)
    computer, approver = await another_officer(make_user), await another_officer(make_user)
    run = await w.officer.create_selection_run(win.id, SelectionRunCreate())
    assert (run.created_by_name, run.computed_by, run.approved_by) == ("Test Person", None, None)
    computed = await computer.client.create_selection_computation(run.id)
    assert (computed.created_by, computed.computed_by) == (run.created_by, computer.id)
    assert computed.computed_by_name == "Test Person"
    assert computed.computed_at is not None

    # neither the creator nor the computer approves; nothing changes
    for refused_officer in (w.officer, computer.client):
        events = await _events(session, "selection_run.approved", run.id)
        with pytest.raises(ApiError) as refused:
            await refused_officer.approve_selection_run(run.id, SelectionRunTransition())
        assert (refused.value.status, refused.value.problem.type) == (403, FORBIDDEN)
        assert "four eyes" in (refused.value.problem.detail or "")
        again = await w.officer.get_selection_run(run.id)
        assert (again.status, again.approved_by, again.approved_at) == ("computed", None, None)
        assert (await w.officer.get_proposal(win.proposal)).status == ProposalStatus.SCORED
        assert await _events(session, "selection_run.approved", run.id) == events
    detail = refused.value.problem.detail or ""
    assert "computed" in detail

    approved = await approver.client.approve_selection_run(run.id, SelectionRunTransition())
    assert approved.status == "approved"
    assert (approved.created_by, approved.computed_by, approved.approved_by) == (
        run.created_by,
        computer.id,
        approver.id,
    )
    assert approved.approved_by_name == "Test Person"
    assert (await w.officer.get_proposal(win.proposal)).status == ProposalStatus.SELECTED
    assert await _events(session, "selection_run.approved", run.id) == 1
    # the decisions come from the run, recorded by the approver
    decision = (
        await session.execute(
            select(Decision).where(Decision.proposal_id == win.proposal, Decision.is_current)
        )
    ).scalar_one()
    assert (decision.run_id, decision.actor_id) == (run.id, approver.id)


async def test_the_database_refuses_a_run_approved_by_its_creator_or_computer(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    session: AsyncSession,
) -> None:
    w = programme
    win = await scored_window(w, make_user, make_organisation)
    computer = await another_officer(make_user)
    run = await w.officer.create_selection_run(win.id, SelectionRunCreate())
    await computer.client.create_selection_computation(run.id)
    for column in ("created_by", "computed_by"):
        with pytest.raises(DBAPIError, match="four_eyes_approval"):
            async with session.begin_nested():
                await session.execute(
                    text(
                        "UPDATE selection_run SET status = 'approved',"  # noqa: S608  (fixed names)
                        f" approved_by = {column}, approved_at = now() WHERE id = :id"
                    ),
                    {"id": run.id},
                )
    row = await session.get(SelectionRun, run.id, populate_existing=True)
    assert row is not None
    assert (row.status, row.approved_by) == ("computed", None)


async def test_runs_of_a_window_newest_first(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    session: AsyncSession,
) -> None:
    w = programme
    win = await scored_window(w, make_user, make_organisation)
    second = await another_officer(make_user)
    first = await w.officer.create_selection_run(win.id, SelectionRunCreate())
    await w.officer.create_selection_computation(first.id)
    assert [r.id for r in await w.officer.list_selection_runs(win.id)] == [first.id]
    # the test's requests share one transaction, hence one now(): the first run an hour earlier
    await session.execute(
        text("UPDATE selection_run SET created_at = created_at - interval '1 hour' WHERE id = :id"),
        {"id": first.id},
    )
    latest = await w.officer.create_selection_run(win.id, SelectionRunCreate(budget=5_000_000))
    runs = await second.client.list_selection_runs(win.id)
    assert [(r.id, r.status) for r in runs] == [(latest.id, "pending"), (first.id, "computed")]
    assert (runs[0].computed_by, runs[0].funded_count, runs[0].budget) == (None, None, 5_000_000)
    assert (runs[1].computed_by_name, runs[1].funded_count) == ("Test Person", 1)
    assert runs[1].funded_total is not None
    assert runs[1].funded_total > 0
    # approving one supersedes the other
    await second.client.create_selection_computation(latest.id)
    await second.client.approve_selection_run(first.id, SelectionRunTransition())
    runs = await w.officer.list_selection_runs(win.id)
    assert [(r.id, r.status, r.approved_by) for r in runs] == [
        (latest.id, "superseded", None),
        (first.id, "approved", second.id),
    ]
    with pytest.raises(ApiError) as unknown:
        await w.officer.list_selection_runs(uuid.uuid4())
    assert unknown.value.status == 404
    with pytest.raises(ApiError) as applicant:
        await win.applicant.list_selection_runs(win.id)
    assert applicant.value.status == 403


async def test_a_change_after_approval_needs_a_second_officer(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    session: AsyncSession,
) -> None:
    w = programme
    win, second = await approved_window(w, make_user, make_organisation)

    # the direct way is closed once the selection is approved
    with pytest.raises(ApiError) as direct:
        await w.officer.create_decision(win.proposal, UNSELECT)
    assert (direct.value.status, direct.value.problem.type) == (409, CONFLICT)
    assert "decision-changes" in (direct.value.problem.detail or "")

    change = await w.officer.create_decision_change(win.proposal, UNSELECT)
    assert (change.status, change.outcome, change.from_status) == (
        "pending",
        "not_selected",
        "selected",
    )
    assert (change.requested_by_name, change.confirmed_by, change.decided_at) == (
        "Test Person",
        None,
        None,
    )
    assert (change.proposal_title, change.window_id) == ("Solo project", win.id)
    # nothing moves yet
    assert (await w.officer.get_proposal(win.proposal)).status == ProposalStatus.SELECTED
    assert await _events(session, "decision_change.requested", change.id) == 1
    # one pending change per proposal
    with pytest.raises(ApiError) as twice:
        await second.client.create_decision_change(
            win.proposal, DecisionCreate(outcome="not_selected", reason="Another reason here")
        )
    assert twice.value.status == 409
    assert str(change.id) in (twice.value.problem.detail or "")

    # the requester cannot confirm it: 403, nothing changed
    with pytest.raises(ApiError) as own:
        await w.officer.create_decision_change_confirmation(change.id, DecisionChangeTransition())
    assert (own.value.status, own.value.problem.type) == (403, FORBIDDEN)
    assert "four eyes" in (own.value.problem.detail or "")
    assert (await w.officer.get_decision_change(change.id)).status == "pending"
    assert (await w.officer.get_proposal(win.proposal)).status == ProposalStatus.SELECTED

    # a second officer confirms: the proposal moves, the decision names the proposer
    confirmed = await second.client.create_decision_change_confirmation(
        change.id, DecisionChangeTransition(reason="Checked with the donor")
    )
    assert (confirmed.status, confirmed.confirmed_by, confirmed.confirmed_by_name) == (
        "confirmed",
        second.id,
        "Test Person",
    )
    assert confirmed.decided_at is not None
    assert confirmed.decision_id is not None
    assert (await w.officer.get_proposal(win.proposal)).status == ProposalStatus.NOT_SELECTED
    decision = await session.get(Decision, confirmed.decision_id, populate_existing=True)
    assert decision is not None
    assert (decision.outcome, decision.reason, decision.is_current) == (
        "not_selected",
        UNSELECT.reason,
        True,
    )
    assert decision.actor_id == change.requested_by
    assert await _events(session, "decision_change.confirmed", change.id) == 1
    assert await _events(session, "decision.overridden", win.proposal) == 1

    # confirming again: 409, nothing more happens
    with pytest.raises(ApiError) as again:
        await second.client.create_decision_change_confirmation(
            change.id, DecisionChangeTransition()
        )
    assert (again.value.status, again.value.problem.type) == (409, CONFLICT)
    assert await _events(session, "decision.overridden", win.proposal) == 1

    # the database refuses a change confirmed by its requester, whoever writes it
    with pytest.raises(DBAPIError, match="four_eyes_confirmation"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE decision_change SET confirmed_by = requested_by WHERE id = :id"),
                {"id": change.id},
            )


async def test_a_change_is_rejected_or_goes_stale(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    session: AsyncSession,
) -> None:
    w = programme
    win, second = await approved_window(w, make_user, make_organisation)
    rejected_one = await w.officer.create_decision_change(win.proposal, UNSELECT)
    rejected = await second.client.create_decision_change_rejection(
        rejected_one.id, DecisionChangeTransition(reason="The donor funds other activities")
    )
    assert (rejected.status, rejected.rejected_by, rejected.rejection_reason) == (
        "rejected",
        second.id,
        "The donor funds other activities",
    )
    assert (rejected.confirmed_by, rejected.decision_id) == (None, None)
    assert (await w.officer.get_proposal(win.proposal)).status == ProposalStatus.SELECTED
    assert await _events(session, "decision_change.rejected", rejected.id) == 1
    with pytest.raises(ApiError) as late:
        await second.client.create_decision_change_confirmation(
            rejected.id, DecisionChangeTransition()
        )
    assert late.value.status == 409

    # (one transaction, one now(): the first change an hour earlier, for the list's order)
    await session.execute(
        text(
            "UPDATE decision_change SET requested_at = requested_at - interval '1 hour',"
            " decided_at = decided_at - interval '1 hour' WHERE id = :id"
        ),
        {"id": rejected.id},
    )
    # a new change, then the proposal moves (the applicant declines) before it is confirmed
    stale = await w.officer.create_decision_change(win.proposal, UNSELECT)
    await win.applicant.create_declination(win.proposal, DeclineCreate(reason="Merged"))
    with pytest.raises(ApiError) as moved:
        await second.client.create_decision_change_confirmation(
            stale.id, DecisionChangeTransition()
        )
    assert (moved.value.status, moved.value.problem.type) == (409, CONFLICT)
    assert "moved" in (moved.value.problem.detail or "")
    assert (await w.officer.get_decision_change(stale.id)).status == "pending"
    # its proposer withdraws it
    withdrawn = await w.officer.create_decision_change_rejection(
        stale.id, DecisionChangeTransition()
    )
    assert (withdrawn.status, withdrawn.rejected_by) == ("rejected", stale.requested_by)

    # the window's list, newest first, filtered by status
    listed = await second.client.list_decision_changes(win.id)
    assert [x.id for x in listed] == [stale.id, rejected_one.id]
    assert await w.officer.list_decision_changes(win.id, status="pending") == []
    assert [x.id for x in await w.officer.list_decision_changes(win.id, status="rejected")] == [
        stale.id,
        rejected_one.id,
    ]
    with pytest.raises(ApiError) as bad_status:
        await w.officer.list_decision_changes(win.id, status="maybe")
    assert bad_status.value.status in (400, 422)


async def test_a_change_must_be_a_legal_move(
    programme: Programme, make_user: MakeUser, make_organisation: MakeOrganisation
) -> None:
    w = programme
    win, _ = await approved_window(w, make_user, make_organisation)
    with pytest.raises(ApiError) as illegal:
        await w.officer.create_decision_change(
            win.proposal, DecisionCreate(outcome="reserve", reason="Back to the reserve list")
        )
    assert illegal.value.status == 409
    assert illegal.value.problem.allowed is not None
    assert await w.officer.list_decision_changes(win.id) == []
    with pytest.raises(ApiError) as applicant:
        await win.applicant.create_decision_change(win.proposal, UNSELECT)
    assert applicant.value.status == 403
