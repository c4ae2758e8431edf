"""Property tests of money: currencies' exponents and wording per language, and splitting (the
parts always sum to the whole, fairly)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
from babel.numbers import list_currencies
from hypothesis import given
from hypothesis import strategies as st

from scoring.money import (
    UnknownCurrency,
    allocate_pro_rata,
    convert,
    format_major,
    format_money,
    minor_unit_exponent,
    split_payment,
    to_major,
    to_minor,
)

totals = st.integers(min_value=0, max_value=10**15)
amounts = st.integers(min_value=-(10**15), max_value=10**15)
# ISO 4217's exponents, written here from the standard (not from Babel), for the codes the
# programme meets and the two that are not 2
ISO_EXPONENTS = {"KGS": 2, "USD": 2, "EUR": 2, "JPY": 0, "KWD": 3}
currencies = st.sampled_from(sorted(ISO_EXPONENTS))
NBSP = "\u00a0"


# --- currencies and wording ---------------------------------------------------------------------


@pytest.mark.parametrize(("code", "exponent"), sorted(ISO_EXPONENTS.items()))
def test_the_exponent_is_iso_4217s(code: str, exponent: int) -> None:
    assert minor_unit_exponent(code) == exponent


@given(amounts, currencies)
def test_minor_units_round_trip_through_major_units(minor: int, currency: str) -> None:
    major = to_major(minor, currency)
    assert to_minor(major, currency) == minor
    assert -major.as_tuple().exponent == ISO_EXPONENTS[currency]  # exactly its decimals
    assert Decimal(format_major(minor, currency)) == major


@given(amounts, currencies)
def test_english_groups_with_commas_and_a_decimal_point(minor: int, currency: str) -> None:
    e = ISO_EXPONENTS[currency]
    whole, part = divmod(abs(minor), 10**e)
    figures = f"{whole:,}" + (f".{part:0{e}d}" if e else "")
    assert format_money(minor, currency) == f"{'-' if minor < 0 else ''}{figures} {currency}"


@given(amounts, currencies, st.sampled_from(["ru", "ky"]))
def test_russian_and_kyrgyz_group_with_a_non_breaking_space_and_a_decimal_comma(
    minor: int, currency: str, language: str
) -> None:
    e = ISO_EXPONENTS[currency]
    whole, part = divmod(abs(minor), 10**e)
    figures = f"{whole:,}".replace(",", NBSP) + (f",{part:0{e}d}" if e else "")
    shown = format_money(minor, currency, language)
    assert shown == f"{'-' if minor < 0 else ''}{figures} {currency}"
    # and it reads back as the same amount
    number = shown.removesuffix(f" {currency}").replace(NBSP, "").replace(",", ".")
    assert to_minor(Decimal(number), currency) == minor


def test_the_issues_example_reads_as_russian_writes_it() -> None:
    assert format_money(50_000_000, "KGS", "ru") == f"500{NBSP}000,00 KGS"
    assert format_money(50_000_000, "KGS", "en") == "500,000.00 KGS"
    assert format_money(1_234_567, "KWD", "en") == "1,234.567 KWD"
    assert format_money(1_234_567, "JPY", "ru") == f"1{NBSP}234{NBSP}567 JPY"


KNOWN = frozenset(list_currencies())
"""Every code CLDR knows (current and historic ISO 4217): the rest are unknown."""


@given(
    st.one_of(
        st.from_regex(r"[A-Z]{3}", fullmatch=True),
        st.sampled_from(["", "KG", "KGSS", "XYZ", "AAA", "QQQ", "K1S"]),
    ).filter(lambda code: code.upper() not in KNOWN)
)
def test_an_unknown_currency_is_refused_not_printed_with_two_decimals(code: str) -> None:
    with pytest.raises(UnknownCurrency):
        minor_unit_exponent(code)
    with pytest.raises(UnknownCurrency):
        format_money(100, code)
    with pytest.raises(UnknownCurrency):
        format_major(100, code)


def test_a_code_in_lower_case_is_the_same_currency() -> None:
    assert minor_unit_exponent("kgs") == 2
    assert format_money(150, "kwd") == "0.150 KWD"


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language"):
        format_money(100, "KGS", "de")


# --- splitting ----------------------------------------------------------------------------------
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
