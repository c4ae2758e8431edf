"""The audit log: written with every change, append-only, hash-chained, verifiable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlmodel import col, select

from contracts.client import GrantsClient
from contracts.enums import FundingSourceKind, Role
from contracts.finance import FundingSourceCreate, FundingSourceUpdate
from contracts.identity import OrganisationUpdate
from contracts.permissions import Actor
from service.app import create_app
from service.audit.service import Event, record, record_many, verify
from service.context import RequestContext
from service.persistence.database import Database
from service.persistence.models import AppUser, AuditEvent, UserRole
from tests.conftest import TEST_SETTINGS, MakeOrganisation, MakeUser, hashed_test_password, run_cli

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

CTX = RequestContext(actor=Actor(kind="system", label="test"), request_id="req-1")


async def _events(session: AsyncSession) -> list[AuditEvent]:
    return list((await session.execute(select(AuditEvent).order_by(col(AuditEvent.seq)))).scalars())


async def test_audit_chain_links_each_event_to_the_one_before(session: AsyncSession) -> None:
    for i in range(3):
        await record(session, CTX, action="thing.created", entity="thing", entity_id=str(i))
    events = await _events(session)
    assert [e.entity_id for e in events] == ["0", "1", "2"]
    assert events[0].prev_hash == "0" * 64
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    result = await verify(session)
    assert (result.ok, result.events_checked) == (True, 3)


async def test_record_many_chains_its_events_in_order_after_the_last(
    session: AsyncSession,
) -> None:
    await record(session, CTX, action="thing.created", entity="thing", entity_id="0")
    await record_many(
        session,
        CTX,
        [
            Event("thing.updated", "thing", "1", before={"n": 1}, after={"n": 2}),
            Event("thing.updated", "thing", "2", reason="why"),
            Event("thing.deleted", "thing", "3", before={"n": 3}),
        ],
    )
    await record(session, CTX, action="thing.created", entity="thing", entity_id="4")
    events = await _events(session)
    assert [e.entity_id for e in events] == ["0", "1", "2", "3", "4"]
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert (events[1].before, events[1].after, events[2].reason) == ({"n": 1}, {"n": 2}, "why")
    result = await verify(session)
    assert (result.ok, result.events_checked) == (True, 5)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET reason = 'rewritten'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
    ],
)
async def test_audit_events_cannot_be_changed_by_the_app(
    session: AsyncSession, statement: str
) -> None:
    await record(session, CTX, action="thing.created", entity="thing", entity_id="1")
    await session.flush()
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text(statement))
    assert len(await _events(session)) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE ledger_entry, ledger_split",
        "TRUNCATE ledger_entry CASCADE",
        "TRUNCATE ledger_split",
        "TRUNCATE grant_version CASCADE",
    ],
)
async def test_ledger_cannot_be_truncated(session: AsyncSession, statement: str) -> None:
    # Row-level UPDATE/DELETE refusal on real ledger rows is tested with disbursements.
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text(statement))


async def test_update_writes_before_after_actor_and_request_id(
    make_user: MakeUser, make_organisation: MakeOrganisation, session: AsyncSession
) -> None:
    org = await make_organisation(name="Old name")
    member = await make_user(member_of=(org,))
    member.client.request_id = "trace-42"
    updated = await member.client.update_organisation(
        org.id, OrganisationUpdate(version=org.version, name="New name")
    )
    assert updated.name == "New name"
    events = [e for e in await _events(session) if e.action == "organisation.updated"]
    assert len(events) == 1
    event = events[0]
    assert event.entity_id == str(org.id)
    assert event.actor_id == member.id
    assert event.actor == f"user:{member.user.email}"
    assert event.request_id == "trace-42"
    assert event.before is not None
    assert event.after is not None
    assert (event.before["name"], event.after["name"]) == ("Old name", "New name")
    assert (event.before["version"], event.after["version"]) == (1, 2)


async def test_refused_change_writes_no_event(
    make_user: MakeUser, make_organisation: MakeOrganisation, session: AsyncSession
) -> None:
    org = await make_organisation()
    stranger = await make_user()
    before = len(await _events(session))
    with pytest.raises(Exception, match="404"):
        await stranger.client.update_organisation(org.id, OrganisationUpdate(version=1, name="x"))
    assert len(await _events(session)) == before


# --- with real commits ------------------------------------------------------------------------


@pytest.fixture
async def committed(fresh_db: str) -> AsyncIterator[tuple[str, GrantsClient]]:
    """An app over a database of its own, committing for real, and a finance officer's client."""
    database = Database.from_url(fresh_db, pool_size=4)
    async with database.session() as s:
        user = AppUser(
            email="finance@test.example", full_name="F", password_hash=hashed_test_password()
        )
        s.add(user)
        await s.flush()
        s.add(UserRole(user_id=user.id, role=Role.FINANCE_OFFICER))
        await s.commit()
    app = create_app(TEST_SETTINGS, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/"
    ) as http:
        anon = GrantsClient(http)
        token = await anon.create_token("finance@test.example", "correct horse battery staple")
        yield fresh_db, anon.as_user(token.access_token)
    await database.dispose()


