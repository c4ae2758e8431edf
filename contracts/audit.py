"""The audit log, read-only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec


class AuditEventRead(msgspec.Struct, kw_only=True):
    seq: int
    at: datetime
    actor_id: uuid.UUID | None
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    request_id: str | None
    prev_hash: str
    hash: str


class AuditEventPage(msgspec.Struct, kw_only=True):
    items: list[AuditEventRead]
    next_cursor: str | None = None


class AuditVerificationRead(msgspec.Struct, kw_only=True):
    ok: bool
    events_checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
