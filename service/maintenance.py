"""Housekeeping of a running service, and the process that serves it.

- `ScheduledPurge`: an ASGI wrapper that, between the app's lifespan start-up and shut-down,
  deletes expired idempotency records, sign-in failure counts that ran out and the rate
  limits' counts of ended windows every `PURGE_EVERY` (each worker does; deleting is
  idempotent).
- `serve_until_stopped`: runs uvicorn so that SIGTERM and Ctrl-C stop it gracefully (in-flight
  requests finish, the app shuts down), then stops the embedded PostgreSQL it started, and
  returns (exit status 0). uvicorn 0.54 re-raises the signal it caught once it has shut down;
  with the default disposition that killed the process (-15) before anything after it ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta
from types import FrameType
from typing import Any

import structlog

from service.context import utcnow
from service.idempotency import purge_expired
from service.identity import ratelimit, throttle
from service.persistence.database import Database

log = structlog.get_logger("service.maintenance")

PURGE_EVERY = timedelta(hours=1)
GRACEFUL_SHUTDOWN_SECONDS = 30
"""How long in-flight requests may take to finish once a stop was asked for."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def purge_idempotency_records(database: Database) -> int:
    """Delete the expired idempotency records (older than `idempotency.RETENTION`), committed."""
    async with database.session() as session:
        purged = await purge_expired(session)
        await session.commit()
    return purged


async def purge_sign_in_counts(database: Database) -> int:
    """Delete the sign-in failure counts that have run out (`throttle.purge`), committed."""
    async with database.session() as session:
        purged = await throttle.purge(session, utcnow())
        await session.commit()
    return purged


async def _purge_forever(database: Database, every: timedelta) -> None:
    while True:
        try:
            purged = await purge_idempotency_records(database)
            log.info("idempotency_records_purged", purged=purged)
            log.info("sign_in_counts_purged", purged=await purge_sign_in_counts(database))
            log.info("rate_limit_counts_purged", purged=await ratelimit.purge(database, utcnow()))
        except Exception:  # the database may be down for a while: try again next time
            log.exception("idempotency_purge_failed")
        await asyncio.sleep(every.total_seconds())


async def _warm(warm: Callable[[], Awaitable[Any]]) -> None:
    try:
        await warm()
        log.info("documents_warmed")
    except Exception:  # a renderer that cannot start is reported again at the first document
        log.exception("documents_warm_failed")


class ScheduledPurge:
    """Runs the purge in the background while the wrapped app's lifespan is up."""

    def __init__(
        self,
        app: Any,
        database: Database,
        every: timedelta = PURGE_EVERY,
        *,
        warm: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        """`app`: any ASGI application (Litestar's own signature is narrower than `ASGIApp`);
        `warm`: started in the background at start-up too (the PDF renderers)."""
        self.app: ASGIApp = app
        self.database = database
        self.every = every
        self.warm = warm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        tasks: list[asyncio.Task[None]] = []  # the purge, and the warming while it runs

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup" and not tasks:
                tasks.append(asyncio.create_task(_purge_forever(self.database, self.every)))
                if self.warm is not None:
                    tasks.append(asyncio.create_task(_warm(self.warm)))
            elif message["type"] == "lifespan.shutdown":
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            return message

        try:
            await self.app(scope, receiving, send)
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()


def _ignore(signum: int, frame: FrameType | None) -> None:
    """What a stop signal does once uvicorn has handled it and shut down: nothing more."""


def serve_until_stopped(run: Callable[[], None], embedded_server: Any | None) -> None:
    """`run` (uvicorn.run) with SIGTERM and SIGINT ending it gracefully; then the embedded
    PostgreSQL (a pgserver handle, or None for an external database) is stopped."""
    stops = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, _ignore) for sig in stops}
    try:
        run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if embedded_server is not None:
            embedded_server.cleanup()  # stops it unless another process still uses it


__all__ = [
    "GRACEFUL_SHUTDOWN_SECONDS",
    "PURGE_EVERY",
    "ScheduledPurge",
    "purge_idempotency_records",
    "serve_until_stopped",
]
