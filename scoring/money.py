"""Money arithmetic in integer minor units: splitting an amount without losing a single tiyin.

Pure functions: no I/O, no floats. Used to charge a grant to the window's funding sources pro rata
and to split amounts into tranches.
"""

from __future__ import annotations

from collections.abc import Sequence


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
