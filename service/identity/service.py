"""Use cases of identity: tokens, accounts, registration, organisations, API keys.

Each function is one use case inside the caller's transaction: it checks permissions against the
actual rows, changes state, and records an audit event. It never commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
import structlog
from sqlalchemy import delete as sa_delete
from sqlalchemy import update as sa_update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from contracts import identity as c
from contracts import permissions as p
from contracts.common import ValidationIssue
from contracts.enums import ApiKeyStatus, ApiScope, MembershipRole, Role, TokenRestriction
from contracts.permissions import Actor
from service.audit.service import record, snapshot
from service.changes import apply_update, check_version, record_created, update_versioned
from service.context import RequestContext, utcnow
from service.identity import throttle, totp
from service.identity.secrets import (
    hash_password_off_loop,
    needs_rehash,
    new_api_key,
    new_token,
    sha256_hex,
    verify_password_off_loop,
)
from service.identity.strength import check_password
from service.pagination import keyset, split_page
from service.persistence.models import (
    ApiKey,
    AppUser,
    AuthToken,
    Membership,
    Organisation,
    Territory,
    UserRole,
    WebhookSubscription,
)
from service.problems import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    SecondFactorInvalid,
    SecondFactorRequired,
    SignInFailed,
)
from service.settings import Settings

log = structlog.get_logger("service.identity")


# --- tokens -----------------------------------------------------------------------------------


async def issue_token(
    session: AsyncSession,
    ctx: RequestContext,
    body: c.TokenCreate,
    settings: Settings,
    address: str,
) -> c.TokenRead:
    """Sign in: throttled per account and address (`throttle`), the password, then the second
    factor when it is on; the token is limited when the person must first change the password
    or set up a second factor."""
    email = body.email.lower()
    now = utcnow()
    await throttle.check(session, email, address, now)
    user = (
        await session.execute(select(AppUser).where(AppUser.email == email))
    ).scalar_one_or_none()
    matches = await verify_password_off_loop(user.password_hash if user else None, body.password)
    if not matches or user is None:
        log.info("sign_in_failed", email_hash=sha256_hex(email)[:16])
        await throttle.record_failure(session, email, address, now)
        raise SignInFailed("the e-mail or the password is wrong")
    if not user.is_active:
        raise NotAuthenticated("this account is deactivated")
    second_factor: str | None = None
    if user.totp_enabled_at is not None:
        if not body.otp and not body.recovery_code:
            raise SecondFactorRequired(
                "this account signs in with a second factor: send `otp` (the 6 digits of the "
                "authenticator app) or a `recovery_code` with the e-mail and password"
            )
        second_factor = await totp.use_second_factor(
            session,
            user,
            totp.resolve_key(settings),
            otp=body.otp,
            recovery_code=body.recovery_code,
            now=now,
        )
        if second_factor is None:
            log.info("second_factor_failed", email_hash=sha256_hex(email)[:16])
            await throttle.record_failure(session, email, address, now)
            raise SecondFactorInvalid("the code is wrong, used already, or too old")
    await throttle.record_success(session, email)
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password_off_loop(body.password)
    restriction: TokenRestriction | None = None
    if user.password_must_change:
        restriction = TokenRestriction.CHANGE_PASSWORD
    elif await totp.needs_enrolment(session, user, settings.totp_required_roles):
        restriction = TokenRestriction.ENROL_SECOND_FACTOR
    token, token_hash = new_token()
    row = AuthToken(
        user_id=user.id,
        token_hash=token_hash,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.token_ttl_seconds),
        restriction=restriction,
    )
    session.add(row)
    await session.flush()
    actor_ctx = RequestContext(
        actor=Actor(kind="user", id=user.id, label=f"user:{user.email}"),
        request_id=ctx.request_id,
    )
    await record(
        session,
        actor_ctx,
        action="auth_token.issued",
        entity="auth_token",
        entity_id=row.id,
        after={
            "user_id": str(user.id),
            "expires_at": row.expires_at.isoformat(),
            **({"second_factor": second_factor} if second_factor else {}),
            **({"restriction": restriction.value} if restriction else {}),
        },
    )
    return c.TokenRead(access_token=token, expires_at=row.expires_at, restriction=restriction)


async def revoke_token(
    session: AsyncSession, ctx: RequestContext, authorization: str | None
) -> None:
    ctx.require(p.can_read_me(ctx.actor))
    token = (authorization or "").partition(" ")[2].strip()
    row = (
        await session.execute(
            select(AuthToken).where(AuthToken.token_hash == sha256_hex(token)).with_for_update()
        )
    ).scalar_one()
    row.revoked_at = utcnow()
    await record(
        session,
        ctx,
        action="auth_token.revoked",
        entity="auth_token",
        entity_id=row.id,
        after={"revoked_at": row.revoked_at.isoformat()},
    )


# --- users ------------------------------------------------------------------------------------


async def _roles_of(
    session: AsyncSession, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Role]]:
    out: dict[uuid.UUID, list[Role]] = {u: [] for u in user_ids}
    if not user_ids:
        return out
    rows = await session.execute(
        select(UserRole.user_id, UserRole.role)
        .where(col(UserRole.user_id).in_(user_ids))
        .order_by(UserRole.role)
    )
    for uid, role in rows:
        out[uid].append(Role(role))
    return out


def _user_read(user: AppUser, roles: list[Role]) -> c.UserRead:
    return c.UserRead(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        preferred_language=user.preferred_language,
        roles=sorted(roles),
        is_active=user.is_active,
        created_at=user.created_at,
    )


async def _me_read(
    session: AsyncSession, user: AppUser, restriction: TokenRestriction | None = None
) -> c.MeRead:
    roles = (await _roles_of(session, [user.id]))[user.id]
    rows = await session.execute(
        select(Membership.organisation_id, Organisation.name, Membership.role)
        .join(Organisation, col(Organisation.id) == col(Membership.organisation_id))
        .where(Membership.user_id == user.id)
        .order_by(Organisation.name)
    )
    return c.MeRead(
        **msgspec.structs.asdict(_user_read(user, roles)),
        memberships=[
            c.MembershipRead(organisation_id=oid, organisation_name=name, role=MembershipRole(r))
            for oid, name, r in rows
        ],
        totp_enabled=user.totp_enabled_at is not None,
        recovery_codes_left=(
            await totp.recovery_codes_left(session, user.id) if user.totp_enabled_at else 0
        ),
        restriction=restriction,
    )


async def get_me(
    session: AsyncSession, ctx: RequestContext, restriction: TokenRestriction | None = None
) -> c.MeRead:
    ctx.require(p.can_read_me(ctx.actor))
    user = await session.get_one(AppUser, ctx.actor.id)
    return await _me_read(session, user, restriction)


async def update_me(
    session: AsyncSession,
    ctx: RequestContext,
    body: c.MeUpdate,
    restriction: TokenRestriction | None = None,
) -> c.MeRead:
    ctx.require(p.can_update_me(ctx.actor))
    user = await session.get_one(AppUser, ctx.actor.id, with_for_update=True)
    before = snapshot(user)
    if apply_update(user, body, skip=()):
        await session.flush()
        await record(
            session,
            ctx,
            action="user.updated",
            entity="user",
            entity_id=user.id,
            before=before,
            after=snapshot(user),
        )
    return await _me_read(session, user, restriction)


async def _insert_user(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    email: str,
    password: str,
    full_name: str,
    language: Any,
    roles: list[Role],
) -> AppUser:
    email = email.lower()
    exists = (
        await session.execute(select(AppUser.id).where(AppUser.email == email))
    ).scalar_one_or_none()
    if exists is not None:
        raise Conflict("an account with this e-mail already exists")
    await check_password(password, email=email, full_name=full_name)
    user = AppUser(
        email=email,
        full_name=full_name,
        password_hash=await hash_password_off_loop(password),
        preferred_language=language,
    )
    session.add(user)
    await session.flush()
    for role in sorted(set(roles)):
        session.add(UserRole(user_id=user.id, role=role))
    await session.flush()
    await session.refresh(user)
    await record(
        session,
        ctx,
        action="user.created",
        entity="user",
        entity_id=user.id,
        after={**(snapshot(user) or {}), "roles": sorted(r.value for r in set(roles))},
    )
    return user


async def create_user(session: AsyncSession, ctx: RequestContext, body: c.UserCreate) -> c.UserRead:
    ctx.require(p.can_create_user(ctx.actor))
    user = await _insert_user(
        session,
        ctx,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        language=body.preferred_language,
        roles=body.roles,
    )
    return _user_read(user, sorted(set(body.roles)))


async def list_users(
    session: AsyncSession,
    ctx: RequestContext,
    cursor: str | None,
    limit: int,
    q: str | None = None,
) -> c.UserPage:
    ctx.require(p.can_list_users(ctx.actor))
    base = select(AppUser)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        base = base.where(
            col(AppUser.email).ilike(pattern, escape="\\")
            | col(AppUser.full_name).ilike(pattern, escape="\\")
        )
    stmt = keyset(base, AppUser.created_at, AppUser.id, cursor, limit)
    users = list((await session.execute(stmt)).scalars().all())
    users, next_cursor = split_page(users, limit, lambda u: (u.created_at, u.id))
    roles = await _roles_of(session, [u.id for u in users])
    return c.UserPage(items=[_user_read(u, roles[u.id]) for u in users], next_cursor=next_cursor)


async def get_user(session: AsyncSession, ctx: RequestContext, user_id: uuid.UUID) -> c.UserRead:
    """One person's account (administrators and auditors, who list them anyway)."""
    ctx.require(p.can_list_users(ctx.actor))
    user = await session.get(AppUser, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return _user_read(user, (await _roles_of(session, [user.id]))[user.id])


async def update_user(
    session: AsyncSession, ctx: RequestContext, user_id: uuid.UUID, body: c.UserUpdate
) -> c.UserRead:
    """Change someone's staff roles, or deactivate / reactivate them. Deactivation revokes every
    token of theirs (they are signed out everywhere); an administrator may neither deactivate
    themselves nor take away their own administrator role."""
    ctx.require(p.can_update_user(ctx.actor))
    user = await session.get(AppUser, user_id, with_for_update=True)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    issues: list[ValidationIssue] = []
    if user.id == ctx.actor.id:
        if body.is_active is False:
            issues.append(
                ValidationIssue(field="body.is_active", message="you cannot deactivate yourself")
            )
        if not isinstance(body.roles, msgspec.UnsetType) and Role.ADMIN not in body.roles:
            issues.append(
                ValidationIssue(
                    field="body.roles", message="you cannot take away your own administrator role"
                )
            )
    if issues:
        raise InvalidInput("this change is refused", issues)
    current = (await _roles_of(session, [user.id]))[user.id]
    before: dict[str, Any] = {"roles": [r.value for r in current], "is_active": user.is_active}
    roles = current
    if not isinstance(body.roles, msgspec.UnsetType):
        roles = sorted(set(body.roles))
        for role in set(current) - set(roles):
            await session.execute(
                sa_delete(UserRole).where(
                    col(UserRole.user_id) == user.id, col(UserRole.role) == role
                )
            )
        for role in set(roles) - set(current):
            session.add(UserRole(user_id=user.id, role=role))
    revoked = 0
    if not isinstance(body.is_active, msgspec.UnsetType) and body.is_active != user.is_active:
        user.is_active = body.is_active
        if not body.is_active:
            result = await session.execute(
                sa_update(AuthToken)
                .where(col(AuthToken.user_id) == user.id, col(AuthToken.revoked_at).is_(None))
                .values(revoked_at=utcnow())
            )
            revoked = int(result.rowcount)  # type: ignore[attr-defined]  # an UPDATE's result
    await session.flush()
    after: dict[str, Any] = {"roles": [r.value for r in sorted(roles)], "is_active": user.is_active}
    if after != before:
        action = "user.updated"
        if before["is_active"] != after["is_active"]:
            action = "user.reactivated" if user.is_active else "user.deactivated"
        await record(
            session,
            ctx,
            action=action,
            entity="user",
            entity_id=user.id,
            before=before,
            after={**after, **({"tokens_revoked": revoked} if revoked else {})},
        )
    return _user_read(user, list(roles))


# --- organisations ----------------------------------------------------------------------------


def organisation_read(org: Organisation) -> c.OrganisationRead:
    return c.OrganisationRead(
        id=org.id,
        name=org.name,
        kind=org.kind,
        territory_id=org.territory_id,
        founded_year=org.founded_year,
        registration_number=org.registration_number,
        women_led=org.women_led,
        youth_led=org.youth_led,
        email=org.email,
        phone=org.phone,
        address=org.address,
        description=org.description,
        version=org.version,
        created_at=org.created_at,
        updated_at=org.updated_at,
    )


async def _check_territory(
    session: AsyncSession, territory_id: uuid.UUID, field: str = "body.territory_id"
) -> None:
    if await session.get(Territory, territory_id) is None:
        raise InvalidInput(
            "no such territory",
            [ValidationIssue(field=field, message=f"unknown territory {territory_id}")],
        )


async def _check_registration_unique(
    session: AsyncSession, number: str | None, except_id: uuid.UUID | None = None
) -> None:
    if number is None:
        return
    stmt = select(Organisation.id).where(Organisation.registration_number == number)
    if except_id is not None:
        stmt = stmt.where(Organisation.id != except_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(f"an organisation with registration number {number} already exists")


async def _insert_organisation(
    session: AsyncSession,
    ctx: RequestContext,
    body: c.OrganisationCreate,
    field_prefix: str = "body.",
) -> Organisation:
    await _check_territory(session, body.territory_id, f"{field_prefix}territory_id")
    await _check_registration_unique(session, body.registration_number)
    org = Organisation(**msgspec.structs.asdict(body))
    session.add(org)
    await session.flush()
    await session.refresh(org)
    await record_created(session, ctx, "organisation", org)
    return org


async def create_organisation(
    session: AsyncSession, ctx: RequestContext, body: c.OrganisationCreate
) -> c.OrganisationRead:
    ctx.require(p.can_create_organisation(ctx.actor))
    return organisation_read(await _insert_organisation(session, ctx, body))


async def register(
    session: AsyncSession, ctx: RequestContext, body: c.RegistrationCreate
) -> c.RegistrationRead:
    """Self-registration: a new account, a new organisation, the account its owner."""
    ctx.require(p.can_register(ctx.actor))
    user = await _insert_user(
        session,
        ctx,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        language=body.preferred_language,
        roles=[],
    )
    user_ctx = RequestContext(
        actor=Actor(kind="user", id=user.id, label=f"user:{user.email}"), request_id=ctx.request_id
    )
    org = await _insert_organisation(
        session, user_ctx, body.organisation, field_prefix="body.organisation."
    )
    session.add(Membership(user_id=user.id, organisation_id=org.id, role=MembershipRole.OWNER))
    await session.flush()
    await record(
        session,
        user_ctx,
        action="membership.created",
        entity="membership",
        entity_id=f"{user.id}:{org.id}",
        after={"role": MembershipRole.OWNER.value},
    )
    return c.RegistrationRead(
        user=await _me_read(session, user), organisation=organisation_read(org)
    )


async def list_organisations(
    session: AsyncSession, ctx: RequestContext, cursor: str | None, limit: int
) -> c.OrganisationPage:
    ctx.require(p.can_list_organisations(ctx.actor))
    stmt = select(Organisation)
    if not p.sees_all_organisations(ctx.actor):
        stmt = stmt.where(col(Organisation.id).in_(ctx.actor.organisation_ids))
    rows = list(
        (
            await session.execute(
                keyset(stmt, Organisation.created_at, Organisation.id, cursor, limit)
            )
        )
        .scalars()
        .all()
    )
    rows, next_cursor = split_page(rows, limit, lambda o: (o.created_at, o.id))
    return c.OrganisationPage(items=[organisation_read(o) for o in rows], next_cursor=next_cursor)


async def _organisation_or_404(
    session: AsyncSession, ctx: RequestContext, organisation_id: uuid.UUID, *, lock: bool = False
) -> Organisation:
    """Load the row, then ask the predicate; those who may not read it learn nothing of it."""
    ctx.require(p.can_list_organisations(ctx.actor))  # 401 for nobody, 403 for API keys
    org = await session.get(Organisation, organisation_id, with_for_update=lock)
    if org is None or not p.can_read_organisation(ctx.actor, org.id).allowed:
        raise NotFound(f"organisation {organisation_id} does not exist or is not yours to see")
    return org


async def get_organisation(
    session: AsyncSession, ctx: RequestContext, organisation_id: uuid.UUID
) -> c.OrganisationRead:
    return organisation_read(await _organisation_or_404(session, ctx, organisation_id))


async def update_organisation(
    session: AsyncSession,
    ctx: RequestContext,
    organisation_id: uuid.UUID,
    body: c.OrganisationUpdate,
) -> c.OrganisationRead:
    org = await _organisation_or_404(session, ctx, organisation_id, lock=True)
    ctx.require(p.can_update_organisation(ctx.actor, org.id))
    check_version(org, body)
    if body.territory_id is not msgspec.UNSET:
        await _check_territory(session, body.territory_id)
    if isinstance(body.registration_number, str):
        await _check_registration_unique(session, body.registration_number, except_id=org.id)
    await update_versioned(session, ctx, org, body, entity="organisation")
    return organisation_read(org)


# --- API keys ---------------------------------------------------------------------------------


def api_key_status(row: ApiKey, replaced: bool, now: datetime) -> ApiKeyStatus:
    """What a key is now (never stored: it changes with the clock)."""
    if row.revoked_at is not None:
        return ApiKeyStatus.REVOKED
    if row.expires_at is not None and row.expires_at <= now:
        return ApiKeyStatus.EXPIRED
    return ApiKeyStatus.ROTATED if replaced else ApiKeyStatus.ACTIVE


def _api_key_read(
    row: ApiKey, now: datetime, replaced_by_id: uuid.UUID | None = None
) -> c.ApiKeyRead:
    return c.ApiKeyRead(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=[ApiScope(s) for s in row.scopes],
        organisation_id=row.organisation_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        status=api_key_status(row, replaced_by_id is not None, now),
        rotated_from_id=row.rotated_from_id,
        replaced_by_id=replaced_by_id,
    )


API_KEY_MAX_LIFETIME = timedelta(days=c.API_KEY_MAX_LIFETIME_DAYS)


def _check_key_expiry(expires_at: datetime | None, now: datetime) -> None:
    """A key's expiry, when given: with its UTC offset, in the future, at most 2 years ahead."""
    if expires_at is None:
        return
    if expires_at.tzinfo is None:
        raise InvalidInput(
            "the expiry needs its UTC offset",
            [ValidationIssue(field="body.expires_at", message="give the UTC offset, e.g. +06:00")],
        )
    if expires_at <= now:
        raise InvalidInput(
            "the key would already be expired",
            [ValidationIssue(field="body.expires_at", message="in the past")],
        )
    if expires_at > now + API_KEY_MAX_LIFETIME:
        raise InvalidInput(
            f"a key may be valid for at most {c.API_KEY_MAX_LIFETIME_DAYS} days (2 years)",
            [
                ValidationIssue(
                    field="body.expires_at",
                    message=f"more than {c.API_KEY_MAX_LIFETIME_DAYS} days ahead",
                )
            ],
        )


async def create_api_key(
    session: AsyncSession, ctx: RequestContext, body: c.ApiKeyCreate
) -> c.ApiKeyCreated:
    ctx.require(p.can_manage_api_keys(ctx.actor))
    if (
        body.organisation_id is not None
        and await session.get(Organisation, body.organisation_id) is None
    ):
        raise InvalidInput(
            "no such organisation",
            [ValidationIssue(field="body.organisation_id", message="unknown organisation")],
        )
    now = utcnow()
    _check_key_expiry(body.expires_at, now)
    key, prefix, key_hash = new_api_key()
    assert ctx.actor.id is not None
    row = ApiKey(
        name=body.name,
        prefix=prefix,
        key_hash=key_hash,
        scopes=sorted({s.value for s in body.scopes}),
        organisation_id=body.organisation_id,
        created_by=ctx.actor.id,
        expires_at=body.expires_at,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await record_created(session, ctx, "api_key", row)
    return c.ApiKeyCreated(**msgspec.structs.asdict(_api_key_read(row, now)), key=key)


_SUCCESSOR = aliased(ApiKey, name="successor")

_SUCCESSOR_ID = (
    select(col(_SUCCESSOR.id))
    .where(col(_SUCCESSOR.rotated_from_id) == col(ApiKey.id))
    .correlate(ApiKey)
    .scalar_subquery()
    .label("replaced_by_id")
)
"""The successor of the key on the row (at most one: `rotated_from_id` is unique)."""


async def rotate_api_key(
    session: AsyncSession, ctx: RequestContext, key_id: uuid.UUID, body: c.ApiKeyRotationCreate
) -> c.ApiKeyRotated:
    """Issue a successor to a key (same name, scopes, organisation) and end the old one after
    the overlap: its `expires_at` becomes the earlier of its own and now + `overlap_days`.

    The old row is locked first: two rotations of one key run one after the other, and the
    second finds the successor (409) — a retried rotation never forks a key in two. The new
    secret is in this answer only (so, like `CreateApiKey`, no `Idempotency-Key` record keeps
    the answer: it would keep the secret). The old key's webhook subscriptions move to the
    successor."""
    ctx.require(p.can_manage_api_keys(ctx.actor))
    old = await session.get(ApiKey, key_id, with_for_update=True)
    if old is None:
        raise NotFound(f"API key {key_id} does not exist")
    now = utcnow()
    if old.revoked_at is not None:
        raise Conflict("the API key was revoked: it cannot be rotated; create a new key")
    if old.expires_at is not None and old.expires_at <= now:
        raise Conflict("the API key has expired: it cannot be rotated; create a new key")
    successor_id = (
        await session.execute(select(col(ApiKey.id)).where(col(ApiKey.rotated_from_id) == old.id))
    ).scalar_one_or_none()
    if successor_id is not None:
        raise Conflict(
            f"the API key was already rotated: its successor is {successor_id}"
            " (rotate that one, or revoke it)"
        )
    overlap_end = now + timedelta(days=body.overlap_days)
    old_end = overlap_end if old.expires_at is None else min(old.expires_at, overlap_end)
    if body.expires_at is not None:
        _check_key_expiry(body.expires_at, now)
        if body.expires_at <= old_end:
            raise InvalidInput(
                "the new key would stop working before the old one",
                [
                    ValidationIssue(
                        field="body.expires_at", message="not after the end of the overlap"
                    )
                ],
            )
        expires_at: datetime | None = body.expires_at
    elif old.expires_at is not None:
        expires_at = now + min(old.expires_at - old.created_at, API_KEY_MAX_LIFETIME)
    else:
        expires_at = None

    before = snapshot(old)
    old.expires_at = old_end
    key, prefix, key_hash = new_api_key()
    assert ctx.actor.id is not None
    row = ApiKey(
        name=old.name,
        prefix=prefix,
        key_hash=key_hash,
        scopes=list(old.scopes),
        organisation_id=old.organisation_id,
        created_by=ctx.actor.id,
        expires_at=expires_at,
        rotated_from_id=old.id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    # the old key's webhook subscriptions go with it: the partner manages them with the new key
    moved = (
        await session.execute(
            sa_update(WebhookSubscription)
            .where(col(WebhookSubscription.owner_api_key_id) == old.id)
            .values(owner_api_key_id=row.id)
            .returning(col(WebhookSubscription.id))
            .execution_options(synchronize_session=False)
        )
    ).scalars()
    await record(
        session,
        ctx,
        action="api_key.rotated",
        entity="api_key",
        entity_id=old.id,
        before=before,
        after={
            **(snapshot(old) or {}),
            "replaced_by_id": str(row.id),
            "webhook_subscriptions_moved": sorted(str(m) for m in moved),
        },
        reason=f"overlap of {body.overlap_days} days",
    )
    await record_created(session, ctx, "api_key", row)
    return c.ApiKeyRotated(
        key=c.ApiKeyCreated(**msgspec.structs.asdict(_api_key_read(row, now)), key=key),
        previous=_api_key_read(old, now, replaced_by_id=row.id),
    )


async def list_api_keys(
    session: AsyncSession, ctx: RequestContext, cursor: str | None, limit: int
) -> c.ApiKeyPage:
    ctx.require(p.can_list_api_keys(ctx.actor))
    stmt = keyset(select(ApiKey, _SUCCESSOR_ID), ApiKey.created_at, ApiKey.id, cursor, limit)
    rows = list((await session.execute(stmt)).all())
    rows, next_cursor = split_page(rows, limit, lambda r: (r[0].created_at, r[0].id))
    now = utcnow()
    return c.ApiKeyPage(
        items=[_api_key_read(k, now, replaced_by_id) for k, replaced_by_id in rows],
        next_cursor=next_cursor,
    )


async def revoke_api_key(session: AsyncSession, ctx: RequestContext, key_id: uuid.UUID) -> None:
    ctx.require(p.can_manage_api_keys(ctx.actor))
    row = await session.get(ApiKey, key_id, with_for_update=True)
    if row is None:
        raise NotFound(f"API key {key_id} does not exist")
    if row.revoked_at is not None:
        return
    before = snapshot(row)
    row.revoked_at = utcnow()
    await session.flush()
    await record(
        session,
        ctx,
        action="api_key.revoked",
        entity="api_key",
        entity_id=row.id,
        before=before,
        after=snapshot(row),
    )
