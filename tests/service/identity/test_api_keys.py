"""Partner API keys (issue 18): rotation with an overlap, expiry, the last use.

Time moves with the server clock (`frozen_clock`), never by sleeping."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.client import ApiError, GrantsClient
from contracts.enums import ApiKeyStatus, ApiScope, Role
from contracts.identity import ApiKeyCreate, ApiKeyCreated, ApiKeyRotationCreate
from contracts.webhooks import EventType, WebhookSubscriptionCreate
from service.app import create_app
from service.context import Clock, utcnow
from service.identity.authn import authenticate
from service.identity.secrets import new_api_key
from service.identity.service import api_key_status
from service.persistence.database import Database
from service.persistence.models import ApiKey, AppUser, AuditEvent
from tests.conftest import TEST_SETTINGS, MakeUser, Person, QueryCounter, hashed_test_password

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

UNAUTHENTICATED = "urn:pcc-grants:problem:unauthenticated"
CONFLICT = "urn:pcc-grants:problem:conflict"
SEVEN_DAYS = timedelta(days=7)


async def refused(call: Awaitable[object]) -> ApiError:
    with pytest.raises(ApiError) as info:
        await call
    return info.value


async def create_key(
    admin: Person, *scopes: ApiScope, expires_at: datetime | None = None
) -> ApiKeyCreated:
    return await admin.client.create_api_key(
        ApiKeyCreate(name="UNDP reporting", scopes=list(scopes), expires_at=expires_at)
    )


async def plans_status(client: GrantsClient, key: str) -> int:
    """What a partner's call with this key answers (a secured read of its scope)."""
    try:
        await client.as_partner(key).list_action_plans()
    except ApiError as exc:
        return exc.status
    return 200


async def key_rows(session: AsyncSession) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        select(ApiKey.id, ApiKey.expires_at, ApiKey.revoked_at, ApiKey.rotated_from_id).order_by(
            col(ApiKey.created_at), col(ApiKey.id)
        )
    )
    return [tuple(r) for r in rows.all()]


async def actions(session: AsyncSession, prefix: str) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(AuditEvent.action, AuditEvent.entity_id)
        .where(col(AuditEvent.action).startswith(prefix))
        .order_by(col(AuditEvent.seq))
    )
    return [(a, e) for a, e in rows.all()]


# --- rotation ---------------------------------------------------------------------------------


async def test_rotation_keeps_both_keys_working_for_the_overlap_then_only_the_new_one(
    make_user: MakeUser, client: GrantsClient, frozen_clock: Clock
) -> None:
    admin = await make_user(Role.ADMIN)
    old = await create_key(admin, ApiScope.READ_PCC)
    start = utcnow()
    frozen_clock.frozen = start

    rotated = await admin.client.create_api_key_rotation(old.id, ApiKeyRotationCreate())
    new = rotated.key
    listed = {k.id: k for k in (await admin.client.list_api_keys()).items}

    assert (new.name, new.scopes, new.organisation_id) == (old.name, old.scopes, None)
    assert new.key != old.key
    assert new.prefix != old.prefix
    assert (new.rotated_from_id, new.replaced_by_id, new.status) == (
        old.id,
        None,
        ApiKeyStatus.ACTIVE,
    )
    assert (rotated.previous.id, rotated.previous.replaced_by_id) == (old.id, new.id)
    assert rotated.previous.status == ApiKeyStatus.ROTATED
    assert rotated.previous.expires_at == start + SEVEN_DAYS
    assert new.expires_at is None  # the old key did not expire: neither does its successor
    assert {(k.id, k.status, k.rotated_from_id, k.replaced_by_id) for k in listed.values()} == {
        (old.id, ApiKeyStatus.ROTATED, None, new.id),
        (new.id, ApiKeyStatus.ACTIVE, old.id, None),
    }
    assert listed[old.id].expires_at == start + SEVEN_DAYS
    assert (await plans_status(client, old.key), await plans_status(client, new.key)) == (200, 200)

    frozen_clock.frozen = start + SEVEN_DAYS - timedelta(seconds=1)
    assert (await plans_status(client, old.key), await plans_status(client, new.key)) == (200, 200)

    frozen_clock.frozen = start + SEVEN_DAYS
    error = await refused(client.as_partner(old.key).list_action_plans())
    assert (error.status, error.type, error.problem.detail) == (
        401,
        UNAUTHENTICATED,
        "the API key has expired",
    )
    assert await plans_status(client, new.key) == 200


