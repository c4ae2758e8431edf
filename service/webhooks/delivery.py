"""Delivering a webhook: one signed POST, its attempt logged; on failure the next attempt is
queued after an exponential back-off until the attempts run out.

No lock and no database connection is held during the POST (a slow receiver would hold both
for its whole timeout): the delivery is claimed first in a committed transaction (a lease, see
`_claim`), then POSTed, then its result recorded. Two workers never POST one delivery at once;
a worker that dies mid-POST leaves a claim that expires, and the delivery is tried again (at
least once: a receiver dedupes by `webhook-id`, as Standard Webhooks asks). Each failed
attempt is counted in `/metrics` (`grants_webhook_delivery_failures_total`, by reason).

`attempt_delivery` does one delivery (the queue's `webhooks.deliver` task calls it);
`deliver_pending` does every delivery that is due (a safety net: after an outage of the queue,
or from an operator's shell), so the work never depends on a job having survived."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import msgspec
from sqlalchemy import or_, select, update
from sqlmodel import col

from contracts.webhooks import DeliveryStatus
from service import metrics
from service.context import utcnow
from service.jobs import defer
from service.persistence.database import Database
from service.persistence.models import (
    OutboxMessage,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from service.settings import Settings
from service.webhooks import sealing, signing

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
USER_AGENT = "pcc-grants-webhooks/1"


class UnsafeUrl(ValueError):
    """A subscription URL the server refuses to call."""


def check_url_form(url: str, settings: Settings) -> None:
    """The URL's form: https (http only when insecure URLs are allowed), a host, no
    credentials in it."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeUrl(f"not a URL: {exc}") from exc
    allowed = {"https", "http"} if settings.webhook_allow_insecure_urls else {"https"}
    if parsed.scheme not in allowed:
        raise UnsafeUrl("the URL must be https://")
    if not parsed.host:
        raise UnsafeUrl("the URL has no host")
    if parsed.userinfo:
        raise UnsafeUrl("the URL must not carry credentials")


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


async def check_url_target(url: str, settings: Settings) -> None:
    """Where the URL leads now: every address its host resolves to must be public (no
    loopback, private, link-local or reserved network: SSRF), unless insecure URLs are
    allowed. Checked at each delivery, after resolving."""
    check_url_form(url, settings)
    if settings.webhook_allow_insecure_urls:
        return
    parsed = httpx.URL(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parsed.host, parsed.port or 443, type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise UnsafeUrl(f"the host does not resolve: {exc}") from exc
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(_public(a) for a in addresses):
        raise UnsafeUrl("the host resolves to a non-public address")


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CAs), built once: building it loads the CA bundle,
    about 0.1 s, which each attempt paid when every client built its own."""
    return httpx.create_ssl_context()


def backoff(settings: Settings, failed_attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: base × 2^(n-1), at most 6 hours."""
    seconds = settings.webhook_backoff_seconds * 2 ** max(0, failed_attempts - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


def signing_secrets(sub: WebhookSubscription, now: datetime, key: bytes) -> list[str]:
    """The secrets that sign now, opened: the current one, and the previous one during a
    rotation's overlap."""
    keys = [sealing.unseal(key, sub.id, sub.secret)]
    if (
        sub.previous_secret is not None
        and sub.previous_secret_expires_at is not None
        and sub.previous_secret_expires_at > now
    ):
        keys.append(sealing.unseal(key, sub.id, sub.previous_secret))
    return keys


_ENCODER = msgspec.json.Encoder()

LEASE_MARGIN = timedelta(seconds=30)
"""A claim lasts the POST's whole timeout and this much more (the claim's and the result's
transactions); a worker that has not recorded a result by then is taken to have died."""


CLOCK_SLACK = timedelta(seconds=5)
"""A delivery counts as due this much before its time: the queue runs a retry's job by the
database's clock, the claim judges by this host's; a host a little behind the database would
otherwise find the delivery not yet due, and nothing would queue it again."""


def lease(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.webhook_timeout_seconds) + LEASE_MARGIN


@dataclass(frozen=True)
class _Claim:
    """What one attempt needs, read in the claim's transaction (no connection is held while
    the POST is under way)."""

    delivery_id: uuid.UUID
    claim_id: uuid.UUID
    attempt: int
    url: str
    active: bool
    secrets: list[str]
    event_id: str
    body: bytes


async def _claim(
    database: Database, settings: Settings, delivery_id: uuid.UUID
) -> _Claim | DeliveryStatus | None:
    """Claim a due delivery in a short transaction of its own, committed before the POST: its
    `claim_id` set, its attempt counted and `next_attempt_at` moved to the end of the lease.
    The claiming UPDATE is conditional on the delivery being due, so of two workers racing for
    it one gets it (the other's UPDATE waits for the row, then finds it no longer due). None
    when it is not due (or someone else has it); a status when it ended here."""
    from service.webhooks.tasks import deliver

    now = utcnow()
    claim_id = uuid.uuid4()
    async with database.session() as session, session.begin():
        previous = (
            await session.execute(
                select(col(WebhookDelivery.claim_id), col(WebhookDelivery.next_attempt_at)).where(
                    col(WebhookDelivery.id) == delivery_id
                )
            )
        ).one_or_none()
        claimed = (
            await session.execute(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id) == delivery_id,
                    col(WebhookDelivery.status) == DeliveryStatus.PENDING,
                    or_(
                        col(WebhookDelivery.next_attempt_at).is_(None),
                        col(WebhookDelivery.next_attempt_at) <= now + CLOCK_SLACK,
                    ),
                )
                .values(
                    claim_id=claim_id,
                    next_attempt_at=now + lease(settings),
                    attempt_count=col(WebhookDelivery.attempt_count) + 1,
                )
                .returning(
                    col(WebhookDelivery.attempt_count),
                    col(WebhookDelivery.subscription_id),
                    col(WebhookDelivery.event_id),
                )
                .execution_options(synchronize_session=False)
            )
        ).one_or_none()
        if claimed is None:
            return None
        attempt, sub_id, event_id = claimed
        if previous is not None and previous[0] is not None:
            # the last claim was never settled: its worker died (or lost its lease) mid-POST;
            # logged as begun when that lease began
            lost_lease_end = previous[1] or now
            session.add(
                WebhookAttempt(
                    delivery_id=delivery_id,
                    at=min(lost_lease_end - lease(settings), now),
                    error="no result: the worker sending this attempt stopped",
                    duration_ms=0,
                )
            )
            metrics.webhook_delivery_failed("worker_lost")
        if attempt > settings.webhook_max_attempts:  # the last ones died with their workers
            await session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == delivery_id)
                .values(
                    status=DeliveryStatus.FAILED,
                    claim_id=None,
                    next_attempt_at=None,
                    attempt_count=settings.webhook_max_attempts,
                )
                .execution_options(synchronize_session=False)
            )
            return DeliveryStatus.FAILED
        sub = await session.get(WebhookSubscription, sub_id)
        event = await session.get(OutboxMessage, event_id)
        assert sub is not None  # a foreign key
        assert event is not None  # a foreign key
        # the watchdog: should this worker die mid-POST, the delivery is tried again once
        # the lease is over (a job that finds it settled by then does nothing)
        await defer(
            session, deliver, delivery_id=str(delivery_id), schedule_at=now + lease(settings)
        )
        return _Claim(
            delivery_id=delivery_id,
            claim_id=claim_id,
            attempt=attempt,
            url=sub.url,
            active=sub.active,
            secrets=signing_secrets(sub, now, sealing.resolve_key(settings)) if sub.active else [],
            event_id=str(event.id),
            body=_ENCODER.encode(event.payload),
        )


