"""Automatic assignment of reviewers to proposals: balanced, conflict-free, deterministic.

Pure: the same inputs and seed give the same assignment on every machine (order comes from
HMAC-SHA256 tickets, never from Python's `random`).

The greedy rule: proposals are taken in ticket order; each gets the `k` allowed reviewers with the
lowest current load (ties broken by a per-pair ticket). Without constraints this keeps every
reviewer's load within one of every other's; a reviewer at `cap` takes no more.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


def ticket(seed: bytes, *parts: str) -> str:
    """A reproducible pseudo-random key: HMAC-SHA256(seed, parts joined by NUL), hex."""
    return hmac.new(seed, "\x00".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ProposalToAssign:
    id: str
    territory: str
    organisations: frozenset[str]
    """The applicant and its co-applicants."""


@dataclass(frozen=True)
class Reviewer:
    id: str
    territories: frozenset[str] = frozenset()
    """Where the reviewer is from (e.g. PCC membership), for `avoid_same_territory`."""
    organisations: frozenset[str] = frozenset()
    """Organisations the reviewer belongs to or declared an affiliation with."""


@dataclass(frozen=True)
class AssignmentResult:
    assignments: tuple[tuple[str, str], ...]
    """(proposal id, reviewer id) pairs, in proposal ticket order."""
    short: Mapping[str, int] = field(default_factory=dict)
    """Proposals that got fewer than k reviewers → how many they lack."""
    load: Mapping[str, int] = field(default_factory=dict)


def is_conflicted(
    proposal: ProposalToAssign,
    reviewer: Reviewer,
    declared: frozenset[tuple[str, str]],
) -> bool:
    return (proposal.id, reviewer.id) in declared or bool(
        proposal.organisations & reviewer.organisations
    )


def assign(
    proposals: Sequence[ProposalToAssign],
    reviewers: Sequence[Reviewer],
    k: int,
    seed: bytes,
    *,
    declared_conflicts: frozenset[tuple[str, str]] = frozenset(),
    avoid_same_territory: bool = False,
    cap: int | None = None,
    existing: Sequence[tuple[str, str]] = (),
    caps: Mapping[str, int] | None = None,
) -> AssignmentResult:
    """Give each proposal up to `k` reviewers (counting `existing` assignments); a reviewer
    named in `caps` takes no more than its own cap, the others no more than `cap`."""
    limit = {r.id: (caps or {}).get(r.id, cap) for r in reviewers}
    if k < 1:
        raise ValueError("k must be >= 1")
    load: dict[str, int] = {r.id: 0 for r in reviewers}
    have: dict[str, set[str]] = {p.id: set() for p in proposals}
    for pid, rid in existing:
        if pid in have and rid in load:
            have[pid].add(rid)
            load[rid] += 1
    out: list[tuple[str, str]] = []
    short: dict[str, int] = {}
    for p in sorted(proposals, key=lambda p: (ticket(seed, "proposal", p.id), p.id)):
        needed = k - len(have[p.id])
        if needed <= 0:
            continue
        allowed = [
            r
            for r in reviewers
            if r.id not in have[p.id]
            and not is_conflicted(p, r, declared_conflicts)
            and not (avoid_same_territory and p.territory in r.territories)
            and ((lim := limit[r.id]) is None or load[r.id] < lim)
        ]
        allowed.sort(key=lambda r: (load[r.id], ticket(seed, "pair", p.id, r.id), r.id))
        for r in allowed[:needed]:
            out.append((p.id, r.id))
            have[p.id].add(r.id)
            load[r.id] += 1
        if len(allowed) < needed:
            short[p.id] = needed - len(allowed)
    return AssignmentResult(assignments=tuple(out), short=short, load=load)
