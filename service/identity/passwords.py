"""Changing one's own password (the other bearer tokens of the account are revoked)."""

from __future__ import annotations

import anyio.to_thread
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import identity as c
from contracts import permissions as p
from contracts.common import ValidationIssue
from service.audit.service import record
from service.context import RequestContext, utcnow
from service.identity.secrets import hash_password, sha256_hex, verify_password
from service.persistence.models import AppUser, AuthToken
from service.problems import InvalidInput


async def change_password(
    session: AsyncSession,
    ctx: RequestContext,
    body: c.PasswordChange,
    authorization: str | None,
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
    await record(
        session,
        ctx,
        action="user.password_changed",
        entity="user",
        entity_id=user.id,
        after={"other_tokens_revoked": revoked.rowcount},  # type: ignore[attr-defined]  # a CursorResult of an UPDATE
    )
