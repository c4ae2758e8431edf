"""Quotas in their stored (JSON) form: reading, writing back, and naming every invalid one."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from scoring.selection import Quota, QuotaKind, check_quotas, quota_from_json, quota_to_json

SHARE_KINDS: tuple[QuotaKind, ...] = ("min_share_money", "min_share_count")
WHOLE_KINDS: tuple[QuotaKind, ...] = (
    "min_count",
    "max_count",
    "min_money",
    "max_money",
    "max_per_organisation",
)
groups = st.one_of(
    st.sampled_from(["any", "women_led", "youth_led"]),
    st.from_regex(r"territory:[a-z0-9-]{1,12}", fullmatch=True),
)


@st.composite
def quotas(draw: st.DrawFn) -> Quota:
    group = draw(groups)
    if draw(st.booleans()):
        kind = draw(st.sampled_from(SHARE_KINDS))
        share = draw(
            st.fractions(min_value=0, max_value=1, max_denominator=1_000_000).filter(
                lambda f: f.denominator <= 1_000_000
            )
        )
        return Quota(kind, group, share)
    return Quota(draw(st.sampled_from(WHOLE_KINDS)), group, draw(st.integers(0, 2**50)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
anything_like_a_quota = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "kind": st.one_of(
                st.sampled_from([*SHARE_KINDS, *WHOLE_KINDS, "max_share"]), json_values
            ),
            "group": st.one_of(groups, json_values),
            "value": st.one_of(
                st.from_regex(r"-?\d{1,4}(\.\d{1,8})?", fullmatch=True), json_values
            ),
        },
    ),
)


def refused(q: Any) -> bool:
    try:
        quota_from_json(q)
    except (ValueError, KeyError, TypeError, ArithmeticError):
        return True
    return False


@given(quotas())
def test_a_stored_quota_reads_back_equal(quota: Quota) -> None:
    stored = quota_to_json(quota)
    assert quota_from_json(stored) == quota
    assert check_quotas([stored]) == []


@given(st.lists(quotas(), max_size=5))
def test_valid_quotas_have_no_problems(qs: list[Quota]) -> None:
    assert check_quotas([quota_to_json(q) for q in qs]) == []


@given(st.lists(st.one_of(quotas().map(quota_to_json), anything_like_a_quota), max_size=6))
def test_every_invalid_quota_is_named_once_by_its_index(stored: list[Any]) -> None:
    problems = check_quotas(stored)
    bad = [n for n, q in enumerate(stored) if not isinstance(q, dict) or refused(q)]
    assert [p.split(":", 1)[0] for p in problems] == [f"quotas[{n}]" for n in bad]
    assert all(len(p.split(": ", 1)[1]) > 0 for p in problems)


def test_the_problems_say_what_is_wrong() -> None:
    stored: list[Any] = [
        {"kind": "min_share_money", "group": "women_led", "value": "0.3"},
        {"kind": "min_share_money", "group": "women_led", "value": "1.5"},
        {"kind": "min_count", "group": "youth_led"},
        {"kind": "max_count", "group": "nobody", "value": "2"},
        {"kind": "min_money", "group": "any", "value": None},
        "min_count",
    ]
    assert check_quotas(stored) == [
        "quotas[1]: min_share_money: a share must be between 0 and 1",
        "quotas[2]: missing 'value'",
        "quotas[3]: unknown quota group 'nobody': women_led, youth_led, any or territory:<code>",
        "quotas[4]: value must be a decimal string or a number",
        "quotas[5]: a quota must be an object",
    ]
    assert quota_from_json(stored[0]) == Quota("min_share_money", "women_led", Fraction(3, 10))
