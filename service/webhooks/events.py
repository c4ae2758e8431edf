"""`emit`: an event written to the outbox in the caller's transaction, with one delivery per
matching active subscription, each queued as a job in the same transaction. So an event exists
(and is delivered) exactly when the change that caused it commits: a rolled-back change leaves
neither the event nor a job."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.webhooks import DeliveryStatus, EventType
from service.context import utcnow
from service.jobs import defer_many
from service.notifications.service import TranchePaid, on_event
from service.persistence.models import OutboxMessage, WebhookDelivery, WebhookSubscription

TOPIC_PREFIX = "webhook."

_OUTBOX: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]  # SQLModel tables have one
_DELIVERY: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]  # (the same)
_EVENT = (
    sa.insert(_OUTBOX)
    .values(
        id=sa.bindparam("event_id", type_=_OUTBOX.c.id.type),
        topic=sa.bindparam("topic", type_=_OUTBOX.c.topic.type),
        payload=sa.bindparam("payload", type_=_OUTBOX.c.payload.type),
        created_at=sa.bindparam("now", type_=_OUTBOX.c.created_at.type),
        available_at=sa.bindparam("now", type_=_OUTBOX.c.available_at.type),
        attempts=0,
        # handed over to its deliveries (below) in this same transaction
        delivered_at=sa.bindparam("now", type_=_OUTBOX.c.delivered_at.type),
    )
    .returning(_OUTBOX.c.id)
    .cte("event")
)
_DELIVERIES = (
    sa.insert(_DELIVERY)
    .from_select(
        [
            "id",
            "subscription_id",
            "event_id",
            "event_type",
            "status",
            "attempt_count",
            "next_attempt_at",
        ],
        sa.select(
            sa.func.gen_random_uuid(),
            col(WebhookSubscription.id),
            sa.bindparam("event_id", type_=_OUTBOX.c.id.type),
            sa.bindparam("event_type", type_=_DELIVERY.c.event_type.type),
            sa.literal(DeliveryStatus.PENDING, _DELIVERY.c.status.type),
            sa.literal(0),
            sa.bindparam("now", type_=_DELIVERY.c.next_attempt_at.type),
        ).where(
            col(WebhookSubscription.active),
            col(WebhookSubscription.event_types).contains(
                sa.func.jsonb_build_array(sa.bindparam("event_type_text", type_=sa.Text()))
            ),
        ),
    )
    .returning(_DELIVERY.c.id)
    .cte("deliveries")
)
_EMIT = sa.select(_DELIVERIES.c.id).add_cte(_EVENT)
"""The event's outbox row and one delivery per active subscription to its type, in one statement
(built once); returns the deliveries' ids."""


async def emit(
    session: AsyncSession,
    event_type: EventType,
    payload: Mapping[str, object],
    *,
    known: TranchePaid | None = None,
) -> uuid.UUID:
    """Record `event_type` with `payload` (ids and codes; values written as strings) and queue
    its deliveries; returns the event id (the `webhook-id` every delivery of it carries). Two
    statements (one when no subscription wants it) and the e-mails' (`on_event`; `known`: the
    rows the e-mails are written from when the caller has them)."""
    from service.webhooks.tasks import deliver  # the task module imports this one's callers

    now = utcnow()
    event_id = uuid.uuid4()
    body: dict[str, Any] = {
        "id": str(event_id),
        "type": event_type.value,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {k: str(v) for k, v in payload.items()},
    }
    deliveries = (
        await session.execute(
            _EMIT,
            {
                "event_id": event_id,
                "topic": TOPIC_PREFIX + event_type.value,
                "payload": body,
                "now": now,
                "event_type": event_type.value,
                "event_type_text": event_type.value,
            },
        )
    ).scalars()
    await defer_many(session, [(deliver, {"delivery_id": str(d)}) for d in deliveries])
    # the e-mails it brings, same transaction
    await on_event(session, event_type, payload, known=known)
    return event_id
