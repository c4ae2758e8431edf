"""The officer's boards through the typed client: the panel board (load, progress, conflicts,
reminders), removing an assignment, load caps per reviewer, and a window's ranking board, whose
expected numbers are computed here by hand and with the `krippendorff` package's
reliability-data path (the service uses its value-counts path)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import krippendorff
import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.client import ApiError
from contracts.enums import ProposalStatus
from contracts.proposals import ProposalSubmit
from contracts.ranking import ReminderCreate
from contracts.reviews import (
    AssignmentCreate,
    AutoAssign,
    ConflictCreate,
    PanelReplace,
    ReviewerCap,
    ReviewSave,
    ReviewSubmit,
)
from service.context import Clock
from service.persistence.models import AuditEvent, CallWindow
from tests.conftest import MakeUser, Person, QueryCounter
from tests.factories import criterion_scores, make_reviewers, make_rubric
from tests.journey import CLOSES, NOW, Programme, complete_draft, published_call

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

CODES = ["relevance", "feasibility", "gender"]
WEIGHTS = {"relevance": 400, "feasibility": 350, "gender": 250}
# proposal → reviewer → (relevance, feasibility, gender), tenths. B and C are scored alike: an
# exact tie. A's relevance spreads 2.5 points: a disagreement (the board flags 2 points).
SCORES = {
    "A": {0: (40, 35, 30), 1: (45, 40, 30), 2: (20, 35, 25)},
    "B": {0: (30, 30, 30), 1: (35, 30, 25), 2: (25, 30, 35)},
    "C": {0: (30, 30, 30), 1: (35, 30, 25), 2: (25, 30, 35)},
}


def _points(x: Fraction) -> str:
    return str((Decimal(x.numerator) / Decimal(x.denominator) / 10).quantize(Decimal("0.01")))


def _four(x: float) -> str:
    return str(Decimal(repr(x)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


async def _window_with_proposals(w: Programme, n: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    _, w1, _ = await published_call(w)
    window = await w.officer.get_window(w1)
    await w.officer.update_window_rubric(w1, make_rubric(window.version))
    ids = []
    for _ in range(n):
        pid = await complete_draft(w, w1)
        current = await w.applicant.get_proposal(pid)
        receipt = await w.applicant.create_submission(pid, ProposalSubmit(version=current.version))
        assert receipt.proposal.status == ProposalStatus.ELIGIBLE
        ids.append(pid)
    return w1, ids


async def _score(r: Person, proposal_id: uuid.UUID, values: tuple[int, int, int]) -> None:
    mine = next(
        a for a in (await r.client.list_assignments()).items if a.proposal_id == proposal_id
    )
    await r.client.create_no_conflict_declaration(mine.id)
    saved = await r.client.update_review(mine.id, ReviewSave(scores=criterion_scores(*values)))
    await r.client.create_review_submission(mine.id, ReviewSubmit(version=saved.version))


async def test_ranking_board_numbers_are_the_hand_computed_ones(
    programme: Programme, make_user: MakeUser
) -> None:
    w = programme
    w1, ids = await _window_with_proposals(w, 3)
    pid = dict(zip("ABC", ids, strict=True))
    people = await make_reviewers(make_user, 3)
    await w.officer.update_panel(w1, PanelReplace(reviewer_ids=[r.id for r in people]))
    for p in ids:
        for r in people:
            await w.officer.create_assignment(p, AssignmentCreate(reviewer_id=r.id))
    for name, by_reviewer in SCORES.items():
        for k, values in by_reviewer.items():
            await _score(people[k], pid[name], values)

    board = await w.officer.get_window_ranking(w1)
    assert board.calibration == "severity"  # the window asks for none: shown beside, not used
    assert board.ranked_by == "raw"
    assert board.submitted_reviews == 9
    assert board.lottery is None

    # per criterion: the mean of the three scores; the ranking score: their weighted mean
    expected_overall = {}
    for name, by_reviewer in SCORES.items():
        entry = next(e for e in board.entries if e.proposal_id == pid[name])
        means = {
            code: Fraction(sum(v[j] for v in by_reviewer.values()), 3)
            for j, code in enumerate(CODES)
        }
        assert [x.raw for x in entry.criteria] == [_points(means[c]) for c in CODES]
        overall = sum(WEIGHTS[c] * means[c] for c in CODES) / sum(WEIGHTS.values())
        expected_overall[name] = overall
        assert entry.raw_score == _points(overall)
        assert entry.reviews == 3
        spreads = [
            max(v[j] for v in by_reviewer.values()) - min(v[j] for v in by_reviewer.values())
            for j in range(3)
        ]
        assert [x.spread for x in entry.criteria] == [_points(Fraction(s)) for s in spreads]
        assert [x.disagreement for x in entry.criteria] == [s >= 20 for s in spreads]
    assert expected_overall["A"] > expected_overall["B"] == expected_overall["C"]
    assert board.entries[0].proposal_id == pid["A"]
    assert [e.rank for e in board.entries] == [1, 2, 3]
    assert [e.disagreement for e in board.entries] == [True, False, False]
    # A is ahead on score; B and C are tied on everything and no lottery was drawn yet
    assert [e.decided_by for e in board.entries] == ["score", "tie", None]

    # Krippendorff's alpha, interval: reliability data (coders × units), independently
    def alpha(codes: list[str]) -> str:
        units = [(n, c) for n in "ABC" for c in codes]
        data = np.array(
            [
                [SCORES[n][k][CODES.index(c)] for n, c in units]
                for k in range(3)  # reviewers as coders
            ],
            dtype=float,
        )
        return _four(
            float(krippendorff.alpha(reliability_data=data, level_of_measurement="interval"))
        )

    assert board.alpha == alpha(CODES)
    assert [c.alpha for c in board.criteria] == [alpha([c]) for c in CODES]

    # the severity model: r2 scores highest, r3 lowest; the biases sum to zero
    bias = {x.reviewer_id: Decimal(x.bias) for x in board.reviewers}
    assert bias[people[1].id] > 0 > bias[people[2].id]
    assert abs(sum(bias.values())) <= Decimal("0.02")
    assert [x.scores for x in board.reviewers] == [9, 9, 9]
    assert all(e.calibrated_score is not None for e in board.entries)

    for outsider in (w.applicant, people[0].client):
        with pytest.raises(ApiError) as refused:
            await outsider.get_window_ranking(w1)
        assert refused.value.status == 403


async def test_panel_board_reminders_removal_and_caps(
    programme: Programme, make_user: MakeUser, session: AsyncSession, frozen_clock: Clock
) -> None:
    w = programme
    w1, _ = await _window_with_proposals(w, 3)
    r1, r2, r3 = await make_reviewers(make_user, 3)
    await w.officer.update_panel(w1, PanelReplace(reviewer_ids=[r1.id, r2.id, r3.id]))
    # caps per reviewer: r1 takes at most one, r2 none; r3 is held by the general cap of 3
    made = await w.officer.create_assignments(
        w1,
        AutoAssign(
            seed="caps",
            cap=3,
            caps=[ReviewerCap(reviewer_id=r1.id, cap=1), ReviewerCap(reviewer_id=r2.id, cap=0)],
        ),
    )
    load = {r: sum(a.reviewer_id == r for a in made.items) for r in (r1.id, r2.id, r3.id)}
    assert load == {r1.id: 1, r2.id: 0, r3.id: 3}
    assert sum(made.short.values()) == 2  # two reviewers per proposal were wanted: 6 − 4

    board = await w.officer.get_panel(w1)
    members = [x for x in board.reviewers if x.member]
    assert {x.id for x in members} == {r1.id, r2.id, r3.id}
    assert all(x.member for x in board.reviewers[: len(members)])
    row = {x.id: x for x in members}
    assert (row[r3.id].assigned, row[r3.id].submitted, row[r3.id].outstanding) == (3, 0, 3)
    assert row[r2.id].assigned == 0

    # r3 scores one, declares a conflict on another
    r3_items = [a for a in (await r3.client.list_assignments()).items]
    await _score(r3, r3_items[0].proposal_id, (30, 30, 30))
    await r3.client.create_conflict(r3_items[1].id, ConflictCreate(reason="My cousin runs it"))
    row = {x.id: x for x in (await w.officer.get_panel(w1)).reviewers}
    assert (row[r3.id].submitted, row[r3.id].conflicts) == (1, 1)
    assert row[r3.id].last_reminded_at is None

    reminder = await w.officer.create_reminder(w1, ReminderCreate(reviewer_id=r3.id))
    assert reminder.outstanding == row[r3.id].outstanding
    row = {x.id: x for x in (await w.officer.get_panel(w1)).reviewers}
    assert row[r3.id].last_reminded_at == reminder.created_at
    mine = await r3.client.list_reminders()
    assert [(x.window_id, x.outstanding) for x in mine.items] == [(w1, reminder.outstanding)]
    assert (await r1.client.list_reminders()).items == []
    event = (
        await session.execute(
            select(AuditEvent).where(col(AuditEvent.action) == "panel.reminder_sent")
        )
    ).scalar_one()
    assert event.after == {"reviewer_id": str(r3.id), "outstanding": reminder.outstanding}
    with pytest.raises(ApiError) as nothing_owed:
        await w.officer.create_reminder(w1, ReminderCreate(reviewer_id=r2.id))
    assert nothing_owed.value.status == 409
    with pytest.raises(ApiError) as stranger:
        await w.officer.create_reminder(w1, ReminderCreate(reviewer_id=w.org.id))
    assert stranger.value.status == 422
    with pytest.raises(ApiError) as not_officer:
        await r3.client.create_reminder(w1, ReminderCreate(reviewer_id=r3.id))
    assert not_officer.value.status == 403

    # overdue: outstanding reviews after the window's review deadline, judged by server time
    assert not any(x.overdue for x in (await w.officer.get_panel(w1)).reviewers)
    window_row = await session.get_one(CallWindow, w1)
    window_row.review_deadline = CLOSES + timedelta(days=7)
    await session.flush()
    frozen_clock.frozen = CLOSES + timedelta(days=8)
    board = await w.officer.get_panel(w1)
    assert board.review_deadline == CLOSES + timedelta(days=7)
    overdue = {x.id for x in board.reviewers if x.overdue}
    assert overdue == {x.id for x in board.reviewers if x.outstanding}
    assert r3.id in overdue
    frozen_clock.frozen = NOW

    # removing: a submitted review stays; an untouched assignment goes, and may be made again
    with pytest.raises(ApiError) as submitted:
        await w.officer.delete_assignment(r3_items[0].id)
    assert submitted.value.status == 409
    r1_item = (await r1.client.list_assignments()).items[0]
    await w.officer.delete_assignment(r1_item.id)
    left = await w.officer.list_window_assignments(w1)
    assert r1_item.id not in {a.id for a in left.items}
    with pytest.raises(ApiError) as gone:
        await w.officer.delete_assignment(r1_item.id)
    assert gone.value.status == 404
    again = await w.officer.create_assignment(
        r1_item.proposal_id, AssignmentCreate(reviewer_id=r1.id)
    )
    assert again.reviewer_id == r1.id


async def test_boards_answer_in_a_fixed_number_of_queries(
    programme: Programme, make_user: MakeUser, count_queries: QueryCounter
) -> None:
    """GetPanel and GetWindowRanking: the same number of queries for one reviewed proposal and
    for three (each with its reviewers, assignments, scores and a reminder)."""
    w = programme
    w1, ids = await _window_with_proposals(w, 3)
    people = await make_reviewers(make_user, 3)
    await w.officer.update_panel(w1, PanelReplace(reviewer_ids=[r.id for r in people]))

    async def counted() -> tuple[int, int]:
        count_queries.count = 0
        await w.officer.get_panel(w1)
        panel = count_queries.count
        count_queries.count = 0
        await w.officer.get_window_ranking(w1)
        return panel, count_queries.count

    await w.officer.create_assignment(ids[0], AssignmentCreate(reviewer_id=people[0].id))
    await _score(people[0], ids[0], (30, 30, 30))
    one = await counted()
    for p in ids[1:]:  # the first is scored already
        for r in people:
            await w.officer.create_assignment(p, AssignmentCreate(reviewer_id=r.id))
    for p in ids[1:]:
        for r in people[:2]:
            await _score(r, p, (40, 35, 30))
    await w.officer.create_reminder(w1, ReminderCreate(reviewer_id=people[2].id))
    board = await w.officer.get_window_ranking(w1)
    assert board.submitted_reviews == 5
    assert await counted() == one
