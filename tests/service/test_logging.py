"""Structured logs: every request is logged with its request id, as JSON when asked."""

from __future__ import annotations

import json

import httpx
import structlog
from structlog.testing import capture_logs

from service.logging import configure_logging


async def test_each_request_is_logged_with_its_request_id(http: httpx.AsyncClient) -> None:
    configure_logging(json_logs=True, level="INFO")  # the test app logs warnings only
    try:
        with capture_logs() as logs:
            response = await http.get("territories", headers={"x-request-id": "trace-7"})
    finally:
        configure_logging(json_logs=True, level="WARNING")
    assert response.headers["x-request-id"] == "trace-7"
    access = [e for e in logs if e.get("event") == "request"]
    assert len(access) == 1
    assert access[0]["request_id"] == "trace-7"
    assert (access[0]["method"], access[0]["path"], access[0]["status"]) == (
        "GET",
        "/api/v1/territories",
        200,
    )


async def test_an_unsafe_request_id_is_replaced(http: httpx.AsyncClient) -> None:
    response = await http.get("territories", headers={"x-request-id": "bad id\nwith newline"})
    rid = response.headers["x-request-id"]
    assert rid != "bad id\nwith newline"
    assert len(rid) == 32


def test_json_logs_are_one_object_per_line(capsys: object) -> None:
    configure_logging(json_logs=True, level="INFO")  # binds the captured stderr
    structlog.get_logger("t").info("hello", answer=42)
    configure_logging(json_logs=True, level="WARNING")
    err = capsys.readouterr().err  # type: ignore[attr-defined]  # pytest's CaptureFixture
    line = json.loads(err.strip().splitlines()[-1])
    assert (line["event"], line["answer"], line["level"]) == ("hello", 42, "info")
