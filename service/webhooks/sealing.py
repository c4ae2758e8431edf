"""Subscription secrets sealed at rest: AES-256-GCM under `GRANTS_WEBHOOK_SECRET_KEY` (64 hex
digits), the subscription's id as associated data (a sealed secret copied onto another row does
not open). The key is required in production; elsewhere one is made once and kept in
`data_dir/webhook-secret.key` (the same for every worker on this host). docs/deploy.md says how
the key is kept and what losing it means.

A value written before secrets were sealed (plain `whsec_…`) still opens, and is sealed the next
time the subscription's secret is written (a rotation)."""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from service.settings import Settings
from service.webhooks.signing import SECRET_PREFIX

SEALED = "v1:"
_keys: dict[Path, bytes] = {}


def resolve_key(settings: Settings) -> bytes:
    if settings.webhook_secret_key:
        return bytes.fromhex(settings.webhook_secret_key)
    if settings.environment == "production":
        raise RuntimeError("production needs GRANTS_WEBHOOK_SECRET_KEY (64 hex digits)")
    key_file = (settings.data_dir / "webhook-secret.key").resolve()
    if key_file not in _keys:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            with key_file.open("x") as fh:  # several workers may race: one writes
                fh.write(secrets.token_hex(32))
            key_file.chmod(0o600)
        except FileExistsError:
            pass
        _keys[key_file] = bytes.fromhex(key_file.read_text().strip())
    return _keys[key_file]


def seal(key: bytes, subscription_id: uuid.UUID, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), subscription_id.bytes)
    return SEALED + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, subscription_id: uuid.UUID, stored: str) -> str:
    if stored.startswith(SECRET_PREFIX):  # written before sealing
        return stored
    raw = base64.urlsafe_b64decode(stored.removeprefix(SEALED))
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], subscription_id.bytes).decode()
    except InvalidTag as exc:
        raise RuntimeError(
            "a webhook secret cannot be decrypted: is GRANTS_WEBHOOK_SECRET_KEY right?"
        ) from exc
