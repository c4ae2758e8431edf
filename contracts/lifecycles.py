"""Lifecycles as typed tables, in one place: which state may follow which.

The service refuses anything else with 409 naming the allowed next states; the web shows only the
actions these tables allow.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from contracts.enums import CallStatus, ProposalStatus, TrancheStatus

S = TypeVar("S", bound=StrEnum)

CALL_TRANSITIONS: Mapping[CallStatus, frozenset[CallStatus]] = {
    CallStatus.DRAFT: frozenset({CallStatus.PUBLISHED}),
    CallStatus.PUBLISHED: frozenset({CallStatus.CLOSED}),
    CallStatus.CLOSED: frozenset({CallStatus.ARCHIVED}),
    CallStatus.ARCHIVED: frozenset(),
}

P = ProposalStatus
PROPOSAL_TRANSITIONS: Mapping[ProposalStatus, frozenset[ProposalStatus]] = {
    P.DRAFT: frozenset({P.SUBMITTED, P.WITHDRAWN}),
    P.SUBMITTED: frozenset({P.ELIGIBLE, P.INELIGIBLE, P.WITHDRAWN}),
    # an officer may override an eligibility verdict (with a reason), either way
    P.ELIGIBLE: frozenset({P.IN_REVIEW, P.INELIGIBLE, P.WITHDRAWN}),
    P.INELIGIBLE: frozenset({P.ELIGIBLE, P.WITHDRAWN}),
    P.IN_REVIEW: frozenset({P.SCORED}),
    # a reopened review sends a scored proposal back to review
    P.SCORED: frozenset({P.SELECTED, P.RESERVE, P.NOT_SELECTED, P.IN_REVIEW}),
    P.SELECTED: frozenset({P.AWARDED, P.NOT_SELECTED}),
    P.RESERVE: frozenset({P.SELECTED, P.NOT_SELECTED}),
    P.NOT_SELECTED: frozenset(),
    P.AWARDED: frozenset(),
    P.WITHDRAWN: frozenset(),
}

T = TrancheStatus
TRANCHE_TRANSITIONS: Mapping[TrancheStatus, frozenset[TrancheStatus]] = {
    T.PLANNED: frozenset({T.DUE, T.CANCELLED}),
    T.DUE: frozenset({T.APPROVED, T.CANCELLED}),
    T.APPROVED: frozenset({T.DISBURSED, T.CANCELLED}),
    T.DISBURSED: frozenset({T.DUE}),  # only by a reversal entry: paid again after re-approval
    T.CANCELLED: frozenset(),
}

#: Proposals an applicant can still withdraw (before the window closes).
WITHDRAWABLE: frozenset[ProposalStatus] = frozenset(
    s for s, nxt in PROPOSAL_TRANSITIONS.items() if P.WITHDRAWN in nxt
)


def allowed_next(table: Mapping[S, frozenset[S]], current: S) -> list[S]:
    """The states that may follow `current`, sorted for stable messages."""
    return sorted(table[current], key=lambda s: s.value)


def can_move(table: Mapping[S, frozenset[S]], current: S, target: S) -> bool:
    return target in table[current]
