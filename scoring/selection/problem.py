"""A window as integer rows: the budget and each quota as one linear constraint over the eligible
candidates in priority order. Shared by the exact engine, the rank-order policies and the
explanations; every answer is checked against these rows in exact integer arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from scoring.selection.types import (
    _MAX_KINDS,
    _MAX_MONEY,
    _MAX_SCORE_TOTAL,
    _TERRITORY_PREFIX,
    BoolArray,
    Candidate,
    IntArray,
    Quota,
    SelectionConfig,
)


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


def _greedy_rows(prob: _Problem) -> list[int]:
    """The rows a rank-order policy keeps: the budget and the maximum quotas, never a minimum
    one (a ``min_share_count`` row can look like a packing row — an empty group, a share of
    100% — and must still not be enforced)."""
    return [
        k for k, row in enumerate(prob.rows) if row.quota is None or row.quota.kind in _MAX_KINDS
    ]


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
