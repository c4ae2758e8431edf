"""The queue's tasks for e-mail notifications (declared on service.jobs' procrastinate app)."""

from __future__ import annotations

import uuid

from contracts.enums import AssignmentStatus
from contracts.notifications import NotificationKind
from service.jobs import JobContext, job_database, jobs
from service.jobs.queue import job_settings
from service.notifications.sender import send_email
from service.persistence.database import Database
from service.persistence.models import ReviewAssignment

QUEUE = "email"


@jobs.task(name="notifications.send", queue=QUEUE, pass_context=True)
async def send(context: JobContext, *, outbox_id: str) -> None:
    """Send one e-mail of the outbox unless it is marked sent; a failure queues its retry
    itself."""
    await send_email(job_database(context), job_settings(context), uuid.UUID(outbox_id))


@jobs.task(name="notifications.remind_reviewer", queue=QUEUE, pass_context=True)
async def remind_reviewer(context: JobContext, *, assignment_id: str) -> None:
    """Before the review deadline: remind the reviewer unless the review was submitted (or the
    assignment removed); once per assignment."""
    await remind(job_database(context), uuid.UUID(assignment_id))


async def remind(database: Database, assignment_id: uuid.UUID) -> list[uuid.UUID]:
    from service.notifications.service import notify_assignment

    async with database.session() as session, session.begin():
        assignment = await session.get(ReviewAssignment, assignment_id)
        if assignment is None or assignment.status != AssignmentStatus.ASSIGNED:
            return []
        return await notify_assignment(session, NotificationKind.REVIEW_REMINDER, assignment_id)
