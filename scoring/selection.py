"""Selection: which proposals of a window are funded under its budget and quotas, and why.

Three policies, chosen per window (:class:`Policy`):

- **strict funding line** — fund in rank order and stop at the first proposal whose request does
  not fit in what is left of the budget;
- **rank order with skipping** — fund in rank order, skipping any proposal that does not fit and
  going on with the next (it has a known budget paradox: ``docs/selection.md``);
- **optimal** — the set of proposals with the highest total score that fits the budget and meets
  every quota, proved optimal by a mixed-integer programme (HiGHS through ``scipy.optimize.milp``,
  relative gap 0); among equally optimal sets, the one that is best in rank order
  (lexicographically: it funds the best-ranked proposal any optimal set can fund, then the next…),
  so the result never depends on the order of the input.

The two greedy policies keep the maximum quotas by skipping a proposal that would break one; they
do not enforce minimum quotas, whose achievement is reported instead (:class:`QuotaCheck`,
``SelectionResult.notes``). The optimal policy enforces all quotas and raises
:class:`InfeasibleQuotas`, naming the quota, when they cannot all be met.

Every outcome carries a plain-English reason naming the budget fact or quota that put it where it
is. Money is integer minor units, scores exact fractions; the solver works on integer-scaled data
and every answer it gives is checked again in exact integer arithmetic before it is used.

Pure: no I/O, no clock, no environment. The solver's time limit is a safety net only: a solver
that stops without proving optimality raises :class:`SolverFailure`, never a lesser answer. A
proof may run as two halves on two threads; both are always awaited, so neither the result nor
the solver statistics depend on which ends first.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any, Final, Literal, TypeAlias, get_args

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_array

from scoring.eligibility import format_money

__all__ = [
    "Candidate",
    "InfeasibleQuotas",
    "Outcome",
    "OutcomeStatus",
    "Policy",
    "Quota",
    "QuotaCheck",
    "QuotaKind",
    "SelectionConfig",
    "SelectionResult",
    "SolverFailure",
    "select",
]

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

QuotaKind: TypeAlias = Literal[
    "min_share_money",
    "min_share_count",
    "min_count",
    "max_count",
    "min_money",
    "max_money",
    "max_per_organisation",
]
OutcomeStatus: TypeAlias = Literal["funded", "reserve", "not_funded", "ineligible"]

_QUOTA_KINDS: Final = frozenset(get_args(QuotaKind))
_SHARE_KINDS: Final = frozenset({"min_share_money", "min_share_count"})
_MIN_KINDS: Final = frozenset({"min_share_money", "min_share_count", "min_count", "min_money"})
_MAX_KINDS: Final = frozenset({"max_count", "max_money", "max_per_organisation"})
_DEMAND_KINDS: Final = frozenset({"min_count", "min_money", "min_share_money"})
"""Minimum quotas that funding nothing breaks: every infeasible quota set contains one."""
_FLAG_GROUPS: Final = {"women_led": "women-led", "youth_led": "youth-led", "any": ""}
_TERRITORY_PREFIX: Final = "territory:"

_MAX_SCORE_TOTAL: Final = 2**45
"""Scores are scaled to integers for the solver; their sum must stay well inside a double."""
_MAX_SHARE_DENOMINATOR: Final = 1_000_000
_MAX_MONEY: Final = 2**50
"""Budgets and request totals in minor units stay exact in the solver's doubles below this."""
_CORE_START: Final = 64
"""Candidates left free in the first, heuristic solve (the rest fixed by their LP reduced cost);
it only has to find a good selection, the proof comes after (measured against 128 and 256 on
13 windows in `docs/performance.md`)."""
_NEIGHBOURHOOD: Final = 96
_RING_STEP: Final = 32
_IMPROVE_PASSES: Final = 2
"""The search around the first core's selection (:func:`_improve`): neighbourhoods of 96
candidates, 48 nearest zero reduced cost and 48 in a ring moved outward 32 at a time; at most
two passes. Run only when that core was enough for the bound (measured on 33 windows in
`docs/performance.md`: the worst of the benchmark's 13 went from 1.6 s to 1.0 s)."""
_DIAGNOSIS_NODES: Final = 1_000
"""Branch-and-bound nodes per solve of the infeasibility diagnosis: a deterministic cap (not a
time), so the same window always gets the same diagnosis, within about a second."""
_TIGHT: Final[dict[str, float]] = {
    "mip_feasibility_tolerance": 1e-10,
    "primal_feasibility_tolerance": 1e-10,
}
"""HiGHS tolerances for a second try at a question whose answer failed the exact check."""
_SPLIT_MIN_FREE: Final = 40
"""A proof over fewer free candidates than this is not split over two threads."""

HIGHS_TUNING: Final[dict[str, bool]] = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
}
"""HiGHS's RINS and RENS heuristics spend most of the time of these small knapsack-like
programmes (the incumbent comes from our own core solve): measured 2.0 s → 0.6 s on the
benchmark's 2,000-proposal window. They find solutions, they prove nothing: turning them off
changes no optimum, only how fast it is proved (`docs/performance.md`)."""
HIGHS_SEARCH_TUNING: Final[dict[str, bool | int]] = {
    "mip_pscost_minreliable": 16,
    "mip_heuristic_run_feasibility_jump": False,
}
"""For a solve that must find its own first selection (no cutoff known)."""
HIGHS_PROOF_TUNING: Final[dict[str, bool | int]] = {
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_pscost_minreliable": 4,
}
"""For a proof — a solve whose cutoff is the score to beat or to match: the root reduced-cost
sub-MIP and feasibility jump only look for selections, which the cutoff makes pointless
(measured on 13 windows' programmes with the optimum as cutoff: 2.9 s in all, against 4.0 s
with the search settings; without a cutoff they are about 1.5× slower, so they are not used
there: `docs/performance.md`). Like the others, they touch no tolerance and not the gap: optima
and selections are unchanged."""


# --- the inputs -------------------------------------------------------------------------------


class Policy(StrEnum):
    STRICT_FUNDING_LINE = "strict_funding_line"
    RANK_WITH_SKIPPING = "rank_with_skipping"
    OPTIMAL = "optimal"


@dataclass(frozen=True)
class Candidate:
    """A proposal as selection sees it."""

    id: str
    cost: int
    """The requested amount, minor units, > 0."""
    score: Fraction | int
    """The ranking score, ≥ 0: what the optimal policy maximises the sum of."""
    priority: int
    """The rank order from ranking, tie-breaks and lottery included: lower is preferred. Equal
    priorities are ordered by ``id``."""
    organisation: str
    territory: str
    women_led: bool
    youth_led: bool
    eligible: bool = True
    """Passed eligibility and every score threshold; an ineligible candidate is never funded."""

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a candidate needs an id")
        if isinstance(self.cost, bool) or not isinstance(self.cost, int) or self.cost <= 0:
            raise ValueError(f"candidate {self.id}: cost must be an integer > 0 (minor units)")
        if isinstance(self.score, bool) or not isinstance(self.score, int | Fraction):
            raise ValueError(f"candidate {self.id}: score must be an int or a Fraction")
        if self.score < 0:
            raise ValueError(f"candidate {self.id}: score must be ≥ 0")
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise ValueError(f"candidate {self.id}: priority must be an integer")


@dataclass(frozen=True)
class Quota:
    """A quota of a window.

    ``group`` is ``women_led``, ``youth_led``, ``any`` or ``territory:<code>``. ``value`` is, by
    kind:

    - ``min_share_money``: a Fraction of the **budget** (``Fraction(3, 10)``: at least 30% of the
      window's budget is awarded to the group; the money needed is rounded up to a minor unit);
    - ``min_share_count``: a Fraction of the **number of funded awards** (the count needed is
      rounded up);
    - ``min_count`` / ``max_count``: a number of awards;
    - ``min_money`` / ``max_money``: minor units awarded to the group;
    - ``max_per_organisation``: awards to any one organisation (of the group).
    """

    kind: QuotaKind
    group: str
    value: int | Fraction

    def __post_init__(self) -> None:
        if self.kind not in _QUOTA_KINDS:
            raise ValueError(f"unknown quota kind {self.kind!r}")
        if self.group not in _FLAG_GROUPS and not (
            self.group.startswith(_TERRITORY_PREFIX) and len(self.group) > len(_TERRITORY_PREFIX)
        ):
            raise ValueError(
                f"unknown quota group {self.group!r}: women_led, youth_led, any or territory:<code>"
            )
        if isinstance(self.value, bool) or not isinstance(self.value, int | Fraction):
            raise ValueError(f"{self.kind}: value must be an int or a Fraction")
        if self.kind in _SHARE_KINDS:
            if not 0 <= self.value <= 1:
                raise ValueError(f"{self.kind}: a share must be between 0 and 1")
            if Fraction(self.value).denominator > _MAX_SHARE_DENOMINATOR:
                raise ValueError(
                    f"{self.kind}: a share needs a denominator of at most 1,000,000 "
                    "(a percentage with up to four decimals)"
                )
        elif not isinstance(self.value, int) or self.value < 0:
            raise ValueError(f"{self.kind}: value must be a whole number ≥ 0")

    def describe(self, currency: str = "KGS") -> str:
        """The quota's name in reasons and diagnoses, e.g. ``min_share_count women_led ≥ 30%``."""
        sign = "≥" if self.kind in _MIN_KINDS else "≤"
        if self.kind in _SHARE_KINDS:
            shown = _percent(Fraction(self.value))
        elif self.kind in ("min_money", "max_money"):
            shown = format_money(int(self.value), currency)
        else:
            shown = str(self.value)
        return f"{self.kind} {self.group} {sign} {shown}"


