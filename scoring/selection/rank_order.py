"""The two rank-order policies (strict funding line, rank order with skipping): fund in priority
order, keep the maximum quotas by skipping, leave minimum quotas to the quota checks.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from scoring.money import format_money
from scoring.selection.explain import _misfit_text
from scoring.selection.problem import (
    _greedy_rows,
    _Problem,
    _Row,
    _rows_of,
)
from scoring.selection.types import (
    IntArray,
    SelectionConfig,
    _percent,
)


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
            named = other.name or other.id
            notes[i] = f"below the funding line, which stopped at rank {stopped_at + 1} ({named})"
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
