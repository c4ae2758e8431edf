"""Use cases of webhook subscriptions: create, list, read, deactivate, rotate the secret (with
an overlap), read the delivery log, redeliver an event (same event id). An administrator
manages every subscription; a partner key with `webhooks:receive` manages those it created."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import webhooks as c
from service.audit import service as audit
from service.context import RequestContext, utcnow
from service.jobs import defer
from service.pagination import keyset, split_page
from service.persistence.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from service.problems import Conflict, InvalidInput, NotFound, issue
from service.settings import Settings
from service.webhooks import sealing, signing
from service.webhooks.delivery import UnsafeUrl, check_url_form

ENTITY = "webhook_subscription"


def _read(sub: WebhookSubscription) -> c.WebhookSubscriptionRead:
    return c.WebhookSubscriptionRead(
        id=sub.id,
        url=sub.url,
        event_types=[c.EventType(e) for e in sub.event_types],
        description=sub.description,
        active=sub.active,
        owner_api_key_id=sub.owner_api_key_id,
        created_at=sub.created_at,
        secret_rotated_at=sub.secret_rotated_at,
        previous_secret_expires_at=sub.previous_secret_expires_at,
    )


def _audit_view(sub: WebhookSubscription) -> dict[str, object]:
    """What the audit log keeps of a subscription: never its secrets."""
    return {
        "url": sub.url,
        "event_types": list(sub.event_types),
        "active": sub.active,
        "secret_rotated_at": sub.secret_rotated_at,
    }


async def _subscription(
    session: AsyncSession, ctx: RequestContext, sub_id: uuid.UUID, *, lock: bool = False
) -> WebhookSubscription:
    stmt = select(WebhookSubscription).where(col(WebhookSubscription.id) == sub_id)
    if lock:
        stmt = stmt.with_for_update()
    sub = (await session.execute(stmt)).scalar_one_or_none()
    if sub is None or not c.can_manage_subscription(ctx.actor, sub.owner_api_key_id).allowed:
        # one answer whether it does not exist or is someone else's
        ctx.require(c.can_manage_webhooks(ctx.actor))
        raise NotFound("no such webhook subscription")
    return sub


async def create_subscription(
    session: AsyncSession,
    ctx: RequestContext,
    data: c.WebhookSubscriptionCreate,
    settings: Settings,
) -> c.WebhookSecretRead:
    ctx.require(c.can_manage_webhooks(ctx.actor))
    try:
        check_url_form(data.url, settings)
    except UnsafeUrl as exc:
        raise InvalidInput(str(exc), [issue("body.url", str(exc))]) from exc
    if len(set(data.event_types)) != len(data.event_types):
        raise InvalidInput(
            "an event type is named twice", [issue("body.event_types", "named twice")]
        )
    secret = signing.new_secret()
    sub_id = uuid.uuid4()
    sub = WebhookSubscription(
        id=sub_id,
        url=data.url,
        event_types=[e.value for e in data.event_types],
        description=data.description,
        secret=sealing.seal(sealing.resolve_key(settings), sub_id, secret),
        owner_api_key_id=ctx.actor.id if ctx.actor.kind == "api_key" else None,
        created_by_user_id=ctx.actor.id if ctx.actor.kind == "user" else None,
        created_at=utcnow(),
    )
    session.add(sub)
    await session.flush()
    await audit.record(
        session, ctx, action="create", entity=ENTITY, entity_id=sub.id, after=_audit_view(sub)
    )
    return c.WebhookSecretRead(subscription=_read(sub), secret=secret)


async def list_subscriptions(
    session: AsyncSession, ctx: RequestContext
) -> list[c.WebhookSubscriptionRead]:
    ctx.require(c.can_manage_webhooks(ctx.actor))
    stmt = select(WebhookSubscription).order_by(
        col(WebhookSubscription.created_at), col(WebhookSubscription.id)
    )
    if ctx.actor.kind != "user":  # a partner key: its own
        stmt = stmt.where(col(WebhookSubscription.owner_api_key_id) == ctx.actor.id)
    return [_read(s) for s in (await session.execute(stmt)).scalars()]


async def get_subscription(
    session: AsyncSession, ctx: RequestContext, sub_id: uuid.UUID
) -> c.WebhookSubscriptionRead:
    return _read(await _subscription(session, ctx, sub_id))


async def deactivate_subscription(
    session: AsyncSession, ctx: RequestContext, sub_id: uuid.UUID
) -> c.WebhookSubscriptionRead:
    sub = await _subscription(session, ctx, sub_id, lock=True)
    before = _audit_view(sub)
    sub.active = False
    await session.flush()
    await audit.record(
        session,
        ctx,
        action="deactivate",
        entity=ENTITY,
        entity_id=sub.id,
        before=before,
        after=_audit_view(sub),
    )
    return _read(sub)


async def rotate_secret(
    session: AsyncSession,
    ctx: RequestContext,
    sub_id: uuid.UUID,
    data: c.WebhookSecretRotate,
    settings: Settings,
) -> c.WebhookSecretRead:
    """A new secret signs from now on; the current one keeps signing beside it for the overlap
    (both signatures sent), so the receiver can switch without losing an event. Both are
    stored sealed (service/webhooks/sealing.py)."""
    sub = await _subscription(session, ctx, sub_id, lock=True)
    key = sealing.resolve_key(settings)
    before = _audit_view(sub)
    now = utcnow()
    if data.overlap_hours > 0:
        current = sealing.unseal(key, sub.id, sub.secret)
        sub.previous_secret = sealing.seal(key, sub.id, current)
        sub.previous_secret_expires_at = now + timedelta(hours=data.overlap_hours)
    else:
        sub.previous_secret = None
        sub.previous_secret_expires_at = None
    secret = signing.new_secret()
    sub.secret = sealing.seal(key, sub.id, secret)
    sub.secret_rotated_at = now
    await session.flush()
    await audit.record(
        session,
        ctx,
        action="rotate_secret",
        entity=ENTITY,
        entity_id=sub.id,
        before=before,
        after=_audit_view(sub),
    )
    return c.WebhookSecretRead(subscription=_read(sub), secret=secret)


async def list_deliveries(
    session: AsyncSession,
    ctx: RequestContext,
    sub_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
) -> c.WebhookDeliveryPage:
    """The subscription's deliveries, newest first, each with all its attempts (two queries
    whatever the page's size)."""
    sub = await _subscription(session, ctx, sub_id)
    stmt = select(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == sub.id)
    stmt = keyset(
        stmt,
        col(WebhookDelivery.created_at),
        col(WebhookDelivery.id),
        cursor,
        limit,
        descending=True,
    )
    rows = list((await session.execute(stmt)).scalars())
    page, next_cursor = split_page(rows, limit, lambda d: (d.created_at, d.id))
    attempts: dict[uuid.UUID, list[c.WebhookAttemptRead]] = defaultdict(list)
    if page:
        for a in (
            await session.execute(
                select(WebhookAttempt)
                .where(col(WebhookAttempt.delivery_id).in_([d.id for d in page]))
                .order_by(col(WebhookAttempt.at), col(WebhookAttempt.id))
            )
        ).scalars():
            attempts[a.delivery_id].append(
                c.WebhookAttemptRead(
                    at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms
                )
            )
    return c.WebhookDeliveryPage(
        items=[
            c.WebhookDeliveryRead(
                id=d.id,
                subscription_id=d.subscription_id,
                event_id=d.event_id,
                event_type=c.EventType(d.event_type),
                status=d.status,
                attempts=attempts[d.id],
                next_attempt_at=d.next_attempt_at,
                delivered_at=d.delivered_at,
                created_at=d.created_at,
            )
            for d in page
        ],
        next_cursor=next_cursor,
    )