async def _superuser(url: str, *statements: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for stmt in statements:
                await conn.exec_driver_sql(stmt)
    finally:
        await engine.dispose()


async def test_cli_verify_names_the_altered_event(
    committed: tuple[str, GrantsClient],
) -> None:
    url, finance = committed
    source = await finance.create_funding_source(
        FundingSourceCreate(code="PBF", name="PBF", kind=FundingSourceKind.UN_AGENCY)
    )
    await finance.update_funding_source(source.id, FundingSourceUpdate(version=1, name="PBF 2"))
    ok = run_cli("audit", "verify", url=url)
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout

    # A superuser goes behind the app's back: disables the trigger and rewrites history.
    await _superuser(
        url,
        "SET session_replication_role = replica",
        "UPDATE audit_event SET after = jsonb_set(after, '{name}', '\"PBF 3\"') "
        "WHERE action = 'funding_source.updated'",
    )
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        seq = (
            await conn.execute(
                text("SELECT seq FROM audit_event WHERE action = 'funding_source.updated'")
            )
        ).scalar_one()
    await engine.dispose()
    broken = run_cli("audit", "verify", url=url)
    assert broken.returncode == 1
    assert f"BROKEN at event {seq}" in broken.stderr
    assert "altered" in broken.stderr


async def test_cli_verify_names_a_removed_event(committed: tuple[str, GrantsClient]) -> None:
    url, finance = committed
    for code in ("A", "B", "C"):
        await finance.create_funding_source(
            FundingSourceCreate(code=code, name=code, kind=FundingSourceKind.DONOR)
        )
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        seqs = list(
            (
                await conn.execute(
                    text("SELECT seq FROM audit_event WHERE entity = 'funding_source' ORDER BY seq")
                )
            ).scalars()
        )
    await engine.dispose()
    await _superuser(
        url,
        "SET session_replication_role = replica",
        f"DELETE FROM audit_event WHERE seq = {int(seqs[1])}",  # noqa: S608  (an int we read)
    )
    broken = run_cli("audit", "verify", url=url)
    assert broken.returncode == 1
    assert f"BROKEN at event {seqs[2]}" in broken.stderr
    assert "removed or inserted" in broken.stderr


async def test_concurrent_writers_never_fork_the_chain(fresh_db: str) -> None:
    database = Database.from_url(fresh_db, pool_size=8)
    writers = 24

    async def write(i: int) -> None:
        async with database.session() as s:
            await record(s, CTX, action="thing.created", entity="thing", entity_id=str(i))
            await asyncio.sleep(0)  # let the others reach the lock
            await s.commit()

    await asyncio.gather(*(write(i) for i in range(writers)))
    async with database.session() as s:
        events = await _events(s)
        result = await verify(s)
    await database.dispose()
    assert len(events) == writers
    assert len({e.prev_hash for e in events}) == writers  # no two events share a predecessor
    assert (result.ok, result.events_checked) == (True, writers)