@dataclass(frozen=True)
class SelectionConfig:
    policy: Policy
    budget: int
    """The window's envelope, minor units, ≥ 0."""
    quotas: tuple[Quota, ...] = ()
    partial_funding_floor_pct: int | None = None
    """When set (1–100), an award may be cut down to this percentage of the request, rounded up
    to a whole minor unit. ``None``: every award is the full request."""
    reserve_size: int | None = None
    """How many unfunded candidates make the reserve list; ``None``: all that could be funded."""
    currency: str = "KGS"
    """For the wording of reasons only."""
    time_limit_s: float = 600.0
    """Per solver call; a safety net: reaching it raises :class:`SolverFailure`."""

    def __post_init__(self) -> None:
        if not isinstance(self.policy, Policy):
            raise ValueError("policy must be a Policy")
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 0:
            raise ValueError("budget must be an integer ≥ 0 (minor units)")
        pct = self.partial_funding_floor_pct
        if pct is not None and (isinstance(pct, bool) or not isinstance(pct, int)):
            raise ValueError("partial_funding_floor_pct must be an integer")
        if pct is not None and not 1 <= pct <= 100:
            raise ValueError("partial_funding_floor_pct must be between 1 and 100")
        if self.reserve_size is not None and self.reserve_size < 0:
            raise ValueError("reserve_size must be ≥ 0")
        if self.time_limit_s <= 0:
            raise ValueError("time_limit_s must be > 0")


# --- the outputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    id: str
    status: OutcomeStatus
    amount: int
    """Minor units awarded; 0 unless funded."""
    reason: str
    rank: int | None
    """1-based position among the eligible candidates in priority order; None if ineligible."""


@dataclass(frozen=True)
class QuotaCheck:
    """How a quota stands in the result, in the quota's own unit (awards or minor units)."""

    quota: Quota
    required: int
    """The bound: for shares, the count or money it comes to (rounded up)."""
    achieved: int
    """For ``max_per_organisation``: the most awards any one organisation of the group has."""
    met: bool
    detail: str


@dataclass(frozen=True)
class SelectionResult:
    outcomes: tuple[Outcome, ...]
    """Every candidate: the eligible ones in priority order, then the ineligible ones."""
    funded_total: int
    objective: Fraction
    """The total score of the funded candidates."""
    reserve: tuple[str, ...]
    """Ids of the reserve list, in order."""
    quota_checks: tuple[QuotaCheck, ...]
    """One per quota, in the configuration's order."""
    notes: tuple[str, ...]
    """Facts about the whole result, e.g. a minimum quota that a greedy policy left unmet."""
    solver: Mapping[str, int | str] = field(compare=False, hash=False)
    """Solver statistics (status, solves, nodes, sizes) — no timings. Not part of equality:
    the same selection reached from a differently ordered input compares equal."""

    @property
    def funded(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "funded")


class InfeasibleQuotas(ValueError):
    """No set of candidates meets all the quotas within the budget.

    ``quota`` is the one named as the cause, ``conflicting`` a smallest set of quotas (in the
    configuration's order, ``quota`` among them) that cannot be met together, ``diagnosis`` the
    explanation with its numbers.
    """

    def __init__(
        self,
        quota: Quota,
        diagnosis: str,
        conflicting: tuple[Quota, ...],
        evidence: tuple[str, ...] = (),
    ) -> None:
        self.quota = quota
        self.diagnosis = diagnosis
        self.conflicting = conflicting
        self.evidence = evidence
        """How each step of the diagnosis was settled: which solver proved what, and where a
        figure is a bound rather than an exact most."""
        super().__init__(diagnosis)


class SolverFailure(RuntimeError):
    """The solver did not prove its answer (time limit, numerical trouble): nothing is returned
    rather than a set that might not be optimal."""


# --- wording ----------------------------------------------------------------------------------


def _percent(share: Fraction) -> str:
    """``Fraction(3, 10)`` → ``30%``; ``Fraction(1, 3)`` → ``33.33%`` (rounded down)."""
    value = share * 100
    for places in range(5):
        scaled = value * 10**places
        if scaled.denominator == 1:
            break
    else:
        places = 2
    scaled_int = value.numerator * 10**places // value.denominator
    whole, part = divmod(scaled_int, 10**places)
    return f"{whole}.{part:0{places}d}%" if places else f"{whole}%"


def _group_words(group: str) -> str:
    if group.startswith(_TERRITORY_PREFIX):
        return f"in territory {group[len(_TERRITORY_PREFIX) :]}"
    return _FLAG_GROUPS[group]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --- the problem in integers ------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """One linear constraint ``Σ xcoef·x + Σ acoef·a ≤ rhs`` over the eligible candidates, where
    ``x`` is 1 when funded and ``a`` the amount awarded. ``quota`` None is the budget."""

    quota: Quota | None
    organisation: str | None
    members: IntArray
    xcoef: IntArray
    acoef: IntArray
    rhs: int

    @property
    def packing(self) -> bool:
        """Only non-negative coefficients: funding nothing keeps it, adding can only break it."""
        return bool((self.xcoef >= 0).all() and (self.acoef >= 0).all())

    def label(self, currency: str) -> str:
        if self.quota is None:
            return "the budget"
        text = self.quota.describe(currency)
        return f"{text} (organisation {self.organisation})" if self.organisation else text


@dataclass(frozen=True)
class _Problem:
    cands: tuple[Candidate, ...]
    """The eligible candidates in priority order: index = rank − 1."""
    cost: IntArray
    floor: IntArray
    """The least an award may be: the cost, or its partial-funding floor."""
    score: IntArray
    """Scores scaled to integers with their greatest common divisor 1 (same order as ranks)."""
    rows: tuple[_Row, ...]
    """``rows[0]`` is the budget."""
    partial: bool
    budget: int
    score_unit: Fraction
    """One integer score step in the original score's units."""
    rhs: IntArray = field(init=False)
    packing: BoolArray = field(init=False)
    entry_row: IntArray = field(init=False)
    """All rows' coefficients in one sparse list: row, candidate, x and amount coefficient."""
    entry_item: IntArray = field(init=False)
    entry_x: IntArray = field(init=False)
    entry_a: IntArray = field(init=False)

    def __post_init__(self) -> None:
        rows = self.rows
        sizes = [len(row.members) for row in rows]
        put = object.__setattr__
        put(self, "rhs", np.array([row.rhs for row in rows], dtype=np.int64))
        put(self, "packing", np.array([row.packing for row in rows], dtype=np.bool_))
        put(self, "entry_row", np.repeat(np.arange(len(rows), dtype=np.int64), sizes))
        put(self, "entry_item", np.concatenate([row.members for row in rows]))
        put(self, "entry_x", np.concatenate([row.xcoef for row in rows]))
        put(self, "entry_a", np.concatenate([row.acoef for row in rows]))

    @property
    def n(self) -> int:
        return len(self.cands)

    def activity(self, x: IntArray, a: IntArray) -> IntArray:
        """Each row's left-hand side for (x, a), exactly."""
        terms = self.entry_x * x[self.entry_item] + self.entry_a * a[self.entry_item]
        out = np.zeros(len(self.rows), dtype=np.int64)
        np.add.at(out, self.entry_row, terms)
        return out


def _order_key(c: Candidate) -> tuple[int, str]:
    return (c.priority, c.id)


def _group_mask(group: str, cands: Sequence[Candidate]) -> BoolArray:
    if group == "any":
        values = [True] * len(cands)
    elif group == "women_led":
        values = [c.women_led for c in cands]
    elif group == "youth_led":
        values = [c.youth_led for c in cands]
    else:
        code = group[len(_TERRITORY_PREFIX) :]
        values = [c.territory == code for c in cands]
    return np.array(values, dtype=np.bool_)


