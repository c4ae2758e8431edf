"""Review panels through the typed client: rubric, panel, assignment, conflicts, blind review."""

from __future__ import annotations

import json
import uuid
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.calls import CallCreate, CallTransition, ContributionCreate, WindowUpdate
from contracts.client import ApiError
from contracts.common import I18nText
from contracts.enums import ProposalStatus, ReviewStatus
from contracts.proposals import ProposalSubmit
from contracts.reviews import (
    AssignmentCreate,
    AutoAssign,
    ConflictCreate,
    PanelReplace,
    ReviewReopen,
    ReviewSave,
    ReviewSubmit,
)
from service.persistence.models import AuditEvent, Membership
from tests.conftest import MakeUser
from tests.factories import criterion_scores, make_reviewers, make_rubric, submitted_proposal
from tests.journey import (
    RULES,
    Programme,
    complete_draft,
    window_spec,
)

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


async def test_panel_reviews_a_proposal_with_conflicts_kept_out(
    programme: Programme, make_user: MakeUser, session: AsyncSession
) -> None:
    w = programme
    w1, proposal_id = await submitted_proposal(w)
    r1, r2, r3 = await make_reviewers(make_user, 3)
    # r3 is a member of the applicant organisation: a conflict the system detects
    session.add(Membership(user_id=r3.id, organisation_id=w.org.id))
    await session.flush()
    await w.officer.update_panel(w1, PanelReplace(reviewer_ids=[r1.id, r2.id, r3.id]))
    assigned = await w.officer.create_assignments(w1, AutoAssign(seed="2026-11-23"))
    reviewers = sorted(a.reviewer_id for a in assigned.items)
    assert reviewers == sorted([r1.id, r2.id])
    oversight = await w.officer.list_window_assignments(w1)
    assert sorted(a.reviewer_id for a in oversight.items) == reviewers
    assert (await w.applicant.get_proposal(proposal_id)).status == ProposalStatus.IN_REVIEW
    conflicts = await w.officer.list_conflicts(w1)
    assert [(x.reviewer_id, x.source) for x in conflicts.items] == [(r3.id, "detected")]
    assert "member of" in conflicts.items[0].reason

    with pytest.raises(ApiError) as refused:
        await w.officer.create_assignment(proposal_id, AssignmentCreate(reviewer_id=r3.id))
    assert refused.value.status == 409
    with pytest.raises(ApiError) as hidden:
        await r3.client.list_proposal_reviews(proposal_id)
    assert hidden.value.status == 404

    a1 = next(a for a in (await r1.client.list_assignments()).items)
    a2 = next(a for a in (await r2.client.list_assignments()).items)
    await r1.client.create_no_conflict_declaration(a1.id)
    view = await r1.client.get_assigned_proposal(a1.id)
    assert view.organisation_name == "Yntymak"  # not a blind window
    assert view.rubric is not None
    assert [x.code for x in view.rubric.criteria] == ["relevance", "feasibility", "gender"]

    with pytest.raises(ApiError) as off_scale:
        await r1.client.update_review(a1.id, ReviewSave(scores=criterion_scores(33, 40, None)))
    assert off_scale.value.status == 422
    saved = await r1.client.update_review(
        a1.id, ReviewSave(scores=criterion_scores(35, 40, None)[:2])
    )
    with pytest.raises(ApiError) as incomplete:
        await r1.client.create_review_submission(a1.id, ReviewSubmit(version=saved.version))
    assert incomplete.value.status == 422
    saved = await r1.client.update_review(
        a1.id,
        ReviewSave(version=saved.version, scores=criterion_scores(35, 40, None), comment="Solid"),
    )
    submitted = await r1.client.create_review_submission(a1.id, ReviewSubmit(version=saved.version))
    assert submitted.status == ReviewStatus.SUBMITTED
    assert [s.value for s in submitted.scores] == [35, 40, None]

    # the window does not show reviewers the panel's scores: refused even after submitting
    with pytest.raises(ApiError) as not_shown:
        await r1.client.list_proposal_reviews(proposal_id)
    assert not_shown.value.status == 403
    window = await w.officer.get_window(w1)
    assert window.reviewers_see_panel_scores is False
    window = await w.officer.update_window(
        w1, WindowUpdate(version=window.version, reviewers_see_panel_scores=True)
    )  # allowed on a published call's window
    assert window.reviewers_see_panel_scores is True

    # r2 has not submitted: it may not see the panel's scores yet
    with pytest.raises(ApiError) as early:
        await r2.client.list_proposal_reviews(proposal_id)
    assert early.value.status == 409
    panel = await r1.client.list_proposal_reviews(proposal_id)
    assert [(r.reviewer_id, r.comment) for r in panel.items] == [(r1.id, "Solid")]

    # r2 declares a conflict: it steps back, and the proposal is scored by r1 alone
    await r2.client.create_conflict(a2.id, ConflictCreate(reason="I advised this NGO in 2025"))
    attachment_id = view.attachments[0]["id"]
    for refused_call in (
        r2.client.get_assigned_proposal(a2.id),
        r2.client.get_assigned_attachment_content(a2.id, uuid.UUID(attachment_id)),
        r2.client.get_review(a2.id),
        r2.client.update_review(a2.id, ReviewSave(scores=criterion_scores(50, 50, 50))),
        r2.client.list_proposal_reviews(proposal_id),
    ):
        with pytest.raises(ApiError) as gone:
            await refused_call
        assert gone.value.status == 404
    assert (await w.officer.get_proposal(proposal_id)).status == ProposalStatus.SCORED

    # a programme officer reopens r1's review with a reason: back in review, audited
    reopened = await w.officer.create_review_reopening(
        submitted.id, ReviewReopen(version=submitted.version, reason="Score 'gender' as well")
    )
    assert reopened.status == ReviewStatus.REOPENED
    assert (await w.officer.get_proposal(proposal_id)).status == ProposalStatus.IN_REVIEW
    event = (
        await session.execute(select(AuditEvent).where(col(AuditEvent.action) == "review.reopened"))
    ).scalar_one()
    assert event.reason == "Score 'gender' as well"


