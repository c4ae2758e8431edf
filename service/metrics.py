"""`/metrics`: the service's figures in Prometheus's text format (prometheus_client).

- `grants_http_request_duration_seconds` (histogram; labels method, route, status): every HTTP
  request by its route *template* (`/api/v1/proposals/{proposal_id}`, never the raw path, so the
  series stay few); a request no route matched is `route="unmatched"`.
- `grants_db_pool_connections_in_use` / `grants_db_pool_size` (gauges): connections checked out
  of the SQLAlchemy pool now, and the pool's configured size (plus its overflow at a peak), added
  up over the live workers.
- `grants_job_queue_jobs` (gauge; label status `todo`/`doing`): jobs waiting and running in the
  job queue (procrastinate's `procrastinate_jobs`), read from the database at each scrape; a
  database without that table (before its migration) reports no sample.
- `grants_webhook_delivery_failures_total` (counter; label reason): webhook delivery attempts
  that failed, by reason — `timeout`, `connection` (refused, reset, DNS…), `http_status` (the
  receiver answered other than 2xx), `refused_url` (SSRF check), `deactivated`, `worker_lost`
  (a worker died mid-POST; found when the delivery is claimed again). service/webhooks/delivery.py
  calls `webhook_delivery_failed(reason)` once per failed attempt.

Several workers (`grants serve --workers N`): `grants serve` names an empty folder in
`PROMETHEUS_MULTIPROC_DIR` before the workers start (service/server.py); each worker writes its
figures there and whichever worker answers a scrape adds them all up (prometheus_client's
multiprocess mode; gauges are summed over live workers: a scrape first drops the gauge files of
workers that have died, `forget_dead_workers`).

Access (docs/deploy.md): not public. With `GRANTS_METRICS_TOKEN` set, a scrape must send
`Authorization: Bearer <token>` (from anywhere); without it, only a caller on the loopback
address whose request carries no `X-Forwarded-For`/`Forwarded` header (so a reverse proxy on the
same host does not open it to the world) is answered. Anything else: 403 problem+json.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy import event, text

from service.persistence.database import Database
from service.settings import Settings

log = structlog.get_logger("service.metrics")

METRICS_PATH = "/metrics"

REQUEST_DURATION = Histogram(
    "grants_http_request_duration_seconds",
    "HTTP requests by method, route template and status, and how long they took.",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
POOL_IN_USE = Gauge(
    "grants_db_pool_connections_in_use",
    "Database connections checked out of the pool now (all workers).",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "grants_db_pool_size",
    "The database pools' configured size (all workers; each may overflow at a peak).",
    multiprocess_mode="livesum",
)
WEBHOOK_FAILURES = Counter(
    "grants_webhook_delivery_failures",
    "Webhook delivery attempts that failed, by reason (timeout, connection, http_status, ...).",
    ["reason"],
)

_QUEUE_SQL = text(
    "SELECT s.status, count(j.id) FROM unnest(ARRAY['todo', 'doing']) AS s(status)"
    " LEFT JOIN procrastinate_jobs j ON j.status::text = s.status GROUP BY s.status"
)


def webhook_delivery_failed(reason: str) -> None:
    """Count one failed webhook delivery (`reason`: a short fixed word, e.g. `timeout`,
    `connection`, `http_status` — never a URL or a message, which would make a series each)."""
    WEBHOOK_FAILURES.labels(reason=reason).inc()


def watch_pool(database: Database) -> None:
    """Keep the pool gauges up to date from the pool's own checkout/checkin events."""
    if database.engine is None:  # a test's connection-bound database has no pool
        return
    pool = database.engine.sync_engine.pool
    if getattr(pool, "_grants_metrics", False):
        return
    pool._grants_metrics = True  # type: ignore[attr-defined]  # a marker: listen once per pool
    size = getattr(pool, "size", None)
    if callable(size):
        POOL_SIZE.inc(size())
    event.listen(pool, "checkout", lambda *_: POOL_IN_USE.inc())
    event.listen(pool, "checkin", lambda *_: POOL_IN_USE.dec())


