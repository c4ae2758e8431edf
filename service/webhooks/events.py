"""`emit`: an event written to the outbox in the caller's transaction, with one delivery per
matching active subscription, each queued as a job in the same transaction. So an event exists
(and is delivered) exactly when the change that caused it commits: a rolled-back change leaves
neither the event nor a job."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.webhooks import EventType
from service.context import utcnow
from service.jobs import defer
from service.notifications.service import on_event
from service.persistence.models import OutboxMessage, WebhookDelivery, WebhookSubscription

TOPIC_PREFIX = "webhook."


async def emit(
    session: AsyncSession, event_type: EventType, payload: Mapping[str, object]
) -> uuid.UUID:
    """Record `event_type` with `payload` (ids and codes; values written as strings) and queue
    its deliveries; returns the event id (the `webhook-id` every delivery of it carries)."""
    from service.webhooks.tasks import deliver  # the task module imports this one's callers

    now = utcnow()
    event_id = uuid.uuid4()
    body = {
        "id": str(event_id),
        "type": event_type.value,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {k: str(v) for k, v in payload.items()},
    }
    session.add(
        OutboxMessage(
            id=event_id,
            topic=TOPIC_PREFIX + event_type.value,
            payload=body,
            created_at=now,
            available_at=now,
            # handed over to its deliveries (below) in this same transaction
            delivered_at=now,
        )
    )
    subscriptions = (
        await session.execute(
            select(col(WebhookSubscription.id)).where(
                col(WebhookSubscription.active),
                col(WebhookSubscription.event_types).contains([event_type.value]),
            )
        )
    ).scalars()
    deliveries = [
        WebhookDelivery(
            subscription_id=sub_id,
            event_id=event_id,
            event_type=event_type.value,
            next_attempt_at=now,
        )
        for sub_id in subscriptions
    ]
    session.add_all(deliveries)
    await session.flush()
    for d in deliveries:
        await defer(session, deliver, delivery_id=str(d.id))
    await on_event(session, event_type, payload)  # the e-mails it brings, same transaction
    return event_id