async def test_rubric_is_frozen_once_proposals_are_submitted(programme: Programme) -> None:
    w = programme
    w1, _ = await submitted_proposal(w)
    window = await w.officer.get_window(w1)
    with pytest.raises(ApiError) as frozen:
        await w.officer.update_window_rubric(w1, make_rubric(window.version))
    assert frozen.value.status == 409


def _strings(value: Any) -> list[str]:
    return json.dumps(msgspec.to_builtins(value), ensure_ascii=False).split('"')


async def test_blind_window_hides_the_applicant_in_every_reviewer_response(
    programme: Programme, make_user: MakeUser
) -> None:
    w = programme
    call = await w.officer.create_call(
        CallCreate(
            title=I18nText(en="Blind"),
            description=I18nText(en="d"),
            contributions=[ContributionCreate(funding_source_id=w.source.id, amount=100_000_000)],
        )
    )
    spec = window_spec("B1", 5_000_000, 30_000_000, 40_000_000, w, RULES)
    spec.blind_review = True
    spec.reviewers_see_panel_scores = True
    window = await w.officer.create_window(call.id, spec)
    assert window.rubric_id is None
    rubric = await w.officer.update_window_rubric(window.id, make_rubric(window.version))
    assert (await w.officer.get_window(window.id)).rubric_id == rubric.id
    fresh = await w.officer.get_call(call.id)
    await w.officer.create_call_transition(
        call.id, CallTransition(version=fresh.version, status="published")
    )
    proposal_id = await complete_draft(w, window.id)
    current = await w.applicant.get_proposal(proposal_id)
    await w.applicant.create_submission(proposal_id, ProposalSubmit(version=current.version))
    (reviewer,) = await make_reviewers(make_user, 1)
    await w.officer.update_panel(window.id, PanelReplace(reviewer_ids=[reviewer.id]))
    await w.officer.create_assignments(window.id, AutoAssign(seed="blind"))

    secrets = {w.org.name, str(w.org.id), "Бюджет", w.org.registration_number or "-"}
    assignment = (await reviewer.client.list_assignments()).items[0]
    declared = await reviewer.client.create_no_conflict_declaration(assignment.id)
    view = await reviewer.client.get_assigned_proposal(assignment.id)
    attachment_id = uuid.UUID(view.attachments[0]["id"])
    content, headers = await reviewer.client.get_assigned_attachment_content(
        assignment.id, attachment_id
    )
    saved = await reviewer.client.update_review(
        assignment.id, ReviewSave(scores=criterion_scores(30, 30, 30))
    )
    done = await reviewer.client.create_review_submission(
        assignment.id, ReviewSubmit(version=saved.version)
    )
    panel = await reviewer.client.list_proposal_reviews(proposal_id)
    bodies = [
        assignment,
        declared,
        view,
        saved,
        done,
        panel,
        (await reviewer.client.list_assignments()),
    ]
    for body in bodies:
        text = json.dumps(msgspec.to_builtins(body), ensure_ascii=False)
        for secret in secrets:
            assert secret not in text, (type(body).__name__, secret)
    assert view.organisation_name is None
    assert all("original_name" not in a for a in view.attachments)
    assert "Бюджет" not in headers["content-disposition"]
    assert "%D0%91" not in headers["content-disposition"]  # nor percent-encoded
    assert content.startswith(b"%PDF")
