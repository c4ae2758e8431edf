"""Passwords (argon2id), opaque bearer tokens and API keys (only hashes are stored)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile.
_hasher = PasswordHasher()
# A hash of a random password, verified against when the e-mail is unknown, so that a wrong
# e-mail and a wrong password take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

TOKEN_PREFIX = "pcct_"  # noqa: S105  (a public prefix that marks tokens, not a secret)
API_KEY_PREFIX = "pcck_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A bearer token (256 random bits) and the hash that is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, sha256_hex(token)


def new_api_key() -> tuple[str, str, str]:
    """`pcck_<prefix>_<secret>`: the key shown once, its lookup prefix, and the stored hash."""
    prefix = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, sha256_hex(key)


def parse_api_key(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    rest = key[len(API_KEY_PREFIX) :]
    prefix, sep, secret = rest.partition("_")
    if not sep or len(prefix) != 12 or not secret:
        return None
    return prefix


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
