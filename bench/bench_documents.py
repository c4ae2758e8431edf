"""Benchmark: the documents' PDFs (issue 17).

    pip install -e . && python bench/bench_documents.py [--short]

1. Award letter p50/p99 through the render pool (2 worker processes) under load (8 requests in
   flight), against a floor measured in the same run: a one-page WeasyPrint document of plain
   text through the same pool and load.
2. Process pool vs thread pool: the event loop's worst stall (a 5 ms ticker) while 20 letters
   render, and the wall time for the 20.
3. Memory: one process renders 1,000 letters (200 with --short); RSS growth after a warm-up
   (target < 50 MB).
4. The server: `grants serve` (embedded PostgreSQL, demo data, in a temporary folder) answers
   /health/live while 20 award letters are requested at once; /health/live p50/p99/max, idle vs
   under that load.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.documents.render import RenderPool, render_pdf  # noqa: E402
from service.documents.service import page_counter  # noqa: E402

PLAIN = "Plain text. " * 180


def letter_view(lang: str = "ky") -> dict[str, Any]:
    """An award letter's view as the service builds it (two tranches, three items)."""
    items = [
        "ALM-1.1 — Жамааттар ортосундагы этностор аралык диалогду жана ишенимди бекемдөө",
        "ALM-1.2 — Жаштардын демилгелерин колдоо",
        "ALM-2.1 — Аялдардын лидерлигин өнүктүрүү",
    ]
    return {
        "lang": lang,
        "title": "Грант ыйгаруу тууралуу кат",
        "reference": "PCC-2026-001",
        "issued": "2026-ж., 6-декабрь",
        "page_counter": page_counter(lang),
        "organisation": "«Үмүт жана өнүгүү» коомдук бирикмеси",
        "registration": "REG-104233",
        "territory": "Аламүдүн району",
        "project": "Village mediation circles in Alamedin",
        "receipt": "2026-W1-00017",
        "window": "W1-терезе",
        "call": "Гранттар 2026",
        "amount": "420 000,00 сом",
        "words": "Төрт жүз жыйырма миң сом 00 тыйын",
        "start": "2026-ж., 16-ноябрь",
        "end": "2027-ж., 15-ноябрь",
        "tranches": [
            {
                "position": n + 1,
                "planned": f"2027-ж., {n + 1}-март",
                "amount": "140 000,00 сом",
                "items": items[: n + 1],
                "conditions": ["келишимге кол коюлду", "каржылык отчет кабыл алынды"][: n + 1],
            }
            for n in range(3)
        ],
        "plan_items": items,
        "charges": [],
    }


def plain_view() -> dict[str, Any]:
    return {"text": PLAIN}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def under_load(
    pool: RenderPool, template: str, view: dict[str, Any], n: int, inflight: int
) -> list[float]:
    times: list[float] = []
    gate = asyncio.Semaphore(inflight)

    async def one() -> None:
        async with gate:
            t0 = time.perf_counter()
            await pool.render(template, view)
            times.append(time.perf_counter() - t0)

    await asyncio.gather(*(one() for _ in range(n)))
    return times