def _share_needed(share: Fraction, of: int) -> int:
    return -((-share.numerator * of) // share.denominator)


def _rows(cands: Sequence[Candidate], budget: int, quotas: Sequence[Quota]) -> tuple[_Row, ...]:
    n = len(cands)
    every = np.arange(n, dtype=np.int64)
    zeros = np.zeros(n, dtype=np.int64)
    ones = np.ones(n, dtype=np.int64)
    rows = [_Row(None, None, every, zeros, ones, budget)]
    for q in quotas:
        mask = _group_mask(q.group, cands)
        members = np.flatnonzero(mask).astype(np.int64)
        k = len(members)
        z, o = np.zeros(k, dtype=np.int64), np.ones(k, dtype=np.int64)
        match q.kind:
            case "min_count":
                rows.append(_Row(q, None, members, -o, z, -int(q.value)))
            case "max_count":
                rows.append(_Row(q, None, members, o, z, int(q.value)))
            case "min_money":
                rows.append(_Row(q, None, members, z, -o, -int(q.value)))
            case "max_money":
                rows.append(_Row(q, None, members, z, o, int(q.value)))
            case "min_share_money":
                needed = _share_needed(Fraction(q.value), budget)
                rows.append(_Row(q, None, members, z, -o, -needed))
            case "min_share_count":
                share = Fraction(q.value)
                coef = share.numerator - share.denominator * mask.astype(np.int64)
                rows.append(_Row(q, None, every, coef, zeros, 0))
            case "max_per_organisation":
                by_org: dict[str, list[int]] = {}
                for i in members.tolist():
                    by_org.setdefault(cands[i].organisation, []).append(i)
                for org in sorted(by_org):
                    idx = by_org[org]
                    if len(idx) > int(q.value):
                        m = len(idx)
                        rows.append(
                            _Row(
                                q,
                                org,
                                np.array(idx, dtype=np.int64),
                                np.ones(m, dtype=np.int64),
                                np.zeros(m, dtype=np.int64),
                                int(q.value),
                            )
                        )
    return tuple(rows)


def _problem(
    eligible: Sequence[Candidate], config: SelectionConfig, quotas: Sequence[Quota]
) -> _Problem:
    cands = tuple(eligible)
    if sum(c.cost for c in cands) > _MAX_MONEY:
        raise ValueError("the sum of the requests must stay below 2**50 minor units")
    cost = np.array([c.cost for c in cands], dtype=np.int64)
    pct = config.partial_funding_floor_pct
    partial = pct is not None and pct < 100
    floor = (cost * pct + 99) // 100 if partial and pct is not None else cost.copy()
    fractions = [Fraction(c.score) for c in cands]
    scale = math.lcm(*(f.denominator for f in fractions)) if fractions else 1
    scaled = [f.numerator * (scale // f.denominator) for f in fractions]
    divisor = math.gcd(*scaled) if any(scaled) else 1
    ints = [s // divisor for s in scaled]
    if config.budget > _MAX_MONEY:
        raise ValueError("the budget must stay below 2**50 minor units")
    if sum(ints) > _MAX_SCORE_TOTAL:
        raise ValueError(
            "scores are too fine-grained for exact selection: on their common denominator "
            f"({scale}) they sum to more than 2**45; round them to a coarser grid in ranking"
        )
    return _Problem(
        cands=cands,
        cost=cost,
        floor=floor.astype(np.int64),
        score=np.array(ints, dtype=np.int64),
        rows=_rows(cands, config.budget, quotas),
        partial=partial,
        budget=config.budget,
        score_unit=Fraction(divisor, scale),
    )


def _never_fundable(prob: _Problem, *, rank_order: bool = False) -> dict[int, _Row]:
    """Candidates that no feasible selection can fund: even at its floor a candidate alone breaks
    the budget or a packing quota row. Maps each to the first such row. ``rank_order``: only the
    rows the rank-order policies keep (the budget and the maximum quotas)."""
    out: dict[int, _Row] = {}
    kept = set(_greedy_rows(prob)) if rank_order else set(range(len(prob.rows)))
    for k, row in enumerate(prob.rows):
        if not row.packing or k not in kept:
            continue
        least = row.xcoef + row.acoef * prob.floor[row.members]
        for i in row.members[least > row.rhs].tolist():
            out.setdefault(int(i), row)
    return out


def _violated(prob: _Problem, x: IntArray, a: IntArray) -> list[_Row]:
    """The rows that (x, a) breaks, in exact integer arithmetic; a wrong amount is a broken
    budget row."""
    bad = [prob.rows[k] for k in np.flatnonzero(prob.activity(x, a) > prob.rhs).tolist()]
    if (x < 0).any() or (x > 1).any() or ((a < prob.floor * x) | (a > prob.cost * x)).any():
        bad.append(prob.rows[0])
    return bad


# --- the solver -------------------------------------------------------------------------------


@dataclass
class _Stats:
    lp_solves: int = 0
    milp_solves: int = 0
    nodes: int = 0
    probes_pruned: int = 0
    rechecked: int = 0
    """Answers "infeasible" of a solve with presolve, asked again without it."""
    overruled: int = 0
    """... of which the run without presolve found a solution."""
    tightened: int = 0
    """Answers failing the exact check, asked again with tight tolerances."""


@dataclass(frozen=True)
class _Model:
    c: FloatArray
    lb: FloatArray
    ub: FloatArray
    matrix: Any
    rhs: FloatArray
    row_source: IntArray
    """Index into ``prob.rows`` of each model row; −1 for the linking and objective rows."""
    free: IntArray
    avars: IntArray


@dataclass(frozen=True)
class _Solution:
    x: IntArray
    a: IntArray


def _build(
    prob: _Problem,
    state: npt.NDArray[np.int8],
    *,
    objective_x: FloatArray | None = None,
    objective_a: FloatArray | None = None,
    min_score: int | None = None,
    at_least_one: IntArray | None = None,
    a_lo: IntArray | None = None,
    a_hi: IntArray | None = None,
) -> _Model | None:
    """The programme over the candidates left free by ``state`` (−1 free, 0/1 fixed), maximising
    ``objective_x·x + objective_a·a``; None when fixed values alone already break a row.

    Without partial funding the amount is ``cost·x`` and only ``x`` is a variable; with it, every
    candidate not fixed to 0 has an integer amount variable, linked by ``floor·x ≤ a ≤ cost·x``.
    """
    n = prob.n
    free = np.flatnonzero(state < 0).astype(np.int64)
    fixed_one = state == 1
    nx = len(free)
    posx = np.full(n, -1, dtype=np.int64)
    posx[free] = np.arange(nx, dtype=np.int64)
    lo = prob.floor if a_lo is None else a_lo
    hi = prob.cost if a_hi is None else a_hi
    if prob.partial:
        avars = np.flatnonzero(state != 0).astype(np.int64)
        posa = np.full(n, -1, dtype=np.int64)
        posa[avars] = nx + np.arange(len(avars), dtype=np.int64)
        a_lb = np.where(fixed_one[avars], lo[avars], 0)
        lb = np.concatenate([np.zeros(nx), a_lb]).astype(np.float64)
        ub = np.concatenate([np.ones(nx), hi[avars]]).astype(np.float64)
    else:
        avars = np.zeros(0, dtype=np.int64)
        posa = np.full(n, -1, dtype=np.int64)
        lb, ub = np.zeros(nx), np.ones(nx)
    nv = nx + len(avars)

    # the rows of prob, fixed candidates moved to the right-hand side
    item, row = prob.entry_item, prob.entry_row
    xc = prob.entry_x if prob.partial else prob.entry_x + prob.entry_a * prob.cost[item]
    one = fixed_one[item]
    const = np.zeros(len(prob.rows), dtype=np.int64)
    np.add.at(const, row[one], xc[one])
    bound = prob.rhs - const
    px = posx[item]
    take = (px >= 0) & (xc != 0)
    r_parts, c_parts, v_parts = [row[take]], [px[take]], [xc[take]]
    if prob.partial:
        pa = posa[item]
        take_a = (pa >= 0) & (prob.entry_a != 0)
        r_parts.append(row[take_a])
        c_parts.append(pa[take_a])
        v_parts.append(prob.entry_a[take_a])
    rows_used = np.zeros(len(prob.rows), dtype=np.bool_)
    for part in r_parts:
        rows_used[part] = True
    if (bound[~rows_used] < 0).any():
        return None
    kept = np.flatnonzero(rows_used)
    renumber = np.full(len(prob.rows), -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept), dtype=np.int64)
    r_idx = [renumber[part] for part in r_parts]
    c_idx, vals = c_parts, v_parts
    rhs: list[int] = bound[kept].tolist()
    source: list[int] = kept.tolist()

    if prob.partial and nx:
        pa_free = posa[free]
        ar = np.arange(nx, dtype=np.int64)
        for a_coef, x_coef in ((1, -prob.cost[free]), (-1, lo[free])):
            # a − cost·x ≤ 0 and floor·x − a ≤ 0, one row per free candidate
            base = len(rhs)
            r_idx.append(np.concatenate([base + ar, base + ar]))
            c_idx.append(np.concatenate([pa_free, ar]))
            vals.append(np.concatenate([np.full(nx, a_coef, dtype=np.int64), x_coef]))
            rhs.extend([0] * nx)
            source.extend([-1] * nx)
    if min_score is not None:
        need = min_score - int(prob.score[fixed_one].sum())
        coefs = prob.score[free]
        if not (coefs != 0).any():
            if need > 0:
                return None
        else:
            nz = np.flatnonzero(coefs != 0)
            r_idx.append(np.full(len(nz), len(rhs), dtype=np.int64))
            c_idx.append(nz.astype(np.int64))
            vals.append(-coefs[nz])
            rhs.append(-need)
            source.append(-1)
    if at_least_one is not None and not (state[at_least_one] == 1).any():
        cols = posx[at_least_one]
        cols = cols[cols >= 0]
        if not len(cols):
            return None
        r_idx.append(np.full(len(cols), len(rhs), dtype=np.int64))
        c_idx.append(cols)
        vals.append(-np.ones(len(cols), dtype=np.int64))
        rhs.append(-1)
        source.append(-1)
    c = np.zeros(nv)
    if objective_x is not None:
        c[:nx] -= objective_x[free]
    if objective_a is not None and len(avars):
        c[nx:] -= objective_a[avars]
    if rhs:
        matrix = csr_array(
            (
                np.concatenate(vals).astype(np.float64),
                (np.concatenate(r_idx), np.concatenate(c_idx)),
            ),
            shape=(len(rhs), nv),
        )
    else:
        matrix = None
    return _Model(
        c=c,
        lb=lb.astype(np.float64),
        ub=ub.astype(np.float64),
        matrix=matrix,
        rhs=np.array(rhs, dtype=np.float64),
        row_source=np.array(source, dtype=np.int64),
        free=free,
        avars=avars,
    )


def _cutoff_option(
    prob: _Problem, state: npt.NDArray[np.int8], cutoff: int | None
) -> dict[str, float]:
    """HiGHS minimises −(score of the free candidates funded): a selection scoring ``cutoff``
    in all has objective −(cutoff − the fixed-funded candidates' score); the half keeps it
    inside the bound whatever the floating-point rounding (scores are integers)."""
    if cutoff is None:
        return {}
    fixed_score = int(prob.score[state == 1].sum())
    return {"objective_bound": -(cutoff - fixed_score) + 0.5}


def _tuning(*, proof: bool, cutoff: int | None) -> Mapping[str, bool | int]:
    if proof:
        return HIGHS_PROOF_TUNING
    return HIGHS_SEARCH_TUNING if cutoff is None else {}


@dataclass(frozen=True)
class _Run:
    """One HiGHS answer: its integral values (None when proved infeasible, or, with an
    ``objective_bound``, when nothing reaches it), its branch-and-bound nodes, and how an
    "infeasible" was checked: ``rechecked`` when a run without presolve confirmed it,
    ``overruled`` when that run found a solution presolve had missed."""

    values: IntArray | None
    nodes: int
    rechecked: int = 0
    overruled: int = 0


class _Unsettled(SolverFailure):
    """A node-limited solve (the infeasibility diagnosis) stopped before settling its question."""


def _highs(model: _Model, lb: FloatArray, ub: FloatArray, options: Mapping[str, Any]) -> Any:
    constraints = (
        [LinearConstraint(model.matrix, -np.inf, model.rhs)] if model.matrix is not None else []
    )
    with warnings.catch_warnings():
        # scipy passes options it does not know to HiGHS verbatim, with a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        return milp(
            model.c,
            integrality=np.ones(len(model.c)),
            bounds=Bounds(lb, ub),
            constraints=constraints,
            options=dict(options),
        )


def _run_milp(
    model: _Model,
    lb: FloatArray,
    ub: FloatArray,
    options: Mapping[str, Any],
    verify: bool = True,
) -> _Run:
    """One HiGHS solve of ``model`` within the bounds ``lb``/``ub``. Safe to run on several
    threads at once.

    An "infeasible" from a run with presolve is not trusted when ``verify``: HiGHS 1.12's
    presolve has called feasible programmes infeasible (a 3-candidate stage-2 question of
    ``tests/scoring/cases/selection/tie-break-56.json``) and ended infeasible ones in "Solve
    error"; the question is asked again without presolve, whose answer is used."""
    res = _highs(model, lb, ub, options)
    nodes = int(getattr(res, "mip_node_count", 0) or 0)
    limit = options.get("mip_max_nodes")
    if limit is not None and res.status not in (0, 2) and nodes >= limit:
        raise _Unsettled(f"not settled within {limit:,} branch-and-bound nodes")
    rechecked = overruled = 0
    presolved = options.get("presolve", True)
    if presolved and (res.status == 4 or (res.status == 2 and verify)):
        first = res.status
        res = _highs(model, lb, ub, {**options, "presolve": False})
        nodes += int(getattr(res, "mip_node_count", 0) or 0)
        if first == 2:
            rechecked = 1
            overruled = int(res.status != 2)
    if res.status == 2:
        return _Run(None, nodes, rechecked, overruled)
    if res.status != 0 or res.x is None:
        raise SolverFailure(f"the solver stopped without proving optimality: {res.message}")
    values: IntArray = np.rint(res.x).astype(np.int64)
    if np.abs(res.x - values).max(initial=0.0) > 1e-6:
        raise SolverFailure("the solver returned a non-integral solution")
    return _Run(values, nodes, rechecked, overruled)


def _relax(model: _Model) -> Any:
    """The LP relaxation of ``model`` (HiGHS through ``linprog``): its ``OptimizeResult``."""
    return linprog(
        model.c,
        A_ub=model.matrix,
        b_ub=model.rhs,
        bounds=np.column_stack([model.lb, model.ub]),
        method="highs",
    )


def _split_variable(model: _Model) -> int | None:
    """The column to split a proof on: the candidate whose LP-relaxation value is nearest ½
    (None when the relaxation is integral, or too small a programme to be worth two threads)."""
    nx = len(model.free)
    if nx < _SPLIT_MIN_FREE or model.matrix is None:
        return None
    res = _relax(model)
    if res.status != 0 or res.x is None:
        return None  # infeasible or unusual: the single solve says so with a proof
    distance = np.abs(res.x[:nx] - 0.5)
    k = int(np.argmin(distance))
    return k if distance[k] < 0.5 - 1e-6 else None


def _best_answer(c: FloatArray, answers: Sequence[IntArray | None]) -> IntArray | None:
    """The answer with the lowest objective ``c·x`` (HiGHS minimises); on equal objectives the
    first, so that two halves of a split proof give one result whichever ends first. The
    objectives are integers (scores, or 0/1 targets), hence the half-unit margin."""
    best: IntArray | None = None
    for answer in answers:
        if answer is not None and (best is None or c @ answer < c @ best - 0.5):
            best = answer
    return best


def _solve(
    prob: _Problem,
    state: npt.NDArray[np.int8],
    config: SelectionConfig,
    stats: _Stats,
    *,
    cutoff: int | None = None,
    proof: bool = False,
    verify: bool = True,
    node_limit: int | None = None,
    **objective: Any,
) -> _Solution | None:
    """Solve to proven optimality (relative gap 0); None when proved infeasible. The answer is
    checked in exact arithmetic; anything unproved or inexact raises :class:`SolverFailure`.

    ``cutoff`` (with the score as objective): only selections scoring at least this are wanted —
    a score some selection of this space is known to reach, or the optimum a probe asks for.
    HiGHS prunes every node that cannot reach it (its `objective_bound`), which it otherwise
    learns only when its own heuristics find such a selection; None when none reaches it.

    ``proof``: the cutoff is the score to beat or to match, so finding selections is pointless
    (:data:`HIGHS_PROOF_TUNING`). A proof is split in two on the candidate the LP relaxation
    leaves most fractional — funded in one half, not in the other — and the halves are solved at
    once on two threads (HiGHS releases the GIL). Each half is solved exactly and both are
    awaited; the better half is the answer (the funded half on a tie), so the result does not
    depend on which thread ends first.

    ``verify``: an "infeasible" is asked again without presolve (:func:`_run_milp`); only the
    heuristic search, whose "no" decides nothing, does without. ``node_limit``: a deterministic
    cap on branch-and-bound nodes (the diagnosis); reaching it raises :class:`_Unsettled`."""
    model = _build(prob, state, **objective)
    if model is None:
        return None
    options: dict[str, Any] = {
        "mip_rel_gap": 0.0,
        "time_limit": config.time_limit_s,
        "presolve": True,
        **HIGHS_TUNING,
        **_tuning(proof=proof, cutoff=cutoff),
        **_cutoff_option(prob, state, cutoff),
    }
    if node_limit is not None:
        options["mip_max_nodes"] = node_limit
    split = _split_variable(model) if proof and len(model.c) else None
    found = _solve_model(prob, state, model, options, split, verify, stats)
    if found is None:
        return None
    x, a = found
    if cutoff is not None and int(prob.score @ x) < cutoff:
        # HiGHS may hand back a selection it found below its objective bound; having pruned
        # every node that cannot reach the bound, it has proved that none does
        return None
    if _violated(prob, x, a) and len(model.c):
        # HiGHS accepts a row broken within its feasibility tolerance, which after its scaling
        # can be a minor unit on a money row of millions (a selection 1 over max_money: the
        # case tests/scoring/cases/selection/contradictory-quotas-over-max-money.json). Asked
        # again with tight tolerances, unsplit; its answer is checked again.
        stats.tightened += 1
        found = _solve_model(prob, state, model, {**options, **_TIGHT}, None, verify, stats)
        if found is None:
            return None
        x, a = found
        if cutoff is not None and int(prob.score @ x) < cutoff:
            return None
    if _violated(prob, x, a):
        raise SolverFailure("the solver's answer fails the exact check of budget and quotas")
    min_score = objective.get("min_score")
    if min_score is not None and int(prob.score @ x) < min_score:
        raise SolverFailure("the solver's answer fails the exact check of the optimum")
    return _Solution(x, a)


def _solve_model(
    prob: _Problem,
    state: npt.NDArray[np.int8],
    model: _Model,
    options: Mapping[str, Any],
    split: int | None,
    verify: bool,
    stats: _Stats,
) -> tuple[IntArray, IntArray] | None:
    """HiGHS on ``model`` (in two halves on two threads when ``split``): the selection and
    amounts of the best answer, unchecked; None when infeasible."""
    x = np.where(state == 1, 1, 0).astype(np.int64)
    a = np.zeros(prob.n, dtype=np.int64)
    nx = len(model.free)
    if len(model.c):
        if split is None:
            answers = [_run_milp(model, model.lb, model.ub, options, verify)]
        else:
            halves = []
            for side in (1.0, 0.0):
                lb, ub = model.lb.copy(), model.ub.copy()
                lb[split] = ub[split] = side
                halves.append((lb, ub))
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = [
                    pool.submit(_run_milp, model, lb, ub, options, verify) for lb, ub in halves
                ]
                answers = [f.result() for f in futures]
        for run in answers:
            stats.milp_solves += 1
            stats.nodes += run.nodes
            stats.rechecked += run.rechecked
            stats.overruled += run.overruled
        values = _best_answer(model.c, [run.values for run in answers])
        if values is None:
            return None
        x[model.free] = values[:nx]
        a[model.avars] = values[nx:]
    if not prob.partial:
        a = prob.cost * x
    return x, a


@dataclass(frozen=True)
class _Lagrange:
    """An exact Lagrangian bound from the LP relaxation's duals, all values times ``scale``.

    For multipliers μ ≥ 0 on the rows, every feasible selection scores at most
    ``bound = Σ μ·rhs + Σ max(0, reduced_i)``, where ``reduced_i`` is the candidate's score minus
    the priced use of the rows (its amount chosen at whichever end of [floor, cost] is cheaper).
    A selection that funds a candidate with ``reduced_i < 0``, or leaves out one with
    ``reduced_i > 0``, scores at most ``bound − |reduced_i|``, and such losses add up.
    """

    scale: int
    bound: int
    reduced: list[int]


def _lagrange(
    prob: _Problem,
    duals: Mapping[int, float],
    state: npt.NDArray[np.int8],
    gain_x: Sequence[int] | None = None,
    gain_a: Sequence[int] | None = None,
) -> _Lagrange:
    """The bound for the selections that keep ``state``'s fixings (a candidate fixed funded adds
    its reduced score, one fixed unfunded nothing); reduced scores of the others, exactly.

    The objective is the score, or ``Σ gain_x·x + Σ gain_a·a`` (integers) when given."""
    mults = {k: Fraction(v) for k, v in duals.items() if v > 0 and math.isfinite(v)}
    scale = math.lcm(*(m.denominator for m in mults.values())) if mults else 1
    ints = {k: int(m * scale) for k, m in mults.items()}
    active = state != 0
    xprice = [0] * prob.n
    aprice = [0] * prob.n
    bound = 0
    for k, mult in ints.items():
        row = prob.rows[k]
        bound += mult * row.rhs
        keep = active[row.members]
        for i, xc, ac in zip(
            row.members[keep].tolist(),
            row.xcoef[keep].tolist(),
            row.acoef[keep].tolist(),
            strict=True,
        ):
            xprice[i] += mult * xc
            aprice[i] += mult * ac
    reduced = [0] * prob.n
    cost, floor = prob.cost.tolist(), prob.floor.tolist()
    gx = prob.score.tolist() if gain_x is None else list(gain_x)
    ga = [0] * prob.n if gain_a is None else list(gain_a)
    for i in np.flatnonzero(active).tolist():
        # the candidate's objective less its priced use of the rows, linear in the amount: at
        # whichever end of [floor, cost] is larger
        r = max(
            (gx[i] + ga[i] * amount) * scale - xprice[i] - aprice[i] * amount
            for amount in (floor[i], cost[i])
        )
        reduced[i] = r
        bound += r if state[i] == 1 else max(r, 0)
    return _Lagrange(scale, bound, reduced)


def _fix_by_bound(lag: _Lagrange, lower: int, state0: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    """Fix every candidate whose other value would cost more than ``bound − lower``: then every
    selection scoring at least ``lower`` (every optimal one) has it at the value fixed."""
    state = state0.copy()
    slack = lag.bound - lower * lag.scale
    for i in np.flatnonzero(state0 < 0).tolist():
        r = lag.reduced[i]
        if r != 0 and abs(r) > slack:
            state[i] = 1 if r > 0 else 0
    return state


def _lp_relaxation(
    prob: _Problem, state0: npt.NDArray[np.int8], stats: _Stats, **objective: Any
) -> tuple[dict[int, float], FloatArray] | None:
    """The LP relaxation's dual values per row of ``prob.rows`` (≥ 0 for the ``≤`` rows of a
    maximisation) and its ``x``; None when even the relaxation is infeasible. The objective is
    the score unless ``objective_x`` / ``objective_a`` are given."""
    model = _build(prob, state0, **(objective or {"objective_x": prob.score.astype(np.float64)}))
    if model is None:
        return None
    lp_x = np.zeros(prob.n)
    if not len(model.c) or model.matrix is None:
        return {}, lp_x
    stats.lp_solves += 1
    res = _relax(model)
    if res.status == 2:
        return None
    if res.status != 0:
        raise SolverFailure(f"the LP relaxation did not solve: {res.message}")
    duals: dict[int, float] = {}
    for src, marginal in zip(model.row_source.tolist(), res.ineqlin.marginals, strict=True):
        if src >= 0:
            duals[src] = duals.get(src, 0.0) - float(marginal)
    lp_x[model.free] = res.x[: len(model.free)]
    return duals, lp_x


def _improve(
    prob: _Problem,
    lag: _Lagrange,
    state1: npt.NDArray[np.int8],
    order: Sequence[int],
    incumbent: _Solution,
    config: SelectionConfig,
    stats: _Stats,
) -> _Solution:
    """A better selection near ``incumbent``, if small exact searches find one. Every candidate
    keeps its value but a neighbourhood: the half of it whose reduced cost is nearest zero (the
    ones an optimum most often changes) and a ring further out, which slides outward over the
    candidates ``state1`` leaves free; each neighbourhood is solved exactly for a strictly
    higher score. Passes repeat while they improve. A heuristic only: what it finds is checked
    like any answer, and the proof comes after."""
    reached = int(prob.score @ incumbent.x)
    half = _NEIGHBOURHOOD // 2
    score_obj = prob.score.astype(np.float64)
    for _ in range(_IMPROVE_PASSES):
        improved = False
        free1 = [i for i in order if state1[i] < 0]
        for start in range(_RING_STEP, len(free1), _RING_STEP):
            state = state1.copy()
            state[free1] = incumbent.x[free1].astype(np.int8)
            state[free1[:half] + free1[start : start + half]] = -1
            found = _solve(
                prob,
                state,
                config,
                stats,
                objective_x=score_obj,
                cutoff=reached + 1,
                verify=False,  # a heuristic: its "no" decides nothing
            )
            if found is not None:
                incumbent, reached, improved = found, int(prob.score @ found.x), True
        if not improved:
            break
    return incumbent


def _optimal_selection(
    prob: _Problem,
    config: SelectionConfig,
    excluded: Mapping[int, _Row],
    stats: _Stats,
    info: dict[str, int | str],
) -> _Solution | None:
    """Stage 1 (maximum total score) and stage 2 (best in rank order among the optima).

    None when no selection meets the quotas.
    """
    n = prob.n
    state0 = np.full(n, -1, dtype=np.int8)
    state0[list(excluded)] = 0
    score_obj = prob.score.astype(np.float64)
    relaxation = _lp_relaxation(prob, state0, stats)
    if relaxation is None:
        return None
    duals, lp_x = relaxation
    lag = _lagrange(prob, duals, state0)

    # A good feasible selection first, to bound the optimum from below: the candidates are fixed
    # the LP's way except the ``size`` whose reduced cost is nearest zero (and the LP's fractional
    # ones), which are solved exactly. The core grows until the bound it gives leaves free no
    # more than twice its size.
    free0 = np.flatnonzero(state0 < 0).tolist()
    order = sorted(free0, key=lambda i: (abs(lag.reduced[i]), i))
    settled = [i for i in free0 if lag.reduced[i] != 0 and min(lp_x[i], 1 - lp_x[i]) < 1e-6]
    size = _CORE_START
    reached: int | None = None  # the best score of a selection found so far
    while True:
        state_h = state0.copy()
        for i in settled:
            state_h[i] = 1 if lp_x[i] > 0.5 else 0
        state_h[order[:size]] = -1
        # a larger core keeps the smaller one's fixings, so its selection is still allowed
        incumbent = _solve(prob, state_h, config, stats, objective_x=score_obj, cutoff=reached)
        if incumbent is None:
            if reached is not None:
                raise SolverFailure("a larger core lost a feasible selection: numerical trouble")
            if size >= len(order):
                return None
            size = min(size * 4, len(order))
            continue
        # Fixings provably kept by every selection scoring ≥ the incumbent's score, so by
        # every optimal one.
        reached = int(prob.score @ incumbent.x)
        state1 = _fix_by_bound(lag, reached, state0)
        if (state1 < 0).sum() <= 2 * size or size >= len(order):
            break
        size = min(size * 4, len(order))
    if size == _CORE_START:
        # the first, small core was enough for the bound: its selection was never checked
        # against a larger core, so look around it before the proof
        incumbent = _improve(prob, lag, state1, order, incumbent, config, stats)
        reached = int(prob.score @ incumbent.x)
        state1 = _fix_by_bound(lag, reached, state0)
    info["stage1_free"] = int((state1 < 0).sum())
    # One proof settles both stages when the incumbent is the only optimum (the usual case):
    # does any selection that funds a candidate the incumbent leaves out score as much? Every
    # better selection does (scores are ≥ 0), and so does every optimum better in rank order.
    outside = np.flatnonzero((state1 < 0) & (incumbent.x == 0)).astype(np.int64)
    other = _solve(
        prob,
        state1,
        config,
        stats,
        objective_x=score_obj,
        at_least_one=outside,
        cutoff=reached,
        proof=True,
    )
    if other is None:
        info["stage2_free"] = 0
        return incumbent  # the unique optimum is also the best in rank order
    if int(prob.score @ other.x) > reached:
        best = other  # the best of all the others, and better than the incumbent: optimal
    else:  # two optima: the better in rank order leads stage 2
        first = np.flatnonzero(incumbent.x != other.x)[0]
        best = incumbent if incumbent.x[first] == 1 else other
    optimum = int(prob.score @ best.x)

    # Stage 2: among the selections scoring the optimum, the best in rank order, decided one
    # candidate at a time in priority order. One that the current optimal selection funds is
    # fixed funded; for one it does not, the question is whether any optimum (given the
    # decisions so far) funds it: a yes (a checked solution) becomes the current selection, a
    # no (the bound, or the solver's proof) fixes it unfunded. Before asking one by one, the
    # question is put for all the candidates the current optimum leaves out at once ("can an
    # optimum fund at least one of them?"): usually the answer is no and decides them all.
    # Fixing a later candidate early is sound: no selection still allowed funds it.
    fixed = _fix_by_bound(lag, optimum, state0)
    free2 = np.flatnonzero(fixed < 0).tolist()
    info["stage2_free"] = len(free2)
    slack = lag.bound - optimum * lag.scale
    spent = 0  # bound lost to the decisions taken against a candidate's reduced-cost sign
    current_solution = best
    current = best.x
    ask_group = True  # until a group answer is yes, then again after each candidate funded

    def decide(k: int, value: int) -> None:
        nonlocal spent
        fixed[k] = value
        spent += max(lag.reduced[k], 0) if value == 0 else max(-lag.reduced[k], 0)

    def optimum_with(state: npt.NDArray[np.int8], group: list[int] | None) -> _Solution | None:
        """An optimal selection keeping ``state`` (and funding one of ``group``), if any.
        Asked as "the highest score under these conditions" (measured much faster in HiGHS
        than "a selection scoring at least the optimum"), after the bound's own fixings."""
        base = _reduce_probe(prob, state, optimum, stats)
        if base is None:
            return None
        cover = None if group is None else np.array(group, dtype=np.int64)
        found = _solve(
            prob,
            base,
            config,
            stats,
            objective_x=score_obj,
            at_least_one=cover,
            cutoff=optimum,
            proof=True,
        )
        return found if found is not None and int(prob.score @ found.x) == optimum else None

    for k in free2:
        if fixed[k] >= 0:
            continue
        if current[k] == 1:
            decide(k, 1)
            continue
        if spent + max(-lag.reduced[k], 0) > slack:
            stats.probes_pruned += 1
            decide(k, 0)
            continue
        group = [j for j in free2 if fixed[j] < 0 and current[j] == 0]
        if ask_group and len(group) > 1:
            found = optimum_with(fixed, group)
            if found is None:
                for j in group:
                    decide(j, 0)
                continue
            ask_group = False
            current_solution, current = found, found.x
            if current[k] == 1:
                decide(k, 1)
                continue
        trial = fixed.copy()
        trial[k] = 1
        found = optimum_with(trial, None)
        if found is None:
            decide(k, 0)
        else:
            current_solution, current = found, found.x
            decide(k, 1)
            ask_group = True
    if int(prob.score @ current) != optimum:
        raise SolverFailure("stage 2 changed the optimum: numerical trouble")
    return current_solution


def _reduce_probe(
    prob: _Problem, state: npt.NDArray[np.int8], optimum: int, stats: _Stats
) -> npt.NDArray[np.int8] | None:
    """Before asking the solver whether a selection keeping ``state`` can score ``optimum``:
    the LP relaxation under these fixings and its exact bound. None when the bound already
    says no; else ``state`` with every candidate fixed that the bound settles (HiGHS cannot do
    this itself here: the probe's objective is not the score)."""
    relaxation = _lp_relaxation(prob, state, stats)
    if relaxation is None:
        stats.probes_pruned += 1
        return None
    lag = _lagrange(prob, relaxation[0], state)
    if lag.bound < optimum * lag.scale:
        stats.probes_pruned += 1
        return None
    return _fix_by_bound(lag, optimum, state)


def _amounts(
    prob: _Problem, x: IntArray, config: SelectionConfig, stats: _Stats
) -> IntArray | None:
    """With partial funding: the amounts of the funded set, as large as possible in priority
    order (the best-ranked award first, then the next…), so cuts fall on the lowest-ranked."""
    funded = np.flatnonzero(x == 1).tolist()
    state = x.astype(np.int8)
    lo = prob.floor.copy()
    hi = prob.cost.copy()

    cost = prob.cost

    def probe(full_upto: int, start: int) -> IntArray | None:
        """Amounts meeting everything with funded[start:full_upto] at their full request (and
        the decisions so far), checked exactly; None when HiGHS finds none."""
        trial_lo = lo.copy()
        idx = funded[start:full_upto]
        trial_lo[idx] = cost[idx]
        # verify=False: a wrong "infeasible" here only makes the full prefix shorter; the next
        # candidate's amount is then maximised by a solve that returns it (its cost when it
        # fits), so the amounts are the same — it costs solves, never correctness
        found = _solve(prob, state, config, stats, a_lo=trial_lo, a_hi=hi, verify=False)
        return None if found is None else found.a

    def full_from(witness: IntArray, start: int) -> int:
        """The end of the run of funded[start:] that ``witness`` (amounts meeting everything)
        funds in full: a proof that they can all be full at once."""
        k = start
        while k < len(funded) and witness[funded[k]] == cost[funded[k]]:
            k += 1
        return k

    def maximise(k: int) -> _Solution | None:
        """The largest amount of funded[k] with everything before it decided."""
        target = np.zeros(prob.n)
        target[funded[k]] = 1.0
        return _solve(prob, state, config, stats, objective_a=target, a_lo=lo, a_hi=hi)

    done = 0
    witness: IntArray | None = None
    cutting = False  # the last award decided was cut: ask the next one's largest amount directly
    while done < len(funded):
        if witness is not None:
            reached = full_from(witness, done)
            lo[funded[done:reached]] = cost[funded[done:reached]]
            done = reached
            if done == len(funded):
                break
        if cutting:
            # when cuts come one after another, probing for a full prefix first would cost two
            # solves per award (measured: ~3 solves per award at 2,000 with an 80% floor)
            best = maximise(done)
            if best is None:
                return None
            cut = funded[done]
            lo[cut] = hi[cut] = best.a[cut]
            witness, cutting = best.a, bool(best.a[cut] < cost[cut])
            done += 1
            continue
        whole = probe(len(funded), done)
        if whole is not None:
            lo[funded[done:]] = cost[funded[done:]]
            break
        good, bad = done, len(funded)  # full amounts for funded[done:good] fit; to bad do not
        step = 1  # galloping first: when cuts are frequent the full prefixes are short
        while good + step < bad:
            found_a = probe(good + step, done)
            if found_a is None:
                bad = good + step
                break
            good = full_from(found_a, done)
            step *= 2
        while bad - good > 1:
            mid = (good + bad) // 2
            found_a = probe(mid, done)
            if found_a is None:
                bad = mid
            else:
                good = full_from(found_a, done)
        if good >= len(funded):  # a witness funds all the rest in full (a probe said no)
            lo[funded[done:]] = cost[funded[done:]]
            break
        lo[funded[done:good]] = cost[funded[done:good]]
        cutting = good == done
        found = maximise(good)
        if found is None:
            return None
        cut = funded[good]
        lo[cut] = hi[cut] = found.a[cut]
        witness = found.a  # meets everything with the decisions so far
        done = good + 1
    final = _solve(prob, state, config, stats, a_lo=lo, a_hi=hi)
    return None if final is None else final.a


# --- infeasible quotas ------------------------------------------------------------------------


def _diagnose(
    eligible: Sequence[Candidate], config: SelectionConfig, stats: _Stats
) -> InfeasibleQuotas:
    """Name the quota to blame: a smallest conflicting subset by deletion (drop each quota in
    turn; keep it dropped while the rest still cannot be met), then the figures for one of its
    minimum quotas under the others.

    Every solve here has a deterministic cap of :data:`_DIAGNOSIS_NODES` branch-and-bound nodes,
    so a diagnosis never stalls (a subset-sum-like question can keep HiGHS busy for minutes):
    a deletion step it does not settle keeps the quota (the set stays provably conflicting,
    perhaps not smallest), and a figure it does not settle is replaced by an exact bound. Any
    other solver trouble is treated the same way: contradictory quotas always end here, in an
    :class:`InfeasibleQuotas` whose ``evidence`` says which solver proved what."""
    quotas = list(config.quotas)
    currency = config.currency
    evidence: list[str] = []

    def feasible(subset: Sequence[Quota]) -> tuple[bool | None, str]:
        """True / False when settled, None when not; and how."""
        prob = _problem(eligible, config, subset)
        state = np.full(prob.n, -1, dtype=np.int8)
        state[list(_never_fundable(prob))] = 0
        if _lp_relaxation(prob, state, stats) is None:
            return False, "even the LP relaxation is infeasible (HiGHS)"
        rechecked = stats.rechecked
        try:
            found = _solve(prob, state, config, stats, node_limit=_DIAGNOSIS_NODES)
        except SolverFailure as failure:
            return None, f"{failure}; the quota is kept, so the set named may not be the smallest"
        if found is not None:
            return True, "a selection meets the rest (HiGHS, checked exactly)"
        confirmed = "confirmed without presolve" if stats.rechecked > rechecked else "presolve off"
        return False, f"proved infeasible by HiGHS's branch and bound ({confirmed})"

    def named(subset: Sequence[Quota]) -> str:
        return ", ".join(q.describe(currency) for q in subset) or "no quota"

    answer, how = feasible(quotas)
    if answer is True:
        raise SolverFailure("the quotas were found infeasible and then feasible: numerical trouble")
    evidence.append(f"all the quotas: {how}")
    core = list(range(len(quotas)))
    for k in range(len(quotas)):
        trial = [j for j in core if j != k]
        answer, how = feasible([quotas[j] for j in trial])
        if answer is False:
            core = trial
        evidence.append(f"without {quotas[k].describe(currency)}: {how}")
    conflicting = tuple(quotas[j] for j in core)
    first = next(j for j in core if quotas[j].kind in _DEMAND_KINDS)
    primary = quotas[first]
    others = [quotas[j] for j in core if j != first]

    prob = _problem(eligible, config, others)
    state = np.full(prob.n, -1, dtype=np.int8)
    state[list(_never_fundable(prob))] = 0
    member = _group_mask(primary.group, prob.cands).astype(np.int64)
    budget = format_money(config.budget, currency)
    words = _group_words(primary.group)
    together = " together with " + named(others) if others else ""
    if primary.kind == "min_count":
        needed = int(primary.value)
        gain_x, gain_a = member, np.zeros(prob.n, dtype=np.int64)
    else:
        needed = (
            int(primary.value)
            if primary.kind == "min_money"
            else _share_needed(Fraction(primary.value), config.budget)
        )
        if prob.partial:
            gain_x, gain_a = np.zeros(prob.n, dtype=np.int64), member
        else:
            gain_x, gain_a = member * prob.cost, np.zeros(prob.n, dtype=np.int64)
    money = primary.kind != "min_count"
    most, shown = _most(prob, state, config, stats, gain_x, gain_a, needed, money)
    evidence.append(f"the most for {primary.describe(currency)} under the rest: {shown}")
    if primary.kind == "min_count":
        have = int(member.sum())
        who = f"are {words}" if words else "are eligible"
        detail = (
            f"{have} of the {prob.n} eligible candidates {who}; at most {most} of them can be "
            f"funded within the budget of {budget}{together} (needs {primary.value})"
        )
    else:
        requested = int(prob.cost @ member)
        who = f"{words} candidates" if words else "candidates"
        detail = (
            f"the eligible {who} request {format_money(requested, currency)} in all; at most "
            f"{format_money(most, currency)} can be awarded to them within the budget of "
            f"{budget}{together} (needs {format_money(needed, currency)})"
        )
    return InfeasibleQuotas(
        primary, f"{primary.describe(currency)}: {detail}", conflicting, tuple(evidence)
    )


def _most(
    prob: _Problem,
    state: npt.NDArray[np.int8],
    config: SelectionConfig,
    stats: _Stats,
    gain_x: IntArray,
    gain_a: IntArray,
    needed: int,
    money: bool,
) -> tuple[int, str]:
    """At most how much of ``Σ gain_x·x + Σ gain_a·a`` a selection can reach under ``prob``'s
    rows — below ``needed``, since they conflict with it — and how that figure was obtained.

    First the LP relaxation's Lagrangian bound (its duals, in exact arithmetic): when it is below
    ``needed`` it explains the conflict and is the figure, a true "at most" (the most may be a
    little lower: the subset-sum-like exact question can take HiGHS minutes, and the bound
    takes one LP). Otherwise the conflict is integral: HiGHS solves for the exact most within
    :data:`_DIAGNOSIS_NODES` nodes (its selection checked exactly), and if it does not settle it
    the figure is ``needed − 1``, which the proven conflict guarantees."""

    def shown(value: int) -> str:
        return format_money(value, config.currency) if money else _plural(value, "award")

    objective_x, objective_a = gain_x.astype(np.float64), gain_a.astype(np.float64)
    relaxation = _lp_relaxation(
        prob, state, stats, objective_x=objective_x, objective_a=objective_a
    )
    if relaxation is None:
        return 0, "nothing: the rest admit no selection (HiGHS: LP relaxation infeasible)"
    lag = _lagrange(prob, relaxation[0], state, gain_x.tolist(), gain_a.tolist())
    bound = lag.bound // lag.scale
    if bound < needed:
        return bound, (
            f"at most {shown(bound)}: the LP relaxation's bound, from its duals in exact "
            "arithmetic (the exact most may be lower)"
        )
    try:
        best = _solve(
            prob,
            state,
            config,
            stats,
            node_limit=_DIAGNOSIS_NODES,
            objective_x=objective_x,
            objective_a=objective_a,
        )
    except SolverFailure as failure:
        reason = str(failure)
    else:
        value = 0 if best is None else int(gain_x @ best.x) + int(gain_a @ best.a)
        if value < needed:
            return value, f"{shown(value)}, exact (HiGHS; its selection checked exactly)"
        reason = "HiGHS's answer reaches the quota the rest conflicts with"
    return needed - 1, (
        f"at most {shown(needed - 1)}: the LP relaxation allows the quota and the exact most "
        f"was not settled ({reason}); below the quota, as the conflict is proved"
    )


# --- the greedy policies ----------------------------------------------------------------------


def _greedy_rows(prob: _Problem) -> list[int]:
    """The rows a rank-order policy keeps: the budget and the maximum quotas, never a minimum
    one (a ``min_share_count`` row can look like a packing row — an empty group, a share of
    100% — and must still not be enforced)."""
    return [
        k for k, row in enumerate(prob.rows) if row.quota is None or row.quota.kind in _MAX_KINDS
    ]


def _greedy(
    prob: _Problem, config: SelectionConfig, strict: bool
) -> tuple[IntArray, IntArray, list[str]]:
    """Rank order; maximum quotas kept by skipping; minimum quotas not enforced.

    One rule for every maximum quota: a proposal that would break one even at its floor (given
    the awards already made) is skipped, whether or not it also misfits the budget; the strict
    line stops only at a proposal every maximum quota allows and the budget does not."""
    n = prob.n
    x = np.zeros(n, dtype=np.int64)
    a = np.zeros(n, dtype=np.int64)
    notes = [""] * n
    currency = config.currency
    kept = _greedy_rows(prob)
    rows_of = _rows_of(prob, kept)
    used = {k: 0 for k in kept}
    stopped_at: int | None = None
    misfits: list[int] = []
    for i in range(n):
        if stopped_at is not None:
            other = prob.cands[stopped_at]
            notes[i] = (
                f"below the funding line, which stopped at rank {stopped_at + 1} ({other.id})"
            )
            continue
        cost, least = int(prob.cost[i]), int(prob.floor[i])
        budget_room = prob.budget - used[0]
        quota_room: int | None = None
        quota_row: _Row | None = None
        blocked: _Row | None = None
        for k, xc, ac in rows_of[i]:
            if k == 0:
                continue
            room = prob.rows[k].rhs - used[k] - xc
            if room < ac * least:  # broken even at the floor (xc, ac ≥ 0 on a maximum row)
                blocked = prob.rows[k]
                break
            if ac > 0 and (quota_room is None or room // ac < quota_room):
                quota_room, quota_row = room // ac, prob.rows[k]
        if blocked is not None:
            if (
                blocked.quota is not None
                and blocked.quota.kind == "max_money"
                and (budget_room >= least)
            ):
                notes[i] = (
                    f"not funded: it fits in the remaining budget but would break quota "
                    f"{blocked.label(currency)}; skipped (the rank-order policies keep maximum "
                    "quotas by skipping)"
                )
            else:
                notes[i] = (
                    f"not funded: it would break quota {blocked.label(currency)}; skipped "
                    "(the rank-order policies keep maximum quotas by skipping)"
                )
            continue
        if budget_room < least:
            misfits.append(i)
            if strict:
                stopped_at = i
            continue
        cap = budget_room if quota_room is None else min(budget_room, quota_room)
        if cap >= cost:
            amount = cost
            notes[i] = (
                f"funded in rank order: fits within the budget "
                f"({format_money(budget_room - cost, currency)} left after it)"
            )
        else:  # partial funding: cap ≥ least, checked above for the budget and every quota
            amount = cap
            limit = (
                "the remaining budget"
                if quota_row is None or budget_room <= cap
                else f"quota {quota_row.label(currency)}"
            )
            notes[i] = (
                f"funded in rank order at {format_money(amount, currency)} of "
                f"{format_money(cost, currency)} requested ({_percent(Fraction(amount, cost))}): "
                f"cut to fit {limit}"
            )
        x[i], a[i] = 1, amount
        for k, xc, ac in rows_of[i]:
            used[k] += xc + ac * amount
    remaining = prob.budget - used[0]
    for i in misfits:
        need = int(prob.floor[i])
        text = _misfit_text(need, remaining, prob.partial, currency)
        notes[i] = f"{text}: the funding line stops here" if strict else f"{text}; skipped"
    return x, a, notes


def _rows_of(prob: _Problem, which: Sequence[int]) -> list[list[tuple[int, int, int]]]:
    """For each candidate, the rows among ``which`` it is in, with its coefficients there."""
    rows_of: list[list[tuple[int, int, int]]] = [[] for _ in range(prob.n)]
    for k in which:
        row = prob.rows[k]
        for i, xc, ac in zip(
            row.members.tolist(), row.xcoef.tolist(), row.acoef.tolist(), strict=True
        ):
            rows_of[i].append((k, xc, ac))
    return rows_of


def _misfit_text(need: int, remaining: int, partial: bool, currency: str) -> str:
    what = "even at its partial-funding floor of" if partial else "it requests"
    return (
        f"does not fit in the remaining {format_money(remaining, currency)} ({what} "
        f"{format_money(need, currency)}); it would fit if "
        f"{format_money(need - remaining, currency)} were freed"
    )


# --- reasons for the optimal policy -----------------------------------------------------------


def _optimal_notes(
    prob: _Problem,
    config: SelectionConfig,
    x: IntArray,
    a: IntArray,
    excluded: Mapping[int, _Row],
) -> list[str]:
    currency = config.currency
    remaining = prob.budget - int(a.sum())
    total = sum(
        (Fraction(c.score) for c, xi in zip(prob.cands, x.tolist(), strict=True) if xi),
        Fraction(0),
    )
    funded = x == 1
    left_out = ~funded
    left_out[list(excluded)] = False
    unfunded_before = np.cumsum(left_out) - left_out
    last_funded = int(np.flatnonzero(funded).max()) if funded.any() else -1
    rows_of = _rows_of(prob, range(len(prob.rows)))
    activity = [
        int(row.xcoef @ x[row.members]) + int(row.acoef @ a[row.members]) for row in prob.rows
    ]
    notes: list[str] = []
    for i in range(prob.n):
        cost = int(prob.cost[i])
        if funded[i]:
            amount = int(a[i])
            head = "funded"
            if amount < cost:
                head += (
                    f" at {format_money(amount, currency)} of {format_money(cost, currency)} "
                    f"requested ({_percent(Fraction(amount, cost))}; better-ranked awards are "
                    "cut last)"
                )
            skipped = int(unfunded_before[i])
            if skipped:
                head += (
                    f": the set with the highest total score ({_decimal(total)}) within the "
                    f"budget and quotas includes it ahead of "
                    f"{_plural(skipped, 'better-ranked proposal')} left out"
                )
            else:
                head += (
                    ": in rank order within the budget, and part of the set with the highest "
                    f"total score ({_decimal(total)})"
                )
            needed = [
                prob.rows[k]
                for k, xc, ac in rows_of[i]
                if not prob.packing[k] and activity[k] - xc - ac * amount > prob.rows[k].rhs
            ]
            if needed:
                names = ", ".join(row.label(currency) for row in needed)
                head += f"; needed to meet quota {names}"
            notes.append(head)
            continue
        if i in excluded:
            row = excluded[i]
            what = "the whole budget" if row.quota is None else f"quota {row.label(currency)}"
            notes.append(
                f"can never be funded: even alone it would break {what} "
                f"(it requests {format_money(cost, currency)})"
            )
            continue
        need = int(prob.floor[i])
        if need > remaining:
            text = _misfit_text(need, remaining, prob.partial, currency)
        else:
            broken = [
                prob.rows[k]
                for k, xc, ac in rows_of[i]
                if activity[k] + xc + ac * need > prob.rows[k].rhs
            ]
            text = f"fits in the remaining {format_money(remaining, currency)} but "
            if broken:
                names = ", ".join(row.label(currency) for row in broken)
                text += f"funding it would break quota {names}"
            else:  # not expected: an optimum would then fund it (kept for a plain answer)
                text += "the set with the highest total score leaves it out"
        if i < last_funded:
            text += (
                "; the set with the highest total score within the budget and quotas funds "
                "lower-ranked proposals instead"
            )
        notes.append(text)
    return notes


def _decimal(number: Fraction) -> str:
    """A score for reasons: exact when it has at most 4 decimals, else rounded down to 4."""
    for places in range(5):
        if (number * 10**places).denominator == 1:
            break
    else:
        places = 4
    scaled = number.numerator * 10**places // number.denominator
    whole, part = divmod(scaled, 10**places)
    return f"{whole}.{part:0{places}d}" if places else str(whole)


# --- the result -------------------------------------------------------------------------------


def _quota_checks(
    prob: _Problem, config: SelectionConfig, x: IntArray, a: IntArray
) -> list[QuotaCheck]:
    checks: list[QuotaCheck] = []
    currency = config.currency
    for q in config.quotas:
        mask = _group_mask(q.group, prob.cands)
        count = int(x[mask].sum())
        money = int(a[mask].sum())
        words = _group_words(q.group) or "all"
        if q.kind == "max_per_organisation":
            per_org: dict[str, int] = {}
            for i in np.flatnonzero(mask & (x == 1)).tolist():
                org = prob.cands[i].organisation
                per_org[org] = per_org.get(org, 0) + 1
            achieved, required = max(per_org.values(), default=0), int(q.value)
            detail = f"the most awards to one organisation ({words}): {achieved}"
        elif q.kind in ("min_count", "max_count"):
            achieved, required = count, int(q.value)
            detail = f"{words} awards: {achieved}"
        elif q.kind == "min_share_count":
            achieved = count
            required = _share_needed(Fraction(q.value), int(x.sum()))
            detail = f"{words} awards: {achieved} of {int(x.sum())} (at least {required} needed)"
        else:
            achieved = money
            required = (
                _share_needed(Fraction(q.value), config.budget)
                if q.kind == "min_share_money"
                else int(q.value)
            )
            detail = f"awarded to {words}: {format_money(achieved, currency)}"
        met = achieved >= required if q.kind in _MIN_KINDS else achieved <= required
        checks.append(QuotaCheck(q, required, achieved, met, detail))
    return checks


def select(candidates: Sequence[Candidate], config: SelectionConfig) -> SelectionResult:
    """Select the funded set, the reserve list and a reason for every candidate.

    Raises :class:`InfeasibleQuotas` when the optimal policy cannot meet the quotas,
    :class:`SolverFailure` when the solver cannot prove its answer, ``ValueError`` on bad input
    (duplicate ids).
    """
    ids = [c.id for c in candidates]
    if len(set(ids)) != len(ids):
        raise ValueError("candidate ids must be unique")
    eligible = sorted((c for c in candidates if c.eligible), key=_order_key)
    ineligible = sorted((c for c in candidates if not c.eligible), key=_order_key)
    prob = _problem(eligible, config, config.quotas)
    excluded = _never_fundable(prob, rank_order=config.policy is not Policy.OPTIMAL)
    info: dict[str, int | str] = {"policy": config.policy.value, "candidates": prob.n}
    if config.policy is Policy.OPTIMAL:
        stats = _Stats()
        solution = _optimal_selection(prob, config, excluded, stats, info)
        if solution is None:
            raise _diagnose(eligible, config, stats)
        x = solution.x
        a = solution.a if not prob.partial else _amounts(prob, x, config, stats)
        if a is None:
            raise SolverFailure("the amounts of a feasible selection could not be found")
        notes = _optimal_notes(prob, config, x, a, excluded)
        info.update(
            status="optimal",
            mip_rel_gap="0",
            score_unit=str(prob.score_unit),
            never_fundable=len(excluded),
            lp_solves=stats.lp_solves,
            milp_solves=stats.milp_solves,
            nodes=stats.nodes,
            probes_pruned_by_bound=stats.probes_pruned,
            infeasible_rechecked_without_presolve=stats.rechecked,
            presolve_infeasible_overruled=stats.overruled,
            resolved_with_tight_tolerances=stats.tightened,
        )
    else:
        strict = config.policy is Policy.STRICT_FUNDING_LINE
        x, a, notes = _greedy(prob, config, strict)
        info.update(status="greedy")
    checks = _quota_checks(prob, config, x, a)
    limit = prob.n if config.reserve_size is None else config.reserve_size
    reserve = [i for i in range(prob.n) if x[i] == 0 and i not in excluded][:limit]
    place = {i: k + 1 for k, i in enumerate(reserve)}
    outcomes: list[Outcome] = []
    for i, cand in enumerate(prob.cands):
        rank = i + 1
        if x[i] == 1:
            outcomes.append(Outcome(cand.id, "funded", int(a[i]), f"rank {rank}; {notes[i]}", rank))
        elif i in place:
            reason = f"rank {rank}; reserve {place[i]}: {notes[i]}"
            outcomes.append(Outcome(cand.id, "reserve", 0, reason, rank))
        else:
            outcomes.append(Outcome(cand.id, "not_funded", 0, f"rank {rank}; {notes[i]}", rank))
    for cand in ineligible:
        outcomes.append(
            Outcome(
                cand.id,
                "ineligible",
                0,
                "not eligible: did not pass the eligibility rules or a score threshold; "
                "not considered for funding",
                None,
            )
        )
    result_notes: list[str] = []
    if config.policy is not Policy.OPTIMAL:
        for check in checks:
            if not check.met and check.quota.kind in _MIN_KINDS:
                result_notes.append(
                    f"the {config.policy.value.replace('_', ' ')} policy does not enforce "
                    f"minimum quotas: {check.quota.describe(config.currency)} is not met "
                    f"({check.detail})"
                )
    objective = sum(
        (Fraction(c.score) for c, xi in zip(prob.cands, x.tolist(), strict=True) if xi),
        Fraction(0),
    )
    return SelectionResult(
        outcomes=tuple(outcomes),
        funded_total=int(a.sum()),
        objective=objective,
        reserve=tuple(prob.cands[i].id for i in reserve),
        quota_checks=tuple(checks),
        notes=tuple(result_notes),
        solver=info,
    )
