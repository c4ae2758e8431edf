"""The queue's tasks for webhooks (declared on service.jobs' procrastinate app)."""

from __future__ import annotations

import uuid

from service.jobs import JobContext, job_database, jobs
from service.jobs.queue import job_settings
from service.webhooks.delivery import attempt_delivery

QUEUE = "webhooks"


@jobs.task(name="webhooks.deliver", queue=QUEUE, pass_context=True)
async def deliver(context: JobContext, *, delivery_id: str) -> None:
    """One attempt at a delivery; a failed one queues the next after its back-off itself."""
    await attempt_delivery(job_database(context), job_settings(context), uuid.UUID(delivery_id))