class _Snapshot(Collector):
    """Families collected already (the process's own registry, the job queue), for the one
    registry a scrape is encoded from."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


async def _queue_family(database: Database) -> list[Metric]:
    async with database.session() as session:
        exists = (await session.execute(text("SELECT to_regclass('procrastinate_jobs')"))).scalar()
        if exists is None:
            return []
        rows = (await session.execute(_QUEUE_SQL)).all()
    family = GaugeMetricFamily(
        "grants_job_queue_jobs", "Jobs in the job queue by status (todo, doing).", labels=["status"]
    )
    for status, count in rows:
        family.add_metric([status], int(count))
    return [family]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def forget_dead_workers(folder: str) -> None:
    """Drop the live-summed gauges (pool use and size) of workers that are gone: uvicorn
    restarts a worker that died, and the dead one's files would count on (its counters and
    histograms stay: they are totals)."""
    for file in Path(folder).glob("gauge_live*_*.db"):
        pid = file.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            mark_process_dead(int(pid), folder)  # type: ignore[no-untyped-call]  # unannotated


async def exposition(database: Database, accept: str = "") -> tuple[bytes, str]:
    """What a scrape gets, and its content type (Prometheus text or OpenMetrics, as `accept`
    asks): this process's (or every worker's) figures and the job queue."""
    registry = CollectorRegistry()
    if folder := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        forget_dead_workers(folder)
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # its __init__ has no annotations
    else:
        registry.register(_Snapshot(list(REGISTRY.collect())))
    try:
        registry.register(_Snapshot(await _queue_family(database)))
    except Exception:  # the database is down: the rest of the figures still help
        log.exception("metrics_job_queue_unreadable")
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def allowed(scope: dict[str, Any], settings: Settings) -> bool:
    """Whether this request may read /metrics (see the module)."""
    headers = dict(scope.get("headers", []))
    if settings.metrics_token:
        given = headers.get(b"authorization", b"").decode("latin-1")
        expected = f"Bearer {settings.metrics_token}"
        return hmac.compare_digest(given.encode(), expected.encode())
    client = scope.get("client") or ("", 0)
    proxied = b"x-forwarded-for" in headers or b"forwarded" in headers
    return _loopback(str(client[0])) and not proxied


class MetricsMiddleware:
    """Outer ASGI wrapper of the API: times every HTTP request under its route template, and
    answers `GET /metrics`."""

    def __init__(self, app: Any, settings: Settings, database: Database) -> None:
        self.app = app
        self.settings = settings
        self.database = database
        watch_pool(database)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == METRICS_PATH:
            await self._metrics(scope, send)
            return
        status = 500
        started = time.perf_counter()

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("path_template") or "unmatched"
            REQUEST_DURATION.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )

    async def _metrics(self, scope: dict[str, Any], send: Any) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 405, *_problem(405, "method-not-allowed", "Use GET"))
            return
        if not allowed(scope, self.settings):
            detail = "metrics are for the monitoring system only"
            await _answer(send, 403, *_problem(403, "forbidden", detail))
            return
        accept = dict(scope.get("headers", [])).get(b"accept", b"").decode("latin-1")
        body, content_type = await exposition(self.database, accept)
        await _answer(send, 200, content_type, body if scope["method"] == "GET" else b"")


def _problem(status: int, slug: str, detail: str) -> tuple[str, bytes]:
    body = {
        "type": f"urn:pcc-grants:problem:{slug}",
        "title": "Not allowed" if status == 403 else "Method not allowed",
        "status": status,
        "detail": detail,
        "instance": METRICS_PATH,
    }
    return "application/problem+json", json.dumps(body).encode()


async def _answer(send: Any, status: int, content_type: str, body: bytes) -> None:
    headers = [(b"content-type", content_type.encode()), (b"cache-control", b"no-store")]
    if status == 405:
        headers.append((b"allow", b"GET, HEAD"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = [
    "METRICS_PATH",
    "MetricsMiddleware",
    "allowed",
    "exposition",
    "watch_pool",
    "webhook_delivery_failed",
]
