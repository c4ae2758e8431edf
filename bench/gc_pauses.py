"""Benchmark: the garbage collector's pauses on an allocation-heavy endpoint, with CPython's
default thresholds and with `service.server.tune_gc` (start-up heap frozen, higher thresholds).

    python bench/gc_pauses.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/DB

The database must hold the demo data (`grants demo` or `grants serve --demo` once). Each mode
runs in a fresh process: the API app built as a worker builds it, the finance officer signed
in, then `--requests` sequential `GET /api/v1/finance/summary?by=pcc` through the app in-process
(httpx's ASGI transport: no sockets, so the figures are the app's own). `gc.callbacks` time every
collection by generation. Printed per mode: the objects a full collection walks after
warm-up and what one takes, p50 / p99 / max of the requests, the number of
collections of each generation, and their total and longest time. Results go in
docs/performance.md; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

PATH = "/api/v1/finance/summary?by=pcc"
USER = ("finance@demo.pcc-grants.kg", "demo-grants-2026")


async def _measure(requests: int, tuned: bool, path: str) -> dict[str, Any]:
    import httpx

    from service.app import create_app
    from service.persistence.database import Database, resolve_database_url
    from service.server import tune_gc
    from service.settings import Settings

    settings = Settings()
    database = Database.from_url(resolve_database_url(settings), role=settings.database_role)
    app = create_app(settings, database=database)
    if tuned:
        tune_gc()
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    started: list[float] = []

    def timing(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        else:
            pauses[info["generation"]].append(time.perf_counter() - started.pop())

    times: list[float] = []
    async with (
        app.lifespan() if hasattr(app, "lifespan") else _nothing(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]  # Litestar is ASGI
            base_url="http://bench",
        ) as client,
    ):
        token = (
            await client.post("/api/v1/auth/token", json={"email": USER[0], "password": USER[1]})
        ).json()["access_token"]
        headers = {"authorization": f"Bearer {token}"}
        for _ in range(20):  # warm: statement caches, pool
            (await client.get(path, headers=headers)).raise_for_status()
        tracked = len(gc.get_objects())
        t0 = time.perf_counter()
        gc.collect()  # what one full collection costs in this heap
        full_ms = (time.perf_counter() - t0) * 1000
        gc.callbacks.append(timing)
        for _ in range(requests):
            t0 = time.perf_counter()
            (await client.get(path, headers=headers)).raise_for_status()
            times.append(time.perf_counter() - t0)
        gc.callbacks.remove(timing)
    await database.dispose()
    times.sort()
    return {
        "tracked": tracked,
        "full_ms": full_ms,
        "p50_ms": statistics.median(times) * 1000,
        "p99_ms": times[int(len(times) * 0.99) - 1] * 1000,
        "max_ms": times[-1] * 1000,
        "collections": {g: len(p) for g, p in pauses.items()},
        "gc_total_ms": sum(sum(p) for p in pauses.values()) * 1000,
        "gc_longest_ms": max((max(p) for p in pauses.values() if p), default=0.0) * 1000,
    }


class _nothing:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--path", default=PATH, help="the endpoint (the finance officer's)")
    parser.add_argument("--mode", choices=["default", "tuned"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        result = asyncio.run(_measure(args.requests, args.mode == "tuned", args.path))
        print(json.dumps(result))
        return
    env = {
        **os.environ,
        "GRANTS_DATABASE_URL": args.database_url,
        "GRANTS_LOG_LEVEL": "WARNING",
        "GRANTS_TOTP_REQUIRED_ROLES": "[]",  # the demo finance officer signs in with a password
    }
    for mode in ("default", "tuned"):
        out = (
            subprocess.run(  # noqa: S603  (this script, fixed arguments)
                [
                    sys.executable,
                    __file__,
                    "--database-url",
                    args.database_url,
                    "--mode",
                    mode,
                    "--requests",
                    str(args.requests),
                    "--path",
                    args.path,
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        r = json.loads(out)
        print(
            f"{mode:8} objects the GC walks {r['tracked']:,}, a full collection"
            f" {r['full_ms']:.1f} ms;"
            f" p50 {r['p50_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms  max {r['max_ms']:.1f} ms"
            f"  collections gen0/1/2 {r['collections']['0']}/{r['collections']['1']}/"
            f"{r['collections']['2']}  GC total {r['gc_total_ms']:.0f} ms,"
            f" longest {r['gc_longest_ms']:.1f} ms"
        )


if __name__ == "__main__":
    main()