async def redeliver(
    session: AsyncSession, ctx: RequestContext, delivery_id: uuid.UUID
) -> c.WebhookDeliveryRead:
    """Send the delivery's event again (the same event id and body), whatever came of it
    before; its attempts start again from one."""
    from service.webhooks.tasks import deliver

    delivery = (
        await session.execute(
            select(WebhookDelivery).where(col(WebhookDelivery.id) == delivery_id).with_for_update()
        )
    ).scalar_one_or_none()
    if delivery is None:
        ctx.require(c.can_manage_webhooks(ctx.actor))
        raise NotFound("no such webhook delivery")
    sub = await _subscription(session, ctx, delivery.subscription_id)
    if not sub.active:
        raise Conflict("the subscription is deactivated")
    now = utcnow()
    if (
        delivery.claim_id is not None
        and delivery.next_attempt_at is not None
        and delivery.next_attempt_at > now
    ):
        # never two POSTs of one event at once: wait for the attempt under way to end
        raise Conflict("the event is being delivered now; try again when the attempt has ended")
    delivery.claim_id = None
    delivery.status = c.DeliveryStatus.PENDING
    delivery.delivered_at = None
    delivery.attempt_count = 0
    delivery.next_attempt_at = now
    await session.flush()
    await defer(session, deliver, delivery_id=str(delivery.id))
    await audit.record(
        session,
        ctx,
        action="redeliver",
        entity="webhook_delivery",
        entity_id=delivery.id,
        after={"event_id": str(delivery.event_id)},
    )
    return c.WebhookDeliveryRead(
        id=delivery.id,
        subscription_id=delivery.subscription_id,
        event_id=delivery.event_id,
        event_type=c.EventType(delivery.event_type),
        status=delivery.status,
        attempts=[],
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=None,
        created_at=delivery.created_at,
    )
