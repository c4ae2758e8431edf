"""Property tests of money splitting: the parts always sum to the whole, fairly."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.money import allocate_pro_rata, convert, split_payment

totals = st.integers(min_value=0, max_value=10**15)
weights = st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=12).filter(
    lambda ws: sum(ws) > 0
)


@given(totals, weights)
def test_parts_sum_exactly_to_the_total(total: int, ws: list[int]) -> None:
    parts = allocate_pro_rata(total, ws)
    assert sum(parts) == total
    assert len(parts) == len(ws)


@given(totals, weights)
def test_each_part_is_within_one_unit_of_its_exact_share(total: int, ws: list[int]) -> None:
    parts = allocate_pro_rata(total, ws)
    for part, w in zip(parts, ws, strict=True):
        exact = Fraction(total * w, sum(ws))
        assert abs(part - exact) < 1
        assert part >= 0


@given(totals, weights)
def test_zero_weight_gets_nothing(total: int, ws: list[int]) -> None:
    parts = allocate_pro_rata(total, [*ws, 0])
    assert parts[-1] == 0


@given(totals, weights)
def test_a_larger_weight_never_gets_less(total: int, ws: list[int]) -> None:
    parts = allocate_pro_rata(total, ws)
    for i in range(len(ws)):
        for j in range(len(ws)):
            if ws[i] > ws[j]:
                assert parts[i] >= parts[j]


def test_remainder_goes_to_the_largest_fraction_then_the_earlier() -> None:
    assert allocate_pro_rata(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate_pro_rata(10, [1, 2]) == [3, 7]
    assert allocate_pro_rata(0, [5, 5]) == [0, 0]


@pytest.mark.parametrize(("total", "ws"), [(-1, [1]), (10, []), (10, [0, 0]), (10, [1, -1])])
def test_bad_arguments_are_refused(total: int, ws: list[int]) -> None:
    with pytest.raises(ValueError, match="must"):
        allocate_pro_rata(total, ws)


# --- conversion and the split of a payment over a grant's charges ------------------------------

rates = st.decimals(
    min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=4, allow_nan=False
)


@given(st.integers(min_value=0, max_value=10**15), rates)
def test_conversion_is_the_nearest_unit(amount: int, rate: Decimal) -> None:
    converted = convert(amount, rate)
    exact = Fraction(amount) / Fraction(rate)
    assert abs(converted - exact) <= Fraction(1, 2)
    assert converted >= 0


def test_conversion_rounds_exact_halves_to_even() -> None:
    assert convert(5, "2") == 2  # 2.5 → 2
    assert convert(7, "2") == 4  # 3.5 → 4
    assert convert(8945, "89.45") == 100


@st.composite
def schedules(draw: st.DrawFn) -> tuple[list[int], list[int], list[int]]:
    """Charges (grant currency), their value in the sources' currencies, and a tranche schedule
    summing to the charges' total."""
    charges = draw(st.lists(st.integers(min_value=0, max_value=10**10), min_size=1, max_size=4))
    if sum(charges) == 0:
        charges[0] = 1
    sources = [convert(c, draw(rates)) if c else 0 for c in charges]
    total = sum(charges)
    cuts = sorted(draw(st.lists(st.integers(0, total), max_size=5)))
    points = [0, *cuts, total]
    tranches = [b - a for a, b in itertools.pairwise(points) if b > a]
    return charges, sources, tranches


@given(schedules())
def test_paying_every_tranche_uses_every_charge_exactly(
    case: tuple[list[int], list[int], list[int]],
) -> None:
    """Whatever the schedule, the parts paid from each charge sum to the charge, and their
    values at the commitment rate to the committed source amount: nothing lost in rounding."""
    charges, sources, tranches = case
    remaining, remaining_src = list(charges), list(sources)
    for amount in tranches:
        parts = split_payment(amount, remaining, remaining_src)
        assert sum(p for p, _ in parts) == amount
        for i, (part, src) in enumerate(parts):
            assert 0 <= part <= remaining[i]
            assert 0 <= src <= remaining_src[i]
            remaining[i] -= part
            remaining_src[i] -= src
    assert remaining == [0] * len(charges)
    assert remaining_src == [0] * len(sources)


@given(schedules(), st.integers(min_value=0, max_value=10**6))
def test_a_partial_payment_is_split_in_proportion(
    case: tuple[list[int], list[int], list[int]], extra: int
) -> None:
    charges, sources, _ = case
    amount = min(extra, sum(charges))
    parts = split_payment(amount, charges, sources)
    for (part, _src), charge in zip(parts, charges, strict=True):
        assert abs(part - Fraction(amount * charge, sum(charges))) < 1


def test_a_payment_beyond_what_remains_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and"):
        split_payment(11, [5, 5], [1, 1])