async def loop_stall(executor: concurrent.futures.Executor, count: int) -> tuple[float, float]:
    """Worst lateness of a 5 ms ticker while `count` letters render in `executor`; wall time."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal worst
        while not done:
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - t0 - 0.005)

    tick = asyncio.create_task(ticker())
    t0 = time.perf_counter()
    await asyncio.gather(
        *(
            loop.run_in_executor(executor, render_pdf, "award_letter.html", letter_view())
            for _ in range(count)
        )
    )
    wall = time.perf_counter() - t0
    done = True
    await tick
    return worst, wall


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def server_health(letters: int) -> dict[str, float]:
    data = Path(tempfile.mkdtemp(prefix="bench-documents-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "GRANTS_DATABASE_URL")}
    env["GRANTS_DATA_DIR"] = str(data)
    proc = subprocess.Popen(  # noqa: S603, ASYNC220  (our own CLI; started once, before any load)
        [
            sys.executable,
            "-c",
            "from service.cli import main; main()",
            "serve",
            "--demo",
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            for _ in range(600):
                try:
                    if (await http.get("/health/live")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            token = (
                await http.post(
                    "/api/v1/auth/token",
                    json={
                        "email": "applicant.yntymak@demo.pcc-grants.kg",
                        "password": "demo-grants-2026",
                    },
                )
            ).json()["access_token"]
            auth = {"authorization": f"Bearer {token}"}
            grant = (await http.get("/api/v1/grants/", headers=auth)).json()["items"][0]["id"]
            await http.get(f"/api/v1/grants/{grant}/award-letter?lang=ky", headers=auth)  # warm

            async def probe(seconds: float) -> list[float]:
                lat: list[float] = []
                end = time.perf_counter() + seconds
                while time.perf_counter() < end:
                    t0 = time.perf_counter()
                    await http.get("/health/live")
                    lat.append(time.perf_counter() - t0)
                    await asyncio.sleep(0.01)
                return lat

            idle = await probe(3)
            t0 = time.perf_counter()
            letters_task = asyncio.gather(
                *(
                    http.get(f"/api/v1/grants/{grant}/award-letter?lang=ky", headers=auth)
                    for _ in range(letters)
                )
            )
            busy: list[float] = []
            while not letters_task.done():  # /health/live for as long as the letters render
                t1 = time.perf_counter()
                await http.get("/health/live")
                busy.append(time.perf_counter() - t1)
                await asyncio.sleep(0.01)
            answers = await letters_task
            wall = time.perf_counter() - t0
            codes = [a.status_code for a in answers]
            return {
                "idle_p50": pct(idle, 50),
                "idle_p99": pct(idle, 99),
                "busy_p50": pct(busy, 50),
                "busy_p99": pct(busy, 99),
                "busy_max": max(busy),
                "letters_wall": wall,
                "ok": float(codes.count(200)),
                "busy_503": float(codes.count(503)),
            }
    finally:
        proc.terminate()
        proc.wait(timeout=60)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--short", action="store_true")
    parser.add_argument("--no-server", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--only-server", action="store_true")
    args = parser.parse_args()
    n = 40 if args.short else 200
    mem_renders = 200 if args.short else 1000

    if args.only_server:
        r = await server_health(20)
        print(r)
        return
    pool = RenderPool(workers=2, max_pending=64)
    await pool.render("warm.html", {})
    await under_load(pool, "bench_plain.html", plain_view(), 4, 2)
    floor = await under_load(pool, "bench_plain.html", plain_view(), n, 8)
    letters = await under_load(pool, "award_letter.html", letter_view(), n, 8)
    f50, l50, l99 = pct(floor, 50), pct(letters, 50), pct(letters, 99)
    print(f"1. under load ({n} renders, 8 in flight, 2 processes)")
    print(
        f"   floor (one page of plain text): p50 {f50 * 1000:.0f} ms,"
        f" p99 {pct(floor, 99) * 1000:.0f} ms"
    )
    print(
        f"   award letter:                   p50 {l50 * 1000:.0f} ms ({l50 / f50:.1f}x),"
        f" p99 {l99 * 1000:.0f} ms ({l99 / f50:.1f}x)"
    )
    pool.shutdown()

    print("2. 20 letters: the event loop's worst stall and the wall time")
    import multiprocessing

    with concurrent.futures.ProcessPoolExecutor(
        2, mp_context=multiprocessing.get_context("forkserver")
    ) as procs:
        await asyncio.gather(
            *(
                asyncio.get_running_loop().run_in_executor(procs, render_pdf, "warm.html", {})
                for _ in range(2)
            )
        )
        stall, wall = await loop_stall(procs, 20)
        print(f"   process pool (2): worst stall {stall * 1000:.1f} ms, wall {wall:.2f} s")
    with concurrent.futures.ThreadPoolExecutor(2) as threads:
        render_pdf("warm.html", {})
        stall, wall = await loop_stall(threads, 20)
        print(f"   thread pool (2):  worst stall {stall * 1000:.1f} ms, wall {wall:.2f} s")

    if not args.no_memory:
        print(f"3. memory over {mem_renders} renders in one process")
        for _ in range(20):
            render_pdf("award_letter.html", letter_view())
        before = rss_mb()
        for _ in range(mem_renders):
            render_pdf("award_letter.html", letter_view())
        after = rss_mb()
        print(f"   RSS {before:.0f} MB → {after:.0f} MB: growth {after - before:.1f} MB (< 50)")

    if not args.no_server:
        print("4. grants serve: /health/live while 20 award letters are requested at once")
        r = await server_health(20)
        print(f"   idle: p50 {r['idle_p50'] * 1000:.1f} ms, p99 {r['idle_p99'] * 1000:.1f} ms")
        print(
            f"   busy: p50 {r['busy_p50'] * 1000:.1f} ms, p99 {r['busy_p99'] * 1000:.1f} ms,"
            f" max {r['busy_max'] * 1000:.1f} ms"
        )
        print(
            f"   20 letters in {r['letters_wall']:.2f} s: {int(r['ok'])} PDFs,"
            f" {int(r['busy_503'])} refused 503 (queue bound 16)"
        )


if __name__ == "__main__":
    asyncio.run(main())
