"""Changing one's own password (the other bearer tokens of the account are revoked), and an
administrator's reset of someone's password (all their tokens are revoked)."""

from __future__ import annotations

import secrets
import uuid

import anyio.to_thread
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import identity as c
from contracts import permissions as p
from contracts.common import ValidationIssue
from contracts.enums import Role, TokenRestriction
from service.audit.service import record
from service.context import RequestContext, utcnow
from service.identity import throttle, totp
from service.identity.secrets import hash_password, sha256_hex, verify_password
from service.identity.strength import check_password
from service.persistence.models import AppUser, AuthToken, RecoveryCode
from service.problems import InvalidInput, NotFound


async def change_password(
    session: AsyncSession,
    ctx: RequestContext,
    body: c.PasswordChange,
    authorization: str | None,
    required_roles: list[Role] | None = None,
) -> None:
    ctx.require(p.can_update_me(ctx.actor))
    user = await session.get_one(AppUser, ctx.actor.id, with_for_update=True)
    # argon2 costs tens of milliseconds of CPU: off the event loop
    if not await anyio.to_thread.run_sync(
        verify_password, user.password_hash, body.current_password
    ):
        raise InvalidInput(
            "the current password is wrong",
            [ValidationIssue(field="body.current_password", message="The password is wrong")],
        )
    if body.new_password == body.current_password:
        raise InvalidInput(
            "the new password is the current one",
            [
                ValidationIssue(
                    field="body.new_password", message="Choose a password you do not use now"
                )
            ],
        )
    await check_password(
        body.new_password, email=user.email, full_name=user.full_name, field="body.new_password"
    )
    user.password_hash = await anyio.to_thread.run_sync(hash_password, body.new_password)
    current = sha256_hex((authorization or "").partition(" ")[2].strip())
    now = utcnow()
    revoked = await session.execute(
        update(AuthToken)
        .where(
            col(AuthToken.user_id) == user.id,
            col(AuthToken.revoked_at).is_(None),
            col(AuthToken.token_hash) != current,
        )
        .values(revoked_at=now)
    )
    if user.password_must_change:  # after an administrator's reset: this token is set free
        user.password_must_change = False
        enrol = await totp.needs_enrolment(session, user, required_roles or [])
        await session.execute(
            update(AuthToken)
            .where(
                col(AuthToken.token_hash) == current,
                col(AuthToken.restriction) == TokenRestriction.CHANGE_PASSWORD.value,
            )
            .values(restriction=TokenRestriction.ENROL_SECOND_FACTOR.value if enrol else None)
        )
    await record(
        session,
        ctx,
        action="user.password_changed",
        entity="user",
        entity_id=user.id,
        after={"other_tokens_revoked": revoked.rowcount},  # type: ignore[attr-defined]  # a CursorResult of an UPDATE
    )


def temporary_password() -> str:
    """Four groups of five random letters and digits (~100 bits): given to the person by the
    administrator, good for one sign-in that must change it."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


async def reset_password(
    session: AsyncSession,
    ctx: RequestContext,
    user_id: uuid.UUID,
    body: c.PasswordResetCreate,
) -> c.PasswordResetRead:
    """An administrator sets (or has made) a new password for someone: every token of theirs is
    revoked, their failed sign-ins are forgotten, and the next sign-in may only change it."""
    ctx.require(p.can_reset_password(ctx.actor))
    user = await session.get(AppUser, user_id, with_for_update=True)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    temporary = None
    if body.new_password is not None:
        await check_password(
            body.new_password, email=user.email, full_name=user.full_name, field="body.new_password"
        )
        password = body.new_password
    else:
        password = temporary = temporary_password()
    user.password_hash = await anyio.to_thread.run_sync(hash_password, password)
    user.password_must_change = True
    now = utcnow()
    revoked = await session.execute(
        update(AuthToken)
        .where(col(AuthToken.user_id) == user.id, col(AuthToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    if body.remove_second_factor:
        user.totp_secret = None
        user.totp_enabled_at = None
        user.totp_last_step = None
        await session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))
    await throttle.forget_account(session, user.email)
    count = int(revoked.rowcount)  # type: ignore[attr-defined]  # a CursorResult of an UPDATE
    await record(
        session,
        ctx,
        action="user.password_reset",
        entity="user",
        entity_id=user.id,
        after={
            "tokens_revoked": count,
            "generated": temporary is not None,
            "second_factor_removed": body.remove_second_factor,
        },
    )
    return c.PasswordResetRead(temporary_password=temporary, tokens_revoked=count)
