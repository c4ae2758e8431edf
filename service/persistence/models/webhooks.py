"""Webhook subscriptions, their deliveries (one per event and subscription) and every attempt;
people's e-mail notification preferences. The events and the e-mails themselves are rows of
`outbox` (service/persistence/models/awards.py), written in the transaction of the change."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from contracts.webhooks import DeliveryStatus
from service.persistence.base import (
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    jsonb_field,
    text_field,
    timestamp_field,
)


class WebhookSubscription(SQLModel, table=True):
    """Where a partner wants which events. `secret` signs; during a rotation's overlap
    `previous_secret` signs too, until `previous_secret_expires_at`. Both are stored sealed
    (AES-256-GCM under `GRANTS_WEBHOOK_SECRET_KEY`, service/webhooks/sealing.py), never plain."""

    __tablename__ = "webhook_subscription"
    __table_args__ = (
        sa.CheckConstraint(
            "(previous_secret IS NULL) = (previous_secret_expires_at IS NULL)",
            name="previous_secret_pair",
        ),
        sa.CheckConstraint("jsonb_typeof(event_types) = 'array'", name="event_types_is_array"),
    )

    id: uuid.UUID = id_field()
    url: str = text_field(max_length=2000)
    event_types: list[str] = jsonb_field(default_sql="'[]'::jsonb")
    description: str = Field(
        default="", sa_column=sa.Column(sa.Text(), nullable=False, server_default="")
    )
    secret: str = text_field(max_length=200)
    previous_secret: str | None = text_field(nullable=True, max_length=200)
    previous_secret_expires_at: datetime | None = timestamp_field(nullable=True)
    secret_rotated_at: datetime | None = timestamp_field(nullable=True)
    active: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default="true")
    )
    owner_api_key_id: uuid.UUID | None = fk_field("api_key.id", nullable=True, ondelete="CASCADE")
    created_by_user_id: uuid.UUID | None = fk_field("app_user.id", nullable=True)
    created_at: datetime = created_at_field()


class WebhookDelivery(SQLModel, table=True):
    """One event (an outbox row) to one subscription; retried with back-off until it succeeds
    or its attempts run out; a manual redelivery sets it pending again, same event id."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_id"),
        sa.Index("ix_webhook_delivery_subscription_created", "subscription_id", "created_at", "id"),
        sa.Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.CheckConstraint(
            "(status = 'succeeded') = (delivered_at IS NOT NULL)", name="delivered_iff_succeeded"
        ),
    )

    id: uuid.UUID = id_field()
    subscription_id: uuid.UUID = fk_field(
        "webhook_subscription.id", ondelete="CASCADE", index=False
    )
    event_id: uuid.UUID = fk_field("outbox.id")
    event_type: str = text_field(max_length=120)
    status: DeliveryStatus = enum_field(
        DeliveryStatus, "webhook_delivery_status", default=DeliveryStatus.PENDING
    )
    attempt_count: int = Field(
        default=0, sa_column=sa.Column(sa.Integer(), nullable=False, server_default="0")
    )
    next_attempt_at: datetime | None = timestamp_field(nullable=True)
    """When the next attempt is due; while an attempt is under way, the end of its claim's
    lease (a worker that died mid-POST leaves it due again then)."""
    claim_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid(), nullable=True))
    """The attempt under way (set by the claim, cleared when its result is recorded): a result
    is recorded only by the worker whose claim it still is."""
    delivered_at: datetime | None = timestamp_field(nullable=True)
    created_at: datetime = created_at_field()


class WebhookAttempt(SQLModel, table=True):
    """One POST of a delivery and what came of it (the subscriber's delivery log)."""

    __tablename__ = "webhook_attempt"

    id: uuid.UUID = id_field()
    delivery_id: uuid.UUID = fk_field("webhook_delivery.id", ondelete="CASCADE")
    at: datetime = created_at_field()
    status_code: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))
    error: str | None = text_field(nullable=True, max_length=1000)
    duration_ms: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))


class NotificationPreference(SQLModel, table=True):
    """A person's choice for one kind of e-mail; no row means the kind's default (on)."""

    __tablename__ = "notification_preference"

    user_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
        )
    )
    kind: str = Field(sa_column=sa.Column(sa.String(60), primary_key=True))
    enabled: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    updated_at: datetime = created_at_field()


__all__ = ["NotificationPreference", "WebhookAttempt", "WebhookDelivery", "WebhookSubscription"]
