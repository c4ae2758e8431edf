"""Operations marked READ_ONLY run their statements without BEGIN and COMMIT (issue 16).

ListProposals and GetProposal only read: their session (the authentication's too) is the
database's autocommit reader, which saves the two round trips of a transaction. Everything else
still runs in one transaction per request. Counted at the driver: the asyncpg adapter starts a
transaction (BEGIN) lazily, before the first statement of one."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

from contracts.enums import Role
from service.app import create_app
from service.context import utcnow
from service.demo import load_demo_data
from service.identity.secrets import new_token
from service.persistence.database import Database
from service.persistence.models import AppUser, AuthToken, UserRole
from tests.conftest import TEST_SETTINGS, Server, hashed_test_password

pytestmark = pytest.mark.race  # a real engine and real commits, in a database of its own

_TERMINATE_OTHERS = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend'"
)


async def test_read_only_operations_send_no_begin_and_answer_as_before(
    fresh_db: str, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database.from_url(fresh_db, pool_size=1)
    token = await _demo_and_officer(database)
    async with database.session() as session:
        expected_ids = [
            str(r)
            for r in (
                await session.execute(text("SELECT id FROM proposal ORDER BY created_at, id"))
            ).scalars()
        ]

    begins: list[str] = []
    original = AsyncAdapt_asyncpg_connection._start_transaction

    async def counting(self: Any) -> None:
        if self.isolation_level != "autocommit":
            begins.append("BEGIN")
        await original(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "_start_transaction", counting)
    app: Any = create_app(TEST_SETTINGS, database=database)
    headers = {"authorization": f"Bearer {token}"}
    admin = Database.from_url(fresh_db, pool_size=1)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/"
        ) as client:
            seen: dict[str, tuple[int, int]] = {}

            async def get(name: str, url: str) -> httpx.Response:
                before = len(begins)
                response = await client.get(url, headers=headers)
                seen[name] = (response.status_code, len(begins) - before)
                return response

            first = await get("ListProposals", "proposals?limit=5")
            cursor = first.json()["next_cursor"]
            second = await get("ListProposals, next page", f"proposals?limit=50&cursor={cursor}")
            one = await get("GetProposal", f"proposals/{expected_ids[0]}")
            await get("GetMe (not marked)", "users/me")
            # a connection the server dropped: the read-only request is retried as any other
            async with admin.session() as session:
                terminated = (await session.execute(_TERMINATE_OTHERS)).scalar_one()
            after_drop = await get("ListProposals after a dropped connection", "proposals")
    finally:
        await admin.dispose()
        await database.dispose()

    assert seen == {
        "ListProposals": (200, 0),
        "ListProposals, next page": (200, 0),
        "GetProposal": (200, 0),
        "GetMe (not marked)": (200, 1),
        "ListProposals after a dropped connection": (200, 0),
    }
    assert terminated == 1
    listed = [p["id"] for p in first.json()["items"] + second.json()["items"]]
    assert listed == expected_ids
    assert one.json()["id"] == expected_ids[0]
    assert [p["id"] for p in after_drop.json()["items"]] == expected_ids


async def test_every_pooled_connection_dropped_costs_no_read_only_request(
    fresh_db: str, server: Server
) -> None:
    """A restarted server drops every pooled connection at once. A READ_ONLY request reads on a
    connection taken from the pool by itself (`Database.checkout`): the first dead one it meets
    marks every connection pooled before it as stale (as SQLAlchemy does on a disconnect), so the
    one retry gets a new connection, not the next dead one."""
    database = Database.from_url(fresh_db, pool_size=4)
    token = await _demo_and_officer(database)
    app: Any = create_app(TEST_SETTINGS, database=database)
    headers = {"authorization": f"Bearer {token}"}
    admin = Database.from_url(fresh_db, pool_size=1)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/"
        ) as client:
            # four requests at once: four connections in the pool
            warm = await asyncio.gather(
                *(client.get("proposals?limit=3", headers=headers) for _ in range(4))
            )
            assert database.engine is not None
            pooled = database.engine.pool.checkedin()
            async with admin.session() as session:
                terminated = (await session.execute(_TERMINATE_OTHERS)).scalar_one()
            after = [
                (await client.get("proposals?limit=3", headers=headers)).status_code
                for _ in range(6)
            ]
    finally:
        await admin.dispose()
        await database.dispose()

    assert [r.status_code for r in warm] == [200] * 4
    assert pooled >= 2  # several dead connections were waiting in the pool
    assert terminated >= pooled
    assert after == [200] * 6


async def _demo_and_officer(database: Database) -> str:
    """The demo data and a programme officer with a live bearer token (committed)."""
    token, token_hash = new_token()
    async with database.session() as session:
        await load_demo_data(session)
        user = AppUser(
            email="reader@test.example", full_name="R", password_hash=hashed_test_password()
        )
        session.add(user)
        await session.flush()
        session.add(UserRole(user_id=user.id, role=Role.PROGRAMME_OFFICER))
        session.add(
            AuthToken(
                user_id=user.id, token_hash=token_hash, expires_at=utcnow() + timedelta(hours=1)
            )
        )
        await session.commit()
    return token
