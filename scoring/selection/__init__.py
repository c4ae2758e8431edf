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

from scoring.selection.run import select
from scoring.selection.stored import check_quotas, quota_from_json, quota_to_json
from scoring.selection.types import (
    Candidate,
    InfeasibleQuotas,
    Outcome,
    OutcomeStatus,
    Policy,
    Quota,
    QuotaCheck,
    QuotaKind,
    SelectionConfig,
    SelectionResult,
    SolverFailure,
)

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
    "check_quotas",
    "quota_from_json",
    "quota_to_json",
    "select",
]
