"""The append-only, hash-chained audit log."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.persistence.base import jsonb_field, text_field, timestamp_field


class AuditEvent(SQLModel, table=True):
    """One state change. Never updated or deleted (a trigger refuses it); each row's `hash` is
    SHA-256 over the previous row's hash and this row's canonical JSON."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.CheckConstraint("hash ~ '^[0-9a-f]{64}$'", name="hash_hex"),
        sa.CheckConstraint("prev_hash ~ '^[0-9a-f]{64}$'", name="prev_hash_hex"),
        sa.Index("ix_audit_event_entity_entity_id", "entity", "entity_id"),
    )

    seq: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger(), sa.Identity(always=True), primary_key=True),
    )
    at: datetime = timestamp_field()
    actor_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid(), nullable=True, index=True)
    )
    actor: str = text_field(max_length=120)
    action: str = text_field(max_length=80)
    entity: str = text_field(max_length=60)
    entity_id: str = text_field(max_length=80)
    before: dict[str, Any] | None = jsonb_field(nullable=True, default_sql=None)
    after: dict[str, Any] | None = jsonb_field(nullable=True, default_sql=None)
    reason: str | None = text_field(nullable=True)
    request_id: str | None = text_field(nullable=True, max_length=80)
    prev_hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False))
    hash: str = Field(sa_column=sa.Column(sa.CHAR(64), nullable=False, unique=True))
