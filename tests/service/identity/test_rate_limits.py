"""The API's rate limits (service/identity/ratelimit.py): the window and lease arithmetic, many
workers sharing one count, and the API answering 429 per address, API key and sign-in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import ApiScope, Role
from contracts.identity import ApiKeyCreate
from service.app import create_app
from service.context import Clock
from service.identity.ratelimit import (
    Limit,
    RateLimiter,
    granted,
    lease_size,
    purge,
    retry_after,
    window_of,
)
from service.persistence.database import Database
from service.problems import TooManyRequests
from tests.conftest import TEST_SETTINGS, MakeUser
from tests.factories import PROBLEM

INSTANT = datetime(2026, 12, 6, 9, 0, 15, tzinfo=UTC)
"""15 s into a 60-second window: a refusal says `Retry-After: 45`."""

# --- the arithmetic -----------------------------------------------------------------------------


@given(
    now=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    length=st.integers(min_value=1, max_value=3600),
)
def test_a_window_holds_its_instant_and_a_refusal_waits_for_its_end(
    now: float, length: int
) -> None:
    start = window_of(now, length)
    wait = retry_after(now, start, length)

    assert start % length == 0
    assert start <= now < start + length
    assert 1 <= wait <= length
    assert now + wait >= start + length > now + wait - 1


@given(
    configured=st.integers(min_value=1, max_value=1000),
    limit=st.integers(min_value=1, max_value=100_000),
)
def test_a_lease_is_at_most_a_tenth_of_the_limit_and_at_least_one(
    configured: int, limit: int
) -> None:
    size = lease_size(configured, limit)

    assert 1 <= size <= configured
    assert size == 1 or size * 10 <= limit


@given(
    limit=st.integers(min_value=0, max_value=500),
    asks=st.lists(st.integers(min_value=1, max_value=50), max_size=60),
)
def test_claims_in_any_order_grant_exactly_what_is_below_the_limit(
    limit: int, asks: list[int]
) -> None:
    """The row serialises the claims: each sees the count its predecessors left."""
    used, grants = 0, []
    for ask in asks:
        used += ask
        grants.append(granted(used, ask, limit))

    assert all(0 <= g <= a for g, a in zip(grants, asks, strict=True))
    assert sum(grants) == min(limit, sum(asks))


class MemoryStore:
    """The shared count of several workers, yielding to the loop inside each claim (as a round
    trip does) so that claims of different workers interleave."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = {}
        self.claims = 0

    async def claim(self, subject: str, window_start: int, n: int) -> int:
        await asyncio.sleep(0)
        self.claims += 1
        key = (subject, window_start)
        used = self.counts[key] = self.counts.get(key, 0) + n  # as RETURNING: atomic
        await asyncio.sleep(0)
        return used


async def _admitted(limiters: list[RateLimiter], limit: int, requests: int) -> int:
    async def one(i: int) -> bool:
        try:
            await limiters[i % len(limiters)].admit("key:k", Limit(limit, "this key"))
        except TooManyRequests:
            return False
        return True

    return sum(await asyncio.gather(*(one(i) for i in range(requests))))


