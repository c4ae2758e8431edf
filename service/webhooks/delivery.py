"""Delivering a webhook: one signed POST, its attempt logged; on failure the next attempt is
queued after an exponential back-off until the attempts run out.

`attempt_delivery` does one delivery (the queue's `webhooks.deliver` task calls it);
`deliver_pending` does every delivery that is due (a safety net: after an outage of the queue,
or from an operator's shell), so the work never depends on a job having survived."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
import uuid
from datetime import datetime, timedelta

import httpx
import msgspec
from sqlalchemy import select
from sqlmodel import col

from contracts.webhooks import DeliveryStatus
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
from service.webhooks import signing

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


def backoff(settings: Settings, failed_attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: base × 2^(n-1), at most 6 hours."""
    seconds = settings.webhook_backoff_seconds * 2 ** max(0, failed_attempts - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


def signing_secrets(sub: WebhookSubscription, now: datetime) -> list[str]:
    keys = [sub.secret]
    if (
        sub.previous_secret is not None
        and sub.previous_secret_expires_at is not None
        and sub.previous_secret_expires_at > now
    ):
        keys.append(sub.previous_secret)
    return keys


_ENCODER = msgspec.json.Encoder()


async def attempt_delivery(
    database: Database, settings: Settings, delivery_id: uuid.UUID
) -> DeliveryStatus | None:
    """One attempt at a pending delivery whose time has come (others are left alone); returns
    the delivery's status after it, or None when there was nothing to do."""
    async with database.session() as session, session.begin():
        row = (
            await session.execute(
                select(WebhookDelivery, WebhookSubscription, OutboxMessage)
                .join(
                    WebhookSubscription,
                    col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
                )
                .join(OutboxMessage, col(OutboxMessage.id) == col(WebhookDelivery.event_id))
                .where(col(WebhookDelivery.id) == delivery_id)
                .with_for_update(of=WebhookDelivery, skip_locked=True)
            )
        ).one_or_none()
        if row is None:
            return None
        delivery, sub, event = row
        now = utcnow()
        if delivery.status != DeliveryStatus.PENDING or (
            delivery.next_attempt_at is not None and delivery.next_attempt_at > now
        ):
            return None

        body = _ENCODER.encode(event.payload)
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        if not sub.active:
            error = "the subscription was deactivated"
        else:
            try:
                await check_url_target(sub.url, settings)
                async with httpx.AsyncClient(
                    timeout=settings.webhook_timeout_seconds, follow_redirects=False
                ) as client:
                    response = await client.post(
                        sub.url,
                        content=body,
                        headers={
                            **signing.headers(
                                signing_secrets(sub, now),
                                str(event.id),
                                int(now.timestamp()),
                                body,
                            ),
                            "user-agent": USER_AGENT,
                        },
                    )
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"the receiver answered {status_code}"
            except UnsafeUrl as exc:
                error = f"refused: {exc}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:1000] or type(exc).__name__

        session.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                at=now,
                status_code=status_code,
                error=error,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
        )
        delivery.attempt_count += 1
        if error is None:
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif delivery.attempt_count >= settings.webhook_max_attempts or not sub.active:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + backoff(settings, delivery.attempt_count)
            from service.webhooks.tasks import deliver

            await defer(
                session,
                deliver,
                delivery_id=str(delivery.id),
                schedule_at=delivery.next_attempt_at,
            )
        if error is not None:
            logger.info("webhook delivery %s failed: %s", delivery.id, error)
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
