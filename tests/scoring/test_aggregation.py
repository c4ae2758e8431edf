"""Rubric aggregation, thresholds, calibration and reliability: properties and worked examples."""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Callable
from fractions import Fraction

import krippendorff
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scoring.aggregation import (
    Criterion,
    Disagreement,
    Method,
    ProposalAggregate,
    Rubric,
    Score,
    _interval_alpha,  # the closed form beside the package
    aggregate,
    aggregate_proposals,
    disagreement_flags,
    krippendorff_alpha,
    outlier_reviewers,
    severity_model,
    trimmed_count,
    z_calibrate,
)

METHODS = list(Method)

# --- strategies ---------------------------------------------------------------------------------


@st.composite
def rubrics(draw: st.DrawFn) -> Rubric:
    criteria = []
    for i in range(draw(st.integers(1, 4))):
        step = draw(st.sampled_from([1, 5, 10]))
        low = draw(st.sampled_from([0, 10]))
        high = low + step * draw(st.integers(1, 10))
        weight = draw(st.integers(1 if i == 0 else 0, 1000))
        threshold = draw(st.none() | st.integers(low, high))
        criteria.append(Criterion(f"c{i}", weight, low, high, step, threshold))
    codes = draw(st.permutations([c.code for c in criteria]))
    tie_break = tuple(codes[: draw(st.integers(0, len(codes)))])
    return Rubric(tuple(criteria), draw(st.none() | st.integers(0, 100)), tie_break)


def values_on(c: Criterion) -> st.SearchStrategy[int | None]:
    """A score on the criterion's scale, or None (not applicable) about one time in eight."""
    steps = (c.scale_max - c.scale_min) // c.scale_step
    return st.integers(-1, max(steps, 7)).map(
        lambda i: None if i < 0 else c.scale_min + min(i, steps) * c.scale_step
    )


@st.composite
def panels(draw: st.DrawFn) -> tuple[Rubric, list[Score]]:
    """A rubric and the reviews of a small panel: each reviewer reviews some proposals and
    scores every criterion of each."""
    rubric = draw(rubrics())
    scores = []
    for p in range(draw(st.integers(1, 5))):
        for r in range(draw(st.integers(1, 4))):
            if draw(st.booleans()):
                for c in rubric.criteria:
                    scores.append(Score(f"p{p}", f"r{r}", c.code, draw(values_on(c))))
    return rubric, scores


def view(result: dict[str, ProposalAggregate]) -> dict[str, object]:
    """What a result says, independent of the rubric's criteria order."""
    return {
        p: (a.per_criterion, a.thresholds, a.overall, a.passes_overall, a.passes_all)
        for p, a in result.items()
    }


# --- aggregate(): properties --------------------------------------------------------------------

value_lists = st.lists(st.integers(0, 100), min_size=1, max_size=12)


@given(value_lists, st.sampled_from(METHODS))
def test_aggregate_stays_within_the_values(values: list[int], method: Method) -> None:
    result = aggregate(values, method)
    assert result is not None
    assert min(values) <= result <= max(values)


@given(st.integers(0, 100), st.integers(1, 12), st.sampled_from(METHODS))
def test_identical_scores_aggregate_to_themselves(value: int, n: int, method: Method) -> None:
    assert aggregate([value] * n, method) == value


@given(value_lists, st.data(), st.sampled_from(METHODS))
def test_raising_one_score_never_lowers_the_aggregate(
    values: list[int], data: st.DataObject, method: Method
) -> None:
    i = data.draw(st.integers(0, len(values) - 1))
    raised = list(values)
    raised[i] += data.draw(st.integers(0, 50))
    before, after = aggregate(values, method), aggregate(raised, method)
    assert before is not None
    assert after is not None
    assert after >= before


@given(value_lists.flatmap(lambda v: st.tuples(st.just(v), st.permutations(v))))
def test_the_order_of_the_scores_does_not_matter(pair: tuple[list[int], list[int]]) -> None:
    values, shuffled = pair
    for method in METHODS:
        assert aggregate(values, method) == aggregate(shuffled, method)


def test_aggregate_of_nothing_is_none() -> None:
    for method in METHODS:
        assert aggregate([], method) is None


