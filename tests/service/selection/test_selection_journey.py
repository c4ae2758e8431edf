"""End to end: a panel reviews, the run ranks with a lottery for exact ties, selects under a
quota, is approved and replayed; the applicant reads feedback; a decline moves the reserve up."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.client import ApiError, GrantsClient
from contracts.enums import OrganisationKind, ProposalStatus, Role
from contracts.reviews import AutoAssign, ConsensusCreate, PanelReplace, ReviewSave, ReviewSubmit
from contracts.selection import (
    DecisionChangeTransition,
    DecisionCreate,
    DeclineCreate,
    QuotaInput,
    SelectionOutputs,
    SelectionRunCreate,
    SelectionRunTransition,
)
from service.selection import service as selection_service
from tests.conftest import MakeOrganisation, MakeUser
from tests.factories import REQUEST, apply_to_window, criterion_scores, make_rubric
from tests.journey import MONTHS, Programme, published_call

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

# (name, women-led, scores by both reviewers): B and C tie exactly; D is the women-led one
APPLICANTS = [
    ("Alpha", False, (45, 45, 40)),
    ("Bravo", False, (40, 40, 40)),
    ("Charlie", False, (40, 40, 40)),
    ("Delta", True, (30, 30, 30)),
]


async def test_review_rank_select_approve_feedback_and_reserve(
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
    applicants: dict[str, GrantsClient] = {}
    for name, women_led, _ in APPLICANTS:
        org = await make_organisation(
            name=name,
            territory_id=w.osh.id,
            kind=OrganisationKind.CSO,
            founded_year=2010,
            women_led=women_led,
        )
        member = await make_user(member_of=(org,), token_expires_in=MONTHS)
        applicants[name] = member.client
        ids[name] = await apply_to_window(w, w1, member.client, org.id, f"{name} project")

    r1 = await make_user(Role.REVIEWER, token_expires_in=MONTHS)
    r2 = await make_user(Role.REVIEWER, token_expires_in=MONTHS)
    await w.officer.update_panel(w1, PanelReplace(reviewer_ids=[r1.id, r2.id]))
    await w.officer.create_assignments(w1, AutoAssign(seed="panel-1"))
    by_id = {v: k for k, v in ids.items()}
    for reviewer in (r1, r2):
        for a in (await reviewer.client.list_assignments()).items:
            values = next(s for n, _, s in APPLICANTS if n == by_id[a.proposal_id])
            await reviewer.client.create_no_conflict_declaration(a.id)
            saved = await reviewer.client.update_review(
                a.id,
                ReviewSave(
                    scores=criterion_scores(*values), comment=f"Comment on {by_id[a.proposal_id]}"
                ),
            )
            await reviewer.client.create_review_submission(
                a.id, ReviewSubmit(version=saved.version)
            )
    for pid in ids.values():
        assert (await w.officer.get_proposal(pid)).status == ProposalStatus.SCORED

    # the panel agrees on Delta's gender score: the consensus replaces the reviews' aggregate
    with pytest.raises(ApiError) as off_scale:
        await w.officer.create_consensus_score(
            ids["Delta"], ConsensusCreate(criterion="gender", value=33, reason="Panel meeting 2")
        )
    assert off_scale.value.status == 422
    await w.officer.create_consensus_score(
        ids["Delta"], ConsensusCreate(criterion="gender", value=35, reason="Panel meeting 2")
    )

    # budget for three awards; at least one must go to a women-led organisation
    run = await w.officer.create_selection_run(
        w1,
        SelectionRunCreate(
            budget=3 * REQUEST,
            quotas=[QuotaInput(kind="min_count", group="women_led", value="1")],
        ),
    )
    assert run.seed is None
    assert len(run.seed_hash) == 64
    computed = await w.officer.create_selection_computation(run.id)
    assert computed.seed is not None
    import hashlib

    assert hashlib.sha256(computed.seed.encode()).hexdigest() == run.seed_hash
    outputs = computed.outputs
    assert outputs is not None
    entries = {by_id[uuid.UUID(e.proposal_id)]: e for e in outputs.entries}
    assert entries["Alpha"].rank == 1
    gender = next(x for x in entries["Delta"].criteria if x.code == "gender")
    assert (gender.value, gender.consensus) == ("35", True)
    # Bravo and Charlie tie exactly: the lottery orders them
    tied = sorted([entries["Bravo"], entries["Charlie"]], key=lambda e: e.rank or 0)
    assert tied[0].decided_by == "lottery"
    assert tied[0].ticket < tied[1].ticket
    funded = {n for n, e in entries.items() if e.status == "funded"}
    assert funded == {"Alpha", by_id[uuid.UUID(tied[0].proposal_id)], "Delta"}
    assert [q.met for q in outputs.quota_checks] == [True]
    reserve_name = by_id[uuid.UUID(tied[1].proposal_id)]
    assert entries[reserve_name].status == "reserve"

    replay = await w.officer.replay_selection_run(run.id)
    assert replay.identical is True

    # four eyes: a second programme officer approves what the first created and computed
    second = await make_user(Role.PROGRAMME_OFFICER, token_expires_in=MONTHS)
    approved = await second.client.approve_selection_run(run.id, SelectionRunTransition())
    assert approved.status == "approved"
    assert (approved.created_by, approved.computed_by) == (computed.created_by,) * 2
    assert approved.approved_by == second.id
    assert (await w.officer.get_proposal(ids["Alpha"])).status == ProposalStatus.SELECTED
    assert (await w.officer.get_proposal(ids[reserve_name])).status == ProposalStatus.RESERVE

    # the applicant's feedback, once an officer publishes it: scores and comments, never the
    # reviewers
    with pytest.raises(ApiError) as unpublished:
        await applicants["Alpha"].get_feedback(ids["Alpha"])
    assert unpublished.value.status == 409
    await w.officer.create_feedback_publication(approved.window_id)
    fb = await applicants["Alpha"].get_feedback(ids["Alpha"])
    assert fb.rank_band == "top quarter"
    assert [x.code for x in fb.criteria] == ["relevance", "feasibility", "gender"]
    assert fb.comments == ["Comment on Alpha", "Comment on Alpha"]
    # the decision and each criterion's name in every language and its scale
    assert fb.decision is not None
    assert fb.decision.outcome == "selected"
    assert fb.decision.reason != ""
    # what the run said, for a client to word in its language (the engine's reason is English)
    assert (fb.decision.reason_code, fb.decision.reserve_place) == ("funded", None)
    assert fb.decision.funded_amount is not None
    assert fb.decision.funded_amount > 0
    assert fb.decision.currency == "KGS"
    assert [x.title is not None and x.title.en == x.name for x in fb.criteria] == [True] * 3
    assert [(x.scale_min, x.scale_max) for x in fb.criteria] == [(0, 50)] * 3
    text = json.dumps(msgspec.to_builtins(fb))
    assert str(r1.id) not in text
    assert str(r2.id) not in text
    with pytest.raises(ApiError) as other:
        await applicants["Bravo"].get_feedback(ids["Alpha"])
    assert other.value.status == 404

    # Delta declines: the reserve proposal moves up
    await applicants["Delta"].create_declination(ids["Delta"], DeclineCreate(reason="Merged"))
    assert (await w.officer.get_proposal(ids["Delta"])).status == ProposalStatus.NOT_SELECTED
    assert (await w.officer.get_proposal(ids[reserve_name])).status == ProposalStatus.SELECTED

    # after the approval, an officer's change of decision needs a reason and a second officer
    with pytest.raises(ApiError) as short:
        await w.officer.create_decision_change(
            ids["Alpha"], DecisionCreate(outcome="not_selected", reason="no")
        )
    assert short.value.status == 422
    change = await w.officer.create_decision_change(
        ids["Alpha"],
        DecisionCreate(outcome="not_selected", reason="Duplicate funding found from another donor"),
    )
    assert (change.status, change.outcome) == ("pending", "not_selected")
    confirmed = await second.client.create_decision_change_confirmation(
        change.id, DecisionChangeTransition()
    )
    assert confirmed.status == "confirmed"
    assert (await w.officer.get_proposal(ids["Alpha"])).status == ProposalStatus.NOT_SELECTED
    # an officer's change: a person's words, no code
    changed = (await applicants["Alpha"].get_feedback(ids["Alpha"])).decision
    assert changed is not None
    assert (changed.reason, changed.reason_code) == (
        "Duplicate funding found from another donor",
        None,
    )


async def _one_scored_proposal(
    w: Programme, make_user: MakeUser, make_organisation: MakeOrganisation
) -> tuple[uuid.UUID, uuid.UUID]:
    """A published call whose first window holds one proposal, scored by a one-reviewer panel:
    the window's id and the proposal's."""
    _, w1, _ = await published_call(w)
    window = await w.officer.get_window(w1)
    await w.officer.update_window_rubric(w1, make_rubric(window.version))
    org = await make_organisation(name="Solo", territory_id=w.osh.id, founded_year=2010)
    member = await make_user(member_of=(org,), token_expires_in=MONTHS)
    pid = await apply_to_window(w, w1, member.client, org.id, "Solo project")
    reviewer = await make_user(Role.REVIEWER, token_expires_in=MONTHS)
    await w.officer.update_panel(w1, PanelReplace(reviewer_ids=[reviewer.id]))
    await w.officer.create_assignments(w1, AutoAssign(seed="s"))
    a = (await reviewer.client.list_assignments()).items[0]
    await reviewer.client.create_no_conflict_declaration(a.id)
    saved = await reviewer.client.update_review(
        a.id, ReviewSave(scores=criterion_scores(40, 40, 40))
    )
    await reviewer.client.create_review_submission(a.id, ReviewSubmit(version=saved.version))
    return w1, pid


async def test_infeasible_quota_is_diagnosed(
    programme: Programme, make_user: MakeUser, make_organisation: MakeOrganisation
) -> None:
    w = programme
    w1, pid = await _one_scored_proposal(w, make_user, make_organisation)
    assert (await w.officer.get_proposal(pid)).status == ProposalStatus.SCORED
    run = await w.officer.create_selection_run(
        w1, SelectionRunCreate(quotas=[QuotaInput(kind="min_count", group="women_led", value="1")])
    )
    with pytest.raises(ApiError) as infeasible:
        await w.officer.create_selection_computation(run.id)
    assert infeasible.value.status == 422
    assert "women_led" in (infeasible.value.problem.detail or "") + str(
        infeasible.value.problem.errors
    )


async def test_the_server_answers_while_a_selection_computes(
    programme: Programme,
    make_user: MakeUser,
    make_organisation: MakeOrganisation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The solver runs in a worker thread: while it computes, the event loop serves others. The
    computation here waits until a health check has been answered; were it run on the event
    loop, that check could not be answered before it ends (it would give up after 5 s)."""
    w = programme
    w1, pid = await _one_scored_proposal(w, make_user, make_organisation)
    run = await w.officer.create_selection_run(w1, SelectionRunCreate())

    loop = asyncio.get_running_loop()
    started, answered = asyncio.Event(), threading.Event()
    waited: list[bool] = []
    compute = selection_service.compute

    def computing(*args: Any) -> SelectionOutputs:
        loop.call_soon_threadsafe(started.set)
        waited.append(answered.wait(timeout=5))
        return compute(*args)

    monkeypatch.setattr(selection_service, "compute", computing)
    task = asyncio.create_task(w.officer.create_selection_computation(run.id))
    await asyncio.wait(
        [task, asyncio.create_task(started.wait())], timeout=10, return_when=asyncio.FIRST_COMPLETED
    )
    health = await w.officer.get_liveness()  # asked after the computation began
    assert health.status == "ok"
    answered.set()
    computed = await task
    assert waited == [True], "the health check was not answered while the selection computed"
    assert computed.outputs is not None
    funded = [e.proposal_id for e in computed.outputs.entries if e.status == "funded"]
    assert funded == [str(pid)]


async def test_invalid_quota_is_refused_before_any_run(programme: Programme) -> None:
    w = programme
    _, w1, _ = await published_call(w)
    with pytest.raises(ApiError) as bad:
        await w.officer.create_selection_run(
            w1,
            SelectionRunCreate(quotas=[QuotaInput(kind="min_share_count", group="any", value="2")]),
        )
    assert bad.value.status == 422
    assert bad.value.problem.errors
    assert bad.value.problem.errors[0].field == "body.quotas"
