"""Property tests of reviewer assignment."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scoring.assignment import ProposalToAssign, Reviewer, assign

ORGS = [f"o{i}" for i in range(6)]
PLACES = ["osh", "uzgen", "batken"]

proposals_st = st.lists(
    st.builds(
        ProposalToAssign,
        id=st.uuids().map(str),
        territory=st.sampled_from(PLACES),
        organisations=st.frozensets(st.sampled_from(ORGS), min_size=1, max_size=2),
    ),
    max_size=25,
    unique_by=lambda p: p.id,
)
reviewers_st = st.lists(
    st.builds(
        Reviewer,
        id=st.uuids().map(str),
        territories=st.frozensets(st.sampled_from(PLACES), max_size=1),
        organisations=st.frozensets(st.sampled_from(ORGS), max_size=1),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda r: r.id,
)


@given(proposals_st, reviewers_st, st.integers(1, 3), st.binary(min_size=1, max_size=8))
def test_no_conflicted_or_duplicate_pair(
    ps: list[ProposalToAssign], rs: list[Reviewer], k: int, seed: bytes
) -> None:
    result = assign(ps, rs, k, seed, avoid_same_territory=True)
    by_id = {p.id: p for p in ps}
    rev = {r.id: r for r in rs}
    assert len(set(result.assignments)) == len(result.assignments)
    for pid, rid in result.assignments:
        assert not (by_id[pid].organisations & rev[rid].organisations)
        assert by_id[pid].territory not in rev[rid].territories
    for p in ps:
        got = sum(1 for pid, _ in result.assignments if pid == p.id)
        assert got + result.short.get(p.id, 0) == k


@given(
    st.lists(st.uuids().map(str), max_size=30, unique=True),
    st.lists(st.uuids().map(str), min_size=1, max_size=7, unique=True),
    st.integers(1, 3),
    st.binary(min_size=1, max_size=8),
)
def test_unconstrained_loads_differ_by_at_most_one(
    pids: list[str], rids: list[str], k: int, seed: bytes
) -> None:
    ps = [ProposalToAssign(id=p, territory="osh", organisations=frozenset({"x"})) for p in pids]
    rs = [Reviewer(id=r) for r in rids]
    result = assign(ps, rs, k, seed)
    loads = list(result.load.values())
    assert max(loads) - min(loads) <= 1
    assert len(result.assignments) == len(ps) * min(k, len(rs))


@given(proposals_st, reviewers_st, st.integers(1, 3), st.binary(min_size=1, max_size=8))
def test_deterministic_and_independent_of_input_order(
    ps: list[ProposalToAssign], rs: list[Reviewer], k: int, seed: bytes
) -> None:
    a = assign(ps, rs, k, seed)
    b = assign(list(reversed(ps)), list(reversed(rs)), k, seed)
    assert sorted(a.assignments) == sorted(b.assignments)
    assert a == assign(ps, rs, k, seed)


def test_cap_and_declared_conflicts_are_respected() -> None:
    ps = [
        ProposalToAssign(id=f"p{i}", territory="osh", organisations=frozenset()) for i in range(4)
    ]
    rs = [Reviewer(id="a"), Reviewer(id="b")]
    result = assign(ps, rs, 2, b"seed", cap=3, declared_conflicts=frozenset({("p0", "a")}))
    assert ("p0", "a") not in result.assignments
    assert max(result.load.values()) <= 3
    assert sum(result.short.values()) == 8 - len(result.assignments)


def test_existing_assignments_count_toward_k() -> None:
    ps = [ProposalToAssign(id="p", territory="osh", organisations=frozenset())]
    rs = [Reviewer(id="a"), Reviewer(id="b"), Reviewer(id="c")]
    result = assign(ps, rs, 2, b"s", existing=[("p", "a")])
    assert len(result.assignments) == 1
    assert result.assignments[0][1] in {"b", "c"}


@given(proposals_st, st.integers(0, 4), st.integers(0, 4), st.integers(1, 3))
def test_caps_hold_each_named_reviewer_to_its_own_limit(
    proposals: list[ProposalToAssign], cap_a: int, cap_b: int, k: int
) -> None:
    reviewers = [Reviewer(id=r) for r in ("a", "b", "c")]
    result = assign(proposals, reviewers, k, b"caps", cap=2, caps={"a": cap_a, "b": cap_b})
    assert result.load["a"] <= cap_a
    assert result.load["b"] <= cap_b
    assert result.load["c"] <= 2  # the general cap for the reviewer not named
    # nobody is left short while a reviewer under its cap and free of conflicts could help
    for pid, missing in result.short.items():
        proposal = next(p for p in proposals if p.id == pid)
        have = {r for p, r in result.assignments if p == pid}
        limits = {"a": cap_a, "b": cap_b, "c": 2}
        assert all(result.load[r] >= limits[r] for r in limits if r not in have), proposal
        assert missing == k - len(have)