# --- aggregate(): exact values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "method", "expected"),
    [
        ([30, 40, 50], Method.MEAN, Fraction(40)),
        ([30, 40, 45], Method.MEAN, Fraction(115, 3)),
        ([10, 45, 40], Method.MEDIAN, Fraction(40)),
        ([50, 10, 45, 40], Method.MEDIAN, Fraction(85, 2)),
        ([7], Method.MEDIAN, Fraction(7)),
        ([20, 35], Method.TRIMMED_MEAN, Fraction(55, 2)),  # n = 2: nothing dropped
        ([10, 45, 40], Method.TRIMMED_MEAN, Fraction(40)),  # n = 3: drops 10 and 45
        ([0, 40, 45, 50], Method.TRIMMED_MEAN, Fraction(85, 2)),  # n = 4: drops 0 and 50
        ([0, 30, 40, 50, 50], Method.TRIMMED_MEAN, Fraction(40)),  # n = 5: drops 0 and one 50
        # n = 10: drops two from each end (0, 10 and 80, 900)
        ([900, 0, 10, 20, 30, 40, 50, 60, 70, 80], Method.TRIMMED_MEAN, Fraction(45)),
        ([900, 0, 10, 20, 30, 40, 50, 60, 70, 80], Method.MEAN, Fraction(126)),
        ([900, 0, 10, 20, 30, 40, 50, 60, 70, 80], Method.MEDIAN, Fraction(45)),
    ],
)
def test_aggregate_exact_values(values: list[int], method: Method, expected: Fraction) -> None:
    assert aggregate(values, method) == expected


def test_trimmed_count_is_a_fifth_rounded_down_but_at_least_one_from_three() -> None:
    table = {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1, 9: 1, 10: 2, 14: 2, 15: 3, 100: 20}
    assert {n: trimmed_count(n) for n in table} == table
    assert all(n - 2 * trimmed_count(n) >= 1 for n in range(1, 500))


def test_method_may_be_given_by_name() -> None:
    assert aggregate([10, 45, 40], "trimmed_mean") == 40
    with pytest.raises(ValueError, match="mode"):
        aggregate([1], "mode")


# --- aggregate_proposals(): worked example ------------------------------------------------------

RUBRIC = Rubric(
    criteria=(
        Criterion("relevance", 400, 0, 50, 5, threshold=30),
        Criterion("feasibility", 350, 0, 50, 5, threshold=25),
        Criterion("inclusion", 250, 0, 50, 5),
    ),
    overall_threshold=30,
    tie_break=("relevance", "feasibility"),
)


def review(proposal: str, reviewer: str, *values: int | None) -> list[Score]:
    return [
        Score(proposal, reviewer, c.code, v) for c, v in zip(RUBRIC.criteria, values, strict=True)
    ]


SCORES = [
    *review("P1", "r1", 40, 30, 50),
    *review("P1", "r2", 35, 25, None),
    *review("P1", "r3", 45, 30, 40),
    *review("P2", "r1", 20, 30, None),
    *review("P2", "r2", 25, 35, None),
]


def test_the_mean_example_with_thresholds() -> None:
    result = aggregate_proposals(RUBRIC, SCORES, Method.MEAN)
    p1, p2 = result["P1"], result["P2"]
    assert p1.per_criterion == {
        "relevance": 40,
        "feasibility": Fraction(85, 3),
        "inclusion": 45,  # (50 + 40) / 2: the N/A is left out, not counted as 0 (that gives 30)
    }
    assert p1.overall == Fraction(400 * 40 * 3 + 350 * 85 + 250 * 45 * 3, 3000)
    assert p1.overall == Fraction(223, 6)
    assert p1.thresholds == {"relevance": True, "feasibility": True, "inclusion": None}
    assert (p1.passes_overall, p1.passes_all) == (True, True)
    inclusion = p1.criterion("inclusion")
    assert (inclusion.scores, inclusion.not_applicable, inclusion.consensus) == ((40, 50), 1, False)

    # P2: inclusion not applicable for all → the weights renormalise over the other two.
    assert p2.per_criterion == {
        "relevance": Fraction(45, 2),
        "feasibility": Fraction(65, 2),
        "inclusion": None,
    }
    assert p2.overall == Fraction(400 * 45 + 350 * 65, 2 * 750)
    assert p2.thresholds == {"relevance": False, "feasibility": True, "inclusion": None}
    assert (p2.passes_overall, p2.passes_all) == (False, False)
    assert list(result) == ["P1", "P2"]


def test_the_median_and_trimmed_examples() -> None:
    median = aggregate_proposals(RUBRIC, SCORES, Method.MEDIAN)["P1"]
    assert median.per_criterion == {"relevance": 40, "feasibility": 30, "inclusion": 45}
    trimmed = aggregate_proposals(RUBRIC, SCORES, "trimmed_mean")["P1"]
    assert trimmed.per_criterion == {"relevance": 40, "feasibility": 30, "inclusion": 45}
    assert trimmed.method is Method.TRIMMED_MEAN


