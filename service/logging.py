"""Structured logs (structlog): JSON lines when stderr is not a terminal, a request id on each."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._-]{1,80}$")
access_log = structlog.get_logger("service.access")


def configure_logging(*, json_logs: bool | None = None, level: str = "INFO") -> None:
    as_json = (not sys.stderr.isatty()) if json_logs is None else json_logs
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        # not cached: loggers created at import pick up a later configure (tests, the CLI)
        cache_logger_on_first_use=False,
    )


class RequestIdMiddleware:
    """Takes a sane `X-Request-ID` from the client or makes one; binds it to every log line,
    stores it on the scope (problems and audit events quote it) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]  # lifespan scopes pass too
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if incoming and _REQUEST_ID_OK.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        status_holder: dict[str, int] = {}
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=rid):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                access_log.info(
                    "request",
                    request_id=rid,
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status_holder.get("status"),
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
