"""Rate limits of the API per API key, per bearer token and per address, shared by every worker
of every process through PostgreSQL, without a database write per request.

Limits (settings, per window of `rate_limit_window_seconds`, 60 by default; 0 turns one off):

- `rate_limit_ip` (1,200): every request from one address, with credentials or without, wrong
  ones included. The address is the one sign-in throttling uses (`throttle.client_address`):
  the peer, or behind a trusted proxy the right-most untrusted hop of `X-Forwarded-For`. The web
  front end passes its visitor's address on that way, so a person using the web counts as
  themselves, not as the web server;
- `rate_limit_anonymous_ip` (300): requests without credentials from one address;
- `rate_limit_api_key` (600): one partner API key (`X-API-Key`);
- `rate_limit_user` (600): one bearer token (a signed-in person's sign-in).

Credentials are limited by the SHA-256 of what was sent, before they are looked up: no
database read is needed to know the subject, and a wrong key never uses up the budget of a real
one (whoever knows a key's prefix cannot starve it). The address is counted first, so guessing
keys from one address is bounded by its limit. Only the API (`/api/v1`) is limited: the health
probes, `/metrics` and the documentation are not.

How the count is shared: fixed windows (aligned on the Unix epoch) and, per (window, subject), a
row of the UNLOGGED table `rate_limit_count`. A worker does not write a row per request: it
claims a *lease* of `n` requests at once (`INSERT … ON CONFLICT DO UPDATE SET used = used + n
RETURNING used`, one autocommitted statement) and admits the next requests of that subject from
it in memory; it claims again when the lease is used up. A claim is granted only the part below
the limit (`granted`), and claims are serialised by the row, so whatever the number of workers
the requests admitted in a window never exceed the limit. A claim granted less than asked means
the window is used up: the worker then refuses that subject until the window ends without asking
the database again. Within a worker one claim per subject is in flight at a time (the others
wait for it and take from its lease): 32 connections of one key make one claim, not 32 waiting
on the row's lock.

What the leases cost: `n = min(rate_limit_lease, limit // 10)` (at least 1) requests of a lease
that its worker does not use before the window ends are not admitted by anyone, so with W workers
up to W × (n − 1) requests below the limit may be refused; 1 makes the count exact (and writes
once per request).

Refused: 429 `too-many-requests` (problem+json) with `Retry-After` (seconds to the end of the
window) and `RateLimit-Limit`/`-Remaining`/`-Reset`. Ended windows are deleted by the hourly
purge (`service/maintenance.py`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from sqlalchemy import delete, literal_column
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from service.context import utcnow
from service.identity.secrets import sha256_hex
from service.identity.throttle import client_address
from service.persistence.database import Database, is_disconnect
from service.persistence.models import RateLimitCount
from service.problems import TooManyRequests
from service.settings import Settings

# --- the arithmetic (pure) ----------------------------------------------------------------------


def window_of(now: float, length: int) -> int:
    """The start (Unix seconds) of the fixed window of `length` seconds that `now` falls in."""
    return math.floor(now / length) * length


def retry_after(now: float, window_start: int, length: int) -> int:
    """Whole seconds until the window ends (at least 1): the `Retry-After` of a refusal."""
    return max(1, math.ceil(window_start + length - now))


def lease_size(configured: int, limit: int) -> int:
    """Requests a worker claims at once: the setting, at most a tenth of the limit, at least 1."""
    return max(1, min(configured, limit // 10))


def granted(used_after: int, asked: int, limit: int) -> int:
    """Of a claim of `asked` that brought the shared count to `used_after`, the requests that
    fall below `limit` (the count before it was `used_after - asked`)."""
    return max(0, min(asked, limit - (used_after - asked)))


# --- the shared count ---------------------------------------------------------------------------


class Store(Protocol):
    async def claim(self, subject: str, window_start: int, n: int) -> int:
        """Add `n` to the subject's count in the window; the count after it."""
        ...


