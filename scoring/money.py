"""Money arithmetic in integer minor units: splitting an amount without losing a single tiyin.

Pure functions: no I/O, no floats. Used to charge a grant to the window's funding sources pro rata
and to split amounts into tranches.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction


def allocate_pro_rata(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` (minor units, ≥ 0) in proportion to ``weights`` (≥ 0, not all zero).

    Largest-remainder (Hamilton) method: each part is the floor of its exact share, and the units
    left over go one each to the largest fractional remainders, ties to the earlier weight. So the
    parts sum exactly to ``total`` and each differs from its exact share by less than one unit.
    """
    if total < 0:
        raise ValueError("total must be >= 0")
    if not weights:
        raise ValueError("weights must not be empty")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise ValueError("at least one weight must be > 0")
    parts = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    left = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def round_half_even(value: Fraction) -> int:
    """The integer nearest to ``value``; exact halves go to the even neighbour (banker's rounding,
    so that rounding errors do not drift one way over many conversions)."""
    return round(value)  # Fraction.__round__ rounds half to even, exactly


def convert(amount: int, rate: Fraction | Decimal | str) -> int:
    """``amount`` minor units of currency A in currency B's minor units, where ``rate`` is units
    of A per unit of B (e.g. 89.45 KGS per USD), rounded half to even. Both currencies have the
    same minor-unit exponent (2 for KGS, USD and EUR, the only ones the programme uses)."""
    r = Fraction(Decimal(rate)) if isinstance(rate, str) else Fraction(rate)
    if r <= 0:
        raise ValueError("rate must be > 0")
    if amount < 0:
        raise ValueError("amount must be >= 0")
    return round_half_even(Fraction(amount) / r)


def split_payment(
    amount: int, remaining: Sequence[int], remaining_source: Sequence[int]
) -> list[tuple[int, int]]:
    """Split a payment of ``amount`` over a grant's charges.

    ``remaining[i]`` is what charge i still has unpaid (grant currency) and ``remaining_source[i]``
    the same at the commitment rate in the source's currency. Returns, per charge, the part paid
    from it and that part's value at the commitment rate. The parts sum exactly to ``amount``
    (largest remainder); a part that pays a charge off takes exactly its remaining source value,
    so over a grant's whole schedule the committed source amounts are used up to the last unit and
    nothing is lost in rounding.
    """
    if len(remaining) != len(remaining_source) or not remaining:
        raise ValueError("remaining and remaining_source must be non-empty and of equal length")
    if any(r < 0 for r in remaining) or any(r < 0 for r in remaining_source):
        raise ValueError("remaining amounts must be >= 0")
    if not 0 <= amount <= sum(remaining):
        raise ValueError("amount must be between 0 and the sum of the remaining amounts")
    if amount == 0:
        return [(0, 0) for _ in remaining]
    parts = allocate_pro_rata(amount, remaining)
    out: list[tuple[int, int]] = []
    for part, rem, rem_src in zip(parts, remaining, remaining_source, strict=True):
        if part == rem:
            out.append((part, rem_src))
        else:
            out.append((part, round_half_even(Fraction(part * rem_src, rem))))
    return out
