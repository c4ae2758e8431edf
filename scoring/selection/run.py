""":func:`select`: one selection from candidates and a configuration, by the configured policy."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from scoring.selection.engine import (
    _amounts,
    _optimal_selection,
    _Stats,
)
from scoring.selection.explain import _diagnose, _optimal_notes, _quota_checks
from scoring.selection.problem import (
    _never_fundable,
    _order_key,
    _problem,
)
from scoring.selection.rank_order import _greedy
from scoring.selection.types import (
    _MIN_KINDS,
    Candidate,
    Outcome,
    Policy,
    SelectionConfig,
    SelectionResult,
    SolverFailure,
)


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
