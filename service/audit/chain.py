"""The hash chain: canonical JSON of an event and SHA-256 over the previous hash and it."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_event(
    *,
    at: datetime,
    actor_id: uuid.UUID | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: Any,
    after: Any,
    reason: str | None,
    request_id: str | None,
) -> str:
    """Sorted keys, no whitespace, UTF-8 text, UTC time with microseconds: the same bytes for the
    same event whether computed at insert time or read back from the database."""
    body = {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": str(actor_id) if actor_id else None,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "before": before,
        "after": after,
        "reason": reason,
        "request_id": request_id,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical).encode("utf-8")).hexdigest()
