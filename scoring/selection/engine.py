"""The exact engine of the optimal policy: the mixed-integer programme (HiGHS through
``scipy.optimize.milp``, relative gap 0), its exact Lagrangian bounds, the heuristic core and
its improvement, the proofs of stage 1 (the highest total score) and stage 2 (best in rank
order among the optima), and the amounts under partial funding.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_array

from scoring.selection.problem import (
    _Problem,
    _Row,
    _violated,
)
from scoring.selection.types import (
    FloatArray,
    IntArray,
    SelectionConfig,
    SolverFailure,
)

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
