"""Who is calling: bearer tokens for people, `X-API-Key` for partner systems. Never cookies."""

from __future__ import annotations

from datetime import datetime, timedelta

from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import bindparam, func, text
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from contracts.enums import ApiScope, Role, TokenRestriction
from contracts.permissions import ANONYMOUS, Actor
from service.context import utcnow
from service.identity.ratelimit import ApiRateLimits
from service.identity.secrets import parse_api_key, same_hash, sha256_hex
from service.persistence.compiled import RAW_CONNECTION, CompiledQuery, DroppedConnection
from service.persistence.database import Database, is_disconnect, is_read_only
from service.persistence.models import ApiKey, AppUser, AuthToken, Membership, UserRole
from service.problems import (
    NotAuthenticated,
    PasswordChangeRequired,
    SecondFactorEnrolmentRequired,
)

_API_KEY_LOOKUP = select(ApiKey)

LAST_USED_RESOLUTION = timedelta(minutes=1)
"""`api_key.last_used_at` is written when it is at least this old: to the minute, at most one
write per key per minute however many requests the key makes."""

_TOUCH_API_KEY = text(
    "UPDATE api_key SET last_used_at = :now"
    " WHERE id = (SELECT id FROM api_key WHERE id = :key_id"
    " AND (last_used_at IS NULL OR last_used_at <= :stale_before)"
    " FOR NO KEY UPDATE SKIP LOCKED)"
    " RETURNING last_used_at"
)
"""The key's last use, when stale. SKIP LOCKED: it never waits — when another transaction holds
the row (a concurrent request writing the same minute, an administrator rotating or revoking the
key) it writes nothing, and a later request of the key writes it. The guard repeats the staleness
check, so of concurrent requests in one stale moment one writes."""

_TOKEN_LOOKUP = (
    sa_select(
        col(AppUser.id),
        col(AppUser.email),
        col(AppUser.is_active),
        col(AuthToken.expires_at),
        col(AuthToken.revoked_at),
        col(AuthToken.restriction),
        func.array(
            sa_select(col(UserRole.role))
            .where(col(UserRole.user_id) == col(AppUser.id))
            .scalar_subquery()
        ).label("roles"),
        func.array(
            sa_select(col(Membership.organisation_id))
            .where(col(Membership.user_id) == col(AppUser.id))
            .scalar_subquery()
        ).label("organisation_ids"),
    )
    .join(AuthToken, col(AuthToken.user_id) == col(AppUser.id))
    .where(col(AuthToken.token_hash) == bindparam("token_hash"))
)
"""A bearer token, its user, the user's roles and organisations: one statement (one round trip)
per authenticated request. Compiled once (the token's hash a bound parameter) and sent to asyncpg
directly on the request's connection (`CompiledQuery`: SQLAlchemy's execution machinery cost more
CPU than the statement itself); asyncpg prepares it once per connection. Nothing about the answer
is cached, so a revoked token, a deactivated account, a removed role or membership count from the
very next request (a cache defeated by NOTIFY was tried and dropped: docs/performance.md)."""
_TOKEN_QUERY = CompiledQuery.of(_TOKEN_LOOKUP)


async def actor_from_token(
    session: AsyncSession, token: str, now: datetime
) -> tuple[Actor, TokenRestriction | None]:
    row = await _TOKEN_QUERY.fetchrow(session, {"token_hash": sha256_hex(token)})
    if row is None:
        raise NotAuthenticated("the bearer token is not valid")
    user_id, email, is_active, expires_at, revoked_at, restriction, roles, orgs = row
    if revoked_at is not None:
        raise NotAuthenticated("the bearer token was revoked; sign in again")
    if expires_at <= now:
        raise NotAuthenticated("the bearer token has expired; sign in again")
    if not is_active:
        raise NotAuthenticated("this account is deactivated")
    restricted = TokenRestriction(restriction) if restriction else None
    actor = Actor(
        kind="user",
        id=user_id,
        label=f"user:{email}",
        roles=frozenset(Role(r) for r in roles),
        organisation_ids=frozenset(orgs),
    )
    return actor, restricted


