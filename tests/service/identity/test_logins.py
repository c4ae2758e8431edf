"""Logins and passwords (issue 11 §5): sign-in throttling, the password rule, an administrator's
reset, and the TOTP second factor with recovery codes, required for some roles."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyotp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from contracts.client import ApiError, GrantsClient
from contracts.enums import OrganisationKind, Role, TokenRestriction
from contracts.identity import (
    OrganisationCreate,
    PasswordChange,
    PasswordResetCreate,
    RegistrationCreate,
    TotpConfirmation,
    TotpRemoval,
    UserCreate,
)
from service.app import create_app
from service.context import Clock
from service.identity.throttle import account_key, client_address
from service.maintenance import purge_sign_in_counts
from service.persistence.database import Database
from service.persistence.models import AppUser, RecoveryCode, SignInThrottle, Territory
from tests.conftest import TEST_PASSWORD, TEST_SETTINGS, MakeUser, Person

PROBLEM = "urn:pcc-grants:problem:"
T0 = datetime(2026, 12, 3, 9, 0, 0, tzinfo=UTC)
REQUIRED = [Role.FINANCE_OFFICER, Role.ADMIN]

# the production rule: finance officers and administrators need a second factor
pytestmark = pytest.mark.shared_app(totp_required_roles=REQUIRED)


@pytest.fixture
def at_t0(frozen_clock: Clock) -> Clock:
    frozen_clock.frozen = T0
    return frozen_clock


def later(clock: Clock, seconds: float) -> None:
    assert clock.frozen is not None
    clock.frozen += timedelta(seconds=seconds)


async def refused(call: Awaitable[object]) -> ApiError:
    with pytest.raises(ApiError) as info:
        await call
    return info.value


async def sign_in(
    http: httpx.AsyncClient, email: str, password: str, ip: str = "192.0.2.10", **extra: str
) -> httpx.Response:
    """POST /auth/token as a caller at `ip` (the test client is a trusted proxy: 127.0.0.1)."""
    return await http.post(
        "auth/token",
        json={"email": email, "password": password, **extra},
        headers={"x-forwarded-for": ip},
    )


# --- throttling ---------------------------------------------------------------------------------


async def test_fifty_wrong_passwords_are_throttled_and_the_right_one_waits(
    make_user: MakeUser, http: httpx.AsyncClient, at_t0: Clock
) -> None:
    """The issue's probe: 50 wrong passwords for one account in a row, then the right one."""
    person = await make_user(Role.FINANCE_OFFICER)
    statuses = [
        (await sign_in(http, person.user.email, f"wrong guess {i}")).status_code for i in range(50)
    ]
    right = await sign_in(http, person.user.email, TEST_PASSWORD)

    assert statuses == [401] * 5 + [429] * 45
    assert right.status_code == 429
    assert right.headers["retry-after"] == "1"
    assert right.headers["content-type"] == "application/problem+json"
    assert right.json()["type"] == PROBLEM + "too-many-sign-in-attempts"


async def test_account_back_off_doubles_and_a_sign_in_after_it_works(
    make_user: MakeUser, http: httpx.AsyncClient, at_t0: Clock
) -> None:
    person = await make_user(Role.AUDITOR)
    email = person.user.email
    for i in range(5):
        assert (await sign_in(http, email, f"wrong {i}")).status_code == 401
    assert (await sign_in(http, email, "wrong 5")).headers["retry-after"] == "1"
    later(at_t0, 1)
    assert (await sign_in(http, email, "wrong 6")).status_code == 401  # the 6th failure: 2 s
    blocked = await sign_in(http, email, TEST_PASSWORD)
    later(at_t0, 2)
    after_window = await sign_in(http, email, TEST_PASSWORD)

    assert (blocked.status_code, blocked.headers["retry-after"]) == (429, "2")
    assert after_window.status_code == 201


async def test_a_success_clears_the_account_count_and_so_does_a_quiet_quarter_hour(
    make_user: MakeUser, http: httpx.AsyncClient, at_t0: Clock
) -> None:
    person = await make_user()
    email = person.user.email
    for i in range(4):
        assert (await sign_in(http, email, f"wrong {i}")).status_code == 401
    assert (await sign_in(http, email, TEST_PASSWORD)).status_code == 201
    for i in range(4):  # counted from zero again: four more are not blocked
        assert (await sign_in(http, email, f"wrong again {i}")).status_code == 401
    later(at_t0, 15 * 60 + 1)
    statuses = [(await sign_in(http, email, f"late {i}")).status_code for i in range(5)]

    assert statuses == [401] * 5  # the earlier four were forgotten after 15 quiet minutes


