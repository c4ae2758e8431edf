"""Authentication: bearer tokens, passwords, API keys, self-registration and their audit trail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.client import ApiError, GrantsClient
from contracts.common import I18nText
from contracts.enums import (
    ActionPlanStatus,
    ApiScope,
    Language,
    MembershipRole,
    Role,
)
from contracts.identity import (
    ApiKeyCreate,
    ApiKeyCreated,
    MembershipRead,
    OrganisationUpdate,
    UserCreate,
)
from contracts.pcc import ActionPlanCreate
from service.app import create_app
from service.persistence.database import Database
from service.persistence.models import (
    ApiKey,
    AppUser,
    AuditEvent,
    AuthToken,
    Membership,
    Organisation,
    Pcc,
    Territory,
)
from tests.conftest import TEST_PASSWORD, TEST_SETTINGS, MakeOrganisation, MakeUser, Person
from tests.factories import NEW_PASSWORD, registration

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

UNAUTHENTICATED = "urn:pcc-grants:problem:unauthenticated"
FORBIDDEN = "urn:pcc-grants:problem:forbidden"
CONFLICT = "urn:pcc-grants:problem:conflict"
NOT_FOUND = "urn:pcc-grants:problem:not-found"
WWW_AUTHENTICATE = 'Bearer realm="pcc-grants"'


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def refused(call: Awaitable[object]) -> ApiError:
    """Await a client call that must fail; the error it raised."""
    with pytest.raises(ApiError) as info:
        await call
    return info.value


async def make_pcc(session: AsyncSession, territory: Territory) -> Pcc:
    pcc = Pcc(territory_id=territory.id, name={"en": "PCC of Osh"})
    session.add(pcc)
    await session.flush()
    return pcc


def key_secret(created: ApiKeyCreated) -> str:
    """The random part of `pcck_<prefix>_<secret>` (the secret may itself contain `_`)."""
    return created.key.removeprefix(f"pcck_{created.prefix}_")


async def create_key(admin: Person, *scopes: ApiScope) -> ApiKeyCreated:
    return await admin.client.create_api_key(ApiKeyCreate(name="partner", scopes=list(scopes)))


# --- tokens -----------------------------------------------------------------------------------


async def test_sign_in_with_right_password_gives_working_token(
    make_user: MakeUser, client: GrantsClient
) -> None:
    person = await make_user(Role.AUDITOR)
    started = datetime.now(UTC)

    token = await client.create_token(person.user.email, TEST_PASSWORD)
    me = await client.as_user(token.access_token).get_me()

    assert (me.id, me.email, me.roles) == (person.id, person.user.email, [Role.AUDITOR])
    assert token.token_type == "bearer"
    assert token.access_token.startswith("pcct_")
    ttl = token.expires_at - started
    assert timedelta(hours=11, minutes=59) < ttl < timedelta(hours=12, minutes=1)


async def test_sign_in_with_upper_case_email_finds_the_account(
    make_user: MakeUser, client: GrantsClient
) -> None:
    person = await make_user()

    token = await client.create_token(person.user.email.upper(), TEST_PASSWORD)

    assert (await client.as_user(token.access_token).get_me()).id == person.id


async def test_sign_in_with_wrong_password_or_unknown_email_fails_alike(
    make_user: MakeUser, client: GrantsClient
) -> None:
    person = await make_user()

    wrong_password = await refused(client.create_token(person.user.email, "not the password"))
    unknown_email = await refused(client.create_token("nobody@test.example", TEST_PASSWORD))

    assert wrong_password.status == 401
    assert wrong_password.type == UNAUTHENTICATED
    assert wrong_password.problem.detail == "the e-mail or the password is wrong"
    assert (unknown_email.status, unknown_email.type, unknown_email.problem.detail) == (
        wrong_password.status,
        wrong_password.type,
        wrong_password.problem.detail,
    )


async def test_sign_in_of_deactivated_user_is_refused(
    make_user: MakeUser, client: GrantsClient, session: AsyncSession
) -> None:
    person = await make_user()
    person.user.is_active = False
    await session.flush()

    sign_in = await refused(client.create_token(person.user.email, TEST_PASSWORD))
    old_token = await refused(person.client.get_me())

    assert (sign_in.status, sign_in.type) == (401, UNAUTHENTICATED)
    assert sign_in.problem.detail == "this account is deactivated"
    assert (old_token.status, old_token.type) == (401, UNAUTHENTICATED)
    assert old_token.problem.detail == "this account is deactivated"


async def test_expired_token_is_refused_with_expiry_detail(
    make_user: MakeUser, http: httpx.AsyncClient
) -> None:
    person = await make_user(token_expires_in=timedelta(seconds=-1))

    error = await refused(person.client.get_me())
    raw = await http.get("users/me", headers={"authorization": f"Bearer {person.token}"})

    assert (error.status, error.type) == (401, UNAUTHENTICATED)
    assert "expired" in (error.problem.detail or "")
    assert raw.headers["www-authenticate"] == WWW_AUTHENTICATE


async def test_revoked_token_is_refused_and_other_tokens_live_on(
    make_user: MakeUser, client: GrantsClient
) -> None:
    person = await make_user()
    token = await client.create_token(person.user.email, TEST_PASSWORD)
    signed_in = client.as_user(token.access_token)
    assert (await signed_in.get_me()).id == person.id

    await signed_in.delete_token()
    error = await refused(signed_in.get_me())

    assert (error.status, error.type) == (401, UNAUTHENTICATED)
    assert "revoked" in (error.problem.detail or "")
    assert (await person.client.get_me()).id == person.id


async def test_revoking_a_token_sets_revoked_at(make_user: MakeUser, session: AsyncSession) -> None:
    person = await make_user()

    await person.client.delete_token()

    row = (
        await session.execute(
            select(AuthToken)
            .where(AuthToken.token_hash == sha256(person.token))
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    assert row.revoked_at is not None


@pytest.mark.parametrize(
    "authorization",
    ["Basic abc", "Bearer", "Bearer    ", "Token abc", "Bearer pcct_not-a-token-we-gave-out"],
)
async def test_malformed_or_unknown_authorization_is_refused(
    http: httpx.AsyncClient, make_user: MakeUser, authorization: str
) -> None:
    await make_user()

    response = await http.get("users/me", headers={"authorization": authorization})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == WWW_AUTHENTICATE
    assert response.json()["type"] == UNAUTHENTICATED
    assert response.json()["status"] == 401


async def test_token_is_stored_as_its_sha256(
    make_user: MakeUser, client: GrantsClient, session: AsyncSession
) -> None:
    person = await make_user()

    token = (await client.create_token(person.user.email, TEST_PASSWORD)).access_token

    hashes = (
        (await session.execute(select(AuthToken.token_hash).where(AuthToken.user_id == person.id)))
        .scalars()
        .all()
    )
    assert sorted(hashes) == sorted([sha256(person.token), sha256(token)])
    assert token not in hashes


# --- passwords --------------------------------------------------------------------------------


async def stored_password_hash(session: AsyncSession, email: str) -> str:
    return (
        await session.execute(select(AppUser.password_hash).where(AppUser.email == email))
    ).scalar_one()


async def test_password_of_registration_is_stored_as_argon2id(
    client: GrantsClient, session: AsyncSession, territory: Territory
) -> None:
    await client.create_registration(registration(territory, "founder@test.example"))

    stored = await stored_password_hash(session, "founder@test.example")

    assert stored.startswith("$argon2id$")
    assert PasswordHasher().verify(stored, NEW_PASSWORD) is True


async def test_password_of_created_user_is_stored_as_argon2id(
    make_user: MakeUser, client: GrantsClient, session: AsyncSession
) -> None:
    admin = await make_user(Role.ADMIN)
    body = UserCreate(
        email="Reviewer@Test.Example",
        password=NEW_PASSWORD,
        full_name="Rita Reviewer",
        roles=[Role.REVIEWER],
    )

    created = await admin.client.create_user(body)
    stored = await stored_password_hash(session, "reviewer@test.example")
    token = await client.create_token("reviewer@test.example", NEW_PASSWORD)

    assert (created.email, created.roles) == ("reviewer@test.example", [Role.REVIEWER])
    assert stored.startswith("$argon2id$")
    assert PasswordHasher().verify(stored, NEW_PASSWORD) is True
    assert (await client.as_user(token.access_token).get_me()).id == created.id


# --- API keys ---------------------------------------------------------------------------------


async def test_api_key_is_shown_once_and_never_listed(
    make_user: MakeUser, http: httpx.AsyncClient
) -> None:
    admin = await make_user(Role.ADMIN)

    created = await create_key(admin, ApiScope.READ_PCC)
    page = await admin.client.list_api_keys()
    raw = await http.get("api-keys", headers={"authorization": f"Bearer {admin.token}"})

    assert created.key.startswith(f"pcck_{created.prefix}_")
    assert created.scopes == [ApiScope.READ_PCC]
    assert [(k.id, k.prefix, k.scopes) for k in page.items] == [
        (created.id, created.prefix, [ApiScope.READ_PCC])
    ]
    assert [hasattr(k, "key") for k in page.items] == [False]
    assert raw.status_code == 200
    assert created.key not in raw.text
    assert key_secret(created) not in raw.text
    assert sha256(created.key) not in raw.text


async def test_api_key_with_pcc_read_lists_action_plans(
    make_user: MakeUser, client: GrantsClient, session: AsyncSession, territory: Territory
) -> None:
    admin = await make_user(Role.ADMIN)
    officer = await make_user(Role.PROGRAMME_OFFICER)
    pcc = await make_pcc(session, territory)
    plans = [
        await officer.client.create_action_plan(
            ActionPlanCreate(
                pcc_id=pcc.id,
                title=I18nText(en=f"Plan {year}"),
                period_start=date(year, 1, 1),
                period_end=date(year, 12, 31),
                status=status,
            )
        )
        for year, status in ((2025, ActionPlanStatus.ACTIVE), (2026, ActionPlanStatus.DRAFT))
    ]
    created = await create_key(admin, ApiScope.READ_PCC)

    page = await client.as_partner(created.key).list_action_plans()

    assert [p.id for p in page.items] == [plans[0].id]


async def test_api_key_is_refused_outside_its_scope(
    make_user: MakeUser, client: GrantsClient
) -> None:
    admin = await make_user(Role.ADMIN)
    created = await create_key(admin, ApiScope.READ_PCC)

    error = await refused(client.as_partner(created.key).list_funding_sources())

    assert (error.status, error.type) == (403, FORBIDDEN)


async def test_api_key_cannot_read_me(make_user: MakeUser, client: GrantsClient) -> None:
    admin = await make_user(Role.ADMIN)
    created = await create_key(admin, ApiScope.READ_PCC)

    error = await refused(client.as_partner(created.key).get_me())

    assert (error.status, error.type) == (403, FORBIDDEN)


async def test_me_without_credentials_is_unauthenticated(client: GrantsClient) -> None:
    error = await refused(client.get_me())

    assert (error.status, error.type) == (401, UNAUTHENTICATED)


async def test_action_plans_without_credentials_are_unauthenticated(
    client: GrantsClient,
) -> None:
    error = await refused(client.list_action_plans())

    assert (error.status, error.type) == (401, UNAUTHENTICATED)


async def test_refused_credentials_give_back_the_database_connection(fresh_db: str) -> None:
    database = Database.from_url(fresh_db, pool_size=1)
    assert database.engine is not None
    app: Any = create_app(TEST_SETTINGS, database=database)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1/") as raw:
            response = await raw.get("users/me", headers={"authorization": "Bearer pcct_nope"})
            checked_out = database.engine.pool.checkedout()  # type: ignore[attr-defined]
        assert response.status_code == 401
        assert checked_out == 0
    finally:
        await database.dispose()
        await database.dispose()


async def test_api_key_without_pcc_read_is_refused_action_plans(
    make_user: MakeUser, client: GrantsClient
) -> None:
    admin = await make_user(Role.ADMIN)
    created = await create_key(admin, ApiScope.READ_CALLS, ApiScope.READ_AWARDS)

    error = await refused(client.as_partner(created.key).list_action_plans())

    assert (error.status, error.type) == (403, FORBIDDEN)
    assert error.problem.detail == "the API key lacks the pcc:read scope"


async def test_revoked_api_key_is_refused(make_user: MakeUser, client: GrantsClient) -> None:
    admin = await make_user(Role.ADMIN)
    created = await create_key(admin, ApiScope.READ_PCC)
    partner = client.as_partner(created.key)
    await partner.list_action_plans()

    await admin.client.delete_api_key(created.id)
    error = await refused(partner.list_action_plans())
    listed = (await admin.client.list_api_keys()).items

    assert (error.status, error.type) == (401, UNAUTHENTICATED)
    assert error.problem.detail == "the API key was revoked"
    assert [(k.id, k.revoked_at is not None) for k in listed] == [(created.id, True)]


async def test_expired_api_key_is_refused(
    make_user: MakeUser, client: GrantsClient, session: AsyncSession
) -> None:
    admin = await make_user(Role.ADMIN)
    created = await create_key(admin, ApiScope.READ_PCC)
    partner = client.as_partner(created.key)
    await partner.list_action_plans()

    await session.execute(
        update(ApiKey)
        .where(col(ApiKey.id) == created.id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    error = await refused(partner.list_action_plans())

    assert (error.status, error.type) == (401, UNAUTHENTICATED)
    assert error.problem.detail == "the API key has expired"


@pytest.mark.parametrize(
    ("key", "detail"),
    [
        ("garbage", "the API key is malformed"),
        ("pcck_", "the API key is malformed"),
        ("pcck_short_secret", "the API key is malformed"),
        ("pcck_0123456789ab", "the API key is malformed"),
        ("pcck_0123456789ab_no-such-key", "the API key is not valid"),
    ],
)
async def test_malformed_or_unknown_api_key_is_refused(
    client: GrantsClient, http: httpx.AsyncClient, key: str, detail: str
) -> None:
    error = await refused(client.as_partner(key).list_action_plans())
    raw = await http.get("action-plans", headers={"x-api-key": key})

    assert (error.status, error.type, error.problem.detail) == (401, UNAUTHENTICATED, detail)
    assert raw.headers["www-authenticate"] == WWW_AUTHENTICATE


async def test_api_key_with_right_prefix_and_wrong_secret_is_refused(
    make_user: MakeUser, client: GrantsClient
) -> None:
    admin = await make_user(Role.ADMIN)
    created = await create_key(admin, ApiScope.READ_PCC)
    forged = f"pcck_{created.prefix}_{'x' * 43}"

    error = await refused(client.as_partner(forged).list_action_plans())

    assert (error.status, error.type) == (401, UNAUTHENTICATED)
    assert error.problem.detail == "the API key is not valid"


async def test_api_key_row_stores_only_its_hash(make_user: MakeUser, session: AsyncSession) -> None:
    admin = await make_user(Role.ADMIN)

    created = await create_key(admin, ApiScope.READ_PCC, ApiScope.READ_CALLS)
    row = (await session.execute(select(ApiKey).where(ApiKey.id == created.id))).scalar_one()
    stored = json.dumps(row.model_dump(), default=str)

    assert row.key_hash == sha256(created.key)
    assert row.prefix == created.prefix
    assert row.scopes == ["calls:read", "pcc:read"]
    assert created.key not in stored
    assert key_secret(created) not in stored


# --- registration -----------------------------------------------------------------------------


async def test_registration_creates_user_organisation_and_owner_membership(
    client: GrantsClient, session: AsyncSession, territory: Territory
) -> None:
    registered = await client.create_registration(
        registration(territory, "Founder@Test.Example", org_name="Batken Women Forum")
    )

    org = registered.organisation
    assert registered.user.email == "founder@test.example"
    assert registered.user.roles == []
    assert registered.user.preferred_language == Language.RU
    assert registered.user.memberships == [
        MembershipRead(
            organisation_id=org.id,
            organisation_name="Batken Women Forum",
            role=MembershipRole.OWNER,
        )
    ]
    assert (org.name, org.territory_id, org.founded_year, org.youth_led, org.version) == (
        "Batken Women Forum",
        territory.id,
        2019,
        True,
        1,
    )
    memberships = (
        await session.execute(
            select(Membership.user_id, Membership.role).where(Membership.organisation_id == org.id)
        )
    ).all()
    assert [tuple(m) for m in memberships] == [(registered.user.id, MembershipRole.OWNER)]


async def test_registered_user_reads_and_updates_only_its_organisation(
    client: GrantsClient, territory: Territory, make_organisation: MakeOrganisation
) -> None:
    other = await make_organisation()
    registered = await client.create_registration(registration(territory, "owner@test.example"))
    token = await client.create_token("owner@test.example", NEW_PASSWORD)
    owner = client.as_user(token.access_token)
    own_id = registered.organisation.id

    read = await owner.get_organisation(own_id)
    updated = await owner.update_organisation(
        own_id, OrganisationUpdate(version=1, name="Osh Youth Voices PF")
    )
    listed = await owner.list_organisations()
    other_read = await refused(owner.get_organisation(other.id))
    other_update = await refused(
        owner.update_organisation(other.id, OrganisationUpdate(version=1, name="Taken over"))
    )

    assert read == registered.organisation
    assert (updated.name, updated.version) == ("Osh Youth Voices PF", 2)
    assert [o.id for o in listed.items] == [own_id]
    assert (other_read.status, other_read.type) == (404, NOT_FOUND)
    assert (other_update.status, other_update.type) == (404, NOT_FOUND)


async def test_registration_with_taken_email_is_a_conflict(
    client: GrantsClient, session: AsyncSession, territory: Territory
) -> None:
    await client.create_registration(registration(territory, "twice@test.example"))

    same = await refused(
        client.create_registration(registration(territory, "twice@test.example", "Second"))
    )
    other_case = await refused(
        client.create_registration(registration(territory, "TWICE@test.example", "Third"))
    )

    assert (same.status, same.type) == (409, CONFLICT)
    assert same.problem.detail == "an account with this e-mail already exists"
    assert (other_case.status, other_case.type) == (409, CONFLICT)
    users = (
        await session.execute(select(AppUser.id).where(AppUser.email == "twice@test.example"))
    ).all()
    orgs = (
        await session.execute(
            select(Organisation.name).where(col(Organisation.name).in_(["Second", "Third"]))
        )
    ).all()
    assert (len(users), orgs) == (1, [])


async def test_api_key_cannot_register(
    make_user: MakeUser, client: GrantsClient, territory: Territory
) -> None:
    admin = await make_user(Role.ADMIN)
    created = await create_key(admin, ApiScope.READ_PCC)

    error = await refused(
        client.as_partner(created.key).create_registration(
            registration(territory, "bot@test.example")
        )
    )

    assert (error.status, error.type) == (403, FORBIDDEN)


# --- audit ------------------------------------------------------------------------------------


async def events(session: AsyncSession, action: str) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.seq))
    return list((await session.execute(stmt)).scalars().all())


async def test_auth_actions_write_audit_events_without_secrets(
    make_user: MakeUser, http: httpx.AsyncClient, session: AsyncSession, territory: Territory
) -> None:
    admin = await make_user(Role.ADMIN)
    anonymous = GrantsClient(http, request_id="register-1")

    registered = await anonymous.create_registration(registration(territory, "audit@test.example"))
    token = await GrantsClient(http, request_id="sign-in-1").create_token(
        "audit@test.example", NEW_PASSWORD
    )
    founder = GrantsClient(http, token=token.access_token, request_id="sign-out-1")
    created = await create_key(admin, ApiScope.READ_PCC)
    await admin.client.delete_api_key(created.id)
    await founder.delete_token()

    user_id, org_id = registered.user.id, registered.organisation.id
    token_row = (
        await session.execute(
            select(AuthToken).where(AuthToken.token_hash == sha256(token.access_token))
        )
    ).scalar_one()
    issued = await events(session, "auth_token.issued")
    revoked = await events(session, "auth_token.revoked")
    assert [(e.entity_id, e.actor_id, e.request_id) for e in issued] == [
        (str(token_row.id), user_id, "sign-in-1")
    ]
    assert issued[0].after == {
        "user_id": str(user_id),
        "expires_at": token_row.expires_at.isoformat(),
    }
    assert [(e.entity_id, e.actor_id, e.request_id) for e in revoked] == [
        (str(token_row.id), user_id, "sign-out-1")
    ]
    registration_events = [
        (e.action, e.entity_id, e.request_id)
        for action in ("user.created", "organisation.created", "membership.created")
        for e in await events(session, action)
    ]
    assert registration_events == [
        ("user.created", str(user_id), "register-1"),
        ("organisation.created", str(org_id), "register-1"),
        ("membership.created", f"{user_id}:{org_id}", "register-1"),
    ]
    key_events = [
        (e.action, e.entity_id, e.actor_id)
        for action in ("api_key.created", "api_key.revoked")
        for e in await events(session, action)
    ]
    assert key_events == [
        ("api_key.created", str(created.id), admin.id),
        ("api_key.revoked", str(created.id), admin.id),
    ]

    password_hash = await stored_password_hash(session, "audit@test.example")
    secrets = {
        "password": NEW_PASSWORD,
        "password hash": password_hash,
        "token": token.access_token,
        "token hash": sha256(token.access_token),
        "fixture token": admin.token,
        "API key": created.key,
        "API key secret": key_secret(created),
        "API key hash": sha256(created.key),
    }
    every_event = (await session.execute(select(AuditEvent))).scalars().all()
    leaks = [
        (event.action, name)
        for event in every_event
        for name, secret in secrets.items()
        if secret in json.dumps([event.before, event.after, event.reason, event.entity_id])
    ]
    assert len(every_event) == 7
    assert leaks == []
