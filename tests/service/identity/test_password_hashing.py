"""Password hashing and verification (argon2, ~50 ms of CPU each) run off the event loop: the
server answers other requests while a sign-in or a registration hashes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import Any

import pytest
from argon2 import PasswordHasher

from contracts.client import GrantsClient
from service.identity import secrets
from tests.conftest import TEST_PASSWORD, MakeUser, Person, Territory
from tests.factories import registration

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)


class WaitingHasher(PasswordHasher):
    """argon2's own hasher, which before hashing or verifying waits (in whatever thread runs
    it) until the test has had a health check answered, at most 5 s."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.started = asyncio.Event()
        self.answered = threading.Event()
        self.waited: list[bool] = []

    def _wait(self) -> None:
        self.loop.call_soon_threadsafe(self.started.set)
        self.waited.append(self.answered.wait(timeout=5))

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self._wait()
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self._wait()
        return super().verify(hash, password)


async def _answered_while(hasher: WaitingHasher, client: GrantsClient, call: Awaitable[Any]) -> Any:
    """Start `call`; once it hashes, ask for a health check; then let the hashing go on."""
    task = asyncio.ensure_future(call)
    await asyncio.wait(
        [task, asyncio.ensure_future(hasher.started.wait())],
        timeout=10,
        return_when=asyncio.FIRST_COMPLETED,
    )
    health = await client.get_liveness()  # asked while the hash is being computed
    assert health.status == "ok"
    hasher.answered.set()
    return await task


async def test_a_health_check_is_answered_while_a_sign_in_verifies_its_password(
    make_user: MakeUser, client: GrantsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    person: Person = await make_user()
    hasher = WaitingHasher(asyncio.get_running_loop())
    monkeypatch.setattr(secrets, "_hasher", hasher)

    token = await _answered_while(
        hasher, client, client.create_token(person.user.email, TEST_PASSWORD)
    )

    assert hasher.waited == [True], "the health check was not answered while argon2 verified"
    assert token.access_token.startswith("pcct_")


async def test_a_health_check_is_answered_while_a_registration_hashes_its_password(
    territory: Territory, client: GrantsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = WaitingHasher(asyncio.get_running_loop())
    monkeypatch.setattr(secrets, "_hasher", hasher)

    registered = await _answered_while(
        hasher, client, client.create_registration(registration(territory, "new@test.example"))
    )

    assert hasher.waited == [True], "the health check was not answered while argon2 hashed"
    assert registered.user.email == "new@test.example"
