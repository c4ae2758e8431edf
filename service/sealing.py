"""Secrets sealed at rest: AES-256-GCM under a key of 64 hex digits, the owner's id (a user's, a
webhook subscription's) as associated data, so that a sealed value copied onto another row does
not open. Stored as ``v1:`` + base64(nonce + ciphertext).

The key comes from a setting, required in production; elsewhere one is made once per host and
kept in a file of the data folder (mode 600; the same for every worker of this host)."""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from service.settings import Settings

SEALED = "v1:"
_keys: dict[Path, bytes] = {}


def host_key(configured: str | None, settings: Settings, *, file_name: str, variable: str) -> bytes:
    """The key: `configured` (the setting's 64 hex digits); without it, production refuses to
    start the operation, and elsewhere the key in `data_dir/<file_name>`, made once."""
    if configured:
        return bytes.fromhex(configured)
    if settings.environment == "production":
        raise RuntimeError(f"production needs {variable} (64 hex digits)")
    key_file = (settings.data_dir / file_name).resolve()
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


def seal(key: bytes, owner_id: uuid.UUID, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), owner_id.bytes)
    return SEALED + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, owner_id: uuid.UUID, stored: str, *, failure: str) -> str:
    """The secret; RuntimeError(`failure`) when it does not open (another key, another owner)."""
    raw = base64.urlsafe_b64decode(stored.removeprefix(SEALED))
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], owner_id.bytes).decode()
    except InvalidTag as exc:
        raise RuntimeError(failure) from exc
