"""The history of a window's decisions (ListWindowDecisions): the approved run's decision, the
applicant's decline and the reserve proposal moving up, each with who recorded it; `current`
marks the one in force. Staff of the programme read it; applicants do not."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.client import ApiError
from contracts.enums import OrganisationKind, ProposalStatus, Role
from contracts.reviews import AutoAssign, PanelReplace, ReviewSave, ReviewSubmit
from contracts.selection import DeclineCreate, SelectionRunCreate, SelectionRunTransition
from tests.conftest import MakeOrganisation, MakeUser
from tests.factories import REQUEST, apply_to_window, criterion_scores, make_rubric
from tests.journey import MONTHS, Programme, published_call


async def test_decline_moves_the_reserve_up_in_the_history(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    session: AsyncSession,
) -> None:
    w = programme
    _, w1, _ = await published_call(w)
    window = await w.officer.get_window(w1)
    await w.officer.update_window_rubric(w1, make_rubric(window.version))
    ids: dict[str, uuid.UUID] = {}
    members = {}
    for name in ("First", "Second"):
        org = await make_organisation(
            name=name, territory_id=w.osh.id, kind=OrganisationKind.CSO, founded_year=2010
        )
        member = await make_user(member_of=(org,), token_expires_in=MONTHS)
        members[name] = member
        ids[name] = await apply_to_window(w, w1, member.client, org.id, f"{name} project")
    reviewer = await make_user(Role.REVIEWER, token_expires_in=MONTHS)
    await w.officer.update_panel(w1, PanelReplace(reviewer_ids=[reviewer.id]))
    await w.officer.create_assignments(w1, AutoAssign(seed="h"))
    values = {ids["First"]: 45, ids["Second"]: 35}
    for a in (await reviewer.client.list_assignments()).items:
        await reviewer.client.create_no_conflict_declaration(a.id)
        v = values[a.proposal_id]
        saved = await reviewer.client.update_review(
            a.id, ReviewSave(scores=criterion_scores(v, v, v))
        )
        await reviewer.client.create_review_submission(a.id, ReviewSubmit(version=saved.version))
    # nothing decided yet
    assert await w.officer.list_window_decisions(w1) == []

    run = await w.officer.create_selection_run(w1, SelectionRunCreate(budget=REQUEST))
    await w.officer.create_selection_computation(run.id)
    second = await make_user(Role.PROGRAMME_OFFICER, token_expires_in=MONTHS)
    await second.client.approve_selection_run(run.id, SelectionRunTransition())
    approved = await w.officer.list_window_decisions(w1)
    assert sorted((x.proposal_id, x.outcome, x.run_id, x.current) for x in approved) == sorted(
        [(ids["First"], "selected", run.id, True), (ids["Second"], "reserve", run.id, True)]
    )
    assert {x.actor_id for x in approved} == {second.id}
    assert {x.proposal_title for x in approved} == {"First project", "Second project"}
    assert all(x.receipt_number for x in approved)
    # the test's requests share one transaction (one now()): the approval an hour earlier
    await session.execute(text("UPDATE decision SET created_at = created_at - interval '1 hour'"))

    await members["First"].client.create_declination(ids["First"], DeclineCreate(reason="Merged"))
    assert (await w.officer.get_proposal(ids["Second"])).status == ProposalStatus.SELECTED
    history = await second.client.list_window_decisions(w1)
    # oldest first: the approval's two decisions, no longer in force, then the decline's two
    assert sorted((x.proposal_id, x.outcome, x.current) for x in history[:2]) == sorted(
        [(ids["First"], "selected", False), (ids["Second"], "reserve", False)]
    )
    later = sorted((x.proposal_id, x.outcome, x.current, x.actor_id) for x in history[2:])
    assert later == sorted(
        [
            (ids["First"], "not_selected", True, members["First"].id),
            (ids["Second"], "selected", True, second.id),  # the approved run's, moved up
        ]
    )
    assert [x.run_id for x in history[2:] if x.proposal_id == ids["Second"]] == [run.id]
    assert {x.created_at for x in history[:2]} != {x.created_at for x in history[2:]}

    with pytest.raises(ApiError) as unknown:
        await w.officer.list_window_decisions(uuid.uuid4())
    assert unknown.value.status == 404
    with pytest.raises(ApiError) as applicant:
        await members["Second"].client.list_window_decisions(w1)
    assert applicant.value.status == 403
