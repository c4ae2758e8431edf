"""HTTP routes of the programme officer's boards: the panel board, reminders, removing an
assignment, and a window's ranking."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody

from contracts import ranking as c
from service.dependencies import Ctx, Session
from service.openapi import USER, problems
from service.reviews import ranking as service


class WindowBoardController(Controller):
    path = "/windows"
    tags = ["reviews"]
    security = USER

    @get(
        "/{window_id:uuid}/panel",
        operation_id="GetPanel",
        responses=problems(401, 403, 404),
    )
    async def get_panel(
        self, window_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.PanelBoardRead:
        """Every reviewer (the panel's members first) with their assignments, submitted reviews,
        conflicts and the last reminder, in this window."""
        return await service.panel_board(session, ctx, window_id)

    @post(
        "/{window_id:uuid}/panel/reminders",
        operation_id="CreateReminder",
        responses=problems(401, 403, 404, 409),
    )
    async def create_reminder(
        self,
        window_id: FromPath[uuid.UUID],
        data: JSONBody[c.ReminderCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.ReminderRead:
        """Remind a reviewer of the reviews it still owes in the window (recorded, audited;
        the reviewer reads it with ListReminders)."""
        return await service.create_reminder(session, ctx, window_id, data)

    @get(
        "/{window_id:uuid}/ranking",
        operation_id="GetWindowRanking",
        responses=problems(401, 403, 404, 409),
    )
    async def get_window_ranking(
        self, window_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.WindowRankingRead:
        """The ranking board from the submitted reviews: raw and calibrated scores, averages per
        criterion, disagreement and outlier flags, Krippendorff's alpha, the latest run's seed
        hash."""
        return await service.window_ranking(session, ctx, window_id)


class ReminderController(Controller):
    path = "/reminders"
    tags = ["reviews"]
    security = USER

    @get("/", operation_id="ListReminders", responses=problems(401, 403))
    async def list_reminders(self, session: Session, ctx: Ctx) -> c.ReminderList:
        """The reminders the signed-in reviewer was sent, newest first."""
        return await service.my_reminders(session, ctx)


class AssignmentRemovalController(Controller):
    path = "/assignments"
    tags = ["reviews"]
    security = USER

    @delete(
        "/{assignment_id:uuid}",
        operation_id="DeleteAssignment",
        responses=problems(401, 403, 404, 409),
    )
    async def delete_assignment(
        self, assignment_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> None:
        """Take a proposal away from a reviewer; refused once the review is submitted."""
        await service.remove_assignment(session, ctx, assignment_id)
