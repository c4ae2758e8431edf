"""Ranking a window's proposals, and the lottery that breaks exact ties.

Order (:func:`rank`):

1. the ranking score (:attr:`ProposalAggregate.overall`, an exact Fraction), higher first;
   proposals without a score come after all that have one, unranked;
2. on an exact tie, the rubric's tie-break criteria in their listed order: the higher aggregate
   on the first one wins, then the next…; a proposal with no value on a tie-break criterion
   comes after one that has a value on it;
3. still tied: the lottery ticket, lower first.

A lottery ticket is ``HMAC-SHA256(key=seed, msg=proposal id as UTF-8)`` as a hex digest: the
same on every platform and version, unlike Python's ``random`` (which is never used) or a numpy
stream. The seed's SHA-256 (:func:`seed_hash`) is published before the draw and the seed after,
so anyone can verify the order. Another seed can only reorder proposals that are exactly tied
on score and tie-breaks.

Every ranked proposal says why it is ahead of the next one (``decided_by``).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from scoring.aggregation import ProposalAggregate, Rubric

__all__ = [
    "DECIDED_BY_LOTTERY",
    "DECIDED_BY_SCORE",
    "TIE_BREAK_PREFIX",
    "RankedProposal",
    "draw_lottery",
    "lottery_ticket",
    "rank",
    "seed_hash",
]

DECIDED_BY_SCORE: Final = "score"
DECIDED_BY_LOTTERY: Final = "lottery"
TIE_BREAK_PREFIX: Final = "tie_break:"


def _check_seed(seed: bytes) -> None:
    if not isinstance(seed, bytes | bytearray) or not seed:
        raise ValueError("the seed must be non-empty bytes")


def lottery_ticket(seed: bytes, proposal_id: str) -> str:
    """HMAC-SHA256(key=seed, msg=UTF-8 of the proposal id), hex digest; lower wins."""
    _check_seed(seed)
    return hmac.digest(bytes(seed), proposal_id.encode(), "sha256").hex()


def seed_hash(seed: bytes) -> str:
    """SHA-256 of the seed, hex: published before the draw, so the seed cannot be changed after."""
    _check_seed(seed)
    return hashlib.sha256(seed).hexdigest()


def draw_lottery(pool: Sequence[str], seed: bytes, k: int) -> list[str]:
    """The ``k`` members of ``pool`` (distinct ids) with the lowest tickets, lowest first."""
    if len(set(pool)) != len(pool):
        raise ValueError("the pool lists a proposal twice")
    if not 0 <= k <= len(pool):
        raise ValueError(f"k must be between 0 and the pool size {len(pool)}")
    _check_seed(seed)
    return sorted(pool, key=lambda p: lottery_ticket(seed, p))[:k]


@dataclass(frozen=True, slots=True)
class RankedProposal:
    proposal: str
    rank: int | None
    """1-based and strict (the lottery leaves no tie); ``None`` when it has no ranking score."""
    score: Fraction | None
    """The ranking score, tenths."""
    ticket: str
    next_proposal: str | None
    """The proposal right after this one; ``None`` for the last."""
    decided_by: str | None
    """Why it is ahead of ``next_proposal``: ``"score"``, ``"tie_break:<criterion>"`` (equal
    scores, equal earlier tie-breaks, higher on this one) or ``"lottery"`` (equal on all of
    them, lower ticket); ``None`` for the last."""
    aggregate: ProposalAggregate
    """The per-criterion values and thresholds behind the score."""


_Key = tuple[int, tuple[int, ...], str]


def _decided_by(a: _Key, b: _Key, tie_break: Sequence[str]) -> str:
    if a[0] != b[0]:
        return DECIDED_BY_SCORE
    for code, x, y in zip(tie_break, a[1], b[1], strict=True):
        if x != y:
            return TIE_BREAK_PREFIX + code
    return DECIDED_BY_LOTTERY


def rank(
    aggregates: Mapping[str, ProposalAggregate] | Iterable[ProposalAggregate],
    rubric: Rubric,
    seed: bytes,
) -> list[RankedProposal]:
    """Rank the proposals (see the module's docstring), best first, each with its explanation.

    ``aggregates`` is :func:`~scoring.aggregation.aggregate_proposals`'s result (or its values);
    every aggregate must have the rubric's tie-break criteria.
    """
    _check_seed(seed)
    items = list(aggregates.values() if isinstance(aggregates, Mapping) else aggregates)
    if len({a.proposal for a in items}) != len(items):
        raise ValueError("a proposal is listed twice")
    tie_break = rubric.tie_break
    values = [a.per_criterion for a in items]
    for a, v in zip(items, values, strict=True):
        absent = [c for c in tie_break if c not in v]
        if absent:
            raise ValueError(f"{a.proposal}: no value for tie-break criteria {absent}")
    # Exact integer sort keys, ascending = better: −value × L, L the least common denominator
    # of all the values (so the sort compares plain ints, as exactly as Fractions and faster),
    # and for a missing value a key after all of them.
    columns: list[list[Fraction | None]] = [
        [a.overall, *(v[c] for c in tie_break)] for a, v in zip(items, values, strict=True)
    ]
    scale = math.lcm(*{x.denominator for row in columns for x in row if x is not None})
    ints: list[tuple[int | None, ...]] = [
        tuple(None if x is None else -(x.numerator * (scale // x.denominator)) for x in row)
        for row in columns
    ]
    missing = max((k for row in ints for k in row if k is not None), default=0) + 1
    unsorted: list[tuple[_Key, ProposalAggregate]] = [
        (
            (
                missing if (first := row[0]) is None else first,
                tuple(missing if k is None else k for k in row[1:]),
                lottery_ticket(seed, a.proposal),
            ),
            a,
        )
        for a, row in zip(items, ints, strict=True)
    ]
    keyed = sorted(unsorted, key=lambda row: row[0])
    result: list[RankedProposal] = []
    for position, (key, agg) in enumerate(keyed):
        following = keyed[position + 1] if position + 1 < len(keyed) else None
        result.append(
            RankedProposal(
                proposal=agg.proposal,
                rank=position + 1 if agg.overall is not None else None,
                score=agg.overall,
                ticket=key[2],
                next_proposal=None if following is None else following[1].proposal,
                decided_by=None if following is None else _decided_by(key, following[0], tie_break),
                aggregate=agg,
            )
        )
    return result