async def test_rotation_never_extends_the_old_key_and_gives_the_new_one_the_same_lifetime(
    make_user: MakeUser, client: GrantsClient, frozen_clock: Clock
) -> None:
    admin = await make_user(Role.ADMIN)
    soon = utcnow() + timedelta(days=3)
    old = await create_key(admin, ApiScope.READ_PCC, expires_at=soon)
    lifetime = soon - old.created_at
    frozen_clock.frozen = start = utcnow()

    rotated = await admin.client.create_api_key_rotation(
        old.id, ApiKeyRotationCreate(overlap_days=30)
    )

    assert rotated.previous.expires_at == soon  # min(its own, now + 30 days)
    assert rotated.key.expires_at == start + lifetime


async def test_rotation_without_overlap_ends_the_old_key_at_once(
    make_user: MakeUser, client: GrantsClient
) -> None:
    admin = await make_user(Role.ADMIN)
    old = await create_key(admin, ApiScope.READ_PCC)

    rotated = await admin.client.create_api_key_rotation(
        old.id, ApiKeyRotationCreate(overlap_days=0)
    )

    assert rotated.previous.status == ApiKeyStatus.EXPIRED
    assert (await plans_status(client, old.key), await plans_status(client, rotated.key.key)) == (
        401,
        200,
    )


async def test_rotation_with_an_expiry_for_the_new_key(make_user: MakeUser) -> None:
    admin = await make_user(Role.ADMIN)
    old = await create_key(admin, ApiScope.READ_PCC)
    until = (utcnow() + timedelta(days=365)).replace(microsecond=0)

    rotated = await admin.client.create_api_key_rotation(
        old.id, ApiKeyRotationCreate(overlap_days=14, expires_at=until)
    )

    assert rotated.key.expires_at == until


@pytest.mark.parametrize("state", ["revoked", "expired", "rotated"])
async def test_a_revoked_expired_or_rotated_key_cannot_be_rotated_and_nothing_changes(
    make_user: MakeUser, session: AsyncSession, state: str
) -> None:
    admin = await make_user(Role.ADMIN)
    old = await create_key(admin, ApiScope.READ_PCC)
    successor: uuid.UUID | None = None
    if state == "revoked":
        await admin.client.delete_api_key(old.id)
    elif state == "expired":
        await session.execute(
            update(ApiKey)
            .where(col(ApiKey.id) == old.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    else:
        successor = (
            await admin.client.create_api_key_rotation(old.id, ApiKeyRotationCreate())
        ).key.id
    rows_before = await key_rows(session)
    events_before = await actions(session, "api_key.")

    error = await refused(admin.client.create_api_key_rotation(old.id, ApiKeyRotationCreate()))

    assert (error.status, error.type) == (409, CONFLICT)
    assert (
        error.problem.detail
        == {
            "revoked": "the API key was revoked: it cannot be rotated; create a new key",
            "expired": "the API key has expired: it cannot be rotated; create a new key",
            "rotated": f"the API key was already rotated: its successor is {successor}"
            " (rotate that one, or revoke it)",
        }[state]
    )
    assert await key_rows(session) == rows_before
    assert await actions(session, "api_key.") == events_before


async def test_rotating_an_unknown_key_is_not_found(make_user: MakeUser) -> None:
    admin = await make_user(Role.ADMIN)

    error = await refused(
        admin.client.create_api_key_rotation(uuid.uuid4(), ApiKeyRotationCreate())
    )

    assert error.status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"overlap_days": 91}, "overlap_days"),
        ({"overlap_days": -1}, "overlap_days"),
        ({"overlap_days": 7, "expires_at": "PAST"}, "expires_at"),
        ({"overlap_days": 7, "expires_at": "IN_THE_OVERLAP"}, "expires_at"),
        ({"overlap_days": 7, "expires_at": "BEYOND_2_YEARS"}, "expires_at"),
        ({"overlap_days": 7, "expires_at": "2027-01-01T00:00:00"}, "expires_at"),
        ({"overlap_days": 7, "note": "unknown field"}, "note"),
    ],
)
async def test_a_rotation_with_bad_input_is_refused_and_nothing_changes(
    make_user: MakeUser,
    http: httpx.AsyncClient,
    session: AsyncSession,
    body: dict[str, Any],
    field: str,
) -> None:
    admin = await make_user(Role.ADMIN)
    old = await create_key(admin, ApiScope.READ_PCC)
    now = datetime.now(UTC)
    instants = {
        "PAST": now - timedelta(minutes=1),
        "IN_THE_OVERLAP": now + timedelta(days=6),
        "BEYOND_2_YEARS": now + timedelta(days=731),
    }
    if body.get("expires_at") in instants:
        body = {**body, "expires_at": instants[body["expires_at"]].isoformat()}
    rows_before = await key_rows(session)

    response = await http.post(
        f"api-keys/{old.id}/rotations",
        json=body,
        headers={"authorization": f"Bearer {admin.token}"},
    )

    assert response.status_code == 422, response.text
    assert field in json.dumps(response.json().get("errors"))
    assert await key_rows(session) == rows_before


