"""No pre-ping on checkout (issue 16): a pooled connection the server terminated costs no request.

The first statement on it fails as a disconnect; the authentication middleware, whose statement
is the first of every authenticated request, starts again on a fresh connection."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from contracts.enums import Role
from service.app import create_app
from service.context import utcnow
from service.identity.secrets import new_token
from service.persistence.database import Database
from service.persistence.models import AppUser, AuthToken, UserRole
from tests.conftest import TEST_SETTINGS, Server, hashed_test_password

_TERMINATE_OTHERS = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend'"
)


async def test_a_connection_terminated_by_the_server_costs_no_request(
    fresh_db: str, server: Server
) -> None:
    database = Database.from_url(fresh_db, pool_size=1)
    assert database.engine is not None
    token, token_hash = new_token()
    async with database.session() as session:
        user = AppUser(
            email="ping@test.example", full_name="P", password_hash=hashed_test_password()
        )
        session.add(user)
        await session.flush()
        session.add(UserRole(user_id=user.id, role=Role.AUDITOR))
        session.add(
            AuthToken(
                user_id=user.id, token_hash=token_hash, expires_at=utcnow() + timedelta(hours=1)
            )
        )
        await session.commit()
    app: Any = create_app(TEST_SETTINGS, database=database)
    headers = {"authorization": f"Bearer {token}"}
    admin = Database.from_url(fresh_db, pool_size=1)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/"
        ) as client:
            first = await client.get("users/me", headers=headers)
            async with admin.session() as session:
                terminated = (await session.execute(_TERMINATE_OTHERS)).scalar_one()
            after = await client.get("users/me", headers=headers)
            again = await client.get("users/me", headers=headers)
        assert (first.status_code, terminated, after.status_code, again.status_code) == (
            200,
            1,
            200,
            200,
        )
        assert after.json()["id"] == str(user.id)
    finally:
        await admin.dispose()
        await database.dispose()


async def test_a_rate_limit_claim_on_a_terminated_connection_is_made_again(
    fresh_db: str, server: Server
) -> None:
    """The claims go to asyncpg directly (service/identity/ratelimit.py): a dropped connection
    is taken out of the pool and the claim made on a fresh one."""
    database = Database.from_url(fresh_db, pool_size=1)
    settings = TEST_SETTINGS.model_copy(update={"rate_limit_ip": 100, "rate_limit_lease": 1})
    app: Any = create_app(settings, database=database)
    admin = Database.from_url(fresh_db, pool_size=1)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/"
        ) as client:
            first = await client.get("calls")
            async with admin.session() as session:
                terminated = (await session.execute(_TERMINATE_OTHERS)).scalar_one()
            after = await client.get("calls")
            again = await client.get("calls")
            async with admin.session() as session:
                used = (
                    await session.execute(text("SELECT sum(used) FROM rate_limit_count"))
                ).scalar_one()
        assert (first.status_code, terminated, after.status_code, again.status_code) == (
            200,
            1,
            200,
            200,
        )
        assert used == 3  # each request counted once
    finally:
        await admin.dispose()
        await database.dispose()
