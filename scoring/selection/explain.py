"""Explanations and diagnosis: the reason of every outcome under the optimal policy, the quota
checks of a result, and the diagnosis that names the quota to blame when quotas cannot all be
met.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Final

import numpy as np
import numpy.typing as npt

from scoring.money import format_money
from scoring.selection.engine import (
    _lagrange,
    _lp_relaxation,
    _solve,
    _Stats,
)
from scoring.selection.problem import (
    _group_mask,
    _never_fundable,
    _Problem,
    _problem,
    _Row,
    _rows_of,
    _share_needed,
)
from scoring.selection.types import (
    _DEMAND_KINDS,
    _MIN_KINDS,
    Candidate,
    InfeasibleQuotas,
    IntArray,
    Quota,
    QuotaCheck,
    SelectionConfig,
    SolverFailure,
    _group_words,
    _percent,
    _plural,
)

_DIAGNOSIS_NODES: Final = 1_000
"""Branch-and-bound nodes per solve of the infeasibility diagnosis: a deterministic cap (not a
time), so the same window always gets the same diagnosis, within about a second."""


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


def _misfit_text(need: int, remaining: int, partial: bool, currency: str) -> str:
    what = "even at its partial-funding floor of" if partial else "it requests"
    return (
        f"does not fit in the remaining {format_money(remaining, currency)} ({what} "
        f"{format_money(need, currency)}); it would fit if "
        f"{format_money(need - remaining, currency)} were freed"
    )


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
