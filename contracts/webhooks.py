"""Webhooks: partner systems subscribe to events and receive them signed in the Standard Webhooks
style (headers `webhook-id`, `webhook-timestamp`, `webhook-signature`: `v1,` followed by the
base64 HMAC-SHA256, keyed with the secret's bytes, of `{id}.{timestamp}.{body}`). During a
secret rotation's overlap two signatures are sent, separated by a space."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.common import Cursor, Request
from contracts.enums import ApiScope, Role
from contracts.permissions import Actor, Decision, allow, deny


class EventType(StrEnum):
    CALL_PUBLISHED = "call.published"
    PROPOSAL_SUBMITTED = "proposal.submitted"
    SELECTION_APPROVED = "selection.approved"
    GRANT_CREATED = "grant.created"
    TRANCHE_DUE = "tranche.due"
    TRANCHE_DISBURSED = "tranche.disbursed"
    REPORT_ACCEPTED = "report.accepted"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Waiting for its first attempt or for the next retry (`next_attempt_at`)."""
    SUCCEEDED = "succeeded"
    """The receiver answered 2xx."""
    FAILED = "failed"
    """Every attempt failed; a manual redelivery starts again."""


WebhookUrl = Annotated[str, Meta(min_length=8, max_length=2000, pattern=r"^https?://[^\s]+$")]
OverlapHours = Annotated[int, Meta(ge=0, le=168)]


class WebhookEvent(msgspec.Struct, kw_only=True):
    """The body POSTed to a subscriber. `webhook-id` = `id`: the same on every retry and on a
    manual redelivery (deduplicate on it)."""

    id: uuid.UUID
    type: EventType
    timestamp: datetime
    """When the change happened (UTC)."""
    data: dict[str, str]
    """Ids (UUIDs as strings) and codes of what changed, e.g. `grant_id`, `window_id`; read the
    rest through the API with the partner's key."""


class WebhookSubscriptionCreate(Request):
    url: WebhookUrl
    """Where events are POSTed: `https://` (plain `http://` and private addresses only when the
    server allows them, e.g. in tests)."""
    event_types: Annotated[list[EventType], Meta(min_length=1, max_length=20)]
    description: Annotated[str, Meta(max_length=500)] = ""


class WebhookSubscriptionRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    url: str
    event_types: list[EventType]
    description: str
    active: bool
    owner_api_key_id: uuid.UUID | None
    """The partner key that created it (it alone, and administrators, manage it); none when an
    administrator created it."""
    created_at: datetime
    secret_rotated_at: datetime | None
    previous_secret_expires_at: datetime | None
    """Until then the previous secret signs too (a second `v1,` signature)."""


class WebhookSecretRead(msgspec.Struct, kw_only=True):
    """The signing secret, shown once: `whsec_` followed by base64 of 32 random bytes (the HMAC
    key is the decoded bytes), as Standard Webhooks libraries expect."""

    subscription: WebhookSubscriptionRead
    secret: str


class WebhookSecretRotate(Request):
    overlap_hours: OverlapHours = 24
    """How long the previous secret keeps signing beside the new one (0: stop at once)."""


class WebhookAttemptRead(msgspec.Struct, kw_only=True):
    at: datetime
    status_code: int | None
    """The receiver's HTTP status; none when no answer came (refused, timeout)."""
    error: str | None
    duration_ms: int


class WebhookDeliveryRead(msgspec.Struct, kw_only=True):
    """One event to one subscription, and every attempt at it."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: EventType
    status: DeliveryStatus
    attempts: list[WebhookAttemptRead]
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class WebhookDeliveryPage(msgspec.Struct, kw_only=True):
    items: list[WebhookDeliveryRead]
    next_cursor: Cursor | None = None


# --- who may ------------------------------------------------------------------------------


def can_manage_webhooks(actor: Actor) -> Decision:
    if actor.has_role(Role.ADMIN):
        return allow("administrators manage every subscription")
    if actor.kind == "api_key" and ApiScope.RECEIVE_WEBHOOKS in actor.scopes:
        return allow("a partner key with webhooks:receive manages its own subscriptions")
    return deny("only administrators and partner keys with webhooks:receive manage webhooks")


def can_manage_subscription(actor: Actor, owner_api_key_id: uuid.UUID | None) -> Decision:
    if actor.has_role(Role.ADMIN):
        return allow("administrators manage every subscription")
    if (
        actor.kind == "api_key"
        and ApiScope.RECEIVE_WEBHOOKS in actor.scopes
        and owner_api_key_id is not None
        and actor.id == owner_api_key_id
    ):
        return allow("the partner key that created the subscription")
    return deny("a subscription is managed by the key that created it or an administrator")
