"""Rubric scores: aggregation per criterion, thresholds, the ranking score, reviewer calibration,
disagreement and reliability statistics.

Units. Every score, scale bound, step and threshold is an integer in **tenths of a point** (a
0–5 scale in half points is ``scale_min=0, scale_max=50, scale_step=5``). A criterion weight is an
integer in thousandths. A score of ``None`` means "not applicable": it is left out of every
aggregate, count and statistic, never counted as 0 (Hypha's bug).

Aggregation (:func:`aggregate`, :func:`aggregate_proposals`), exact:

- ``mean``: the arithmetic mean of the scores.
- ``median``: the middle score; for an even count, the mean of the two middle ones.
- ``trimmed_mean``: sort the n scores, drop ``k`` from each end, average the rest, where
  ``k = 0`` for ``n <= 2`` and ``k = max(1, floor(n / 5))`` for ``n >= 3`` (see
  :func:`trimmed_count`): 20 % each side rounded down, but always at least the single lowest
  and highest once there are three scores, so a panel of three drops its extremes. At least
  one score is always kept (``n - 2k >= 1``).
- A recorded consensus score for a (proposal, criterion) replaces the aggregate.

Aggregates are :class:`~fractions.Fraction` in tenths, so equal results are equal exactly.
Thresholds are compared with the *unweighted* aggregate of their criterion (``>=`` passes); the
weights only make the ranking score: the weighted mean of the criterion aggregates that have a
value, the weights renormalised over those criteria (a criterion that is not applicable to a
proposal neither helps nor hurts it). The rubric's overall threshold is compared with that
ranking score.

Calibration is computed beside the raw result; callers apply it only when asked, by aggregating
the calibrated values: ``aggregate_proposals(rubric, scores, values=calibration.values,
require_steps=False)`` (a calibrated score is a whole number of tenths clamped to the scale, not
necessarily on its step). Floats are used inside calibration only; the calibrated values are
rounded to tenths, half to even, and the unrounded ones are reported beside them (``exact``).

- :func:`z_calibrate`: per criterion, each reviewer with at least ``min_reviews`` scores on the
  criterion is rescaled onto the distribution of the *other* reviewers' scores on it
  (leave-one-out): ``s' = μ₋ⱼ + σ₋ⱼ · (s − μⱼ) / σⱼ``. Leaving the reviewer out of its own
  target makes its calibrated scores exactly invariant under a positive affine change of its
  raw scores (with the pooled mean and deviation, ``μ_all`` and ``σ_all``, the target moves
  with the reviewer). Per criterion, because criteria have their own scales and a reviewer may
  be severe on one and lenient on another.
- :func:`severity_model`: the additive model ``y = θ_item + b_reviewer + ε`` over items
  (proposal, criterion), fitted by least squares with a ridge penalty ``λ·Σ b²`` on the
  reviewer effects only (``θ`` is the usual ``μ + f_i``; the penalty makes the ``b`` sum to
  zero, i.e. a bias is relative to the panel's average reviewer). Calibrated score ``y − b``.

Flags: :func:`disagreement_flags` (max − min of a cell at least a spread),
:func:`outlier_reviewers` (``|b| / SE(b) > z``) and :func:`krippendorff_alpha` (interval level,
missing ratings allowed).

Pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Final

import krippendorff
import numpy as np
import numpy.typing as npt

__all__ = [
    "Criterion",
    "CriterionResult",
    "Disagreement",
    "Method",
    "ProposalAggregate",
    "ReviewerScaling",
    "Rubric",
    "Score",
    "SeverityFit",
    "ZCalibration",
    "aggregate",
    "aggregate_proposals",
    "disagreement_flags",
    "krippendorff_alpha",
    "outlier_reviewers",
    "severity_model",
    "trimmed_count",
    "z_calibrate",
]

_MAX_LISTED_PROBLEMS: Final = 10


# --- the rubric and the scores ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Criterion:
    """A rubric criterion. Scale bounds, step and threshold in tenths; weight in thousandths."""

    code: str
    weight: int
    scale_min: int
    scale_max: int
    scale_step: int
    threshold: int | None = None
    """The criterion's aggregate must be at least this (tenths); ``None``: no threshold."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.code:
            problems.append("code must not be empty")
        if self.weight < 0:
            problems.append("weight must be >= 0")
        if self.scale_step <= 0:
            problems.append("scale_step must be > 0")
        if self.scale_max <= self.scale_min:
            problems.append("scale_max must be > scale_min")
        elif self.scale_step > 0 and (self.scale_max - self.scale_min) % self.scale_step:
            problems.append("scale_max - scale_min must be a multiple of scale_step")
        if self.threshold is not None and not self.scale_min <= self.threshold <= self.scale_max:
            problems.append("threshold must be within the scale")
        if problems:
            raise ValueError(f"criterion {self.code!r}: " + "; ".join(problems))

    def in_range(self, value: int) -> bool:
        return self.scale_min <= value <= self.scale_max

    def on_scale(self, value: int) -> bool:
        """In range and on a step of the scale."""
        return self.in_range(value) and (value - self.scale_min) % self.scale_step == 0

    def clamp(self, value: int) -> int:
        return min(max(value, self.scale_min), self.scale_max)