async def test_rotation_is_audited_without_secrets(
    make_user: MakeUser, session: AsyncSession
) -> None:
    admin = await make_user(Role.ADMIN)
    old = await create_key(admin, ApiScope.READ_PCC)

    rotated = await admin.client.create_api_key_rotation(
        old.id, ApiKeyRotationCreate(overlap_days=3)
    )

    new = rotated.key
    events = (
        (
            await session.execute(
                select(AuditEvent)
                .where(col(AuditEvent.action).startswith("api_key."))
                .order_by(col(AuditEvent.seq))
            )
        )
        .scalars()
        .all()
    )
    assert [(e.action, e.entity_id, e.actor_id) for e in events] == [
        ("api_key.created", str(old.id), admin.id),
        ("api_key.rotated", str(old.id), admin.id),
        ("api_key.created", str(new.id), admin.id),
    ]
    rotation, created = events[1], events[2]
    assert rotation.before is not None
    assert rotation.after is not None
    assert (rotation.before["expires_at"], rotation.after["replaced_by_id"]) == (None, str(new.id))
    assert rotated.previous.expires_at is not None
    assert datetime.fromisoformat(rotation.after["expires_at"]) == rotated.previous.expires_at
    assert rotation.reason == "overlap of 3 days"
    assert created.after is not None
    assert created.after["rotated_from_id"] == str(old.id)
    dumped = json.dumps([[e.before, e.after, e.reason] for e in events])
    assert new.key not in dumped
    assert new.key.rsplit("_", 1)[-1] not in dumped
    assert "key_hash" not in dumped


async def test_the_old_keys_webhook_subscriptions_move_to_the_new_key(
    make_user: MakeUser, client: GrantsClient, session: AsyncSession
) -> None:
    admin = await make_user(Role.ADMIN)
    old = await create_key(admin, ApiScope.RECEIVE_WEBHOOKS)
    made = await client.as_partner(old.key).create_webhook_subscription(
        WebhookSubscriptionCreate(
            url="https://partner.example/hooks", event_types=[EventType.GRANT_CREATED]
        )
    )

    rotated = await admin.client.create_api_key_rotation(old.id, ApiKeyRotationCreate())

    new_lists = await client.as_partner(rotated.key.key).list_webhook_subscriptions()
    old_lists = await client.as_partner(old.key).list_webhook_subscriptions()
    assert ([s.id for s in new_lists], old_lists) == ([made.subscription.id], [])
    event = (
        await session.execute(select(AuditEvent).where(col(AuditEvent.action) == "api_key.rotated"))
    ).scalar_one()
    assert event.after is not None
    assert event.after["webhook_subscriptions_moved"] == [str(made.subscription.id)]


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 201), (Role.AUDITOR, 403), (Role.PROGRAMME_OFFICER, 403), (None, 403)],
)
async def test_only_administrators_rotate_keys(
    make_user: MakeUser,
    client: GrantsClient,
    session: AsyncSession,
    role: Role | None,
    status: int,
) -> None:
    admin = await make_user(Role.ADMIN)
    old = await create_key(admin, ApiScope.READ_PCC, ApiScope.READ_CALLS)
    caller = (await make_user(role)).client if role else client.as_partner(old.key)
    rows_before = await key_rows(session)

    try:
        await caller.create_api_key_rotation(old.id, ApiKeyRotationCreate())
        answered = 201
    except ApiError as exc:
        answered = exc.status

    assert answered == status
    assert (await key_rows(session) != rows_before) == (status == 201)


async def test_rotation_without_credentials_is_unauthenticated(
    make_user: MakeUser, client: GrantsClient
) -> None:
    admin = await make_user(Role.ADMIN)
    old = await create_key(admin, ApiScope.READ_PCC)

    error = await refused(client.create_api_key_rotation(old.id, ApiKeyRotationCreate()))

    assert (error.status, error.type) == (401, UNAUTHENTICATED)