def test_a_consensus_score_overrides_the_aggregate() -> None:
    result = aggregate_proposals(RUBRIC, SCORES, consensus={("P2", "relevance"): 35})
    relevance = result["P2"].criterion("relevance")
    assert (relevance.value, relevance.consensus, relevance.scores) == (
        Fraction(35),
        True,
        (20, 25),
    )
    assert relevance.passed is True
    assert result["P2"].overall == Fraction(400 * 35 * 2 + 350 * 65, 2 * 750)
    assert result["P2"].passes_all is True
    assert result["P1"].criterion("relevance").consensus is False


def test_a_consensus_of_not_applicable_removes_the_criterion() -> None:
    result = aggregate_proposals(RUBRIC, SCORES, consensus={("P2", "relevance"): None})
    assert result["P2"].criterion("relevance").value is None
    assert result["P2"].criterion("relevance").passed is None
    assert result["P2"].overall == Fraction(65, 2)


def test_a_threshold_on_a_criterion_without_applicable_scores_is_not_judged() -> None:
    scores = [*review("P3", "r1", None, 30, 30), *review("P3", "r2", None, 40, 30)]
    p3 = aggregate_proposals(RUBRIC, scores)["P3"]
    assert p3.thresholds == {"relevance": None, "feasibility": True, "inclusion": None}
    assert p3.passes_all is True


def test_a_proposal_without_scores_has_no_score_and_does_not_pass() -> None:
    result = aggregate_proposals(RUBRIC, SCORES, proposals=["P9"])
    p9 = result["P9"]
    assert p9.overall is None
    assert p9.passes_overall is None
    assert p9.passes_all is False
    assert all(c.value is None and c.scores == () for c in p9.criteria)


def test_zero_weight_criteria_alone_give_no_score() -> None:
    rubric = Rubric((Criterion("a", 1000, 0, 50, 5), Criterion("b", 0, 0, 50, 5, threshold=20)))
    result = aggregate_proposals(rubric, [Score("P", "r", "a", None), Score("P", "r", "b", 30)])
    assert result["P"].overall is None
    assert result["P"].per_criterion == {"a": None, "b": 30}