@dataclass(frozen=True, slots=True)
class Rubric:
    """The criteria (in display order), an optional overall threshold on the ranking score (tenths)
    and the ordered tie-break list of criterion codes."""

    criteria: tuple[Criterion, ...]
    overall_threshold: int | None = None
    tie_break: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems: list[str] = []
        codes = [c.code for c in self.criteria]
        if not codes:
            problems.append("a rubric needs at least one criterion")
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            problems.append(f"duplicate criterion codes: {', '.join(duplicates)}")
        if codes and sum(c.weight for c in self.criteria) <= 0:
            problems.append("the weights must not all be 0")
        unknown = [c for c in self.tie_break if c not in codes]
        if unknown:
            problems.append(f"tie-break names unknown criteria: {', '.join(unknown)}")
        if len(set(self.tie_break)) != len(self.tie_break):
            problems.append("tie-break lists a criterion twice")
        if problems:
            raise ValueError("rubric: " + "; ".join(problems))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.criteria)

    def criterion(self, code: str) -> Criterion:
        for c in self.criteria:
            if c.code == code:
                return c
        raise ValueError(f"no criterion {code!r} in the rubric")


@dataclass(frozen=True, slots=True)
class Score:
    """One reviewer's score of one proposal on one criterion (tenths; ``None``: not applicable)."""

    proposal: str
    reviewer: str
    criterion: str
    value: int | None


class Method(StrEnum):
    MEAN = "mean"
    MEDIAN = "median"
    TRIMMED_MEAN = "trimmed_mean"


@dataclass(frozen=True, slots=True)
class _Table:
    """Scores as arrays, in input order (internal)."""

    proposals: list[str]
    """Index → proposal id, in order of first appearance."""
    reviewers: list[str]
    p: npt.NDArray[np.int64]
    r: npt.NDArray[np.int64]
    c: npt.NDArray[np.int64]
    """The criterion's index in the rubric."""
    value: npt.NDArray[np.int64]
    """Tenths; 0 where not applicable."""
    na: npt.NDArray[np.bool_]


def _parse(
    scores: Sequence[Score],
    rubric: Rubric,
    require_steps: bool,
    values: Sequence[int | None] | None = None,
) -> _Table:
    """Index the scores, with ``values`` in place of theirs when given; raise ValueError naming
    the problems: an unknown criterion, a value off the scale, a reviewer scoring the same
    proposal and criterion twice."""
    n = len(scores)
    if values is not None and len(values) != n:
        raise ValueError(f"{len(values)} values for {n} scores")
    codes = {c.code: k for k, c in enumerate(rubric.criteria)}
    pmap: dict[str, int] = {}
    rmap: dict[str, int] = {}
    p = np.fromiter((pmap.setdefault(s.proposal, len(pmap)) for s in scores), np.int64, n)
    r = np.fromiter((rmap.setdefault(s.reviewer, len(rmap)) for s in scores), np.int64, n)
    c = np.fromiter((codes.get(s.criterion, -1) for s in scores), np.int64, n)
    raw = [s.value for s in scores] if values is None else list(values)
    na = np.fromiter((v is None for v in raw), np.bool_, n)
    value = np.fromiter((0 if v is None else v for v in raw), np.int64, n)

    known = c >= 0
    ci = np.where(known, c, 0)
    lo = np.array([x.scale_min for x in rubric.criteria], dtype=np.int64)[ci]
    hi = np.array([x.scale_max for x in rubric.criteria], dtype=np.int64)[ci]
    step = np.array([x.scale_step for x in rubric.criteria], dtype=np.int64)[ci]
    off = known & ~na & ((value < lo) | (value > hi))
    if require_steps:
        off |= known & ~na & ((value - lo) % step != 0)
    key = (p * max(len(rmap), 1) + r) * (len(codes) + 1) + (c + 1)
    order = np.argsort(key, kind="stable")
    twice = np.zeros(n, dtype=np.bool_)
    twice[order[1:]] = key[order[1:]] == key[order[:-1]]
    bad = np.flatnonzero(~known | off | twice)
    if bad.size:
        problems: list[str] = []
        for i in bad.tolist():
            s = scores[i]
            where = (s.proposal, s.reviewer, s.criterion)
            if twice[i]:
                problems.append(f"{where}: scored twice")
            if not known[i]:
                problems.append(f"{where}: no criterion {s.criterion!r} in the rubric")
            elif off[i]:
                x = rubric.criteria[int(c[i])]
                problems.append(
                    f"{where}: {raw[i]} is not on the scale {x.scale_min}..{x.scale_max}"
                    + (f" step {x.scale_step}" if require_steps else "")
                )
        more = len(problems) - _MAX_LISTED_PROBLEMS
        listed = "; ".join(problems[:_MAX_LISTED_PROBLEMS])
        raise ValueError(listed + (f"; and {more} more" if more > 0 else ""))
    return _Table(list(pmap), list(rmap), p, r, c, value, na)