@given(
    limit=st.integers(min_value=1, max_value=120),
    lease=st.integers(min_value=1, max_value=20),
    workers=st.integers(min_value=1, max_value=5),
    requests=st.integers(min_value=0, max_value=200),
)
def test_workers_sharing_a_count_never_admit_more_than_the_limit(
    limit: int, lease: int, workers: int, requests: int
) -> None:
    store = MemoryStore()
    limiters = [
        RateLimiter(store, window_seconds=60, lease=lease, clock=lambda: 1_000_000.0)
        for _ in range(workers)
    ]
    admitted = asyncio.run(_admitted(limiters, limit, requests))

    assert admitted <= limit
    if lease == 1 or workers == 1:  # nothing left unused in another worker's lease
        assert admitted == min(limit, requests)
    # at most one claim per worker finds the window used up; then it refuses by itself
    assert store.claims <= -(-requests // lease_size(lease, limit)) + workers


def test_a_used_up_window_is_refused_without_asking_again_and_the_next_one_starts_afresh() -> None:
    store = MemoryStore()
    now = [1_000_005.0]
    limiter = RateLimiter(store, window_seconds=60, lease=1, clock=lambda: now[0])

    first = asyncio.run(_admitted([limiter], 3, 10))
    claims = store.claims
    again = asyncio.run(_admitted([limiter], 3, 5))
    claims_again = store.claims
    now[0] += 60
    next_window = asyncio.run(_admitted([limiter], 3, 5))

    assert (first, claims) == (3, 3)  # the third claim's count reached the limit
    assert (again, claims_again) == (0, 3)  # so nothing more was asked in that window
    assert (next_window, store.claims) == (3, 6)


# --- the API --------------------------------------------------------------------------------


def _app(db: Database, storage: Path, **limits: int) -> Any:
    off = {"rate_limit_ip": 0, "rate_limit_anonymous_ip": 0}
    off |= {"rate_limit_api_key": 0, "rate_limit_user": 0, "rate_limit_lease": 1}
    settings = TEST_SETTINGS.model_copy(update={"storage_dir": storage, **off, **limits})
    return create_app(settings, database=db)


@pytest.fixture
def frozen(frozen_clock: Clock) -> Clock:
    frozen_clock.frozen = INSTANT
    return frozen_clock


def _from(app: Any, address: str) -> httpx.AsyncClient:
    """A client whose TCP peer is `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def _assert_refused(resp: httpx.Response, limit: int, wait: int = 45) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert (problem["type"], problem["status"]) == (PROBLEM + "too-many-requests", 429)
    assert f"limit of {limit} requests per 60 seconds" in problem["detail"]
    assert resp.headers["retry-after"] == str(wait)
    assert resp.headers["ratelimit-limit"] == str(limit)
    assert resp.headers["ratelimit-remaining"] == "0"
    assert resp.headers["ratelimit-reset"] == str(wait)


async def test_an_address_gets_its_anonymous_limit_then_429_until_the_window_ends(
    db: Database, storage_dir: Path, frozen: Clock
) -> None:
    app = _app(db, storage_dir, rate_limit_anonymous_ip=3)
    async with (
        _from(app, "203.0.113.9") as visitor,
        _from(app, "203.0.113.10") as neighbour,
        _from(app, "127.0.0.1") as proxy,
    ):
        admitted = [(await visitor.get("/api/v1/calls")).status_code for _ in range(3)]
        refused = await visitor.get("/api/v1/calls")
        # its own X-Forwarded-For is not believed from an address that is not a trusted proxy
        disguised = await visitor.get("/api/v1/calls", headers={"x-forwarded-for": "192.0.2.1"})
        other = await neighbour.get("/api/v1/calls")
        # the web (a trusted proxy) passes the visitor's address on: counted as the visitor
        via_web = await proxy.get("/api/v1/calls", headers={"x-forwarded-for": "203.0.113.9"})
        for_another = await proxy.get("/api/v1/calls", headers={"x-forwarded-for": "192.0.2.1"})
        health = await visitor.get("/health/live")
        frozen.frozen = INSTANT + timedelta(seconds=44)
        still = await visitor.get("/api/v1/calls")
        frozen.frozen = INSTANT + timedelta(seconds=45)  # 09:01:00, the next window
        reset = [(await visitor.get("/api/v1/calls")).status_code for _ in range(3)]
        again = await visitor.get("/api/v1/calls")

    assert admitted == [200, 200, 200]
    _assert_refused(refused, 3)
    _assert_refused(disguised, 3)
    assert other.status_code == 200
    _assert_refused(via_web, 3)
    assert for_another.status_code == 200
    assert health.status_code == 200  # the probes are not limited
    _assert_refused(still, 3, wait=1)
    assert reset == [200, 200, 200]
    _assert_refused(again, 3, wait=60)


async def test_each_api_key_and_each_sign_in_has_its_own_limit(
    db: Database, storage_dir: Path, frozen: Clock, make_user: MakeUser
) -> None:
    admin = await make_user(Role.ADMIN)
    keys = [
        (await admin.client.create_api_key(ApiKeyCreate(name=n, scopes=[ApiScope.READ_CALLS]))).key
        for n in ("a", "b")
    ]
    reader, other_reader = await make_user(Role.AUDITOR), await make_user(Role.AUDITOR)
    app = _app(db, storage_dir, rate_limit_api_key=2, rate_limit_user=3)
    async with _from(app, "203.0.113.20") as http:
        by_key = [(await http.get("/api/v1/calls", headers={"x-api-key": keys[0]})).status_code]
        by_key.append((await http.get("/api/v1/calls", headers={"x-api-key": keys[0]})).status_code)
        key_refused = await http.get("/api/v1/calls", headers={"x-api-key": keys[0]})
        other_key = await http.get("/api/v1/calls", headers={"x-api-key": keys[1]})
        # a wrong key is refused as wrong, and uses up nobody's budget but its own
        wrong = await http.get("/api/v1/calls", headers={"x-api-key": keys[1] + "x"})
        bearer = {"authorization": f"Bearer {reader.token}"}
        by_token = [(await http.get("/api/v1/users/me", headers=bearer)).status_code for _ in "abc"]
        token_refused = await http.get("/api/v1/users/me", headers=bearer)
        other_token = await http.get(
            "/api/v1/users/me", headers={"authorization": f"Bearer {other_reader.token}"}
        )

    assert by_key == [200, 200]
    _assert_refused(key_refused, 2)
    assert other_key.status_code == 200
    assert wrong.status_code == 401
    assert by_token == [200, 200, 200]
    _assert_refused(token_refused, 3)
    assert other_token.status_code == 200


async def test_every_request_of_an_address_counts_toward_its_overall_limit(
    db: Database, storage_dir: Path, frozen: Clock, make_user: MakeUser
) -> None:
    person = await make_user(Role.AUDITOR)
    app = _app(db, storage_dir, rate_limit_ip=3, rate_limit_user=100)
    bearer = {"authorization": f"Bearer {person.token}"}
    wrong = {"authorization": "Bearer wrong"}
    async with _from(app, "203.0.113.30") as http:
        mixed = [
            (await http.get("/api/v1/calls")).status_code,
            (await http.get("/api/v1/users/me", headers=bearer)).status_code,
            (await http.get("/api/v1/users/me", headers=wrong)).status_code,
        ]
        refused = await http.get("/api/v1/users/me", headers=bearer)

    assert mixed == [200, 200, 401]  # wrong credentials count too
    _assert_refused(refused, 3)


async def _used(session: AsyncSession, subject_prefix: str) -> list[int]:
    rows = await session.execute(
        text("SELECT used FROM rate_limit_count WHERE subject LIKE :p"),
        {"p": subject_prefix + "%"},
    )
    return [int(u) for (u,) in rows]


async def test_a_worker_claims_a_lease_at_a_time_and_admits_exactly_its_limit(
    db: Database, storage_dir: Path, frozen: Clock, session: AsyncSession
) -> None:
    app = _app(db, storage_dir, rate_limit_anonymous_ip=25, rate_limit_ip=100, rate_limit_lease=10)
    async with _from(app, "203.0.113.40") as http:
        answers = [(await http.get("/api/v1/calls")).status_code for _ in range(27)]

    assert answers == [200] * 25 + [429] * 2
    # the per-address limit of 100 in leases of 10: three claims for 27 requests
    assert await _used(session, "ip:203.0.113.40") == [30]
    # the anonymous limit of 25 in leases of 2: 13 claims, the last granted 1 of its 2 and
    # found the window used up; the two refusals asked nothing
    assert await _used(session, "anon:203.0.113.40") == [26]


async def test_concurrent_requests_of_one_subject_make_one_claim_at_a_time(
    fresh_db: str, storage_dir: Path, frozen: Clock
) -> None:
    """No convoy on the row: 32 requests at once in one worker wait for one claim in flight
    instead of each claiming (a real engine: the claims are autocommitted statements)."""
    database = Database.from_url(fresh_db, pool_size=4)
    try:
        app = _app(database, storage_dir, rate_limit_ip=1000, rate_limit_lease=10)
        async with _from(app, "203.0.113.50") as http:
            answers = await asyncio.gather(*(http.get("/api/v1/calls") for _ in range(32)))
        async with database.session() as s:
            used = await _used(s, "ip:203.0.113.50")
    finally:
        await database.dispose()

    assert [a.status_code for a in answers] == [200] * 32
    assert used == [40]  # four claims of 10; one claim per request would have made 320


async def test_the_purge_deletes_the_windows_that_started_more_than_an_hour_ago(
    db: Database, session: AsyncSession
) -> None:
    for started, subject in (
        (INSTANT - timedelta(hours=2), "ip:old"),
        (INSTANT - timedelta(minutes=61), "ip:ended"),
        (INSTANT - timedelta(minutes=59), "ip:recent"),
        (INSTANT, "ip:now"),
    ):
        await session.execute(
            text("INSERT INTO rate_limit_count VALUES (:w, :s, 5)"), {"w": started, "s": subject}
        )
    await session.flush()

    purged = await purge(db, INSTANT)
    rows = await session.execute(text("SELECT subject FROM rate_limit_count ORDER BY subject"))

    assert purged == 2
    assert [s for (s,) in rows] == ["ip:now", "ip:recent"]
