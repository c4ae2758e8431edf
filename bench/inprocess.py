"""CPU per request of the hot paths, in process (issue 16): the ASGI app called directly, no HTTP
server, no socket to the client — what the worker itself spends on a request, measured with
``time.process_time`` (the process's CPU, so a busy machine blurs it much less than wall time).

    python bench/inprocess.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python bench/inprocess.py                 # on an embedded PostgreSQL (pgserver)

Figures, each the median of ``--rounds`` rounds of ``--requests`` requests, one at a time on
uvloop: ``/health/live`` (the floor: the framework and middleware alone), an authenticated
``GET /api/v1/proposals/{id}``, ``GET /api/v1/proposals?limit=50``, and a payment (``POST
/api/v1/tranches/{id}/disbursements``, reversed and re-approved between payments; only the
POST counted) — each as µs of CPU and as a multiple of ``/health/live``'s. ``--profile PATH``
also writes a cProfile of the list requests (``python -m pstats PATH``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import DEMO_DOMAIN, RATES, database, load_demo, sa_url  # noqa: E402  (after sys.path)

Asgi = Callable[..., Awaitable[None]]


async def call(
    app: Asgi,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[int, bytes]:
    """One request through the ASGI app: its status and body."""
    raw_headers = [(b"host", b"127.0.0.1:8000")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if body:
        raw_headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def cpu_per_request(
    make: Callable[[], Awaitable[tuple[int, bytes]]], n: int, rounds: int, expect: int = 200
) -> float:
    """Median over `rounds` of the process CPU per request of `n` requests, in µs."""
    for _ in range(min(n, 100)):  # warm up
        status, text = await make()
        if status != expect:
            raise RuntimeError(f"{status}: {text[:300]!r}")
    results = []
    for _ in range(rounds):
        t = time.process_time()
        for _ in range(n):
            await make()
        results.append((time.process_time() - t) / n * 1e6)
    return statistics.median(results)


async def run(url: str, args: argparse.Namespace) -> None:
    os.environ.update(
        {
            "GRANTS_TOTP_REQUIRED_ROLES": "[]",
            "GRANTS_SECOND_CONFIRMATION_ABOVE": str(10**15),
            "GRANTS_LOG_LEVEL": "WARNING",
        }
    )
    limit = str(10**9) if args.rate_limits == "on" else "0"
    for name in ("IP", "ANONYMOUS_IP", "API_KEY", "USER"):
        os.environ[f"GRANTS_RATE_LIMIT_{name}"] = limit
    from service.app import create_app
    from service.demo import DEMO_PASSWORD
    from service.server import tune_gc
    from service.settings import Settings

    app = create_app(Settings(database_url=sa_url(url)))
    tune_gc()
    asgi: Asgi = app

    async def lifespan() -> None:
        messages = [{"type": "lifespan.startup"}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.sleep(3600)
            return {}

        async def send(_: dict[str, Any]) -> None:
            return None

        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)

    life = asyncio.ensure_future(lifespan())
    await asyncio.sleep(0.5)

    async def token(local: str) -> dict[str, str]:
        body = msgspec.json.encode({"email": f"{local}@{DEMO_DOMAIN}", "password": DEMO_PASSWORD})
        status, text = await call(asgi, "POST", "/api/v1/auth/token", body=body)
        if status != 201:
            raise RuntimeError(f"sign-in {local}: {status} {text[:300]!r}")
        return {"Authorization": f"Bearer {msgspec.json.decode(text)['access_token']}"}

    officer = await token("officer")
    payer = await token("finance")
    reverser = await token("finance2")
    _, page = await call(asgi, "GET", "/api/v1/proposals", query="limit=50", headers=officer)
    first = msgspec.json.decode(page)["items"][0]["id"]
    n, rounds = args.requests, args.rounds
    figures: dict[str, float] = {}
    figures["/health/live"] = await cpu_per_request(
        lambda: call(asgi, "GET", "/health/live"), n, rounds
    )
    figures["GET /api/v1/proposals/{id}"] = await cpu_per_request(
        lambda: call(asgi, "GET", f"/api/v1/proposals/{first}", headers=officer), n, rounds
    )

    async def listing() -> tuple[int, bytes]:
        return await call(asgi, "GET", "/api/v1/proposals", query="limit=50", headers=officer)

    figures["GET /api/v1/proposals?limit=50"] = await cpu_per_request(listing, n, rounds)
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(n):
            await listing()
        profile.disable()
        profile.dump_stats(args.profile)
    if args.payments:
        figures["POST /api/v1/tranches/{id}/disbursements"] = await payments(
            asgi, officer, payer, reverser, args.payments
        )
    floor = figures["/health/live"]
    print(f"CPU per request, in process (median of {rounds} rounds of {n}):")
    for label, value in figures.items():
        print(f"  {label:<48} {value:>9.0f} µs  {value / floor:>6.1f}× /health/live")
    life.cancel()


async def payments(
    asgi: Asgi,
    officer: dict[str, str],
    payer: dict[str, str],
    reverser: dict[str, str],
    n: int,
) -> float:
    """Median CPU (µs) of a payment's POST; the reversal and approval between them not counted."""
    _, text = await call(asgi, "GET", "/api/v1/grants", query="limit=100", headers=officer)
    tranche: dict[str, Any] | None = None
    for g in msgspec.json.decode(text)["items"]:
        _, text = await call(asgi, "GET", f"/api/v1/grants/{g['id']}", headers=officer)
        for t in msgspec.json.decode(text)["tranches"]:
            if t["status"] == "approved":
                tranche = t
                break
        if tranche:
            break
    if tranche is None:
        raise RuntimeError("the demo has no approved tranche")
    today = datetime.now(UTC).date().isoformat()
    times = []
    for i in range(n):
        body = msgspec.json.encode(
            {
                "amount": tranche["amount"],
                "value_date": today,
                "reference": f"BENCH-{uuid.uuid4().hex[:12]}",
                "bank_details": {"bank": "KICB", "account": "1280000000000001"},
                "rates": RATES,
            }
        )
        headers = {**payer, "Idempotency-Key": uuid.uuid4().hex}
        path = f"/api/v1/tranches/{tranche['id']}/disbursements"
        t = time.process_time()
        status, text = await call(asgi, "POST", path, headers=headers, body=body)
        times.append((time.process_time() - t) * 1e6)
        if status != 201:
            raise RuntimeError(f"payment {i}: {status} {text[:500]!r}")
        entry = msgspec.json.decode(text)
        status, text = await call(
            asgi,
            "POST",
            f"/api/v1/ledger-entries/{entry['id']}/reversal",
            headers={**reverser, "Idempotency-Key": uuid.uuid4().hex},
            body=msgspec.json.encode(
                {
                    "reason": "Benchmark: paid again",
                    "value_date": today,
                    "reference": f"BENCH-RET-{uuid.uuid4().hex[:10]}",
                }
            ),
        )
        if status != 201:
            raise RuntimeError(f"reversal {i}: {status} {text[:500]!r}")
        _, text = await call(asgi, "GET", f"/api/v1/tranches/{tranche['id']}", headers=officer)
        version = msgspec.json.decode(text)["version"]
        status, text = await call(
            asgi,
            "POST",
            f"/api/v1/tranches/{tranche['id']}/approval",
            headers=officer,
            body=msgspec.json.encode({"version": version, "comment": "benchmark"}),
        )
        if status != 200:
            raise RuntimeError(f"approval {i}: {status} {text[:500]!r}")
        tranche = msgspec.json.decode(text)
    return statistics.median(times[min(5, n // 2) :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL server to make the database on")
    parser.add_argument("--database-name", default="bench_inprocess")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--payments", type=int, default=40)
    parser.add_argument("--profile", help="write a cProfile of the list requests here")
    parser.add_argument(
        "--rate-limits",
        choices=("on", "off"),
        default="on",
        help="on: every limit 10^9 (the limiter counts and never refuses); off: no limiter",
    )
    args = parser.parse_args()
    import uvloop

    from service.persistence import migrate

    with database(args.database_url, args.database_name) as url:
        migrate.upgrade(sa_url(url))
        asyncio.run(load_demo(url))
        uvloop.run(run(url, args))


if __name__ == "__main__":
    main()