async def test_the_account_lock_never_lasts_more_than_a_minute(
    make_user: MakeUser, http: httpx.AsyncClient, at_t0: Clock
) -> None:
    """An attacker who keeps guessing keeps the account blocked for at most 60 s at a time."""
    person = await make_user()
    email = person.user.email
    for i in range(4):
        assert (await sign_in(http, email, f"wrong {i}")).status_code == 401
    waits = []
    for i in range(8):
        assert (await sign_in(http, email, f"wrong again {i}")).status_code == 401
        blocked = await sign_in(http, email, TEST_PASSWORD)
        assert blocked.status_code == 429
        waits.append(int(blocked.headers["retry-after"]))
        later(at_t0, waits[-1])

    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    assert (await sign_in(http, email, TEST_PASSWORD)).status_code == 201


async def test_one_address_trying_many_accounts_is_throttled_not_the_others(
    make_user: MakeUser, http: httpx.AsyncClient, at_t0: Clock
) -> None:
    person = await make_user()
    attacker, office = "203.0.113.7", "198.51.100.9"
    statuses = [
        (await sign_in(http, f"guess{i}@test.example", "password12", ip=attacker)).status_code
        for i in range(20)
    ]
    from_attacker = await sign_in(http, person.user.email, TEST_PASSWORD, ip=attacker)
    from_office = await sign_in(http, person.user.email, TEST_PASSWORD, ip=office)
    later(at_t0, 31)
    after_block = await sign_in(http, person.user.email, TEST_PASSWORD, ip=attacker)

    assert statuses == [401] * 20
    assert (from_attacker.status_code, from_attacker.headers["retry-after"]) == (429, "30")
    assert from_office.status_code == 201
    assert after_block.status_code == 201


async def test_throttling_is_shared_by_every_worker(
    make_user: MakeUser, db: Database, storage_dir: Path, http: httpx.AsyncClient, at_t0: Clock
) -> None:
    """Failures counted by one app instance block the sign-in at another (PostgreSQL, not
    memory)."""
    other = create_app(TEST_SETTINGS.model_copy(update={"storage_dir": storage_dir}), database=db)
    person = await make_user()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://test/api/v1/"
    ) as second:
        for i in range(5):
            worker = http if i % 2 else second
            assert (await sign_in(worker, person.user.email, f"wrong {i}")).status_code == 401
        on_second = await sign_in(second, person.user.email, TEST_PASSWORD)
        on_first = await sign_in(http, person.user.email, TEST_PASSWORD)

    assert (on_second.status_code, on_first.status_code) == (429, 429)


