"""Who is calling: bearer tokens for people, `X-API-Key` for partner systems. Never cookies."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts.enums import ApiScope, Role
from contracts.permissions import ANONYMOUS, Actor
from service.context import utcnow
from service.identity.secrets import parse_api_key, same_hash, sha256_hex
from service.persistence.models import ApiKey, AppUser, AuthToken, Membership, UserRole
from service.problems import NotAuthenticated

_TOKEN_LOOKUP = sa_select(
    col(AppUser.id),
    col(AppUser.email),
    col(AppUser.is_active),
    col(AuthToken.expires_at),
    col(AuthToken.revoked_at),
).join(AuthToken, col(AuthToken.user_id) == col(AppUser.id))
_ROLES = select(UserRole.role)
_MEMBERSHIPS = select(Membership.organisation_id)
_API_KEY_LOOKUP = select(ApiKey)


async def load_user_actor(session: AsyncSession, user_id: uuid.UUID, email: str) -> Actor:
    roles = (await session.execute(_ROLES.where(UserRole.user_id == user_id))).scalars().all()
    orgs = (
        (await session.execute(_MEMBERSHIPS.where(Membership.user_id == user_id))).scalars().all()
    )
    return Actor(
        kind="user",
        id=user_id,
        label=f"user:{email}",
        roles=frozenset(Role(r) for r in roles),
        organisation_ids=frozenset(orgs),
    )


async def actor_from_token(session: AsyncSession, token: str, now: datetime) -> Actor:
    row = (
        await session.execute(_TOKEN_LOOKUP.where(col(AuthToken.token_hash) == sha256_hex(token)))
    ).one_or_none()
    if row is None:
        raise NotAuthenticated("the bearer token is not valid")
    user_id, email, is_active, expires_at, revoked_at = row
    if revoked_at is not None:
        raise NotAuthenticated("the bearer token was revoked; sign in again")
    if expires_at <= now:
        raise NotAuthenticated("the bearer token has expired; sign in again")
    if not is_active:
        raise NotAuthenticated("this account is deactivated")
    return await load_user_actor(session, user_id, email)


async def actor_from_api_key(session: AsyncSession, key: str, now: datetime) -> Actor:
    prefix = parse_api_key(key)
    if prefix is None:
        raise NotAuthenticated("the API key is malformed")
    row = (
        await session.execute(_API_KEY_LOOKUP.where(ApiKey.prefix == prefix))
    ).scalar_one_or_none()
    if row is None or not same_hash(row.key_hash, sha256_hex(key)):
        raise NotAuthenticated("the API key is not valid")
    if row.revoked_at is not None:
        raise NotAuthenticated("the API key was revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise NotAuthenticated("the API key has expired")
    return Actor(
        kind="api_key",
        id=row.id,
        label=f"api_key:{row.prefix}",
        scopes=frozenset(ApiScope(s) for s in row.scopes if s in ApiScope._value2member_map_),
        organisation_ids=frozenset({row.organisation_id}) if row.organisation_id else frozenset(),
    )


async def authenticate(
    session: AsyncSession, authorization: str | None, api_key: str | None
) -> Actor:
    """The actor for these headers; anonymous when none is given; 401 when one is wrong."""
    now = utcnow()
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise NotAuthenticated("use `Authorization: Bearer <token>`")
        return await actor_from_token(session, credentials.strip(), now)
    if api_key:
        return await actor_from_api_key(session, api_key.strip(), now)
    return ANONYMOUS
