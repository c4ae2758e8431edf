"""The procrastinate app, in-transaction deferral, and the workers (CLI and in-process)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import procrastinate
from procrastinate import JobContext
from procrastinate.app import WorkerOptions
from procrastinate.tasks import Task
from sqlalchemy import TextClause, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from service.persistence.database import Database
from service.settings import Settings

logger = logging.getLogger(__name__)

TASK_MODULES: list[str] = [
    "service.documents.tasks",
    "service.webhooks.tasks",
    "service.notifications.tasks",
]
"""Modules declaring tasks; every worker imports them before it fetches a job."""

SHUTDOWN_GRACE_SECONDS = 20.0
"""At shutdown, running jobs get this long to finish; then they are aborted (and retried by
their retry strategy, if they have one)."""

jobs = procrastinate.App(
    # The connection pool is handed over when a worker opens the app (`open_jobs`): the
    # database URL is known only then (DATABASE_URL or the embedded server's socket).
    connector=procrastinate.PsycopgConnector(),
    import_paths=TASK_MODULES,
)
"""The one procrastinate app: tasks are declared on it (`@jobs.task(...)`)."""


def psycopg_conninfo(url: str) -> str:
    """The libpq URI for an SQLAlchemy URL (`postgresql+asyncpg://…` → `postgresql://…`); the
    embedded server's `?host=<socket dir>` stays a libpq parameter."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def open_jobs(url: str, *, role: str | None = None, max_size: int = 4) -> AsyncIterator[Any]:
    """Open the procrastinate app on a pool of its own to `url` (acting as `role`); closed at
    the end of the block."""
    kwargs: dict[str, Any] = {"options": f"-c role={role}"} if role else {}
    connector = procrastinate.PsycopgConnector(
        conninfo=psycopg_conninfo(url), min_size=1, max_size=max_size, kwargs=kwargs
    )
    with jobs.replace_connector(connector):
        async with jobs.open_async():
            yield jobs


_DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
    "CAST(:queue AS varchar), CAST(:task AS varchar), CAST(:priority AS integer), "
    "CAST(:lock AS text), CAST(:queueing_lock AS text), CAST(:args AS jsonb), "
    "CAST(:scheduled_at AS timestamptz))::procrastinate_job_to_defer_v1])) AS id"
)


async def defer(
    session: AsyncSession,
    task: Task[Any, Any, Any],
    *,
    schedule_at: datetime | None = None,
    lock: str | None = None,
    queueing_lock: str | None = None,
    priority: int | None = None,
    **args: Any,
) -> int:
    """Queue `task(**args)` in `session`'s transaction; returns the job id. The job exists only
    if the transaction commits, and a worker is woken (NOTIFY) when it does. `args` must be
    JSON values."""
    result = await session.execute(
        _DEFER,
        {
            "queue": task.queue,
            "task": task.name,
            "priority": task.priority if priority is None else priority,
            "lock": lock if lock is not None else task.lock,
            "queueing_lock": queueing_lock if queueing_lock is not None else task.queueing_lock,
            "args": json.dumps(args),
            "scheduled_at": schedule_at,
        },
    )
    job_id: int = result.scalar_one()
    return job_id


_BATCH = 500
"""Jobs per statement (PostgreSQL takes at most 32,767 parameters in a statement)."""


@functools.lru_cache(maxsize=64)
def _defer_many(n: int) -> TextClause:
    """`n` jobs in one call of procrastinate's `procrastinate_defer_jobs_v1` (built once per
    `n`; the parameters of job i end in `_i`)."""
    rows = ", ".join(
        f"ROW(CAST(:queue_{i} AS varchar), CAST(:task_{i} AS varchar), "
        f"CAST(:priority_{i} AS integer), CAST(:lock_{i} AS text), "
        f"CAST(:queueing_lock_{i} AS text), CAST(:args_{i} AS jsonb), "
        f"CAST(:scheduled_at_{i} AS timestamptz))::procrastinate_job_to_defer_v1"
        for i in range(n)
    )
    return text(f"SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[{rows}])) AS id")