async def _post(claim: _Claim, settings: Settings) -> tuple[int | None, str | None, str | None]:
    """The POST, holding no database connection: (status code, error, failure reason)."""
    if not claim.active:
        return None, "the subscription was deactivated", "deactivated"
    timeout = settings.webhook_timeout_seconds
    try:
        async with asyncio.timeout(timeout):  # the whole attempt, so the lease outlasts it
            await check_url_target(claim.url, settings)
            async with httpx.AsyncClient(
                timeout=timeout, follow_redirects=False, verify=_tls()
            ) as client:
                response = await client.post(
                    claim.url,
                    content=claim.body,
                    headers={
                        **signing.headers(
                            claim.secrets, claim.event_id, int(utcnow().timestamp()), claim.body
                        ),
                        "user-agent": USER_AGENT,
                    },
                )
    except UnsafeUrl as exc:
        return None, f"refused: {exc}", "refused_url"
    except (TimeoutError, httpx.TimeoutException):
        return None, f"no answer within {timeout:g} s", "timeout"
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000] or type(exc).__name__, "connection"
    if not 200 <= response.status_code < 300:
        return response.status_code, f"the receiver answered {response.status_code}", "http_status"
    return response.status_code, None, None


async def attempt_delivery(
    database: Database, settings: Settings, delivery_id: uuid.UUID
) -> DeliveryStatus | None:
    """One attempt at a pending delivery whose time has come (others are left alone); returns
    the delivery's status after it, or None when there was nothing to do.

    Three steps, none holding a lock or a connection across the network: claim (committed),
    POST, record the result (only if the claim is still this worker's)."""
    from service.webhooks.tasks import deliver

    claim = await _claim(database, settings, delivery_id)
    if not isinstance(claim, _Claim):
        return claim
    started = time.monotonic()
    at = utcnow()
    status_code, error, reason = await _post(claim, settings)
    duration_ms = int((time.monotonic() - started) * 1000)
    if reason is not None:
        metrics.webhook_delivery_failed(reason)
        logger.info("webhook delivery %s failed: %s", delivery_id, error)

    async with database.session() as session, session.begin():
        delivery = (
            await session.execute(
                select(WebhookDelivery)
                .where(col(WebhookDelivery.id) == delivery_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if delivery is None:  # its subscription was deleted meanwhile
            return None
        session.add(
            WebhookAttempt(
                delivery_id=delivery_id,
                at=at,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
            )
        )
        if delivery.claim_id != claim.claim_id:
            # the lease ran out and the delivery was claimed again (or redelivered): the
            # attempt is logged, the delivery is the newer claim's to settle
            return delivery.status
        now = utcnow()
        delivery.claim_id = None
        if error is None:
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif claim.attempt >= settings.webhook_max_attempts or not claim.active:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + backoff(settings, claim.attempt)
            await defer(
                session,
                deliver,
                delivery_id=str(delivery.id),
                schedule_at=delivery.next_attempt_at,
            )
        return delivery.status


async def deliver_pending(database: Database, settings: Settings, *, limit: int = 100) -> int:
    """Attempt every pending delivery that is due (up to `limit`); returns how many were
    attempted."""
    async with database.session() as session:
        due = list(
            (
                await session.execute(
                    select(col(WebhookDelivery.id))
                    .where(
                        col(WebhookDelivery.status) == DeliveryStatus.PENDING,
                        col(WebhookDelivery.next_attempt_at) <= utcnow(),
                    )
                    .order_by(col(WebhookDelivery.next_attempt_at))
                    .limit(limit)
                )
            ).scalars()
        )
    done = 0
    for delivery_id in due:
        if await attempt_delivery(database, settings, delivery_id) is not None:
            done += 1
    return done
