"""HTTP routes of webhook subscriptions and their delivery log."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody

from contracts import webhooks as c
from service.dependencies import AppSettings, Ctx, Session
from service.openapi import USER_OR_KEY, problems
from service.pagination import CursorQ, LimitQ
from service.webhooks import service


class WebhookSubscriptionController(Controller):
    path = "/webhooks/subscriptions"
    tags = ["webhooks"]
    security = USER_OR_KEY

    @post("/", operation_id="CreateWebhookSubscription", responses=problems(401, 403))
    async def create_subscription(
        self,
        data: JSONBody[c.WebhookSubscriptionCreate],
        session: Session,
        ctx: Ctx,
        settings: AppSettings,
    ) -> c.WebhookSecretRead:
        """Subscribe a URL to event types. The answer shows the signing secret, once.
        Administrators, and partner keys with `webhooks:receive` (for themselves)."""
        return await service.create_subscription(session, ctx, data, settings)

    @get("/", operation_id="ListWebhookSubscriptions", responses=problems(401, 403))
    async def list_subscriptions(
        self, session: Session, ctx: Ctx
    ) -> list[c.WebhookSubscriptionRead]:
        """Every subscription (an administrator) or the calling key's own."""
        return await service.list_subscriptions(session, ctx)

    @get(
        "/{subscription_id:uuid}",
        operation_id="GetWebhookSubscription",
        responses=problems(401, 403, 404),
    )
    async def get_subscription(
        self, subscription_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.WebhookSubscriptionRead:
        return await service.get_subscription(session, ctx, subscription_id)

    @delete(
        "/{subscription_id:uuid}",
        operation_id="DeleteWebhookSubscription",
        responses=problems(401, 403, 404),
        status_code=200,
    )
    async def deactivate_subscription(
        self, subscription_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.WebhookSubscriptionRead:
        """Deactivate: no more events are sent to it (pending deliveries fail); it and its
        delivery log stay readable."""
        return await service.deactivate_subscription(session, ctx, subscription_id)

    @post(
        "/{subscription_id:uuid}/rotate-secret",
        operation_id="CreateWebhookSecret",
        responses=problems(401, 403, 404),
        status_code=200,
    )
    async def rotate_secret(
        self,
        subscription_id: FromPath[uuid.UUID],
        data: JSONBody[c.WebhookSecretRotate],
        session: Session,
        ctx: Ctx,
        settings: AppSettings,
    ) -> c.WebhookSecretRead:
        """A new signing secret (shown once); the previous one keeps signing beside it for
        `overlap_hours` (two `v1,` signatures in `webhook-signature`)."""
        return await service.rotate_secret(session, ctx, subscription_id, data, settings)

    @get(
        "/{subscription_id:uuid}/deliveries",
        operation_id="ListWebhookDeliveries",
        responses=problems(401, 403, 404),
    )
    async def list_deliveries(
        self,
        subscription_id: FromPath[uuid.UUID],
        session: Session,
        ctx: Ctx,
        cursor: CursorQ = None,
        limit: LimitQ = 50,
    ) -> c.WebhookDeliveryPage:
        """The delivery log, newest first: each event sent, its status and every attempt (the
        receiver's status code or the error, the time taken)."""
        return await service.list_deliveries(
            session, ctx, subscription_id, cursor=cursor, limit=limit
        )


class WebhookDeliveryController(Controller):
    path = "/webhooks/deliveries"
    tags = ["webhooks"]
    security = USER_OR_KEY

    @post(
        "/{delivery_id:uuid}/redeliver",
        operation_id="CreateWebhookRedelivery",
        responses=problems(401, 403, 404, 409),
        status_code=202,
    )
    async def redeliver(
        self, delivery_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.WebhookDeliveryRead:
        """Send the event again, with the same event id (`webhook-id`) and body."""
        return await service.redeliver(session, ctx, delivery_id)
