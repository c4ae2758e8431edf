"""`/metrics` (service/metrics.py): Prometheus's text format as prometheus_client's own parser
reads it; requests by route template; who may scrape. The several-workers case (figures added up
over the workers) is in tests/service/test_scale_out.py."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.app import create_app
from service.metrics import webhook_delivery_failed
from service.persistence.database import Database
from tests.conftest import ROOT, TEST_SETTINGS

TOKEN = "m" * 40


def _samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }


def _count(samples: dict[Any, float], method: str, route: str, status: str) -> float:
    key = (
        "grants_http_request_duration_seconds_count",
        (("method", method), ("route", route), ("status", status)),
    )
    return samples.get(key, 0.0)


async def _scrape(http: httpx.AsyncClient, **headers: str) -> httpx.Response:
    return await http.get("http://test/metrics", headers=headers)


async def test_requests_are_counted_by_route_template_not_by_path(http: httpx.AsyncClient) -> None:
    route = "/api/v1/proposals/{proposal_id}"
    before = _samples((await _scrape(http)).text)
    ids = [uuid.uuid4() for _ in range(3)]
    for i in ids:
        assert (await http.get(f"http://test/api/v1/proposals/{i}")).status_code == 401
    answer = await _scrape(http)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    after = _samples(answer.text)
    assert _count(after, "GET", route, "401") - _count(before, "GET", route, "401") == 3
    assert not any(str(i) in answer.text for i in ids)  # no raw path became a label
    # a path no route matches is one series, whatever the path
    await http.get(f"http://test/api/v1/no-such-thing/{ids[0]}")
    again = _samples((await _scrape(http)).text)
    assert _count(again, "GET", "unmatched", "404") - _count(after, "GET", "unmatched", "404") == 1
    buckets = [
        v
        for (name, labels), v in again.items()
        if name == "grants_http_request_duration_seconds_bucket"
        and ("method", "GET") in labels  # the series counted above (tests before may add others)
        and ("route", route) in labels
        and ("status", "401") in labels
    ]
    assert buckets == sorted(buckets)
    assert buckets[-1] == _count(again, "GET", route, "401")  # the +Inf bucket holds them all


async def test_webhook_failures_are_counted(http: httpx.AsyncClient) -> None:
    key = ("grants_webhook_delivery_failures_total", (("reason", "timeout"),))
    before = _samples((await _scrape(http)).text).get(key, 0.0)
    webhook_delivery_failed("timeout")
    webhook_delivery_failed("timeout")
    assert _samples((await _scrape(http)).text)[key] - before == 2


async def test_the_job_queue_depth_is_read_from_the_queue_table(
    http: httpx.AsyncClient, session: AsyncSession
) -> None:
    samples = _samples((await _scrape(http)).text)
    table = (await session.execute(text("SELECT to_regclass('procrastinate_jobs')"))).scalar()
    queued = {k: v for k, v in samples.items() if k[0] == "grants_job_queue_jobs"}
    if table is None:  # before the queue's migration: no sample rather than a made-up zero
        assert queued == {}
        return
    counts = dict(
        (
            await session.execute(
                text(
                    "SELECT status::text, count(*) FROM procrastinate_jobs"
                    " WHERE status IN ('todo', 'doing') GROUP BY 1"
                )
            )
        ).all()
    )
    assert queued == {
        ("grants_job_queue_jobs", (("status", s),)): float(counts.get(s, 0))
        for s in ("todo", "doing")
    }


async def test_only_loopback_without_a_proxy_may_scrape_when_no_token_is_set(
    http: httpx.AsyncClient, db: Database
) -> None:
    assert (await _scrape(http)).status_code == 200  # httpx's ASGI client is 127.0.0.1
    proxied = await _scrape(http, **{"x-forwarded-for": "203.0.113.9"})
    assert proxied.status_code == 403
    assert proxied.json()["type"] == "urn:pcc-grants:problem:forbidden"
    assert "grants_" not in proxied.text
    app = create_app(TEST_SETTINGS, database=db)
    outside = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))  # type: ignore[arg-type]  # Litestar is ASGI
    async with httpx.AsyncClient(transport=outside, base_url="http://test") as far:
        assert (await _scrape(far)).status_code == 403
        assert (await far.post("http://test/metrics")).status_code == 405


async def test_a_token_opens_metrics_from_anywhere_and_nothing_else_does(db: Database) -> None:
    app = create_app(TEST_SETTINGS.model_copy(update={"metrics_token": TOKEN}), database=db)
    for client in (("203.0.113.9", 4000), ("127.0.0.1", 4000)):
        transport = httpx.ASGITransport(app=app, client=client)  # type: ignore[arg-type]  # Litestar is ASGI
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            assert (await _scrape(http)).status_code == 403
            assert (await _scrape(http, authorization=f"Bearer {TOKEN}x")).status_code == 403
            assert (await _scrape(http, authorization=TOKEN)).status_code == 403
            ok = await _scrape(http, authorization=f"Bearer {TOKEN}")
            assert ok.status_code == 200
            assert "grants_http_request_duration_seconds" in ok.text


async def test_the_combined_app_serves_the_apis_metrics_not_a_web_page(db: Database) -> None:
    from service.cli import build_combined_app

    combined = build_combined_app(TEST_SETTINGS, db)
    transport = httpx.ASGITransport(app=combined)  # type: ignore[arg-type]  # an ASGI callable
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        await http.get("http://test/api/v1/proposals")
        answer = await _scrape(http)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    assert _count(_samples(answer.text), "GET", "/api/v1/proposals", "401") >= 1


_WORKER = """
import asyncio, sys
from service import metrics
from service.persistence.database import Database
metrics.POOL_SIZE.inc(int(sys.argv[1]))
metrics.webhook_delivery_failed("timeout")
if sys.argv[2] == "scrape":
    unreachable = Database.from_url("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    body, _ = asyncio.run(metrics.exposition(unreachable))
    open(sys.argv[3], "wb").write(body)  # stdout has the log's lines
"""


def test_several_workers_add_up_and_a_dead_workers_gauges_are_dropped(tmp_path: Path) -> None:
    """Multiprocess mode (as `grants serve --workers N` sets it): each worker its own files; a
    worker that died no longer counts in the gauges, its counts stay in the counters."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def worker(pool: int, then: str) -> None:
        subprocess.run(  # noqa: S603  (this interpreter, fixed code)
            [sys.executable, "-c", _WORKER, str(pool), then, str(tmp_path / "scraped.txt")],
            env=env,
            cwd=ROOT,
            capture_output=True,
            check=True,
        )

    worker(7, "exit")  # a worker that has died since
    worker(3, "scrape")  # the living one answers the scrape
    samples = _samples((tmp_path / "scraped.txt").read_text())
    assert samples[("grants_db_pool_size", ())] == 3
    assert samples[("grants_webhook_delivery_failures_total", (("reason", "timeout"),))] == 2
