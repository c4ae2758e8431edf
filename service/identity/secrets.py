"""Passwords (argon2id), opaque bearer tokens and API keys (only hashes are stored)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from anyio import CapacityLimiter, to_thread
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


# --- off the event loop: what requests call --------------------------------------------------
# An argon2 hash or verification is ~50 ms of CPU and 64 MiB of memory: on the event loop, 20
# concurrent sign-ins held every other request for up to a second. In worker threads (argon2's C
# code releases the GIL), at most as many at once as there are CPUs, so a burst of sign-ins
# queues instead of taking all memory; the event loop stays free.

_PASSWORD_THREADS = max(2, os.cpu_count() or 2)
_limiter: CapacityLimiter | None = None


def _password_limiter() -> CapacityLimiter:
    global _limiter
    if _limiter is None:  # created in the event loop that first needs it
        _limiter = CapacityLimiter(_PASSWORD_THREADS)
    return _limiter


async def hash_password_off_loop(password: str) -> str:
    """`hash_password` in a worker thread: for request handlers."""
    return await to_thread.run_sync(hash_password, password, limiter=_password_limiter())


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    """`verify_password` in a worker thread: for request handlers."""
    return await to_thread.run_sync(
        verify_password, password_hash, password, limiter=_password_limiter()
    )


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
