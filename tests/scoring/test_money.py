"""Property tests of money splitting: the parts always sum to the whole, fairly."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.money import allocate_pro_rata

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
