"""The selection's inputs and outputs (candidates, quotas, configuration, outcomes, errors), the
constants they validate against, and the small wording helpers their descriptions use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Final, Literal, TypeAlias, get_args

import numpy as np
import numpy.typing as npt

from scoring.money import format_money

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

QuotaKind: TypeAlias = Literal[
    "min_share_money",
    "min_share_count",
    "min_count",
    "max_count",
    "min_money",
    "max_money",
    "max_per_organisation",
]
OutcomeStatus: TypeAlias = Literal["funded", "reserve", "not_funded", "ineligible"]

_QUOTA_KINDS: Final = frozenset(get_args(QuotaKind))
_SHARE_KINDS: Final = frozenset({"min_share_money", "min_share_count"})
_MIN_KINDS: Final = frozenset({"min_share_money", "min_share_count", "min_count", "min_money"})
_MAX_KINDS: Final = frozenset({"max_count", "max_money", "max_per_organisation"})
_DEMAND_KINDS: Final = frozenset({"min_count", "min_money", "min_share_money"})
"""Minimum quotas that funding nothing breaks: every infeasible quota set contains one."""
_FLAG_GROUPS: Final = {"women_led": "women-led", "youth_led": "youth-led", "any": ""}
_TERRITORY_PREFIX: Final = "territory:"

_MAX_SCORE_TOTAL: Final = 2**45
"""Scores are scaled to integers for the solver; their sum must stay well inside a double."""
_MAX_SHARE_DENOMINATOR: Final = 1_000_000
_MAX_MONEY: Final = 2**50
"""Budgets and request totals in minor units stay exact in the solver's doubles below this."""

# --- the inputs -------------------------------------------------------------------------------


class Policy(StrEnum):
    STRICT_FUNDING_LINE = "strict_funding_line"
    RANK_WITH_SKIPPING = "rank_with_skipping"
    OPTIMAL = "optimal"


@dataclass(frozen=True)
class Candidate:
    """A proposal as selection sees it."""

    id: str
    cost: int
    """The requested amount, minor units, > 0."""
    score: Fraction | int
    """The ranking score, ≥ 0: what the optimal policy maximises the sum of."""
    priority: int
    """The rank order from ranking, tie-breaks and lottery included: lower is preferred. Equal
    priorities are ordered by ``id``."""
    organisation: str
    territory: str
    women_led: bool
    youth_led: bool
    eligible: bool = True
    """Passed eligibility and every score threshold; an ineligible candidate is never funded."""
    name: str | None = None
    """How reasons name the candidate to others (a proposal's receipt number); ``None``: its id."""

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a candidate needs an id")
        if isinstance(self.cost, bool) or not isinstance(self.cost, int) or self.cost <= 0:
            raise ValueError(f"candidate {self.id}: cost must be an integer > 0 (minor units)")
        if isinstance(self.score, bool) or not isinstance(self.score, int | Fraction):
            raise ValueError(f"candidate {self.id}: score must be an int or a Fraction")
        if self.score < 0:
            raise ValueError(f"candidate {self.id}: score must be ≥ 0")
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise ValueError(f"candidate {self.id}: priority must be an integer")


@dataclass(frozen=True)
class Quota:
    """A quota of a window.

    ``group`` is ``women_led``, ``youth_led``, ``any`` or ``territory:<code>``. ``value`` is, by
    kind:

    - ``min_share_money``: a Fraction of the **budget** (``Fraction(3, 10)``: at least 30% of the
      window's budget is awarded to the group; the money needed is rounded up to a minor unit);
    - ``min_share_count``: a Fraction of the **number of funded awards** (the count needed is
      rounded up);
    - ``min_count`` / ``max_count``: a number of awards;
    - ``min_money`` / ``max_money``: minor units awarded to the group;
    - ``max_per_organisation``: awards to any one organisation (of the group).
    """

    kind: QuotaKind
    group: str
    value: int | Fraction

    def __post_init__(self) -> None:
        if self.kind not in _QUOTA_KINDS:
            raise ValueError(f"unknown quota kind {self.kind!r}")
        if self.group not in _FLAG_GROUPS and not (
            self.group.startswith(_TERRITORY_PREFIX) and len(self.group) > len(_TERRITORY_PREFIX)
        ):
            raise ValueError(
                f"unknown quota group {self.group!r}: women_led, youth_led, any or territory:<code>"
            )
        if isinstance(self.value, bool) or not isinstance(self.value, int | Fraction):
            raise ValueError(f"{self.kind}: value must be an int or a Fraction")
        if self.kind in _SHARE_KINDS:
            if not 0 <= self.value <= 1:
                raise ValueError(f"{self.kind}: a share must be between 0 and 1")
            if Fraction(self.value).denominator > _MAX_SHARE_DENOMINATOR:
                raise ValueError(
                    f"{self.kind}: a share needs a denominator of at most 1,000,000 "
                    "(a percentage with up to four decimals)"
                )
        elif not isinstance(self.value, int) or self.value < 0:
            raise ValueError(f"{self.kind}: value must be a whole number ≥ 0")

    def describe(self, currency: str = "KGS") -> str:
        """The quota's name in reasons and diagnoses, e.g. ``min_share_count women_led ≥ 30%``."""
        sign = "≥" if self.kind in _MIN_KINDS else "≤"
        if self.kind in _SHARE_KINDS:
            shown = _percent(Fraction(self.value))
        elif self.kind in ("min_money", "max_money"):
            shown = format_money(int(self.value), currency)
        else:
            shown = str(self.value)
        return f"{self.kind} {self.group} {sign} {shown}"