# --- expiry -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_at", "accepted"),
    [
        ("PAST", False),
        ("NOW+1MIN", True),
        ("NOW+730D", True),
        ("NOW+731D", False),
        ("2027-06-01T00:00:00", False),  # no UTC offset: which instant is meant?
    ],
)
async def test_a_new_key_expires_in_the_future_and_within_two_years(
    make_user: MakeUser,
    http: httpx.AsyncClient,
    session: AsyncSession,
    expires_at: str,
    accepted: bool,
) -> None:
    admin = await make_user(Role.ADMIN)
    now = datetime.now(UTC)
    instants = {
        "PAST": now - timedelta(seconds=1),
        "NOW+1MIN": now + timedelta(minutes=1),
        "NOW+730D": now + timedelta(days=730) - timedelta(minutes=1),
        "NOW+731D": now + timedelta(days=731),
    }
    value = instants[expires_at].isoformat() if expires_at in instants else expires_at

    response = await http.post(
        "api-keys",
        json={"name": "partner", "scopes": ["pcc:read"], "expires_at": value},
        headers={"authorization": f"Bearer {admin.token}"},
    )
    stored = (await session.execute(select(func.count()).select_from(ApiKey))).scalar_one()

    assert response.status_code == (201 if accepted else 422), response.text
    assert stored == (1 if accepted else 0)
    if not accepted:
        assert "expires_at" in json.dumps(response.json()["errors"])


async def test_an_expired_key_is_refused_saying_so(
    make_user: MakeUser, client: GrantsClient, frozen_clock: Clock
) -> None:
    admin = await make_user(Role.ADMIN)
    until = utcnow() + timedelta(days=1)
    key = await create_key(admin, ApiScope.READ_PCC, expires_at=until)
    frozen_clock.frozen = until

    error = await refused(client.as_partner(key.key).list_action_plans())

    assert (error.status, error.type, error.problem.detail) == (
        401,
        UNAUTHENTICATED,
        "the API key has expired",
    )


NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("revoked_at", "expires_at", "replaced", "status"),
    [
        (None, None, False, ApiKeyStatus.ACTIVE),
        (None, NOW + timedelta(seconds=1), False, ApiKeyStatus.ACTIVE),
        (None, NOW + timedelta(days=7), True, ApiKeyStatus.ROTATED),
        (None, NOW, True, ApiKeyStatus.EXPIRED),
        (None, NOW, False, ApiKeyStatus.EXPIRED),
        (NOW - timedelta(days=1), NOW + timedelta(days=7), True, ApiKeyStatus.REVOKED),
        (NOW - timedelta(days=1), None, False, ApiKeyStatus.REVOKED),
    ],
)
def test_a_keys_status_follows_its_dates(
    revoked_at: datetime | None, expires_at: datetime | None, replaced: bool, status: ApiKeyStatus
) -> None:
    row = ApiKey(
        name="k",
        prefix="p",
        key_hash="h",
        created_by=uuid.uuid4(),
        revoked_at=revoked_at,
        expires_at=expires_at,
    )

    assert api_key_status(row, replaced, NOW) == status


# --- last use ---------------------------------------------------------------------------------


async def stored_last_use(session: AsyncSession, key_id: uuid.UUID) -> datetime | None:
    row = await session.execute(select(ApiKey.last_used_at).where(col(ApiKey.id) == key_id))
    value: datetime | None = row.scalar_one()
    return value


async def test_last_use_is_written_once_a_minute_at_most(
    make_user: MakeUser, session: AsyncSession, frozen_clock: Clock, count_queries: QueryCounter
) -> None:
    admin = await make_user(Role.ADMIN)
    key = await create_key(admin, ApiScope.READ_PCC)
    assert key.last_used_at is None
    start = utcnow()
    statements = []

    async def use_at(instant: datetime) -> datetime | None:
        frozen_clock.frozen = instant
        before = count_queries.count
        await authenticate(session, None, key.key)
        statements.append(count_queries.count - before)
        return await stored_last_use(session, key.id)

    first = await use_at(start)
    within = await use_at(start + timedelta(seconds=59))
    minute = await use_at(start + timedelta(seconds=60))
    again = await use_at(start + timedelta(seconds=90))

    assert (first, within, minute, again) == (
        start,
        start,
        start + timedelta(seconds=60),
        start + timedelta(seconds=60),
    )
    # a fresh last use costs nothing beyond the lookup; a stale one its UPDATE (and the commit)
    assert statements[1] == statements[3] == 1
    assert statements[0] > 1
    assert statements[2] > 1
    listed = (await admin.client.list_api_keys()).items
    assert [k.last_used_at for k in listed] == [start + timedelta(seconds=60)]


