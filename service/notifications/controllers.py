"""HTTP routes of a person's e-mail notification preferences."""

from __future__ import annotations

from litestar import Controller, get, put
from litestar.params import JSONBody

from contracts import notifications as c
from service.dependencies import Ctx, Session
from service.notifications import preferences
from service.openapi import USER, problems


class NotificationPreferenceController(Controller):
    path = "/me/notification-preferences"
    tags = ["identity"]
    security = USER

    @get("/", operation_id="GetNotificationPreferences", responses=problems(401, 403))
    async def get_preferences(
        self, session: Session, ctx: Ctx
    ) -> list[c.NotificationPreferenceRead]:
        """Every kind of e-mail and whether the signed-in person gets it (on by default)."""
        return await preferences.get_preferences(session, ctx)

    @put("/", operation_id="UpdateNotificationPreferences", responses=problems(401, 403))
    async def set_preferences(
        self, data: JSONBody[c.NotificationPreferencesUpdate], session: Session, ctx: Ctx
    ) -> list[c.NotificationPreferenceRead]:
        """Turn kinds of e-mail on or off for the signed-in person; kinds not named keep their
        setting. E-mails already written but not yet sent follow the new choice."""
        return await preferences.set_preferences(session, ctx, data)