async def defer_many(
    session: AsyncSession, calls: Sequence[tuple[Task[Any, Any, Any], dict[str, Any]]]
) -> list[int]:
    """Queue each `task(**args)` of `calls` in `session`'s transaction, as `defer` would one by
    one (no schedule, lock or priority of their own), in one statement per batch of up to
    `_BATCH`; returns the job ids."""
    ids: list[int] = []
    for start in range(0, len(calls), _BATCH):
        ids += await _defer_batch(session, calls[start : start + _BATCH])
    return ids


async def _defer_batch(
    session: AsyncSession, calls: Sequence[tuple[Task[Any, Any, Any], dict[str, Any]]]
) -> list[int]:
    params: dict[str, Any] = {}
    for i, (task, args) in enumerate(calls):
        params |= {
            f"queue_{i}": task.queue,
            f"task_{i}": task.name,
            f"priority_{i}": task.priority,
            f"lock_{i}": task.lock,
            f"queueing_lock_{i}": task.queueing_lock,
            f"args_{i}": json.dumps(args),
            f"scheduled_at_{i}": None,
        }
    return list((await session.execute(_defer_many(len(calls)), params)).scalars())


def job_database(context: JobContext) -> Database:
    """The worker's database (asyncpg, the service's role), for a task's own transactions."""
    database: Database = context.additional_context["database"]
    return database


def job_settings(context: JobContext) -> Settings:
    settings: Settings = context.additional_context["settings"]
    return settings


async def run_worker(
    url: str,
    settings: Settings,
    *,
    queues: list[str] | None = None,
    concurrency: int = 2,
    wait: bool = True,
    name: str | None = None,
    install_signal_handlers: bool = True,
) -> None:
    """Run a worker on `url` until stopped (or, with `wait=False`, until the queues are empty).
    Cancelling it stops it gracefully: running jobs finish (up to the grace period)."""
    role = settings.database_role or None
    database = Database.from_url(url, pool_size=max(2, concurrency), role=role)
    try:
        async with open_jobs(url, role=role, max_size=concurrency + 2):
            options: WorkerOptions = {
                "concurrency": concurrency,
                "wait": wait,
                "name": name or f"worker-{os.getpid()}",
                "install_signal_handlers": install_signal_handlers,
                "shutdown_graceful_timeout": SHUTDOWN_GRACE_SECONDS,
                "additional_context": {"database": database, "settings": settings},
            }
            if queues:
                options["queues"] = queues
            await jobs.run_worker_async(**options)
    finally:
        await database.dispose()


class InProcessWorker:
    """ASGI wrapper: a job worker runs beside the app while its lifespan is up (`grants serve`
    by default), and is stopped gracefully at lifespan shutdown."""

    def __init__(self, app: Any, url: str, settings: Settings, *, concurrency: int = 2) -> None:
        self.app = app
        self.url = url
        self.settings = settings
        self.concurrency = concurrency

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        task: asyncio.Task[None] | None = None

        async def receiving() -> Any:
            nonlocal task
            message = await receive()
            if message["type"] == "lifespan.startup" and task is None:
                task = asyncio.create_task(
                    run_worker(
                        self.url,
                        self.settings,
                        concurrency=self.concurrency,
                        name=f"serve-{os.getpid()}",
                        install_signal_handlers=False,
                    ),
                    name="in-process job worker",
                )
            elif message["type"] == "lifespan.shutdown" and task is not None:
                await _stop(task)
            return message

        try:
            await self.app(scope, receiving, send)
        finally:
            if task is not None and not task.done():
                await _stop(task)


async def _stop(task: asyncio.Task[None]) -> None:
    if task.done():
        if not task.cancelled() and task.exception() is not None:
            logger.error("the in-process job worker had stopped", exc_info=task.exception())
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = [
    "TASK_MODULES",
    "InProcessWorker",
    "JobContext",
    "defer",
    "job_database",
    "job_settings",
    "jobs",
    "open_jobs",
    "psycopg_conninfo",
    "run_worker",
]
