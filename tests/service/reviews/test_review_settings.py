"""Review settings: N/A allowed per criterion, load caps stored on the panel membership, the
panel's scores never naming other reviewers."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.calls import WindowUpdate
from contracts.client import ApiError
from contracts.common import I18nText
from contracts.enums import ProposalStatus
from contracts.proposals import ProposalSubmit
from contracts.reviews import (
    AutoAssign,
    CriterionCreate,
    CriterionScoreInput,
    PanelReplace,
    ReviewerCap,
    ReviewSave,
    ReviewSubmit,
    RubricCreate,
)
from service.persistence.models import Review
from tests.conftest import MakeUser
from tests.factories import make_reviewers
from tests.journey import Programme, complete_draft, published_call

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


def _rubric(version: int) -> RubricCreate:
    return RubricCreate(
        version=version,
        name=I18nText(en="Rubric"),
        criteria=[
            CriterionCreate(code="relevance", name=I18nText(en="Relevance"), weight=600),
            CriterionCreate(
                code="gender", name=I18nText(en="Gender"), weight=400, na_allowed=False
            ),
        ],
    )


async def _eligible(w: Programme, window_id: uuid.UUID) -> uuid.UUID:
    proposal_id = await complete_draft(w, window_id)
    current = await w.applicant.get_proposal(proposal_id)
    receipt = await w.applicant.create_submission(
        proposal_id, ProposalSubmit(version=current.version)
    )
    assert receipt.proposal.status == ProposalStatus.ELIGIBLE
    return proposal_id


async def test_na_only_where_the_criterion_allows_it(
    programme: Programme, make_user: MakeUser, session: AsyncSession
) -> None:
    w = programme
    _, w1, _ = await published_call(w)
    window = await w.officer.get_window(w1)
    rubric = await w.officer.update_window_rubric(w1, _rubric(window.version))
    assert [(x.code, x.na_allowed) for x in rubric.criteria] == [
        ("relevance", True),  # the default: as before the setting existed
        ("gender", False),
    ]
    assert [x.na_allowed for x in (await w.officer.get_rubric(rubric.id)).criteria] == [
        True,
        False,
    ]
    await _eligible(w, w1)
    (reviewer,) = await make_reviewers(make_user, 1)
    await w.officer.update_panel(w1, PanelReplace(reviewer_ids=[reviewer.id]))
    await w.officer.create_assignments(w1, AutoAssign(seed="na"))
    (a,) = (await reviewer.client.list_assignments()).items
    await reviewer.client.create_no_conflict_declaration(a.id)

    with pytest.raises(ApiError) as refused:
        await reviewer.client.update_review(
            a.id,
            ReviewSave(
                scores=[
                    CriterionScoreInput(criterion="relevance", value=40),
                    CriterionScoreInput(criterion="gender", value=None),
                ]
            ),
        )
    assert refused.value.status == 422
    assert [(e.field, "gender" in e.message) for e in refused.value.problem.errors or []] == [
        ("body.scores[1].value", True)
    ]
    saved_rows = (
        await session.execute(select(Review).where(col(Review.assignment_id) == a.id))
    ).all()
    assert saved_rows == []  # nothing saved

    saved = await reviewer.client.update_review(
        a.id,
        ReviewSave(
            scores=[
                CriterionScoreInput(criterion="relevance", value=None),  # allowed here
                CriterionScoreInput(criterion="gender", value=30),
            ]
        ),
    )
    assert [(s.criterion, s.value) for s in saved.scores] == [("relevance", None), ("gender", 30)]


async def test_load_caps_are_stored_on_the_panel_and_used_by_default(
    programme: Programme, make_user: MakeUser
) -> None:
    w = programme
    _, w1, _ = await published_call(w)
    window = await w.officer.get_window(w1)
    await w.officer.update_window_rubric(w1, _rubric(window.version))
    for _ in range(3):
        await _eligible(w, w1)
    r1, r2, r3 = await make_reviewers(make_user, 3)

    with pytest.raises(ApiError) as stranger:
        await w.officer.update_panel(
            w1,
            PanelReplace(reviewer_ids=[r1.id, r2.id], caps=[ReviewerCap(reviewer_id=r3.id, cap=1)]),
        )
    assert stranger.value.status == 422
    with pytest.raises(ApiError) as twice:
        await w.officer.update_panel(
            w1,
            PanelReplace(
                reviewer_ids=[r1.id, r2.id],
                caps=[ReviewerCap(reviewer_id=r1.id, cap=1), ReviewerCap(reviewer_id=r1.id, cap=2)],
            ),
        )
    assert twice.value.status == 422
    assert any("more than once" in e.message for e in twice.value.problem.errors or [])
    assert (await w.officer.get_panel(w1)).reviewers[0].member is False  # nothing changed

    panel = await w.officer.update_panel(
        w1,
        PanelReplace(
            reviewer_ids=[r1.id, r2.id, r3.id],
            caps=[ReviewerCap(reviewer_id=r1.id, cap=1), ReviewerCap(reviewer_id=r2.id, cap=3)],
        ),
    )
    assert {e.reviewer_id: e.cap for e in panel.caps} == {r1.id: 1, r2.id: 3}
    board = {x.id: x for x in (await w.officer.get_panel(w1)).reviewers}
    assert (board[r1.id].load_cap, board[r2.id].load_cap, board[r3.id].load_cap) == (1, 3, None)

    # replacing the members without caps keeps the caps of those who stay
    kept = await w.officer.update_panel(w1, PanelReplace(reviewer_ids=[r1.id, r2.id, r3.id]))
    assert {e.reviewer_id: e.cap for e in kept.caps} == {r1.id: 1, r2.id: 3}

    # 3 proposals × 2 reviewers = 6 places; r1 is held to 1 by its stored cap
    assigned = await w.officer.create_assignments(w1, AutoAssign(seed="caps"))
    load = {r: sum(1 for a in assigned.items if a.reviewer_id == r) for r in (r1.id, r2.id, r3.id)}
    assert load[r1.id] == 1
    assert sum(load.values()) == 6
    assert assigned.short == {}

    # an empty list clears them
    cleared = await w.officer.update_panel(
        w1, PanelReplace(reviewer_ids=[r1.id, r2.id, r3.id], caps=[])
    )
    assert cleared.caps == []
    assert all(x.load_cap is None for x in (await w.officer.get_panel(w1)).reviewers)


async def test_the_panels_scores_name_no_other_reviewer(
    programme: Programme, make_user: MakeUser
) -> None:
    """Even in a window that is not blind, a reviewer reads the other reviews unnamed."""
    w = programme
    _, w1, _ = await published_call(w)
    window = await w.officer.get_window(w1)
    window = await w.officer.update_window(
        w1, WindowUpdate(version=window.version, reviewers_see_panel_scores=True)
    )
    assert window.blind_review is False
    await w.officer.update_window_rubric(w1, _rubric(window.version))
    proposal_id = await _eligible(w, w1)
    r1, r2 = await make_reviewers(make_user, 2)
    await w.officer.update_panel(w1, PanelReplace(reviewer_ids=[r1.id, r2.id]))
    await w.officer.create_assignments(w1, AutoAssign(seed="anonymous"))
    for r, value in ((r1, 40), (r2, 20)):
        (a,) = (await r.client.list_assignments()).items
        await r.client.create_no_conflict_declaration(a.id)
        saved = await r.client.update_review(
            a.id,
            ReviewSave(
                scores=[
                    CriterionScoreInput(criterion="relevance", value=value),
                    CriterionScoreInput(criterion="gender", value=value),
                ]
            ),
        )
        await r.client.create_review_submission(a.id, ReviewSubmit(version=saved.version))
    seen = await r1.client.list_proposal_reviews(proposal_id)
    assert sorted((x.reviewer_id is not None, x.scores[0].value) for x in seen.items) == [
        (False, 20),
        (True, 40),
    ]
    assert next(x.reviewer_id for x in seen.items if x.reviewer_id) == r1.id
    staff = await w.officer.list_proposal_reviews(proposal_id)
    assert {x.reviewer_id for x in staff.items} == {r1.id, r2.id}