_TABLE = RateLimitCount.__table__  # type: ignore[attr-defined]  # SQLModel sets it at class creation
_CLAIM = (
    insert(_TABLE)
    .on_conflict_do_update(
        index_elements=[_TABLE.c.window_start, _TABLE.c.subject],
        set_={"used": _TABLE.c.used + literal_column("excluded.used")},
    )
    .returning(_TABLE.c.used)
)
"""Built once (compiled once by SQLAlchemy): for sessions (tests bind them to one connection)."""
_CLAIM_SQL = (
    "INSERT INTO rate_limit_count (window_start, subject, used) VALUES ($1, $2, $3) "
    "ON CONFLICT (window_start, subject) "
    "DO UPDATE SET used = rate_limit_count.used + excluded.used RETURNING used"
)
"""The same statement for asyncpg (prepared once per connection by its statement cache)."""


class _Dropped(Exception):
    """The claim's pooled connection was gone (now invalidated). Claimed again: should the lost
    claim have been counted after all, the count is higher than the requests (refusing earlier,
    never admitting more)."""


class PostgresStore:
    """The count in `rate_limit_count`: one autocommitted statement per claim, on a connection
    of its own taken from the pool only for that statement (the row is locked for no longer)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.claims = 0
        """Claims sent (bench/statements.py counts them: they bypass SQLAlchemy's events)."""

    async def claim(self, subject: str, window_start: int, n: int) -> int:
        self.claims += 1
        values = {
            "window_start": datetime.fromtimestamp(window_start, UTC),
            "subject": subject,
            "used": n,
        }
        try:
            return await self._claim(values)
        except _Dropped:
            return await self._claim(values)  # a pooled connection the server had dropped
        except DBAPIError as exc:
            if not is_disconnect(exc):
                raise
            return await self._claim(values)

    async def _claim(self, values: dict[str, object]) -> int:
        engine = self.database.engine
        if engine is None:  # tests: a session bound to the test's connection (a savepoint)
            async with self.database.sessionmaker() as session:
                used = (await session.execute(_CLAIM.values(**values))).scalar_one()
                await session.commit()
                return int(used)
        async with engine.connect() as conn:
            # straight to asyncpg (outside a transaction: autocommitted), one round trip; a
            # SQLAlchemy execute on an AUTOCOMMIT connection cost more CPU (bench/statements.py)
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            try:
                used = await driver.fetchval(
                    _CLAIM_SQL, values["window_start"], values["subject"], values["used"]
                )
            except (
                asyncpg.PostgresConnectionError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
                OSError,
            ) as exc:
                # no pre-ping (service/persistence/database.py): out of the pool, then again.
                # InternalClientError: a backend terminated mid-exchange can leave asyncpg's
                # protocol "another operation is in progress" (seen in CI) — the same dropped
                # connection, so the same remedy
                await conn.invalidate(exc)
                raise _Dropped from exc
            return int(used)


async def purge(database: Database, now: datetime) -> int:
    """Delete the counts of windows that started before `now` minus an hour (the longest window
    the settings allow), committed."""
    cutoff = datetime.fromtimestamp(now.timestamp() - 3600, UTC)
    async with database.session() as session:
        result = await session.execute(delete(_TABLE).where(_TABLE.c.window_start < cutoff))
        await session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult of a DELETE


# --- the limiter of one worker ------------------------------------------------------------------


@dataclass
class _Lease:
    window: int
    remaining: int
    """Requests still to admit from this worker's claims."""
    exhausted: bool
    """The shared count reached the limit: once `remaining` is spent, refuse until the window
    ends."""


@dataclass(frozen=True)
class Limit:
    per_window: int
    what: str
    """For the problem's detail: whose limit it is."""


def _seconds_now() -> float:
    return utcnow().timestamp()


class RateLimiter:
    """One per app (so per worker): the leases it holds and its claims in flight."""

    def __init__(
        self,
        store: Store,
        *,
        window_seconds: int,
        lease: int,
        clock: Callable[[], float] = _seconds_now,
    ) -> None:
        self.store = store
        self.window_seconds = window_seconds
        self.lease = lease
        self.clock = clock
        self._window = 0
        self._leases: dict[str, _Lease] = {}
        self._claiming: dict[str, asyncio.Lock] = {}

    async def admit(self, subject: str, limit: Limit) -> None:
        """Count one request of `subject`; 429 when its window's limit is used up."""
        now = self.clock()
        window = window_of(now, self.window_seconds)
        if window != self._window:  # a new window: forget the last one's leases
            self._window = window
            self._leases = {}
            self._claiming = {}
        taken = self._take(subject, window)
        if taken is None:
            self._refuse(now, window, limit)
        if taken:
            return
        lock = self._claiming.setdefault(subject, asyncio.Lock())
        async with lock:
            taken = self._take(subject, window)  # the claim we waited for may have left some
            if taken is None:
                self._refuse(now, window, limit)
            if taken:
                return
            n = lease_size(self.lease, limit.per_window)
            used = await self.store.claim(subject, window, n)
            got = granted(used, n, limit.per_window)
            self._leases[subject] = _Lease(
                window, max(0, got - 1), exhausted=used >= limit.per_window
            )
            if got > 0:
                return
        self._refuse(now, window, limit)

    def _take(self, subject: str, window: int) -> bool | None:
        """True: admitted from this worker's lease; False: a claim is needed; None: refused (the
        window is used up)."""
        lease = self._leases.get(subject)
        if lease is None or lease.window != window:
            return False
        if lease.remaining > 0:
            lease.remaining -= 1
            return True
        return None if lease.exhausted else False

    def _refuse(self, now: float, window: int, limit: Limit) -> None:
        raise TooManyRequests(
            f"{limit.what}'s limit of {limit.per_window} requests per "
            f"{self.window_seconds} seconds is used up",
            retry_after(now, window, self.window_seconds),
            limit.per_window,
        )


# --- what the API limits --------------------------------------------------------------------------


class ApiRateLimits:
    """The limits of the settings, applied by the authentication middleware."""

    def __init__(self, settings: Settings, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self.trusted_proxies = list(settings.trusted_proxies)
        self.ip = Limit(settings.rate_limit_ip, "this address")
        self.anonymous_ip = Limit(
            settings.rate_limit_anonymous_ip, "this address (without credentials)"
        )
        self.api_key = Limit(settings.rate_limit_api_key, "this API key")
        self.token = Limit(settings.rate_limit_user, "this sign-in")

    @classmethod
    def from_settings(cls, settings: Settings, database: Database) -> ApiRateLimits | None:
        """None when every limit is off (then nothing is counted at all)."""
        limits = (
            settings.rate_limit_ip,
            settings.rate_limit_anonymous_ip,
            settings.rate_limit_api_key,
            settings.rate_limit_user,
        )
        if not any(limits):
            return None
        limiter = RateLimiter(
            PostgresStore(database),
            window_seconds=settings.rate_limit_window_seconds,
            lease=settings.rate_limit_lease,
        )
        return cls(settings, limiter)

    async def check_address(
        self, peer: str | None, forwarded_for: str | None, *, anonymous: bool
    ) -> None:
        if not (self.ip.per_window or (anonymous and self.anonymous_ip.per_window)):
            return
        address = client_address(peer, forwarded_for, self.trusted_proxies)
        if self.ip.per_window:
            await self.limiter.admit("ip:" + address[:64], self.ip)
        if anonymous and self.anonymous_ip.per_window:
            await self.limiter.admit("anon:" + address[:64], self.anonymous_ip)

    async def check_credentials(self, authorization: str | None, api_key: str | None) -> None:
        """By the SHA-256 of the bearer token (or else the API key) as sent, before it is looked
        up; the 128 bits of its first 32 hex digits name the subject."""
        if authorization:
            if self.token.per_window:
                secret = authorization.partition(" ")[2].strip()
                await self.limiter.admit("token:" + sha256_hex(secret)[:32], self.token)
        elif api_key and self.api_key.per_window:
            await self.limiter.admit("key:" + sha256_hex(api_key.strip())[:32], self.api_key)
