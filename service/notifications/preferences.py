"""A person's choice of which e-mails they get (every kind on unless turned off)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts import notifications as c
from contracts.permissions import Actor, Decision, allow, deny
from service.audit import service as audit
from service.context import RequestContext, utcnow
from service.persistence.models import NotificationPreference


def can_choose_notifications(actor: Actor) -> Decision:
    if actor.is_user:
        return allow("everyone chooses the e-mails they get")
    return deny("only a signed-in person has e-mail notifications")


async def get_preferences(
    session: AsyncSession, ctx: RequestContext
) -> list[c.NotificationPreferenceRead]:
    ctx.require(can_choose_notifications(ctx.actor))
    chosen = dict(
        (
            await session.execute(
                select(col(NotificationPreference.kind), col(NotificationPreference.enabled)).where(
                    col(NotificationPreference.user_id) == ctx.actor.id
                )
            )
        ).all()
    )
    return [
        c.NotificationPreferenceRead(kind=kind, enabled=chosen.get(kind.value, True))
        for kind in c.NotificationKind
    ]


async def set_preferences(
    session: AsyncSession, ctx: RequestContext, data: c.NotificationPreferencesUpdate
) -> list[c.NotificationPreferenceRead]:
    ctx.require(can_choose_notifications(ctx.actor))
    before = {p.kind.value: p.enabled for p in await get_preferences(session, ctx)}
    now = utcnow()
    for pref in data.preferences:
        await session.execute(
            insert(NotificationPreference)
            .values(
                user_id=ctx.actor.id, kind=pref.kind.value, enabled=pref.enabled, updated_at=now
            )
            .on_conflict_do_update(
                index_elements=["user_id", "kind"],
                set_={"enabled": pref.enabled, "updated_at": now},
            )
        )
    after = await get_preferences(session, ctx)
    assert ctx.actor.id is not None
    await audit.record(
        session,
        ctx,
        action="set_notification_preferences",
        entity="app_user",
        entity_id=ctx.actor.id,
        before=before,
        after={p.kind.value: p.enabled for p in after},
    )
    return after
