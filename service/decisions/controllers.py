"""HTTP route of the decisions' history."""

from __future__ import annotations

import uuid

from litestar import Controller, get
from litestar.params import FromPath

from contracts import decisions as c
from service.decisions import service
from service.dependencies import Ctx, Session
from service.openapi import USER, problems


class WindowDecisionController(Controller):
    path = "/windows"
    tags = ["selection"]
    security = USER

    @get(
        "/{window_id:uuid}/decisions",
        operation_id="ListWindowDecisions",
        responses=problems(401, 403, 404),
    )
    async def list_window_decisions(
        self, window_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> list[c.DecisionHistoryEntry]:
        """Every decision on the window's proposals, oldest first: the approved run's, confirmed
        changes, declines and reserve proposals moving up; `current` marks the one in force."""
        return await service.list_window_decisions(session, ctx, window_id)