# --- aggregation --------------------------------------------------------------------------------


def trimmed_count(n: int) -> int:
    """How many scores the trimmed mean drops from *each* end of ``n`` sorted scores:
    0 for n ≤ 2, else ``max(1, n // 5)`` (3–9 → 1, 10–14 → 2, 15–19 → 3 …)."""
    return 0 if n < 3 else max(1, n // 5)


def _aggregate_parts(values: Sequence[int], method: Method) -> tuple[int, int]:
    """(numerator, denominator) of the aggregate of a non-empty list."""
    n = len(values)
    if method is Method.MEAN:
        return sum(values), n
    ordered = sorted(values)
    if method is Method.MEDIAN:
        mid = n // 2
        if n % 2:
            return ordered[mid], 1
        return ordered[mid - 1] + ordered[mid], 2
    k = trimmed_count(n)
    kept = ordered[k : n - k]
    return sum(kept), len(kept)


def aggregate(values: Sequence[int], method: Method | str) -> Fraction | None:
    """The aggregate of ``values`` (tenths, not-applicable already removed); ``None`` if empty."""
    if not values:
        return None
    num, den = _aggregate_parts(values, Method(method))
    return Fraction(num, den)


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One criterion of one proposal: the value, where it came from and its threshold."""

    code: str
    value: Fraction | None
    """The aggregate (or the consensus score), tenths; ``None``: no applicable score."""
    scores: tuple[int, ...]
    """The applicable scores it was aggregated from, ascending."""
    not_applicable: int
    """How many reviewers answered "not applicable"."""
    consensus: bool
    """The value is a recorded consensus score, overriding the aggregate of ``scores``."""
    threshold: int | None
    passed: bool | None
    """``value >= threshold``; ``None`` when there is no threshold or no value."""


@dataclass(frozen=True, slots=True)
class ProposalAggregate:
    """The explainable result of one proposal."""

    proposal: str
    method: Method
    criteria: tuple[CriterionResult, ...]
    """In rubric order."""
    overall: Fraction | None
    """The ranking score: weighted mean of the criterion values present (tenths)."""
    overall_threshold: int | None
    passes_overall: bool | None
    """``overall >= overall_threshold``; ``None`` with no overall threshold or no score."""
    passes_all: bool
    """It has a ranking score, no criterion threshold failed and the overall one did not fail.
    A threshold on a criterion with no applicable score is not judged (``passed`` is ``None``)."""

    @property
    def per_criterion(self) -> dict[str, Fraction | None]:
        return {c.code: c.value for c in self.criteria}

    @property
    def thresholds(self) -> dict[str, bool | None]:
        return {c.code: c.passed for c in self.criteria}

    def criterion(self, code: str) -> CriterionResult:
        for c in self.criteria:
            if c.code == code:
                return c
        raise ValueError(f"no criterion {code!r} in this result")


def _weighted_mean(terms: Sequence[tuple[int, int, int]]) -> Fraction | None:
    """Σ wᵢ·(nᵢ/dᵢ) / Σ wᵢ over (weight, numerator, denominator) terms, exactly, in integers."""
    total_weight = sum(w for w, _, _ in terms)
    if total_weight == 0:
        return None
    common = math.lcm(*(d for _, _, d in terms))
    return Fraction(sum(w * n * (common // d) for w, n, d in terms), common * total_weight)


def _cell_aggregates(
    values: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    method: Method,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(numerator, denominator) of every cell's aggregate; ``values`` sorted within each cell,
    a cell's values at ``starts[i] : starts[i] + counts[i]``. Empty cells: (0, 0)."""
    prefix = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(values, dtype=np.int64)))
    if method is Method.MEAN:
        return prefix[starts + counts] - prefix[starts], counts
    if method is Method.MEDIAN:
        has = counts > 0
        if not values.size:
            return np.zeros_like(counts), np.zeros_like(counts)
        low = np.where(has, starts + (counts - 1) // 2, 0)
        high = np.where(has, starts + counts // 2, 0)
        return np.where(has, values[low] + values[high], 0), np.where(has, 2, 0)
    k = np.where(counts < 3, 0, np.maximum(1, counts // 5))
    return prefix[starts + counts - k] - prefix[starts + k], counts - 2 * k


def aggregate_proposals(
    rubric: Rubric,
    scores: Iterable[Score],
    method: Method | str = Method.MEAN,
    consensus: Mapping[tuple[str, str], int | None] | None = None,
    *,
    proposals: Iterable[str] = (),
    require_steps: bool = True,
    values: Sequence[int | None] | None = None,
) -> dict[str, ProposalAggregate]:
    """Aggregate every proposal's scores criterion by criterion and judge the thresholds.

    ``consensus`` maps (proposal, criterion) to a recorded consensus score (tenths, or ``None``
    for an agreed "not applicable"), which replaces the aggregate. ``proposals`` names proposals
    to report even without any score. ``require_steps=False`` accepts any whole number of tenths
    within the scale (for calibrated scores). ``values``, aligned with ``scores``, replace the
    scores' own values: a calibration's ``values`` aggregate the calibrated scores without
    building them. The result is keyed and ordered by proposal id. Raises ValueError for a
    score or consensus value off the rubric.
    """
    method = Method(method)
    by_code = {c.code: c for c in rubric.criteria}
    scores = scores if isinstance(scores, Sequence) else list(scores)
    table = _parse(scores, rubric, require_steps, values)
    consensus = consensus or {}
    bad = [
        f"consensus {key}: not a criterion of the rubric or off its scale"
        for key, v in consensus.items()
        if key[1] not in by_code
        or (
            v is not None
            and not (by_code[key[1]].on_scale(v) if require_steps else by_code[key[1]].in_range(v))
        )
    ]
    if bad:
        raise ValueError("; ".join(bad))

    criteria = rubric.criteria
    width = len(criteria)
    ids = sorted(set(table.proposals).union(proposals, (p for p, _ in consensus)))
    position = {pid: k for k, pid in enumerate(ids)}
    remap = np.array([position[pid] for pid in table.proposals], dtype=np.int64)
    n_cells = len(ids) * width
    cell = remap[table.p] * width + table.c
    not_applicable = np.bincount(cell[table.na], minlength=n_cells).tolist()
    scored = ~table.na
    cells, cell_values = cell[scored], table.value[scored]
    order = np.lexsort((cell_values, cells))
    cell_values = cell_values[order]
    counts = np.bincount(cells, minlength=n_cells)
    starts = np.cumsum(counts) - counts
    nums, dens = _cell_aggregates(cell_values, starts, counts, method)
    value_list, start_list, count_list = cell_values.tolist(), starts.tolist(), counts.tolist()
    num_list, den_list = nums.tolist(), dens.tolist()
    agreed = {
        position[p] * width + k: v
        for (p, code), v in consensus.items()
        for k in [rubric.codes.index(code)]
    }

    result: dict[str, ProposalAggregate] = {}
    thr = rubric.overall_threshold
    # Fractions are immutable: one object per distinct (numerator, denominator) is shared by
    # every cell that has it (a window has few distinct aggregates, and far fewer allocations).
    fractions: dict[tuple[int, int], Fraction] = {}
    for k, proposal in enumerate(ids):
        rows: list[CriterionResult] = []
        present: list[tuple[int, int, int]] = []
        failed = False
        for j, c in enumerate(criteria):
            x = k * width + j
            start, count = start_list[x], count_list[x]
            is_consensus = x in agreed
            if is_consensus:
                v = agreed[x]
                num, den = (None, 1) if v is None else (v, 1)
            else:
                num, den = (num_list[x], den_list[x]) if count else (None, 1)
            if num is None:
                value, passed = None, None
            else:
                value = fractions.get((num, den))
                if value is None:
                    value = fractions[num, den] = Fraction(num, den)
                passed = None if c.threshold is None else num >= c.threshold * den
                failed = failed or passed is False
                present.append((c.weight, num, den))
            rows.append(
                CriterionResult(
                    code=c.code,
                    value=value,
                    scores=tuple(value_list[start : start + count]),
                    not_applicable=not_applicable[x],
                    consensus=is_consensus,
                    threshold=c.threshold,
                    passed=passed,
                )
            )
        overall = _weighted_mean(present)
        passes_overall = None if thr is None or overall is None else overall >= thr
        result[proposal] = ProposalAggregate(
            proposal=proposal,
            method=method,
            criteria=tuple(rows),
            overall=overall,
            overall_threshold=thr,
            passes_overall=passes_overall,
            passes_all=overall is not None and not failed and passes_overall is not False,
        )
    return result


# --- calibration: z-rescaling -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewerScaling:
    """How one reviewer's scores on one criterion were (or were not) rescaled."""

    criterion: str
    reviewer: str
    n: int
    """The reviewer's applicable scores on the criterion."""
    mean: float
    sd: float
    """Population standard deviation."""
    target_mean: float | None
    """Mean of the other reviewers' scores on the criterion; ``None`` when there are none."""
    target_sd: float | None
    applied: bool
    """False when n < min_reviews, sd = 0 or no other reviewer scored the criterion."""


@dataclass(frozen=True)
class ZCalibration:
    source: tuple[Score, ...] = field(repr=False)
    """The input scores."""
    values: tuple[int | None, ...]
    """The calibrated value of each input score, in input order: rescaled where applied,
    rounded to tenths half to even and clamped to the criterion's scale; ``None`` stays."""
    exact: tuple[float | None, ...]
    """The unrounded, unclamped calibrated values, aligned with ``values``."""
    scalings: tuple[ReviewerScaling, ...]
    """Per (criterion in rubric order, reviewer id)."""

    @property
    def scores(self) -> tuple[Score, ...]:
        """The calibrated scores (built on each access; to aggregate them, pass ``values`` to
        :func:`aggregate_proposals` with the input scores instead)."""
        return _with_values(self.source, self.values)


def _population_sd(n: int, total: int, squares: int) -> float:
    """√(Σx²/n − (Σx/n)²), from exact integer sums."""
    return math.sqrt(Fraction(n * squares - total * total, n * n))


def _sums(
    groups: npt.NDArray[np.int64], values: npt.NDArray[np.int64], size: int
) -> tuple[list[int], list[int], list[int]]:
    """Per group: count, Σx, Σx², exact (int64)."""
    n = np.bincount(groups, minlength=size)
    total = np.zeros(size, dtype=np.int64)
    squares = np.zeros(size, dtype=np.int64)
    np.add.at(total, groups, values)
    np.add.at(squares, groups, values * values)
    return n.tolist(), total.tolist(), squares.tolist()


def _rounded(
    table: _Table, rubric: Rubric, exact: npt.NDArray[np.float64]
) -> tuple[tuple[int | None, ...], tuple[float | None, ...]]:
    """``exact`` rounded to tenths half to even and clamped to the scale, and as it is; ``None``
    where not applicable."""
    lo = np.array([c.scale_min for c in rubric.criteria], dtype=np.float64)[table.c]
    hi = np.array([c.scale_max for c in rubric.criteria], dtype=np.float64)[table.c]
    rounded = np.clip(np.rint(exact), lo, hi).astype(np.int64).tolist()
    missing = table.na.tolist()
    return (
        tuple(None if m else v for m, v in zip(missing, rounded, strict=True)),
        tuple(None if m else x for m, x in zip(missing, exact.tolist(), strict=True)),
    )


def _with_values(scores: Sequence[Score], values: Sequence[int | None]) -> tuple[Score, ...]:
    return tuple(
        s if s.value == v else Score(s.proposal, s.reviewer, s.criterion, v)
        for s, v in zip(scores, values, strict=True)
    )


def z_calibrate(
    scores: Sequence[Score], rubric: Rubric, min_reviews: int = 5, *, require_steps: bool = True
) -> ZCalibration:
    """Rescale each reviewer with at least ``min_reviews`` applicable scores on a criterion onto
    the other reviewers' distribution on that criterion: ``s' = μ₋ⱼ + σ₋ⱼ·(s − μⱼ)/σⱼ``.

    Means and population standard deviations come from exact integer sums. A reviewer is left
    unchanged when it has fewer scores, all its scores on the criterion are equal (σⱼ = 0) or
    nobody else scored the criterion.
    """
    if min_reviews < 2:
        raise ValueError("min_reviews must be >= 2")
    table = _parse(scores, rubric, require_steps)
    n_rev = len(table.reviewers)
    scored = ~table.na
    group = table.c * n_rev + table.r
    size = len(rubric.criteria) * n_rev
    g_n, g_total, g_squares = _sums(group[scored], table.value[scored], size)
    c_n, c_total, c_squares = _sums(table.c[scored], table.value[scored], len(rubric.criteria))

    target = np.zeros(size)
    ratio = np.zeros(size)
    own_mean = np.zeros(size)
    applies = np.zeros(size, dtype=np.bool_)
    scalings: list[ReviewerScaling] = []
    by_id = sorted(range(n_rev), key=lambda k: table.reviewers[k])
    for j, c in enumerate(rubric.criteria):
        for k in by_id:
            g = j * n_rev + k
            n, total, squares = g_n[g], g_total[g], g_squares[g]
            if not n:
                continue
            on, ototal, osquares = c_n[j] - n, c_total[j] - total, c_squares[j] - squares
            mean, sd = total / n, _population_sd(n, total, squares)
            applied = n >= min_reviews and sd > 0 and on > 0
            if applied:
                # σ₋ⱼ/σⱼ from the exact variances' ratio, one rounding.
                ratio[g] = math.sqrt(
                    Fraction(on * osquares - ototal * ototal, on * on)
                    / Fraction(n * squares - total * total, n * n)
                )
                target[g], own_mean[g], applies[g] = ototal / on, mean, True
            scalings.append(
                ReviewerScaling(
                    criterion=c.code,
                    reviewer=table.reviewers[k],
                    n=n,
                    mean=mean,
                    sd=sd,
                    target_mean=ototal / on if on else None,
                    target_sd=_population_sd(on, ototal, osquares) if on else None,
                    applied=applied,
                )
            )

    changed = scored & applies[group]
    value = table.value.astype(np.float64)
    exact = np.where(changed, target[group] + ratio[group] * (value - own_mean[group]), value)
    values, exact_values = _rounded(table, rubric, exact)
    return ZCalibration(tuple(scores), values, exact_values, tuple(scalings))


# --- calibration: the additive reviewer-severity model ------------------------------------------


@dataclass(frozen=True)
class SeverityFit:
    """The fit of ``y = θ_item + b_reviewer + ε`` with ridge penalty λ·Σb² (tenths)."""

    ridge: float
    reviewer_bias: Mapping[str, float] = field(hash=False)
    """b per reviewer, tenths. Positive: scores higher than the panel's average reviewer. They
    sum to 0 (within each group of reviewers linked by proposals they scored in common)."""
    std_error: Mapping[str, float | None] = field(hash=False)
    """√(σ̂² · [(XᵀX + Λ)⁻¹]_bb); ``None`` when the residual variance is not estimable."""
    residual_variance: float | None
    """σ̂² = RSS / (N − tr H), H the ridge hat matrix; ``None`` when N − tr H ≤ 0."""
    residual_dof: float
    """N − tr H."""
    observations: int
    source: tuple[Score, ...] = field(repr=False)
    """The input scores."""
    values: tuple[int | None, ...]
    """The calibrated value of each input score, in input order: ``y − b`` rounded to tenths
    half to even and clamped to the scale; not-applicable, other criteria (when fitted on one)
    and unfitted reviewers unchanged."""
    exact: tuple[float | None, ...]
    """The unrounded, unclamped ``y − b``, aligned with ``values``."""

    @property
    def calibrated(self) -> tuple[Score, ...]:
        """The calibrated scores (built on each access; to aggregate them, pass ``values`` to
        :func:`aggregate_proposals` with the input scores instead)."""
        return _with_values(self.source, self.values)

    def t_statistic(self, reviewer: str) -> float | None:
        se = self.std_error.get(reviewer)
        if se is None or se <= 0:
            return None
        return self.reviewer_bias[reviewer] / se


def severity_model(
    scores: Sequence[Score],
    rubric: Rubric,
    ridge: float = 1.0,
    *,
    criterion: str | None = None,
    require_steps: bool = True,
) -> SeverityFit:
    """Fit the additive reviewer-severity model over the items (proposal, criterion) — or over
    one ``criterion`` — by ridge-regularised least squares (the penalty on the reviewer effects
    only, ``ridge`` > 0).

    The item effects are eliminated exactly (their block of XᵀX is diagonal), leaving an R×R
    system for the R reviewer effects: ``M b = r`` with ``M = diag(mⱼ) + λI − Σᵢ cᵢcᵢᵀ/nᵢ``
    (cᵢ the indicator of item i's reviewers, nᵢ their number, mⱼ reviewer j's number of scores)
    and ``rⱼ = Σ (y − ȳ_item)`` over j's scores. ``M⁻¹`` is the reviewer block of
    ``(XᵀX + Λ)⁻¹``, which gives the standard errors, and ``tr H = items + R − λ·tr M⁻¹``.
    """
    if not ridge > 0:
        raise ValueError("ridge must be > 0")
    by_code = {c.code: c for c in rubric.criteria}
    if criterion is not None and criterion not in by_code:
        raise ValueError(f"no criterion {criterion!r} in the rubric")
    table = _parse(scores, rubric, require_steps)

    used = ~table.na
    if criterion is not None:
        used &= table.c == rubric.codes.index(criterion)
    present = np.unique(table.r[used])
    by_id = sorted(present.tolist(), key=lambda k: table.reviewers[k])
    reviewers = [table.reviewers[k] for k in by_id]
    rank_of = np.full(len(table.reviewers), -1, dtype=np.int64)
    rank_of[by_id] = np.arange(len(by_id))
    item = table.p[used] * len(rubric.criteria) + table.c[used]
    _, p_idx = np.unique(item, return_inverse=True)
    p_idx = p_idx.astype(np.int64)
    r_idx = rank_of[table.r[used]]
    y = table.value[used].astype(np.float64)
    r_index = {r: k for k, r in enumerate(reviewers)}
    n_obs, n_items, n_rev = int(used.sum()), int(p_idx.max(initial=-1)) + 1, len(reviewers)

    bias = np.zeros(n_rev)
    se: list[float | None] = [None] * n_rev
    variance: float | None = None
    dof = 0.0
    if n_rev:
        n_i = np.bincount(p_idx, minlength=n_items).astype(np.float64)
        ybar = np.bincount(p_idx, weights=y, minlength=n_items) / n_i
        m_j = np.bincount(r_idx, minlength=n_rev).astype(np.float64)
        rhs = np.bincount(r_idx, weights=y - ybar[p_idx], minlength=n_rev)
        matrix = np.diag(m_j + ridge) - _shared_items(p_idx, r_idx, n_i, n_rev)
        inverse = np.linalg.inv(matrix)
        bias = inverse @ rhs
        theta = ybar - np.bincount(p_idx, weights=bias[r_idx], minlength=n_items) / n_i
        residuals = y - theta[p_idx] - bias[r_idx]
        dof = n_obs - (n_items + n_rev - ridge * float(np.trace(inverse)))
        if dof > 1e-9:
            variance = float(residuals @ residuals) / dof
            se = [math.sqrt(variance * max(float(d), 0.0)) for d in np.diag(inverse)]

    bias_of = {r: float(bias[k]) for r, k in r_index.items()}
    shift = np.zeros(len(table.value))
    shift[used] = bias[r_idx]
    exact = table.value.astype(np.float64) - shift
    values, exact_values = _rounded(table, rubric, exact)
    return SeverityFit(
        ridge=ridge,
        reviewer_bias=bias_of,
        std_error={r: se[k] for r, k in r_index.items()},
        residual_variance=variance,
        residual_dof=dof,
        observations=n_obs,
        source=tuple(scores),
        values=values,
        exact=exact_values,
    )


def _shared_items(
    p_idx: npt.NDArray[np.int64],
    r_idx: npt.NDArray[np.int64],
    n_i: npt.NDArray[np.float64],
    n_rev: int,
) -> npt.NDArray[np.float64]:
    """Σᵢ cᵢcᵢᵀ/nᵢ: entry (j, k) sums 1/nᵢ over the items both j and k scored."""
    order = np.argsort(p_idx, kind="stable")
    r_sorted = r_idx[order]
    counts = n_i.astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.zeros(n_rev * n_rev)
    widest = int(counts.max()) if counts.size else 0
    for a in range(widest):
        for b in range(widest):
            has = counts > max(a, b)
            j = r_sorted[starts[has] + a]
            k = r_sorted[starts[has] + b]
            out += np.bincount(j * n_rev + k, weights=1.0 / n_i[has], minlength=n_rev * n_rev)
    return out.reshape(n_rev, n_rev)


# --- flags --------------------------------------------------------------------------------------


def outlier_reviewers(fit: SeverityFit, z: float = 2.0, *, min_bias: float = 0.0) -> list[str]:
    """Reviewers whose bias is significant, ``|b| / SE(b) > z``, and at least ``min_bias`` tenths
    in size; sorted by id. With many reviews a small real bias is significant: ``min_bias`` keeps
    the flag for biases large enough to matter."""
    flagged = []
    for reviewer, b in fit.reviewer_bias.items():
        t = fit.t_statistic(reviewer)
        if t is not None and abs(t) > z and abs(b) >= min_bias:
            flagged.append(reviewer)
    return sorted(flagged)


@dataclass(frozen=True, slots=True)
class Disagreement:
    proposal: str
    criterion: str
    spread: int
    """max − min of the applicable scores, tenths."""
    low: int
    high: int


def disagreement_flags(scores: Iterable[Score], spread: int) -> list[Disagreement]:
    """The (proposal, criterion) cells whose applicable scores span at least ``spread`` tenths
    (``spread`` > 0), sorted by proposal then criterion."""
    if spread <= 0:
        raise ValueError("spread must be > 0")
    bounds: dict[tuple[str, str], tuple[int, int]] = {}
    for s in scores:
        if s.value is None:
            continue
        key = (s.proposal, s.criterion)
        lo_hi = bounds.get(key)
        bounds[key] = (
            (s.value, s.value)
            if lo_hi is None
            else (min(lo_hi[0], s.value), max(lo_hi[1], s.value))
        )
    return [
        Disagreement(p, c, hi - lo, lo, hi)
        for (p, c), (lo, hi) in sorted(bounds.items())
        if hi - lo >= spread
    ]


_PACKAGE_CELLS: Final = 2_000_000
"""The ``krippendorff`` package builds float arrays of units × values × values (values: the
distinct ratings); above this many cells (≈ 16 MB each) alpha comes from its closed form."""


def krippendorff_alpha(scores: Iterable[Score], criterion: str | None = None) -> float | None:
    """Krippendorff's alpha, interval level, with the reviewers as coders.

    The units are the proposals (scores on ``criterion``) or, for ``criterion=None``, the
    (proposal, criterion) pairs of the whole window. Not-applicable is a missing rating.
    ``None`` when alpha is undefined: no unit has two ratings, or the paired ratings do not vary.

    Computed by the ``krippendorff`` package from value counts (units × distinct values), with
    only the units that have at least two ratings (the others do not enter alpha). When its
    memory would grow large (many units on a fine scale, see ``_PACKAGE_CELLS``), by the exact
    closed form of the interval level instead (:func:`_interval_alpha`), which gives the same
    number.
    """
    cells: dict[tuple[str, str], list[int]] = defaultdict(list)
    for s in scores:
        if s.value is not None and (criterion is None or s.criterion == criterion):
            cells[s.proposal, s.criterion].append(s.value)
    units = [values for _, values in sorted(cells.items()) if len(values) >= 2]
    if not units:
        return None
    domain = sorted({v for values in units for v in values})
    if len(domain) < 2:
        return None
    if len(units) * len(domain) ** 2 > _PACKAGE_CELLS:
        return _interval_alpha(units)
    column = {v: k for k, v in enumerate(domain)}
    counts = np.zeros((len(units), len(domain)), dtype=np.int64)
    for u, values in enumerate(units):
        for v in values:
            counts[u, column[v]] += 1
    value = float(
        krippendorff.alpha(
            value_counts=counts, value_domain=domain, level_of_measurement="interval"
        )
    )
    return None if math.isnan(value) else value


def _interval_alpha(units: Iterable[Sequence[int]]) -> float | None:
    """Interval alpha of units with at least two ratings each, exactly, in O(ratings):

    ``α = 1 − (n − 1) · Σᵤ (mᵤ·Σᵤv² − (Σᵤv)²) / (mᵤ − 1)  ÷  (n·Σv² − (Σv)²)``

    (mᵤ ratings in unit u, n in all): the observed disagreement within units over the expected
    disagreement between any two pairable ratings, with δ² = (a − b)². ``None`` when the
    ratings do not vary.
    """
    n = total = squares = 0
    within: dict[int, int] = defaultdict(int)  # mᵤ → Σ (mᵤ·Σv² − (Σv)²) over those units
    for values in units:
        m, s, q = len(values), sum(values), sum(v * v for v in values)
        n, total, squares = n + m, total + s, squares + q
        within[m] += m * q - s * s
    spread = n * squares - total * total
    if spread == 0:
        return None
    observed = sum(Fraction(w, m - 1) for m, w in within.items())
    return float(1 - (n - 1) * observed / spread)