@pytest.mark.parametrize(
    ("score", "message"),
    [
        (Score("P1", "r9", "relevance", 33), "not on the scale 0..50 step 5"),
        (Score("P1", "r9", "relevance", 55), "not on the scale"),
        (Score("P1", "r9", "relevance", -5), "not on the scale"),
        (Score("P1", "r9", "budget", 30), "no criterion 'budget'"),
        (Score("P1", "r1", "relevance", 30), "scored twice"),
    ],
)
def test_scores_off_the_rubric_are_refused(score: Score, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        aggregate_proposals(RUBRIC, [*SCORES, score])


def test_off_step_scores_are_accepted_when_steps_are_not_required() -> None:
    result = aggregate_proposals(
        RUBRIC, [*SCORES, Score("P1", "r9", "relevance", 33)], require_steps=False
    )
    assert result["P1"].criterion("relevance").value == Fraction(40 + 35 + 45 + 33, 4)
    with pytest.raises(ValueError, match="not on the scale"):
        aggregate_proposals(RUBRIC, [Score("P1", "r9", "relevance", 51)], require_steps=False)


@pytest.mark.parametrize(
    "consensus", [{("P1", "relevance"): 33}, {("P1", "budget"): 30}, {("P1", "inclusion"): 60}]
)
def test_consensus_off_the_rubric_is_refused(consensus: dict[tuple[str, str], int]) -> None:
    with pytest.raises(ValueError, match="consensus"):
        aggregate_proposals(RUBRIC, SCORES, consensus=consensus)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Criterion("a", -1, 0, 50, 5), "weight"),
        (lambda: Criterion("a", 1, 0, 50, 0), "scale_step"),
        (lambda: Criterion("a", 1, 50, 50, 5), "scale_max"),
        (lambda: Criterion("a", 1, 0, 50, 3), "multiple"),
        (lambda: Criterion("a", 1, 0, 50, 5, threshold=60), "threshold"),
        (lambda: Criterion("", 1, 0, 50, 5), "code"),
        (lambda: Rubric(()), "at least one"),
        (lambda: Rubric((Criterion("a", 0, 0, 50, 5),)), "weights"),
        (lambda: Rubric((Criterion("a", 1, 0, 5, 1), Criterion("a", 1, 0, 5, 1))), "duplicate"),
        (lambda: Rubric((Criterion("a", 1, 0, 5, 1),), tie_break=("b",)), "unknown"),
        (lambda: Rubric((Criterion("a", 1, 0, 5, 1),), tie_break=("a", "a")), "twice"),
    ],
)
def test_bad_rubrics_are_refused(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


# --- aggregate_proposals(): properties ----------------------------------------------------------


@settings(max_examples=100)
@given(panels(), st.sampled_from(METHODS))
def test_aggregates_stay_within_the_scale(
    panel: tuple[Rubric, list[Score]], method: Method
) -> None:
    rubric, scores = panel
    for result in aggregate_proposals(rubric, scores, method).values():
        present = [c for c in rubric.criteria if result.per_criterion[c.code] is not None]
        for c in present:
            value = result.per_criterion[c.code]
            assert value is not None
            assert c.scale_min <= value <= c.scale_max
        if result.overall is not None:
            assert min(c.scale_min for c in present) <= result.overall
            assert result.overall <= max(c.scale_max for c in present)


@settings(max_examples=100)
@given(panels(), st.data())
def test_permuting_scores_reviewers_and_criteria_changes_nothing(
    panel: tuple[Rubric, list[Score]], data: st.DataObject
) -> None:
    rubric, scores = panel
    shuffled = data.draw(st.permutations(scores))
    names = sorted({s.reviewer for s in scores})
    renamed = dict(zip(names, data.draw(st.permutations(names)), strict=True))
    relabelled = [Score(s.proposal, renamed[s.reviewer], s.criterion, s.value) for s in shuffled]
    reordered = Rubric(
        tuple(data.draw(st.permutations(rubric.criteria))),
        rubric.overall_threshold,
        rubric.tie_break,
    )
    for method in METHODS:
        assert view(aggregate_proposals(reordered, relabelled, method)) == view(
            aggregate_proposals(rubric, scores, method)
        )


@settings(max_examples=100)
@given(panels(), st.integers(0, 4))
def test_an_all_not_applicable_review_changes_nothing(
    panel: tuple[Rubric, list[Score]], p: int
) -> None:
    rubric, scores = panel
    extra = [Score(f"p{p}", "r-extra", c.code, None) for c in rubric.criteria]
    for method in METHODS:
        before = aggregate_proposals(rubric, scores, method, proposals=[f"p{p}"])
        after = aggregate_proposals(rubric, [*scores, *extra], method)
        assert view(after) == view(before)


@settings(max_examples=100)
@given(panels(), st.data())
def test_raising_one_score_never_lowers_its_proposal(
    panel: tuple[Rubric, list[Score]], data: st.DataObject
) -> None:
    rubric, scores = panel
    scored = [i for i, s in enumerate(scores) if s.value is not None]
    assume(scored)
    i = data.draw(st.sampled_from(scored))
    s = scores[i]
    c = rubric.criterion(s.criterion)
    assert s.value is not None
    steps_up = data.draw(st.integers(0, (c.scale_max - s.value) // c.scale_step))
    raised = list(scores)
    raised[i] = Score(s.proposal, s.reviewer, s.criterion, s.value + steps_up * c.scale_step)
    for method in METHODS:
        before = aggregate_proposals(rubric, scores, method)[s.proposal]
        after = aggregate_proposals(rubric, raised, method)[s.proposal]
        b, a = before.per_criterion[s.criterion], after.per_criterion[s.criterion]
        assert b is not None
        assert a is not None
        assert a >= b
        if before.overall is not None:
            assert after.overall is not None
            assert after.overall >= before.overall


# --- z-calibration ------------------------------------------------------------------------------

WIDE = Rubric((Criterion("q", 1000, 0, 1000, 1), Criterion("r", 1000, 0, 1000, 1)))


def test_z_calibration_example() -> None:
    rubric = Rubric((Criterion("q", 1000, 0, 100, 1),))
    scores = [Score(f"p{i}", "A", "q", v) for i, v in enumerate([10, 20, 30, 40, 50])]
    scores += [Score("p0", "B", "q", 40), Score("p1", "B", "q", 60)]
    scores += [Score("p0", "C", "q", 50), Score("p1", "C", "q", 70), Score("p2", "C", "q", None)]
    result = z_calibrate(scores, rubric)
    # A: μ = 30, σ = √200; the others: 40, 60, 50, 70 → μ = 55, σ = √125.
    ratio = math.sqrt(125 / 200)
    expected = [55 + ratio * (v - 30) for v in (10, 20, 30, 40, 50)]
    assert result.exact[:5] == pytest.approx(expected, rel=1e-12)
    assert [s.value for s in result.scores[:5]] == [39, 47, 55, 63, 71]
    # B and C have fewer than 5 scores: unchanged; N/A stays N/A.
    assert result.scores[5:] == tuple(scores[5:])
    assert result.exact[5:] == (40.0, 60.0, 50.0, 70.0, None)
    a = next(x for x in result.scalings if x.reviewer == "A")
    assert (a.applied, a.n, a.mean, a.target_mean) == (True, 5, 30.0, 55.0)
    assert a.sd == pytest.approx(math.sqrt(200))
    assert a.target_sd == pytest.approx(math.sqrt(125))
    assert [x.applied for x in result.scalings if x.reviewer != "A"] == [False, False]


def test_z_calibration_leaves_a_constant_or_lone_reviewer_unchanged() -> None:
    rubric = Rubric((Criterion("q", 1000, 0, 100, 1),))
    constant = [Score(f"p{i}", "A", "q", 30) for i in range(6)] + [Score("p0", "B", "q", 80)]
    assert z_calibrate(constant, rubric).scores == tuple(constant)
    lone = [Score(f"p{i}", "A", "q", 10 * i) for i in range(6)]
    assert z_calibrate(lone, rubric).scores == tuple(lone)


def test_z_calibration_clamps_to_the_scale() -> None:
    rubric = Rubric((Criterion("q", 1000, 0, 100, 1),))
    scores = [Score(f"p{i}", "A", "q", v) for i, v in enumerate([0, 0, 0, 0, 100])]
    scores += [Score(f"p{i}", "B", "q", v) for i, v in enumerate([0, 100, 0, 100, 0])]
    result = z_calibrate(scores, rubric)
    assert result.exact[4] is not None
    assert result.exact[4] > 100
    assert result.scores[4].value == 100


@settings(max_examples=100)
@given(
    st.lists(st.integers(0, 100), min_size=5, max_size=12),
    st.lists(st.integers(-1, 100), min_size=1, max_size=12),
    st.integers(1, 5),
    st.integers(0, 100),
)
def test_z_calibration_is_invariant_under_an_affine_change_of_one_reviewer(
    own: list[int], other: list[int], a: int, b: int
) -> None:
    assume(len(set(own)) > 1)
    assume(any(v >= 0 for v in other))

    def panel(transform: bool) -> list[Score]:
        scores = []
        for i, v in enumerate(own):
            scores.append(Score(f"p{i}", "J", "q", a * v + b if transform else v))
            scores.append(Score(f"p{i}", "J", "r", v))
        for i, v in enumerate(other):
            scores.append(Score(f"p{i}", "K", "q", None if v < 0 else v))
        return scores

    plain, changed = z_calibrate(panel(False), WIDE), z_calibrate(panel(True), WIDE)
    for s, x, y, sx, sy in zip(
        panel(False), plain.exact, changed.exact, plain.scores, changed.scores, strict=True
    ):
        if s.reviewer == "J" and s.criterion == "q":
            assert x is not None
            assert y is not None
            assert y == pytest.approx(x, rel=1e-9, abs=1e-9)
            assert sx.value is not None
            assert sy.value is not None
            assert abs(sx.value - sy.value) <= 1


@given(panels())
@settings(max_examples=50)
def test_calibration_ignores_an_all_not_applicable_review(
    panel: tuple[Rubric, list[Score]],
) -> None:
    rubric, scores = panel
    extra = [Score("p0", "r-extra", c.code, None) for c in rubric.criteria]
    z_before = z_calibrate(scores, rubric, min_reviews=2)
    z_after = z_calibrate([*scores, *extra], rubric, min_reviews=2)
    assert z_after.scores[: len(scores)] == z_before.scores
    assert z_after.scores[len(scores) :] == tuple(extra)
    s_before, s_after = severity_model(scores, rubric), severity_model([*scores, *extra], rubric)
    assert s_after.calibrated[: len(scores)] == s_before.calibrated
    assert s_after.reviewer_bias == s_before.reviewer_bias


def test_calibrated_values_aggregate_like_the_calibrated_scores() -> None:
    scores = planted_panel(width=3)
    z, fit = z_calibrate(scores, WIDE), severity_model(scores, WIDE)
    for built, values in ((z.scores, z.values), (fit.calibrated, fit.values)):
        assert [s.value for s in built] == list(values)
        assert aggregate_proposals(
            WIDE, scores, values=values, require_steps=False
        ) == aggregate_proposals(WIDE, built, require_steps=False)
    with pytest.raises(ValueError, match="1 values for 720 scores"):
        aggregate_proposals(WIDE, scores, values=[1])


# --- the severity model -------------------------------------------------------------------------


def noise(*key: object, width: int) -> int:
    """Deterministic pseudo-noise, uniform on −width..width, the same on every platform."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return int.from_bytes(digest[:4], "big") % (2 * width + 1) - width


PLANTED = [15, 5, 5, -5, -5, -5, -5, -5, 0, 0, 0, 0]  # tenths; they sum to 0


def planted_panel(width: int) -> list[Score]:
    """120 proposals × 2 criteria, each proposal reviewed by 3 of the 12 reviewers (60 scores
    per reviewer); score = true quality + the reviewer's planted bias + noise."""
    scores = []
    for p in range(120):
        for j in (p % 12, (p + 1) % 12, (p + 4) % 12):
            for c in ("q", "r"):
                quality = 300 + (p * 37) % 400 + (50 if c == "r" else 0)
                value = quality + PLANTED[j] + noise(p, j, c, width=width)
                scores.append(Score(f"p{p:03d}", f"rev{j:02d}", c, value))
    return scores


def test_the_severity_model_recovers_planted_biases_and_flags_the_outlier() -> None:
    scores = planted_panel(width=3)
    fit = severity_model(scores, WIDE)
    assert fit.observations == 720
    recovered = [fit.reviewer_bias[f"rev{j:02d}"] for j in range(12)]
    assert recovered == pytest.approx(PLANTED, abs=1.0)
    assert sum(recovered) == pytest.approx(0, abs=1e-9)
    # Every real bias is significant with this little noise; zero-bias reviewers are not flagged.
    assert outlier_reviewers(fit) == [f"rev{j:02d}" for j in range(8)]
    # Only the +15 is also large.
    assert outlier_reviewers(fit, min_bias=10) == ["rev00"]
    t = {r: fit.t_statistic(r) for r in fit.reviewer_bias}
    assert max(t, key=lambda r: abs(t[r] or 0)) == "rev00"
    # Calibrated = y − b: the outlier's first score (p000 on q, true quality 300, planted +15)
    # comes back to the truth within the noise.
    first = scores[0]
    assert (first.proposal, first.reviewer, first.criterion) == ("p000", "rev00", "q")
    assert first.value is not None
    assert fit.exact[0] == pytest.approx(first.value - fit.reviewer_bias["rev00"])
    calibrated = fit.calibrated[0].value
    assert calibrated is not None
    assert abs(first.value - 300 - 15) <= 3
    assert abs(calibrated - 300) <= 4


def test_a_noisy_panel_flags_only_the_large_planted_outlier() -> None:
    fit = severity_model(planted_panel(width=25), WIDE)
    assert fit.reviewer_bias["rev00"] == pytest.approx(15, abs=4)
    assert "rev00" in outlier_reviewers(fit)
    assert outlier_reviewers(fit, min_bias=10) == ["rev00"]


def test_the_severity_model_on_one_criterion_leaves_the_others_alone() -> None:
    scores = planted_panel(width=3)
    fit = severity_model(scores, WIDE, criterion="q")
    assert fit.observations == 360
    assert fit.reviewer_bias["rev00"] == pytest.approx(15, abs=1.5)
    for s, c in zip(scores, fit.calibrated, strict=True):
        if s.criterion == "r":
            assert c == s


def test_a_strong_ridge_shrinks_the_biases_to_zero() -> None:
    fit = severity_model(planted_panel(width=3), WIDE, ridge=1e9)
    assert max(abs(b) for b in fit.reviewer_bias.values()) < 0.01


def test_one_review_per_item_leaves_the_error_unestimable() -> None:
    rubric = Rubric((Criterion("q", 1000, 0, 100, 1),))
    scores = [Score("p1", "A", "q", 40), Score("p2", "B", "q", 60)]
    fit = severity_model(scores, rubric)
    assert fit.residual_variance is None
    assert fit.std_error == {"A": None, "B": None}
    assert outlier_reviewers(fit) == []
    assert fit.reviewer_bias == {"A": 0.0, "B": 0.0}


def test_the_severity_model_refuses_a_non_positive_ridge_and_unknown_criterion() -> None:
    with pytest.raises(ValueError, match="ridge"):
        severity_model([], WIDE, ridge=0)
    with pytest.raises(ValueError, match="no criterion"):
        severity_model([], WIDE, criterion="zzz")
    empty = severity_model([], WIDE)
    assert (empty.reviewer_bias, empty.calibrated, empty.observations) == ({}, (), 0)


@given(panels())
@settings(max_examples=60)
def test_the_severity_model_matches_a_dense_ridge_solve(panel: tuple[Rubric, list[Score]]) -> None:
    """The eliminated R×R system gives the same b, SE and residual dof as solving the full
    ridge problem over (items, reviewers) directly."""
    rubric, scores = panel
    ridge = 1.5
    fit = severity_model(scores, rubric, ridge=ridge)
    used = [s for s in scores if s.value is not None]
    assume(used)
    items = sorted({(s.proposal, s.criterion) for s in used})
    reviewers = sorted({s.reviewer for s in used})
    x = np.zeros((len(used), len(items) + len(reviewers)))
    for row, s in enumerate(used):
        x[row, items.index((s.proposal, s.criterion))] = 1
        x[row, len(items) + reviewers.index(s.reviewer)] = 1
    y = np.array([s.value for s in used], dtype=float)
    penalty = np.diag([0.0] * len(items) + [ridge] * len(reviewers))
    inverse = np.linalg.inv(x.T @ x + penalty)
    beta = inverse @ x.T @ y
    b = beta[len(items) :]
    assert [fit.reviewer_bias[r] for r in reviewers] == pytest.approx(list(b), abs=1e-7)
    hat_trace = float(np.trace(x @ inverse @ x.T))
    assert fit.residual_dof == pytest.approx(len(used) - hat_trace, abs=1e-7)
    if fit.residual_variance is not None:
        residuals = y - x @ beta
        variance = float(residuals @ residuals) / (len(used) - hat_trace)
        assert fit.residual_variance == pytest.approx(variance, rel=1e-6, abs=1e-9)
        diagonal = np.diag(inverse)[len(items) :]
        expected = [math.sqrt(variance * d) for d in diagonal]
        assert [fit.std_error[r] for r in reviewers] == pytest.approx(expected, rel=1e-6, abs=1e-9)


# --- disagreement -------------------------------------------------------------------------------


def test_disagreement_flags_example() -> None:
    flags = disagreement_flags(SCORES, spread=10)
    assert flags == [
        Disagreement("P1", "inclusion", 10, 40, 50),
        Disagreement("P1", "relevance", 10, 35, 45),
    ]
    assert disagreement_flags(SCORES, spread=11) == []
    with pytest.raises(ValueError, match="spread"):
        disagreement_flags(SCORES, spread=0)


@settings(max_examples=100)
@given(panels(), st.integers(1, 50))
def test_disagreement_flags_exactly_the_wide_cells(
    panel: tuple[Rubric, list[Score]], spread: int
) -> None:
    _, scores = panel
    cells: dict[tuple[str, str], list[int]] = defaultdict(list)
    for s in scores:
        if s.value is not None:
            cells[s.proposal, s.criterion].append(s.value)
    wide = sorted(k for k, v in cells.items() if max(v) - min(v) >= spread)
    assert [(f.proposal, f.criterion) for f in disagreement_flags(scores, spread)] == wide


# --- Krippendorff's alpha -----------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the worked example:
# 4 observers × 12 units, values 1–5, missing marked None. Interval alpha = 0.849.
TEXTBOOK = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def as_scores(matrix: list[list[int | None]], criterion: str = "q") -> list[Score]:
    """Rows are reviewers, columns proposals; values in points, stored in tenths."""
    return [
        Score(f"u{u:02d}", f"obs{r}", criterion, None if v is None else 10 * v)
        for r, row in enumerate(matrix)
        for u, v in enumerate(row)
    ]


def test_krippendorff_alpha_textbook_example() -> None:
    alpha = krippendorff_alpha(as_scores(TEXTBOOK), "q")
    assert alpha is not None
    assert round(alpha, 3) == 0.849
    # the window (all criteria) of a one-criterion rubric is the same
    assert krippendorff_alpha(as_scores(TEXTBOOK)) == alpha


def test_krippendorff_alpha_wikipedia_example() -> None:
    data: list[list[int | None]] = [
        [None, None, None, None, None, 3, 4, 1, 2, 1, 1, 3, 3, None, 3],
        [1, None, 2, 1, 3, 3, 4, 3, None, None, None, None, None, None, None],
        [None, None, 2, 1, 3, 4, 4, None, 2, 1, 1, 3, 3, None, 4],
    ]
    alpha = krippendorff_alpha(as_scores(data), "q")
    assert alpha is not None
    assert round(alpha, 6) == 0.810845


def test_krippendorff_alpha_of_the_window_pools_the_criteria_as_units() -> None:
    scores = as_scores(TEXTBOOK[:2], "a") + as_scores(TEXTBOOK[2:], "b")
    pooled = [Score(f"{s.criterion}-{s.proposal}", s.reviewer[-1], "q", s.value) for s in scores]
    assert krippendorff_alpha(scores) == pytest.approx(krippendorff_alpha(pooled, "q"))
    assert krippendorff_alpha(scores, "a") == pytest.approx(
        krippendorff_alpha(as_scores(TEXTBOOK[:2]), "q")
    )


@pytest.mark.parametrize(
    "matrix",
    [
        [[1, 2, 3], [None, None, None]],  # nobody else rated: no unit has two ratings
        [[1, None, 3], [None, 2, None]],  # ratings never meet on a unit
        [[2, 2, 2], [2, 2, None]],  # the paired ratings do not vary
        [[None, None], [None, None]],  # all not applicable
        [],  # nothing
    ],
)
def test_krippendorff_alpha_is_none_when_undefined(matrix: list[list[int | None]]) -> None:
    assert krippendorff_alpha(as_scores(matrix), "q") is None
    assert krippendorff_alpha(as_scores(matrix), "other") is None


def alpha_by_pairs(scores: list[Score]) -> float | None:
    """Interval alpha from its definition over pairable values: 1 − D_o / D_e."""
    units: dict[tuple[str, str], list[int]] = defaultdict(list)
    for s in scores:
        if s.value is not None:
            units[s.proposal, s.criterion].append(s.value)
    pairable = [v for v in units.values() if len(v) >= 2]
    values = [x for v in pairable for x in v]
    n = len(values)
    observed = sum(sum((a - b) ** 2 for a in v for b in v) / (len(v) - 1) for v in pairable) / max(
        n, 1
    )
    expected = sum((a - b) ** 2 for a in values for b in values) / max(n * (n - 1), 1)
    return None if expected == 0 else 1 - observed / expected


@given(panels())
@settings(max_examples=60)
def test_krippendorff_alpha_agrees_with_its_definition(panel: tuple[Rubric, list[Score]]) -> None:
    _, scores = panel
    expected = alpha_by_pairs(scores)
    actual = krippendorff_alpha(scores)
    if expected is None:
        assert actual is None
    else:
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9)


def package_alpha(scores: list[Score], criterion: str | None = None) -> float | None:
    """Interval alpha computed independently of :func:`krippendorff_alpha`: the ``krippendorff``
    package on the plain reliability matrix (reviewers × units, NaN where a reviewer gave no
    applicable score), which the function never builds. None where the package finds alpha
    undefined (the paired ratings do not vary, or no unit has two ratings)."""
    kept = [s for s in scores if criterion is None or s.criterion == criterion]
    reviewers = sorted({s.reviewer for s in kept})
    units = sorted({(s.proposal, s.criterion) for s in kept})
    matrix = np.full((len(reviewers), len(units)), np.nan)
    row = {r: k for k, r in enumerate(reviewers)}
    column = {u: k for k, u in enumerate(units)}
    for s in kept:
        if s.value is not None:
            matrix[row[s.reviewer], column[s.proposal, s.criterion]] = s.value
    pairable = (~np.isnan(matrix)).sum(axis=0) >= 2
    paired = matrix[:, pairable]
    if len(np.unique(paired[~np.isnan(paired)])) < 2:
        return None
    with np.errstate(invalid="ignore"):  # 0/0 where alpha is undefined: NaN, as documented
        value = float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval"))
    return None if math.isnan(value) else value


@pytest.mark.parametrize("criterion", ["q", None])
def test_krippendorff_alpha_of_the_textbook_example_is_the_packages(criterion: str | None) -> None:
    alpha = package_alpha(as_scores(TEXTBOOK), criterion)
    assert alpha is not None
    assert krippendorff_alpha(as_scores(TEXTBOOK), criterion) == pytest.approx(alpha, rel=1e-12)


@given(panels())
@settings(max_examples=60)
def test_krippendorff_alpha_equals_the_package_on_the_reliability_matrix(
    panel: tuple[Rubric, list[Score]],
) -> None:
    rubric, scores = panel
    for criterion in (None, *rubric.codes):
        expected = package_alpha(scores, criterion)
        actual = krippendorff_alpha(scores, criterion)
        if expected is None:
            assert actual is None
        else:
            assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9)


@given(panels())
@settings(max_examples=60)
def test_the_closed_form_alpha_equals_the_package(panel: tuple[Rubric, list[Score]]) -> None:
    """Large windows on fine scales use the closed form: it must give the package's number."""
    _, scores = panel
    units: dict[tuple[str, str], list[int]] = defaultdict(list)
    for s in scores:
        if s.value is not None:
            units[s.proposal, s.criterion].append(s.value)
    pairable = [v for v in units.values() if len(v) >= 2]
    packaged = krippendorff_alpha(scores)
    if packaged is None:
        assert not pairable or _interval_alpha(pairable) is None
    else:
        assert _interval_alpha(pairable) == pytest.approx(packaged, rel=1e-9, abs=1e-9)


def test_a_large_fine_grained_window_uses_the_closed_form() -> None:
    # 3,000 units on a 0–100 scale: the package would need 3,000 × 101² floats per array.
    scores = [
        Score(f"p{p}", f"r{r}", "q", (p * 7 + r * 13 + noise(p, r, width=10)) % 101)
        for p in range(3000)
        for r in range(3)
    ]
    alpha = krippendorff_alpha(scores, "q")
    units: dict[str, list[int]] = defaultdict(list)
    for s in scores:
        assert s.value is not None
        units[s.proposal].append(s.value)
    assert alpha is not None
    assert alpha == pytest.approx(_interval_alpha(list(units.values())), rel=1e-12)