@dataclass(frozen=True)
class SelectionConfig:
    policy: Policy
    budget: int
    """The window's envelope, minor units, ≥ 0."""
    quotas: tuple[Quota, ...] = ()
    partial_funding_floor_pct: int | None = None
    """When set (1–100), an award may be cut down to this percentage of the request, rounded up
    to a whole minor unit. ``None``: every award is the full request."""
    reserve_size: int | None = None
    """How many unfunded candidates make the reserve list; ``None``: all that could be funded."""
    currency: str = "KGS"
    """For the wording of reasons only."""
    time_limit_s: float = 600.0
    """Per solver call; a safety net: reaching it raises :class:`SolverFailure`."""

    def __post_init__(self) -> None:
        if not isinstance(self.policy, Policy):
            raise ValueError("policy must be a Policy")
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 0:
            raise ValueError("budget must be an integer ≥ 0 (minor units)")
        pct = self.partial_funding_floor_pct
        if pct is not None and (isinstance(pct, bool) or not isinstance(pct, int)):
            raise ValueError("partial_funding_floor_pct must be an integer")
        if pct is not None and not 1 <= pct <= 100:
            raise ValueError("partial_funding_floor_pct must be between 1 and 100")
        if self.reserve_size is not None and self.reserve_size < 0:
            raise ValueError("reserve_size must be ≥ 0")
        if self.time_limit_s <= 0:
            raise ValueError("time_limit_s must be > 0")


# --- the outputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    id: str
    status: OutcomeStatus
    amount: int
    """Minor units awarded; 0 unless funded."""
    reason: str
    rank: int | None
    """1-based position among the eligible candidates in priority order; None if ineligible.
    The one rank of a selection: the reasons' "rank N" is this number."""


@dataclass(frozen=True)
class QuotaCheck:
    """How a quota stands in the result, in the quota's own unit (awards or minor units)."""

    quota: Quota
    required: int
    """The bound: for shares, the count or money it comes to (rounded up)."""
    achieved: int
    """For ``max_per_organisation``: the most awards any one organisation of the group has."""
    met: bool
    detail: str


@dataclass(frozen=True)
class SelectionResult:
    outcomes: tuple[Outcome, ...]
    """Every candidate: the eligible ones in priority order, then the ineligible ones."""
    funded_total: int
    objective: Fraction
    """The total score of the funded candidates."""
    reserve: tuple[str, ...]
    """Ids of the reserve list, in order."""
    quota_checks: tuple[QuotaCheck, ...]
    """One per quota, in the configuration's order."""
    notes: tuple[str, ...]
    """Facts about the whole result, e.g. a minimum quota that a greedy policy left unmet."""
    solver: Mapping[str, int | str] = field(compare=False, hash=False)
    """Solver statistics (status, solves, nodes, sizes) — no timings. Not part of equality:
    the same selection reached from a differently ordered input compares equal."""

    @property
    def funded(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "funded")


class InfeasibleQuotas(ValueError):
    """No set of candidates meets all the quotas within the budget.

    ``quota`` is the one named as the cause, ``conflicting`` a smallest set of quotas (in the
    configuration's order, ``quota`` among them) that cannot be met together, ``diagnosis`` the
    explanation with its numbers.
    """

    def __init__(
        self,
        quota: Quota,
        diagnosis: str,
        conflicting: tuple[Quota, ...],
        evidence: tuple[str, ...] = (),
    ) -> None:
        self.quota = quota
        self.diagnosis = diagnosis
        self.conflicting = conflicting
        self.evidence = evidence
        """How each step of the diagnosis was settled: which solver proved what, and where a
        figure is a bound rather than an exact most."""
        super().__init__(diagnosis)


class SolverFailure(RuntimeError):
    """The solver did not prove its answer (time limit, numerical trouble): nothing is returned
    rather than a set that might not be optimal."""


# --- wording ----------------------------------------------------------------------------------


def _percent(share: Fraction) -> str:
    """``Fraction(3, 10)`` → ``30%``; ``Fraction(1, 3)`` → ``33.33%`` (rounded down)."""
    value = share * 100
    for places in range(5):
        scaled = value * 10**places
        if scaled.denominator == 1:
            break
    else:
        places = 2
    scaled_int = value.numerator * 10**places // value.denominator
    whole, part = divmod(scaled_int, 10**places)
    return f"{whole}.{part:0{places}d}%" if places else f"{whole}%"


def _group_words(group: str) -> str:
    if group.startswith(_TERRITORY_PREFIX):
        return f"in territory {group[len(_TERRITORY_PREFIX) :]}"
    return _FLAG_GROUPS[group]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
