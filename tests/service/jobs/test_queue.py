"""The job queue (service/jobs): jobs deferred in the request's transaction run in a worker
against the real PostgreSQL; a rolled-back transaction leaves no job; the in-process worker of
`grants serve` starts with the app's lifespan and stops with it."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from service.jobs import InProcessWorker, JobContext, defer, job_database, jobs, run_worker
from tests.conftest import TEST_SETTINGS

SEEN: list[tuple[str, int]] = []


@jobs.task(name="tests.jobs.record", queue="tests", pass_context=True)
async def record(context: JobContext, *, word: str) -> None:
    """Proves the worker's database works inside a task: it reads from it."""
    async with job_database(context).session() as session:
        one = (await session.execute(text("SELECT 1"))).scalar_one()
    SEEN.append((word, one))


async def _defer(url: str, *, word: str, commit: bool) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            async with AsyncSession(bind=connection) as session:
                job_id = await defer(session, record, word=word)
                if commit:
                    await session.commit()
                else:
                    await session.rollback()
            return job_id
    finally:
        await engine.dispose()


async def _jobs(url: str) -> list[tuple[int, str, str, Any]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT id, task_name, status::text, args FROM procrastinate_jobs ORDER BY id")
            )
            return [tuple(row) for row in rows]  # type: ignore[misc]  # four columns
    finally:
        await engine.dispose()


async def test_a_job_deferred_in_a_committed_transaction_runs_in_a_worker(fresh_db: str) -> None:
    SEEN.clear()
    job_id = await _defer(fresh_db, word="сүйүнчү", commit=True)
    assert await _jobs(fresh_db) == [(job_id, "tests.jobs.record", "todo", {"word": "сүйүнчү"})]

    await run_worker(fresh_db, TEST_SETTINGS, queues=["tests"], wait=False)

    assert SEEN == [("сүйүнчү", 1)]
    assert await _jobs(fresh_db) == [
        (job_id, "tests.jobs.record", "succeeded", {"word": "сүйүнчү"})
    ]


async def test_a_job_deferred_in_a_rolled_back_transaction_never_exists(fresh_db: str) -> None:
    SEEN.clear()
    await _defer(fresh_db, word="rolled back", commit=False)
    await run_worker(fresh_db, TEST_SETTINGS, queues=["tests"], wait=False)
    assert await _jobs(fresh_db) == []
    assert SEEN == []


async def test_the_in_process_worker_runs_jobs_during_the_lifespan_and_stops_with_it(
    fresh_db: str,
) -> None:
    SEEN.clear()
    sent: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def send(message: Any) -> None:
        sent.append(message["type"])

    wrapped = InProcessWorker(inner, fresh_db, TEST_SETTINGS)
    lifespan = asyncio.create_task(wrapped({"type": "lifespan"}, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    job_id = await _defer(fresh_db, word="in process", commit=True)
    for _ in range(200):  # woken by NOTIFY at commit; polls every 5 s otherwise
        if SEEN:
            break
        await asyncio.sleep(0.05)
    await inbox.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(lifespan, timeout=30)

    assert SEEN == [("in process", 1)]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert await _jobs(fresh_db) == [
        (job_id, "tests.jobs.record", "succeeded", {"word": "in process"})
    ]
    workers = await _count(fresh_db, "SELECT count(*) FROM procrastinate_workers")
    assert workers == 0  # unregistered at its graceful stop


async def _count(url: str, sql: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(text(sql))).scalar_one())
    finally:
        await engine.dispose()
