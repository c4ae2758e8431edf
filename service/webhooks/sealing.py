"""Subscription secrets sealed at rest: AES-256-GCM under `GRANTS_WEBHOOK_SECRET_KEY` (64 hex
digits), the subscription's id as associated data (a sealed secret copied onto another row does
not open). The key is required in production; elsewhere one is made once and kept in
`data_dir/webhook-secret.key` (the same for every worker on this host). docs/deploy.md says how
the key is kept and what losing it means.

A value written before secrets were sealed (plain `whsec_…`) still opens, and is sealed the next
time the subscription's secret is written (a rotation)."""

from __future__ import annotations

import uuid

from service import sealing
from service.settings import Settings
from service.webhooks.signing import SECRET_PREFIX

SEALED = sealing.SEALED


def resolve_key(settings: Settings) -> bytes:
    return sealing.host_key(
        settings.webhook_secret_key,
        settings,
        file_name="webhook-secret.key",
        variable="GRANTS_WEBHOOK_SECRET_KEY",
    )


def seal(key: bytes, subscription_id: uuid.UUID, secret: str) -> str:
    return sealing.seal(key, subscription_id, secret)


def unseal(key: bytes, subscription_id: uuid.UUID, stored: str) -> str:
    if stored.startswith(SECRET_PREFIX):  # written before sealing
        return stored
    return sealing.unseal(
        key,
        subscription_id,
        stored,
        failure="a webhook secret cannot be decrypted: is GRANTS_WEBHOOK_SECRET_KEY right?",
    )