async def actor_from_api_key(session: AsyncSession, key: str, now: datetime) -> Actor:
    """The partner system of a key. One statement per request; when the key's `last_used_at`
    (on the row just read) is a minute old or more, also one UPDATE and its COMMIT.

    That commit ends the authentication's own transaction before the request's starts (nothing
    else has run in the session yet; under READ COMMITTED the request sees the same data as
    before): a request that is then refused (403) or rolled back (4xx, 5xx) keeps its use
    recorded, and the row lock is held for the UPDATE and COMMIT only, not the whole request."""
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
    actor = Actor(
        kind="api_key",
        id=row.id,
        label=f"api_key:{row.prefix}",
        scopes=frozenset(ApiScope(s) for s in row.scopes if s in ApiScope._value2member_map_),
        organisation_ids=frozenset({row.organisation_id}) if row.organisation_id else frozenset(),
    )
    if row.last_used_at is None or row.last_used_at <= now - LAST_USED_RESOLUTION:
        written = (
            await session.execute(
                _TOUCH_API_KEY,
                {"now": now, "key_id": row.id, "stale_before": now - LAST_USED_RESOLUTION},
            )
        ).scalar_one_or_none()
        await session.commit()
        if written is not None:
            # the loaded row as stored now, without marking it changed (no UPDATE at flush)
            set_committed_value(row, "last_used_at", written)
    return actor


async def authenticate(
    session: AsyncSession, authorization: str | None, api_key: str | None
) -> tuple[Actor, TokenRestriction | None]:
    """The actor for these headers (and what its token is limited to); anonymous when none is
    given; 401 when one is wrong."""
    now = utcnow()
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise NotAuthenticated("use `Authorization: Bearer <token>`")
        return await actor_from_token(session, credentials.strip(), now)
    if api_key:
        return await actor_from_api_key(session, api_key.strip(), now), None
    return ANONYMOUS, None


# --- the authentication middleware --------------------------------------------------------------

ACTOR_STATE = "actor"
"""Where the middleware leaves the caller on the scope's state (`request.state.actor`)."""
SESSION_STATE = "authenticated_session"
"""Where it leaves the session it authenticated with, for the request to go on using."""
RESTRICTION_STATE = "token_restriction"
"""What the bearer token is limited to (`TokenRestriction`), None for a full token."""

RESTRICTED_OPERATIONS: dict[TokenRestriction, frozenset[str]] = {
    TokenRestriction.ENROL_SECOND_FACTOR: frozenset(
        {
            "GetMe",
            "UpdateMe",
            "DeleteToken",
            "CreatePasswordChange",
            "CreateTotpEnrolment",
            "CreateTotpConfirmation",
        }
    ),
    TokenRestriction.CHANGE_PASSWORD: frozenset(
        {"GetMe", "UpdateMe", "DeleteToken", "CreatePasswordChange"}
    ),
}
"""The only operations a limited token may call; everything else is 403."""


def refuse_restricted(restriction: TokenRestriction, handler: object) -> None:
    operation = getattr(handler, "operation_id", None)
    if operation in RESTRICTED_OPERATIONS[restriction]:
        return
    if restriction is TokenRestriction.ENROL_SECOND_FACTOR:
        raise SecondFactorEnrolmentRequired(
            "your role signs in with a second factor: set one up first "
            "(CreateTotpEnrolment, then CreateTotpConfirmation with a code)"
        )
    raise PasswordChangeRequired(
        "an administrator reset your password: change it first (CreatePasswordChange)"
    )


def needs_credentials(handler: HTTPRouteHandler) -> bool:
    """An operation is secured when its contract says so: a `security` requirement on the route,
    its controller or its router. Public operations (sign-in, registration, published calls…)
    have none."""
    return bool(handler.resolve_security())


