"""The job queue: background work (PDF reports, webhooks, e-mail) on procrastinate, whose tables
live in the same PostgreSQL as the data (schema applied by Alembic revision 0010).

How a bounded context adds a task
---------------------------------
1. In its own module (e.g. ``service/webhooks/tasks.py``) declare the task on the one
   procrastinate app, with a stable dotted name and a queue::

       from service.jobs import JobContext, job_database, jobs

       @jobs.task(name="webhooks.deliver", queue="webhooks", pass_context=True)
       async def deliver(context: JobContext, *, outbox_id: str) -> None:
           database = job_database(context)          # the worker's Database (asyncpg)
           async with database.session() as session, session.begin():
               ...

   Arguments are JSON (strings, numbers, lists, dicts): pass ids, never rows. Retries with
   back-off: ``retry=procrastinate.RetryStrategy(max_attempts=…, exponential_wait=…)``.
2. Add the module's dotted path to ``TASK_MODULES`` in ``service/jobs/queue.py`` so every
   worker imports it.
3. Defer it from a use case **in the request's transaction** (the job exists only if the change
   commits; the worker is woken by procrastinate's NOTIFY at commit)::

       from service.jobs import defer
       await defer(session, deliver, outbox_id=str(message.id))

Who runs the jobs: ``grants worker`` (a process of its own, any number of them), and by default
an in-process worker inside each ``grants serve`` worker (``--no-jobs`` turns it off), stopped
cleanly at shutdown (running jobs finish, up to a grace period).
"""

from service.jobs.queue import (
    TASK_MODULES,
    InProcessWorker,
    JobContext,
    defer,
    defer_many,
    job_database,
    jobs,
    open_jobs,
    psycopg_conninfo,
    run_worker,
)

__all__ = [
    "TASK_MODULES",
    "InProcessWorker",
    "JobContext",
    "defer",
    "defer_many",
    "job_database",
    "jobs",
    "open_jobs",
    "psycopg_conninfo",
    "run_worker",
]
