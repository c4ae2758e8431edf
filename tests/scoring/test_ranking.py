"""Ranking, tie-breaks and the lottery: exact order, explanations, determinism, uniformity."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.aggregation import Criterion, ProposalAggregate, Rubric, Score, aggregate_proposals
from scoring.ranking import (
    RankedProposal,
    draw_lottery,
    lottery_ticket,
    rank,
    seed_hash,
)

SEED = b"window-1 draw"

RUBRIC = Rubric(
    criteria=(
        Criterion("relevance", 500, 0, 50, 5),
        Criterion("feasibility", 300, 0, 50, 5),
        Criterion("inclusion", 200, 0, 50, 5),
    ),
    tie_break=("relevance", "feasibility"),
)


def one_reviewer(rows: dict[str, tuple[int | None, ...]]) -> list[Score]:
    return [
        Score(p, "r1", c.code, v)
        for p, values in rows.items()
        for c, v in zip(RUBRIC.criteria, values, strict=True)
    ]


def order(ranking: list[RankedProposal]) -> list[str]:
    return [r.proposal for r in ranking]


# --- the lottery --------------------------------------------------------------------------------


def test_lottery_ticket_is_hmac_sha256_of_the_id_keyed_by_the_seed() -> None:
    # Pinned (also `printf P-0001 | openssl dgst -sha256 -hmac 'window-1 draw'`): a ticket
    # must never change with the platform or the Python version.
    expected = "e6eebbe14a8ddef364bb65df9312cf65f5f879f636595fd981164477d2c41edd"
    assert lottery_ticket(SEED, "P-0001") == expected
    assert expected == hmac.new(SEED, b"P-0001", hashlib.sha256).hexdigest()
    assert lottery_ticket(SEED, "Ош-7") == hmac.new(SEED, "Ош-7".encode(), "sha256").hexdigest()


def test_seed_hash_is_the_sha256_of_the_seed() -> None:
    assert seed_hash(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_an_empty_seed_is_refused() -> None:
    for call in (
        lambda: lottery_ticket(b"", "P"),
        lambda: seed_hash(b""),
        lambda: draw_lottery(["P"], b"", 1),
        lambda: rank({}, RUBRIC, b""),
    ):
        with pytest.raises(ValueError, match="seed"):
            call()


def test_draw_lottery_picks_the_lowest_tickets() -> None:
    pool = ["A", "B", "C", "D", "E"]
    everyone = draw_lottery(pool, SEED, 5)
    assert everyone == sorted(pool, key=lambda p: lottery_ticket(SEED, p))
    assert everyone == ["B", "C", "E", "A", "D"]  # pinned: the draw is reproducible anywhere
    assert draw_lottery(pool, SEED, 2) == ["B", "C"]
    assert draw_lottery(list(reversed(pool)), SEED, 2) == ["B", "C"]
    assert draw_lottery(pool, SEED, 0) == []


@pytest.mark.parametrize(("pool", "k"), [(["A", "B"], 3), (["A", "B"], -1), (["A", "A"], 1)])
def test_draw_lottery_refuses_bad_arguments(pool: list[str], k: int) -> None:
    with pytest.raises(ValueError, match="pool"):
        draw_lottery(pool, SEED, k)


@given(
    st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=10, unique=True),
    st.binary(min_size=1, max_size=32),
    st.data(),
)
def test_draw_lottery_is_a_subset_in_ticket_order(
    pool: list[str], seed: bytes, data: st.DataObject
) -> None:
    k = data.draw(st.integers(0, len(pool)))
    winners = draw_lottery(pool, seed, k)
    assert len(winners) == k
    assert set(winners) <= set(pool)
    tickets = [lottery_ticket(seed, w) for w in winners]
    assert tickets == sorted(tickets)
    losers = set(pool) - set(winners)
    assert all(lottery_ticket(seed, p) > t for p in losers for t in tickets)
    assert draw_lottery(data.draw(st.permutations(pool)), seed, k) == winners


def chi_square_p_value_4_dof(statistic: float) -> float:
    """Survival function of χ² with 4 degrees of freedom: e^(−x/2)·(1 + x/2), exactly."""
    return math.exp(-statistic / 2) * (1 + statistic / 2)


def test_each_pool_member_wins_equally_often() -> None:
    pool = ["P-101", "P-102", "P-103", "P-104", "P-105"]
    draws = 2000
    wins = Counter(draw_lottery(pool, f"seed-{n}".encode(), 1)[0] for n in range(draws))
    expected = draws / len(pool)
    statistic = sum((wins[p] - expected) ** 2 / expected for p in pool)
    assert chi_square_p_value_4_dof(statistic) > 0.001
    # the closed form agrees with the tabulated critical value χ²₄(0.001) = 18.467
    assert chi_square_p_value_4_dof(18.467) == pytest.approx(0.001, rel=1e-3)


# --- rank(): worked examples --------------------------------------------------------------------


def test_rank_orders_by_score_then_tie_breaks_then_lottery_and_says_why() -> None:
    scores = one_reviewer(
        {
            "A": (50, 40, 40),  # 45
            "B": (40, 40, 40),  # 40
            "C": (30, 50, 50),  # 40: behind B on relevance
            "D": (20, 30, 30),  # 25
            "E": (20, 20, 45),  # 25: behind D on feasibility (relevance equal)
            "F": (10, 10, 10),  # 10
            "G": (10, 10, 10),  # 10: exactly F's, the lottery decides
        }
    )
    aggregates = aggregate_proposals(RUBRIC, scores, proposals=["H"])  # H: no scores
    ranking = rank(aggregates, RUBRIC, SEED)
    f_first = lottery_ticket(SEED, "F") < lottery_ticket(SEED, "G")
    lottery_pair = ["F", "G"] if f_first else ["G", "F"]
    assert order(ranking) == ["A", "B", "C", "D", "E", *lottery_pair, "H"]
    assert [r.score for r in ranking] == [45, 40, 40, 25, 25, 10, 10, None]
    assert [r.rank for r in ranking] == [1, 2, 3, 4, 5, 6, 7, None]
    assert [r.decided_by for r in ranking] == [
        "score",
        "tie_break:relevance",
        "score",
        "tie_break:feasibility",
        "score",
        "lottery",
        "score",
        None,
    ]
    assert [r.next_proposal for r in ranking] == [*order(ranking)[1:], None]
    assert ranking[0].aggregate is aggregates["A"]
    assert ranking[0].ticket == lottery_ticket(SEED, "A")


def test_a_proposal_without_a_tie_break_value_comes_after_one_with_it() -> None:
    # X's relevance is not applicable: its score renormalises over the others to 40, like B's.
    scores = one_reviewer({"B": (40, 40, 40), "X": (None, 40, 40)})
    ranking = rank(aggregate_proposals(RUBRIC, scores), RUBRIC, SEED)
    assert [(r.proposal, r.score, r.decided_by) for r in ranking] == [
        ("B", Fraction(40), "tie_break:relevance"),
        ("X", Fraction(40), None),
    ]


def test_exact_ties_are_ties_where_floats_would_differ() -> None:
    rubric = Rubric(
        tuple(Criterion(code, 1, 0, 100, 1) for code in ("c1", "c2", "c3")),
    )
    rows = {
        "A": ((12, 12, 13), (6, 6, 7), (22, 23, 23)),  # 37/3, 19/3, 68/3
        "B": ((12, 13, 13), (6, 6, 6), (22, 23, 23)),  # 38/3, 6, 68/3
    }
    scores = [
        Score(p, f"r{i}", code, v)
        for p, criteria in rows.items()
        for code, values in zip(("c1", "c2", "c3"), criteria, strict=True)
        for i, v in enumerate(values)
    ]
    aggregates = aggregate_proposals(rubric, scores)
    assert aggregates["A"].overall == aggregates["B"].overall == Fraction(124, 9)

    def in_floats(a: ProposalAggregate) -> float:
        return sum(float(v) for v in a.per_criterion.values() if v is not None) / 3

    assert in_floats(aggregates["A"]) != in_floats(aggregates["B"])  # why Fractions
    ranking = rank(aggregates, rubric, SEED)
    assert ranking[0].decided_by == "lottery"
    assert order(ranking) == sorted(["A", "B"], key=lambda p: lottery_ticket(SEED, p))


def test_rank_accepts_the_aggregates_as_a_list_and_refuses_duplicates() -> None:
    aggregates = aggregate_proposals(RUBRIC, one_reviewer({"A": (10, 10, 10), "B": (20, 0, 0)}))
    assert rank(list(aggregates.values()), RUBRIC, SEED) == rank(aggregates, RUBRIC, SEED)
    with pytest.raises(ValueError, match="twice"):
        rank([aggregates["A"], aggregates["A"]], RUBRIC, SEED)
    other = Rubric((Criterion("x", 1, 0, 5, 1),), tie_break=("x",))
    with pytest.raises(ValueError, match="tie-break"):
        rank(aggregates, other, SEED)
    assert rank({}, RUBRIC, SEED) == []


# --- rank(): properties -------------------------------------------------------------------------

SMALL = Rubric(
    criteria=(
        Criterion("a", 500, 0, 4, 2),
        Criterion("b", 300, 0, 4, 2),
        Criterion("c", 200, 0, 4, 2),
    ),
    tie_break=("b", "a"),
)


@st.composite
def small_windows(draw: st.DrawFn) -> dict[str, ProposalAggregate]:
    """Up to 12 proposals on coarse scales, so that exact ties are common."""
    scores = []
    values = st.sampled_from([None, 0, 2, 4])
    proposals = [f"P{p:02d}" for p in range(draw(st.integers(0, 12)))]
    for p in proposals:
        for r in range(draw(st.integers(0, 2))):
            scores += [Score(p, f"r{r}", c.code, draw(values)) for c in SMALL.criteria]
    return aggregate_proposals(
        SMALL, scores, draw(st.sampled_from(["mean", "median"])), proposals=proposals
    )


def merit(a: ProposalAggregate) -> tuple[object, ...]:
    """Everything but the lottery that the order depends on."""
    return (a.overall, *(a.per_criterion[c] for c in SMALL.tie_break))


@given(small_windows(), st.binary(min_size=1, max_size=16), st.data())
def test_the_same_seed_gives_the_same_order(
    aggregates: dict[str, ProposalAggregate], seed: bytes, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(list(aggregates.values())))
    assert rank(shuffled, SMALL, seed) == rank(aggregates, SMALL, seed)


@given(small_windows(), st.binary(min_size=1, max_size=16), st.binary(min_size=1, max_size=16))
def test_another_seed_reorders_only_exact_ties(
    aggregates: dict[str, ProposalAggregate], seed: bytes, other: bytes
) -> None:
    first, second = rank(aggregates, SMALL, seed), rank(aggregates, SMALL, other)
    assert [merit(r.aggregate) for r in first] == [merit(r.aggregate) for r in second]
    position = {r.proposal: i for i, r in enumerate(second)}
    for i, x in enumerate(first):
        for y in first[i + 1 :]:
            if merit(x.aggregate) != merit(y.aggregate):
                assert position[x.proposal] < position[y.proposal]


def sort_key(a: ProposalAggregate) -> tuple[object, ...]:
    def better_first(v: Fraction | None) -> tuple[int, Fraction]:
        return (1, Fraction(0)) if v is None else (0, -v)

    return (better_first(a.overall), *(better_first(a.per_criterion[c]) for c in SMALL.tie_break))


@given(small_windows(), st.binary(min_size=1, max_size=16))
def test_each_step_of_the_ranking_is_explained(
    aggregates: dict[str, ProposalAggregate], seed: bytes
) -> None:
    ranking = rank(aggregates, SMALL, seed)
    scored = [r for r in ranking if r.score is not None]
    assert [r.rank for r in scored] == list(range(1, len(scored) + 1))
    assert all(r.rank is None for r in ranking[len(scored) :])
    for here, after in itertools.pairwise(ranking):
        assert here.next_proposal == after.proposal
        a, b = here.aggregate, after.aggregate
        assert sort_key(a) <= sort_key(b)
        if here.decided_by == "score":
            assert a.overall is not None
            assert b.overall is None or a.overall > b.overall
        elif here.decided_by == "lottery":
            assert sort_key(a) == sort_key(b)
            assert here.ticket < after.ticket
        else:
            assert here.decided_by is not None
            code = here.decided_by.removeprefix("tie_break:")
            assert a.overall == b.overall
            earlier = SMALL.tie_break[: SMALL.tie_break.index(code)]
            assert all(a.per_criterion[c] == b.per_criterion[c] for c in earlier)
            x, y = a.per_criterion[code], b.per_criterion[code]
            assert x is not None
            assert y is None or x > y
    if ranking:
        assert ranking[-1].decided_by is None
        assert ranking[-1].next_proposal is None