class AuthenticationMiddleware(ASGIMiddleware):
    """Credentials are checked before anything else of the request is looked at.

    It runs in each route's middleware stack, before Litestar resolves the handler's arguments,
    so before the body is read, parsed or validated and before path parameters are looked up: a
    caller without credentials gets 401 from every secured operation whatever the body, path or
    headers (no validation message, no 404 confirming whether an id exists, no 10 MB body read).
    Wrong credentials are refused everywhere, public operations included.

    Given credentials, it opens the request's database session, authenticates with it and leaves
    both on the scope: `provide_session` goes on with that session (one transaction per request,
    as before). Without credentials no connection is taken at all."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        state = scope.setdefault("state", {})
        authorization = api_key = forwarded_for = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"x-api-key":
                api_key = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                forwarded_for = value.decode("latin-1")
        limits: ApiRateLimits | None = scope["litestar_app"].state.rate_limits
        if limits is not None:
            # the address first (wrong credentials count too), then the credentials as sent:
            # before a connection is taken (service/identity/ratelimit.py)
            client = scope.get("client")
            anonymous = not authorization and not api_key
            await limits.check_address(
                client[0] if client else None, forwarded_for, anonymous=anonymous
            )
            if not anonymous:
                await limits.check_credentials(authorization, api_key)
        if not authorization and not api_key:
            handler = scope["route_handler"]
            # fail closed: anything but a plain HTTP operation counts as secured
            if not isinstance(handler, HTTPRouteHandler) or needs_credentials(handler):
                raise NotAuthenticated(
                    "this operation needs credentials: `Authorization: Bearer <token>` "
                    "(POST /api/v1/auth/token) or a partner's `X-API-Key`"
                )
            state[ACTOR_STATE] = ANONYMOUS
            await next_app(scope, receive, send)
            return
        db: Database = scope["litestar_app"].state.db
        handler = scope["route_handler"]
        # a READ_ONLY operation reads on a pooled connection taken by itself (no Session
        # transaction to begin and end around it: service/persistence/compiled.py)
        raw = await db.checkout() if is_read_only(handler) else None
        session = db.sessionmaker_for(handler)()
        try:
            if raw is not None:
                session.info[RAW_CONNECTION] = raw
            try:
                actor, restriction = await authenticate(session, authorization, api_key)
            except DroppedConnection:
                # the pooled connection was dropped by the server (no pre-ping any more): it
                # is invalidated, nothing of the request has run, so it starts again on a
                # fresh one
                if raw is not None:
                    await db.checkin(raw)
                    raw = await db.checkout()
                    session.info[RAW_CONNECTION] = raw
                actor, restriction = await authenticate(session, authorization, api_key)
            except DBAPIError as exc:
                if not is_disconnect(exc):
                    raise
                # the pooled connection was dropped by the server (no pre-ping any more):
                # nothing of the request has run, so it starts again on a fresh connection
                await session.rollback()
                actor, restriction = await authenticate(session, authorization, api_key)
            await self._go_on(scope, receive, send, next_app, session, actor, restriction)
        finally:
            # a session whose reads all went to the raw connection never began: nothing to
            # close (closing one costs a greenlet round, ~50 µs of a ~700 µs list request)
            if session.in_transaction() or session.sync_session.identity_map:
                await session.close()
            if raw is not None:
                await db.checkin(raw)

    async def _go_on(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        next_app: ASGIApp,
        session: AsyncSession,
        actor: Actor,
        restriction: TokenRestriction | None,
    ) -> None:
        """The rest of the request, as `actor`, in `session`."""
        if restriction is not None:
            refuse_restricted(restriction, scope["route_handler"])
        state = scope["state"]
        state[ACTOR_STATE] = actor
        state[RESTRICTION_STATE] = restriction
        state[SESSION_STATE] = session
        try:
            await next_app(scope, receive, send)
        finally:
            state.pop(SESSION_STATE, None)