async def test_last_use_is_kept_when_the_request_is_refused(
    make_user: MakeUser, client: GrantsClient, session: AsyncSession
) -> None:
    admin = await make_user(Role.ADMIN)
    key = await create_key(admin, ApiScope.READ_CALLS)  # no pcc:read: the call is refused
    before = utcnow()

    status = await plans_status(client, key.key)

    assert status == 403
    used = await stored_last_use(session, key.id)
    assert used is not None
    assert used >= before


async def test_wrong_revoked_or_expired_keys_leave_no_last_use(
    make_user: MakeUser, client: GrantsClient, session: AsyncSession
) -> None:
    admin = await make_user(Role.ADMIN)
    revoked = await create_key(admin, ApiScope.READ_PCC)
    await admin.client.delete_api_key(revoked.id)
    expired = await create_key(admin, ApiScope.READ_PCC)
    await session.execute(
        update(ApiKey)
        .where(col(ApiKey.id) == expired.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    forged = f"pcck_{expired.prefix}_{'x' * 43}"

    answers = [await plans_status(client, k) for k in (revoked.key, expired.key, forged)]

    assert answers == [401, 401, 401]
    assert [await stored_last_use(session, k.id) for k in (revoked, expired)] == [None, None]


# --- many requests of one key at once (real commits, a pool of connections) --------------------


_COUNT_KEY_WRITES = (
    "CREATE TABLE key_write (at timestamptz NOT NULL DEFAULT clock_timestamp())",
    "CREATE FUNCTION count_key_write() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN INSERT INTO key_write DEFAULT VALUES; RETURN NEW; END $$",
    "CREATE TRIGGER count_key_write AFTER UPDATE ON api_key"
    " FOR EACH ROW EXECUTE FUNCTION count_key_write()",
)


async def _committed_key(database: Database) -> tuple[uuid.UUID, str]:
    key, prefix, key_hash = new_api_key()
    async with database.session() as s:
        user = AppUser(
            email=f"keys-{uuid.uuid4().hex[:8]}@test.example",
            full_name="Admin",
            password_hash=hashed_test_password(),
        )
        s.add(user)
        await s.flush()
        row = ApiKey(
            name="partner",
            prefix=prefix,
            key_hash=key_hash,
            scopes=[ApiScope.READ_PCC.value],
            created_by=user.id,
        )
        s.add(row)
        await s.commit()
        return row.id, key


async def test_many_requests_of_one_key_at_once_all_succeed_and_write_the_last_use_once(
    fresh_db: str,
) -> None:
    database = Database.from_url(fresh_db, pool_size=8)
    other = Database.from_url(fresh_db, pool_size=1)
    key_id, key = await _committed_key(database)
    app: Any = create_app(TEST_SETTINGS, database=database)
    headers = {"x-api-key": key}
    # every write of a key's row, counted by a trigger (this database is the test's own)
    async with database.session() as s:
        for ddl in _COUNT_KEY_WRITES:
            await s.execute(text(ddl))
        await s.commit()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/"
        ) as http:

            async def burst(n: int) -> list[int]:
                answers = await asyncio.wait_for(
                    asyncio.gather(*(http.get("action-plans", headers=headers) for _ in range(n))),
                    timeout=60,
                )
                return [r.status_code for r in answers]

            # 1. an administrator's transaction holds the key's row (as a rotation or revocation
            # does): the key's requests do not wait for it, and leave its last use for later
            async with other.session() as holder:
                await holder.execute(
                    text("SELECT 1 FROM api_key WHERE id = :id FOR UPDATE"), {"id": key_id}
                )
                while_held = await burst(16)
                async with database.session() as s:
                    unwritten = await stored_last_use(s, key_id)
                await holder.rollback()
            # 2. released: 32 requests at once, all answered; the last use written
            started = utcnow()
            at_once = await burst(32)
        async with database.session() as s:
            written = await stored_last_use(s, key_id)
            updates = (await s.execute(text("SELECT count(*) FROM key_write"))).scalar_one()
    finally:
        await other.dispose()
        await database.dispose()

    assert while_held == [200] * 16
    assert unwritten is None
    assert at_once == [200] * 32
    assert written is not None
    assert written >= started
    assert updates == 1  # 48 requests, one write of the key's row
