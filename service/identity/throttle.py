"""Sign-in throttling per account and per address, shared by every worker through PostgreSQL.

Failed sign-ins (a wrong password, a wrong second-factor code) are counted in `sign_in_throttle`
under two keys: the account (`account:` and the SHA-256 of the e-mail, known or not, so the table
holds no address) and the caller's address (`ip:…`). A key whose failures reach its free
allowance is blocked for a while that doubles with each further failure, up to a cap:

- account: 5 free failures, then 1 s, 2 s, 4 s … at most 60 s. An attacker cannot keep a real
  person out for longer than a minute at a time, and gets about one guess a minute at one
  account from however many addresses;
- address: 20 free failures (an office behind one address has room for typos), then 30 s,
  60 s … at most 15 minutes: one address cannot try many accounts.

A blocked sign-in is answered 429 `too-many-sign-in-attempts` with `Retry-After` (seconds) before
the password is looked at. A count starts again after 15 minutes without a failure; a successful
sign-in clears the account's count (not the address's: an attacker's own account must not wash
the address clean).

Sign-ins of one account are serialised on every worker by a transaction-scoped advisory lock on
its key, so concurrent guesses at one account see each other's failures; the address's counter
is incremented atomically (`INSERT … ON CONFLICT DO UPDATE`), and concurrent guesses from one
address can overshoot its allowance by at most the number in flight at once.
"""

from __future__ import annotations

import functools
import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.identity.secrets import sha256_hex
from service.persistence.models import SignInThrottle
from service.problems import TooManySignInAttempts

QUIET_RESET = timedelta(minutes=15)
"""A key's count starts again after this long without a failure."""


@dataclass(frozen=True)
class Limit:
    free: int
    """Failures allowed before a block."""
    first_block: timedelta
    max_block: timedelta

    def block_after(self, failures: int) -> timedelta | None:
        if failures < self.free:
            return None
        doubled: timedelta = self.first_block * (2 ** min(failures - self.free, 20))
        return min(doubled, self.max_block)


ACCOUNT_LIMIT = Limit(free=5, first_block=timedelta(seconds=1), max_block=timedelta(seconds=60))
ADDRESS_LIMIT = Limit(free=20, first_block=timedelta(seconds=30), max_block=timedelta(minutes=15))


def account_key(email: str) -> str:
    return "account:" + sha256_hex(email.strip().lower())


def address_key(address: str) -> str:
    return "ip:" + address[:64]


def _networks(
    trusted: Sequence[str],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return _parsed_networks(tuple(trusted))


@functools.lru_cache(maxsize=8)
def _parsed_networks(
    trusted: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Parsed once per setting: the rate limits ask for every API request."""
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _is_trusted(
    address: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[str]) -> str:
    """The caller's address: the peer, unless the peer is a trusted proxy (or the web app); then
    the right-most address of `X-Forwarded-For` that is not a trusted proxy itself."""
    address = peer or "unknown"
    networks = _networks(trusted)
    if not forwarded_for or not _is_trusted(address, networks):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        address = hop
        if not _is_trusted(hop, networks):
            break
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return "invalid"


async def check(session: AsyncSession, email: str, address: str, now: datetime) -> None:
    """Lock the account's sign-ins for this transaction, then 429 when a key is blocked."""
    keys = [account_key(email), address_key(address)]
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(keys[0], 0))))
    rows = await session.execute(
        select(col(SignInThrottle.blocked_until)).where(
            col(SignInThrottle.key).in_(keys), col(SignInThrottle.blocked_until) > now
        )
    )
    until = max((u for (u,) in rows if u is not None), default=None)
    if until is not None:
        raise TooManySignInAttempts(max(1, math.ceil((until - now).total_seconds())))


async def _count(session: AsyncSession, key: str, limit: Limit, now: datetime) -> None:
    table = SignInThrottle.__table__  # type: ignore[attr-defined]  # SQLModel sets it at class creation
    stale = table.c.last_failure_at < now - QUIET_RESET
    stmt = (
        insert(table)
        .values(key=key, failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((stale, 1), else_=table.c.failures + 1),
                "last_failure_at": now,
            },
        )
        .returning(table.c.failures, table.c.blocked_until)
    )
    failures, blocked_until = (await session.execute(stmt)).one()
    block = limit.block_after(int(failures))
    if block is not None and (blocked_until is None or blocked_until < now + block):
        await session.execute(
            table.update().where(table.c.key == key).values(blocked_until=now + block)
        )


async def record_failure(session: AsyncSession, email: str, address: str, now: datetime) -> None:
    """Count a failed sign-in against the account and the address (kept even though the
    request is refused: `SignInFailed.keep_changes`)."""
    await _count(session, account_key(email), ACCOUNT_LIMIT, now)
    await _count(session, address_key(address), ADDRESS_LIMIT, now)


async def record_success(session: AsyncSession, email: str) -> None:
    """A successful sign-in clears the account's count."""
    await session.execute(
        delete(SignInThrottle).where(col(SignInThrottle.key) == account_key(email))
    )


async def forget_account(session: AsyncSession, email: str) -> None:
    """After an administrator's reset the person may sign in at once."""
    await record_success(session, email)


async def purge(session: AsyncSession, now: datetime) -> int:
    """Delete the counts that have started again anyway (quiet for `QUIET_RESET`, unblocked)."""
    result = await session.execute(
        delete(SignInThrottle).where(
            col(SignInThrottle.last_failure_at) < now - QUIET_RESET,
            (col(SignInThrottle.blocked_until).is_(None))
            | (col(SignInThrottle.blocked_until) < now),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult of a DELETE