def test_the_address_is_the_peer_unless_the_peer_is_a_trusted_proxy() -> None:
    trusted = ["127.0.0.1", "10.0.0.0/8"]
    assert client_address("198.51.100.1", "203.0.113.9", trusted) == "198.51.100.1"
    assert client_address("127.0.0.1", "203.0.113.9", trusted) == "203.0.113.9"
    # a client's own forged entries are left of what the proxies appended
    assert client_address("127.0.0.1", "1.2.3.4, 203.0.113.9, 10.1.1.1", trusted) == "203.0.113.9"
    assert client_address("127.0.0.1", None, trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", "not an address", trusted) == "invalid"


async def test_token_answers_are_never_cached(make_user: MakeUser, http: httpx.AsyncClient) -> None:
    person = await make_user()
    answer = await sign_in(http, person.user.email, TEST_PASSWORD)

    assert answer.status_code == 201
    assert answer.headers["cache-control"] == "no-store"


# --- the password rule ----------------------------------------------------------------------------

WEAK = ["aaaaaaaaaa", "1234567890", "password12"]


def _registration(territory: Territory, email: str, password: str) -> RegistrationCreate:
    return RegistrationCreate(
        email=email,
        password=password,
        full_name="Aida Founder",
        organisation=OrganisationCreate(
            name=f"Group {uuid.uuid4().hex[:6]}",
            kind=OrganisationKind.YOUTH_GROUP,
            territory_id=territory.id,
            founded_year=2019,
        ),
    )


def _is_weak_password_refusal(error: ApiError, field: str) -> None:
    assert (error.status, error.type) == (422, PROBLEM + "invalid-input")
    assert [i.field for i in error.problem.errors or []] == [field]
    message = (error.problem.errors or [])[0].message
    assert message.startswith("This password is too easy to guess: "), message


@pytest.mark.parametrize("password", [*WEAK, "the e-mail"])
async def test_registration_refuses_easy_passwords(
    password: str, client: GrantsClient, territory: Territory, session: AsyncSession
) -> None:
    email = f"aida.founder{uuid.uuid4().hex[:4]}@osh-youth.kg"
    password = email if password == "the e-mail" else password

    error = await refused(client.create_registration(_registration(territory, email, password)))

    _is_weak_password_refusal(error, "body.password")
    assert (
        await session.execute(select(AppUser).where(AppUser.email == email))
    ).scalar_one_or_none() is None


@pytest.mark.parametrize("password", WEAK)
async def test_user_creation_and_password_change_refuse_easy_passwords(
    password: str, make_user: MakeUser
) -> None:
    admin = await make_user(Role.ADMIN)
    created = await refused(
        admin.client.create_user(
            UserCreate(email="new.officer@test.example", password=password, full_name="New")
        )
    )
    changed = await refused(
        admin.client.create_password_change(
            PasswordChange(current_password=TEST_PASSWORD, new_password=password)
        )
    )

    _is_weak_password_refusal(created, "body.password")
    _is_weak_password_refusal(changed, "body.new_password")


async def test_strong_passwords_are_accepted(client: GrantsClient, territory: Territory) -> None:
    for password in (TEST_PASSWORD, "demo-grants-2026", "Баткен тоолору 2026"):
        email = f"p{uuid.uuid4().hex[:8]}@test.example"
        created = await client.create_registration(_registration(territory, email, password))
        assert created.user.email == email


# --- an administrator's reset ---------------------------------------------------------------------


async def test_admin_reset_revokes_every_token_and_the_next_sign_in_must_change_it(
    make_user: MakeUser, client: GrantsClient, http: httpx.AsyncClient
) -> None:
    admin = await make_user(Role.ADMIN)
    reviewer = await make_user(Role.REVIEWER)
    second_session = await client.create_token(reviewer.user.email, TEST_PASSWORD)

    reset = await admin.client.create_password_reset(reviewer.id, PasswordResetCreate())
    old_token = await refused(reviewer.client.get_me())
    old_second = await refused(client.as_user(second_session.access_token).get_me())
    old_password = await refused(client.create_token(reviewer.user.email, TEST_PASSWORD))
    assert reset.temporary_password is not None
    token = await client.create_token(reviewer.user.email, reset.temporary_password)
    limited = client.as_user(token.access_token)
    me = await limited.get_me()
    blocked = await refused(limited.list_organisations())
    await limited.create_password_change(
        PasswordChange(
            current_password=reset.temporary_password, new_password="a new passphrase 77"
        )
    )

    assert reset.tokens_revoked == 2
    assert [e.status for e in (old_token, old_second, old_password)] == [401, 401, 401]
    assert token.restriction is TokenRestriction.CHANGE_PASSWORD
    assert me.restriction is TokenRestriction.CHANGE_PASSWORD
    assert (blocked.status, blocked.type) == (403, PROBLEM + "password-change-required")
    assert (await limited.get_me()).restriction is None
    assert (await limited.list_organisations()).items == []
    assert (
        await client.create_token(reviewer.user.email, "a new passphrase 77")
    ).restriction is None


async def test_admin_reset_to_a_given_password_follows_the_rule(
    make_user: MakeUser, client: GrantsClient
) -> None:
    admin = await make_user(Role.ADMIN)
    reviewer = await make_user(Role.REVIEWER)

    weak = await refused(
        admin.client.create_password_reset(
            reviewer.id, PasswordResetCreate(new_password="1234567890")
        )
    )
    given = await admin.client.create_password_reset(
        reviewer.id, PasswordResetCreate(new_password="given by the admin 2026")
    )
    unknown = await refused(admin.client.create_password_reset(uuid.uuid4(), PasswordResetCreate()))

    _is_weak_password_refusal(weak, "body.new_password")
    assert (given.temporary_password, given.tokens_revoked) == (None, 1)
    token = await client.create_token(reviewer.user.email, "given by the admin 2026")
    assert token.restriction is TokenRestriction.CHANGE_PASSWORD
    assert unknown.status == 404


# --- the TOTP second factor ---------------------------------------------------------------------


async def enrol(person: Person) -> tuple[str, list[str]]:
    """Set up and confirm the second factor at the frozen instant: the secret and the codes."""
    enrolment = await person.client.create_totp_enrolment()
    code = pyotp.TOTP(enrolment.secret).at(T0)
    codes = await person.client.create_totp_confirmation(TotpConfirmation(code=code))
    return enrolment.secret, codes.codes


async def test_enrolment_shows_the_secret_once_and_stores_it_sealed(
    make_user: MakeUser, http: httpx.AsyncClient, session: AsyncSession, at_t0: Clock
) -> None:
    person = await make_user(Role.AUDITOR)
    headers = {"authorization": f"Bearer {person.token}"}

    answer = await http.post("users/me/totp", headers=headers)
    body = answer.json()
    stored = (
        await session.execute(select(AppUser.totp_secret).where(AppUser.id == person.id))
    ).scalar_one()
    wrong = await refused(person.client.create_totp_confirmation(TotpConfirmation(code="000000")))
    code = pyotp.TOTP(body["secret"]).at(T0)
    confirmed = await http.post("users/me/totp/confirmation", json={"code": code}, headers=headers)
    again = await refused(person.client.create_totp_enrolment())
    me = await person.client.get_me()
    me_raw = await http.get("users/me", headers=headers)

    assert answer.status_code == 201
    assert answer.headers["cache-control"] == "no-store"
    assert body["otpauth_uri"].startswith("otpauth://totp/PCC%20Grants:")
    assert f"secret={body['secret']}" in body["otpauth_uri"]
    assert body["qr_svg"].startswith("<svg")
    assert "style" not in body["qr_svg"]
    assert stored is not None
    assert body["secret"] not in stored
    assert [i.field for i in wrong.problem.errors or []] == ["body.code"]
    assert confirmed.status_code == 201
    assert confirmed.headers["cache-control"] == "no-store"
    assert len(set(confirmed.json()["codes"])) == 10
    assert again.status == 409
    assert (me.totp_enabled, me.recovery_codes_left) == (True, 10)
    assert body["secret"] not in me_raw.text


async def test_sign_in_with_the_second_factor(
    make_user: MakeUser, http: httpx.AsyncClient, at_t0: Clock
) -> None:
    person = await make_user(Role.AUDITOR)
    secret, _ = await enrol(person)
    email = person.user.email
    later(at_t0, 30)  # the confirmation used the code of T0's step
    code = pyotp.TOTP(secret).at(at_t0.now())

    without = await sign_in(http, email, TEST_PASSWORD)
    wrong = await sign_in(
        http, email, TEST_PASSWORD, otp="123456" if code != "123456" else "654321"
    )
    right = await sign_in(http, email, TEST_PASSWORD, otp=code)
    replayed = await sign_in(http, email, TEST_PASSWORD, otp=code)
    wrong_password = await sign_in(http, email, "not the password", otp=code)

    assert (without.status_code, without.json()["type"]) == (
        401,
        PROBLEM + "second-factor-required",
    )
    assert (wrong.status_code, wrong.json()["type"]) == (401, PROBLEM + "second-factor-invalid")
    assert right.status_code == 201
    assert (replayed.status_code, replayed.json()["type"]) == (
        401,
        PROBLEM + "second-factor-invalid",
    )
    assert (wrong_password.status_code, wrong_password.json()["type"]) == (
        401,
        PROBLEM + "unauthenticated",
    )


async def test_a_recovery_code_works_once(
    make_user: MakeUser, http: httpx.AsyncClient, session: AsyncSession, at_t0: Clock
) -> None:
    person = await make_user(Role.AUDITOR)
    _, codes = await enrol(person)
    email = person.user.email

    first = await sign_in(http, email, TEST_PASSWORD, recovery_code=codes[3].lower())
    second = await sign_in(http, email, TEST_PASSWORD, recovery_code=codes[3])
    other = await sign_in(http, email, TEST_PASSWORD, recovery_code=codes[4])
    used = (
        await session.execute(select(RecoveryCode.used_at).where(RecoveryCode.user_id == person.id))
    ).scalars()

    assert first.status_code == 201
    assert (second.status_code, second.json()["type"]) == (401, PROBLEM + "second-factor-invalid")
    assert other.status_code == 201
    assert sorted(u is not None for u in used) == [False] * 8 + [True] * 2
    assert (await person.client.get_me()).recovery_codes_left == 8


async def test_wrong_codes_count_toward_the_throttle(
    make_user: MakeUser, http: httpx.AsyncClient, at_t0: Clock
) -> None:
    person = await make_user(Role.AUDITOR)
    secret, _ = await enrol(person)
    later(at_t0, 30)
    statuses = [
        (await sign_in(http, person.user.email, TEST_PASSWORD, otp=f"{i:06d}")).status_code
        for i in range(6)
    ]
    right = await sign_in(
        http, person.user.email, TEST_PASSWORD, otp=pyotp.TOTP(secret).at(at_t0.now())
    )

    assert statuses == [401] * 5 + [429]
    assert right.status_code == 429


async def test_a_required_role_without_a_second_factor_may_only_enrol(
    make_user: MakeUser, client: GrantsClient, at_t0: Clock
) -> None:
    finance = await make_user(Role.FINANCE_OFFICER)
    auditor = await make_user(Role.AUDITOR)

    token = await client.create_token(finance.user.email, TEST_PASSWORD)
    limited = client.as_user(token.access_token)
    me = await limited.get_me()
    blocked = await refused(limited.list_funding_sources())
    enrolment = await limited.create_totp_enrolment()
    await limited.create_totp_confirmation(
        TotpConfirmation(code=pyotp.TOTP(enrolment.secret).at(T0))
    )
    freed = await limited.list_funding_sources()
    needs_code = await refused(client.create_token(finance.user.email, TEST_PASSWORD))
    auditor_token = await client.create_token(auditor.user.email, TEST_PASSWORD)

    assert token.restriction is TokenRestriction.ENROL_SECOND_FACTOR
    assert me.restriction is TokenRestriction.ENROL_SECOND_FACTOR
    assert (blocked.status, blocked.type) == (403, PROBLEM + "second-factor-enrolment-required")
    assert freed.items is not None
    assert (needs_code.status, needs_code.type) == (401, PROBLEM + "second-factor-required")
    assert auditor_token.restriction is None


async def test_removing_the_second_factor_needs_the_password_and_limits_required_roles(
    make_user: MakeUser, client: GrantsClient, at_t0: Clock
) -> None:
    admin = await make_user(Role.ADMIN)
    await enrol(admin)

    wrong = await refused(admin.client.create_totp_removal(TotpRemoval(password="not mine at all")))
    await admin.client.create_totp_removal(TotpRemoval(password=TEST_PASSWORD))
    me = await admin.client.get_me()
    blocked = await refused(admin.client.list_users())
    token = await client.create_token(admin.user.email, TEST_PASSWORD)

    assert [i.field for i in wrong.problem.errors or []] == ["body.password"]
    assert (me.totp_enabled, me.restriction) == (False, TokenRestriction.ENROL_SECOND_FACTOR)
    assert blocked.type == PROBLEM + "second-factor-enrolment-required"
    assert token.restriction is TokenRestriction.ENROL_SECOND_FACTOR


async def test_admin_reset_can_remove_a_lost_second_factor(
    make_user: MakeUser, client: GrantsClient, at_t0: Clock
) -> None:
    admin = await make_user(Role.ADMIN)
    auditor = await make_user(Role.AUDITOR)
    await enrol(auditor)

    reset = await admin.client.create_password_reset(
        auditor.id, PasswordResetCreate(remove_second_factor=True)
    )
    assert reset.temporary_password is not None
    token = await client.create_token(auditor.user.email, reset.temporary_password)

    assert token.restriction is TokenRestriction.CHANGE_PASSWORD
    assert (await client.as_user(token.access_token).get_me()).totp_enabled is False


async def test_the_hourly_purge_deletes_only_counts_that_ran_out(
    make_user: MakeUser, http: httpx.AsyncClient, db: Database, at_t0: Clock
) -> None:
    person = await make_user()
    await sign_in(http, person.user.email, "wrong once", ip="192.0.2.44")
    later(at_t0, 60)
    await sign_in(http, "someone.else@test.example", "wrong too", ip="192.0.2.45")
    later(at_t0, 15 * 60 - 30)  # the first two keys ran out (quiet 15.5 min), the last two not

    purged = await purge_sign_in_counts(db)
    async with db.session() as session:
        keys = (await session.execute(select(SignInThrottle.key))).scalars().all()

    assert purged == 2
    assert sorted(keys) == sorted([account_key("someone.else@test.example"), "ip:192.0.2.45"])
