"""Load benchmark of the running server (issue 16): each hot path as a ratio of a floor measured
in the same run, on the same PostgreSQL.

    python bench/load.py                       # full: embedded PostgreSQL, 1 and 2 workers
    python bench/load.py --short               # CI smoke run: every figure, tiny durations
    python bench/load.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

What it does, in one run:

1. A fresh database (``bench_load``) on the embedded PostgreSQL (pgserver, a temporary data
   folder) or on ``--database-url``'s server; migrated; the demo data loaded (the demo's 11
   proposals, its users, grants and tranches).
2. The floors, with asyncpg straight to that database: ``fetchrow`` of one proposal row (by id)
   and a committed single-row INSERT (autocommit), p50 of many.
3. ``grants serve`` as a separate process on a free port (``--workers 1``, then each of
   ``--workers-list``), and from outside:

   - ``/health/live`` at 32 connections (req/s, the third floor);
   - authenticated ``GET /api/v1/proposals/{id}`` at 1 connection (p50 / the fetchrow);
   - ``GET /api/v1/proposals?limit=50`` at 32 connections (req/s vs /health/live, p50, p99);
   - ``POST /api/v1/tranches/{id}/disbursements`` p50 (/ the INSERT): a tranche approved by the
     programme officer is paid by a finance officer, the payment reversed by a second one and
     the tranche approved again — only the payment is timed;
   - the list at ``--small-proposals`` (1,000: the demo's and copies), then (after ``INSERT …
     SELECT generate_series``) at ``--proposals`` (100,000): first page, a deep keyset page (a
     cursor 90 % of the way in) and a ``status=`` filter, p50 at 1 connection, and the ratio
     large/small.

The HTTP load tool is ``wrk`` (Debian's ``apt-get install wrk``: C, its own event loop, so the
client costs the 2-core machine little) for every fixed request; the disbursement cycle, whose
requests each need a fresh body and Idempotency-Key, is timed with an httpx client of this script
(one connection, ``time.perf_counter`` around the POST alone). No figure is asserted anywhere:
``tests/bench/test_load_smoke.py`` only checks that ``--short`` prints them all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_DB_NAME", "bench_load")
"""`BENCH_DB_NAME`: another name, when someone else benchmarks on the same server."""
DEMO_DOMAIN = "demo.pcc-grants.kg"
RATES = {"USD": "88.10", "EUR": "95.40"}
STATUSES = ("draft", "withdrawn")  # no snapshot needed (a CHECK asks one of the others)

# --- small helpers --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds >= 0.001 else f"{seconds * 1e6:.0f} µs"


_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _duration(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if m is None:
        raise ValueError(text)
    return float(m.group(1)) * _UNIT[m.group(2)]


@dataclass
class WrkResult:
    rps: float
    p50: float
    p99: float
    requests: int
    errors: int
    cpu: float = 0.0
    """The server's CPU time (user + system, all its processes) per request, seconds: on a
    machine others load too, this moves far less than the latencies do."""


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) of the live processes of a process group, from /proc."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(
    url: str,
    *,
    connections: int,
    seconds: float,
    headers: dict[str, str],
    server: Server | None = None,
) -> WrkResult:
    """One wrk run; its latency distribution (p50, p99), requests per second and (given the
    server) the server's CPU time per request."""
    cpu_before = group_cpu_seconds(server.proc.pid) if server else 0.0
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout  # noqa: S603  (wrk with our own arguments)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]  # wrk always prints it
    p50 = _duration(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]  # --latency prints it
    p99 = _duration(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]  # --latency prints it
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]  # always printed
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    cpu = (group_cpu_seconds(server.proc.pid) - cpu_before) / max(1, requests) if server else 0.0
    return WrkResult(rps=rps, p50=p50, p99=p99, requests=requests, errors=errors, cpu=cpu)


# --- the database ---------------------------------------------------------------------------


@contextmanager
def database(given_url: str | None, name: str = DB_NAME) -> Iterator[str]:
    """A fresh database (``bench_load``); yields its asyncpg URL (``postgresql://…``)."""
    if given_url:
        base = given_url.replace("postgresql+asyncpg://", "postgresql://")
        admin = base
        url = re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", base.split("://", 1)[1], count=1)
        url = "postgresql://" + url
        asyncio.run(_recreate(admin, name))
        yield url
        return
    import pgserver  # the embedded PostgreSQL the service itself uses without DATABASE_URL

    pgdata = Path(tempfile.mkdtemp(prefix="bench-load-pg-"))
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        server.psql(f'CREATE DATABASE "{name}";')
        yield f"postgresql://postgres@/{name}?host={pgdata}"
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


async def _recreate(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def sa_url(url: str) -> str:
    return "postgresql+asyncpg://" + url.split("://", 1)[1]


async def load_demo(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    from service.demo import load_demo_data
    from service.persistence.database import Database

    db = Database.from_url(sa_url(url))
    try:
        async with db.session() as session:
            await load_demo_data(session)
            await session.commit()
    finally:
        await db.dispose()


async def floors(url: str, n: int) -> dict[str, float]:
    """p50 of asyncpg fetchrow of one proposal row, and of a committed single-row INSERT."""
    conn = await asyncpg.connect(url)
    try:
        pid = await conn.fetchval("SELECT id FROM proposal ORDER BY created_at LIMIT 1")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, "
            "at timestamptz NOT NULL DEFAULT now(), note text)"
        )
        stmt = await conn.prepare("SELECT * FROM proposal WHERE id = $1")
        ins = await conn.prepare("INSERT INTO bench_floor (note) VALUES ($1)")
        fetch, insert = [], []
        for _ in range(50):  # warm up
            await stmt.fetchrow(pid)
        for i in range(n):
            t = time.perf_counter()
            await stmt.fetchrow(pid)
            fetch.append(time.perf_counter() - t)
            t = time.perf_counter()
            await ins.fetchval(f"row {i}")
            insert.append(time.perf_counter() - t)
        return {"fetchrow": statistics.median(fetch), "insert": statistics.median(insert)}
    finally:
        await conn.close()


async def add_proposals(url: str, n: int) -> int:
    """``n`` more proposals, copies of a demo draft with new ids, titles, statuses and creation
    times spread over a year (INSERT … SELECT generate_series); the table's row count after."""
    conn = await asyncpg.connect(url)
    try:
        cols = [
            r["column_name"]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'proposal' AND table_schema = current_schema() "
                "ORDER BY ordinal_position"
            )
        ]
        override = {
            "id": "gen_random_uuid()",
            "status": f"((ARRAY{list(STATUSES)!r})[1 + g % {len(STATUSES)}])::{{status_type}}",
            "title": "'Generated proposal ' || g",
            "receipt_number": "NULL",
            "withdrawn_at": "CASE WHEN g % 2 = 1 THEN now() END",
            "created_at": "now() - interval '365 days' + g * interval '300 seconds'",
            "updated_at": "now() - interval '365 days' + g * interval '300 seconds'",
            "version": "1",
        }
        status_type = await conn.fetchval(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'proposal'::regclass AND attname = 'status'"
        )
        select = ", ".join(
            override.get(col, f"p.{col}").replace("{status_type}", status_type) for col in cols
        )
        await conn.execute(
            f"INSERT INTO proposal ({', '.join(cols)}) SELECT {select} "  # noqa: S608  (column names from the catalogue, no input)
            f"FROM generate_series(1, {int(n)}) g, "
            "(SELECT * FROM proposal WHERE status = 'draft' ORDER BY created_at LIMIT 1) p"
        )
        await conn.execute("ANALYZE proposal")
        count: int = await conn.fetchval("SELECT count(*) FROM proposal")
        return count
    finally:
        await conn.close()


async def keyset_rows(url: str, depth: float) -> tuple[Any, uuid.UUID]:
    """The (created_at, id) of the proposal ``depth`` of the way into the default order."""
    conn = await asyncpg.connect(url)
    try:
        total = await conn.fetchval("SELECT count(*) FROM proposal")
        row = await conn.fetchrow(
            "SELECT created_at, id FROM proposal ORDER BY created_at, id OFFSET $1 LIMIT 1",
            int(total * depth),
        )
        return row["created_at"], row["id"]
    finally:
        await conn.close()


def cursor_for(created_at: Any, row_id: uuid.UUID) -> str:
    """The API's own cursor for the default order (created_at, id): its encoder, imported."""
    from service import pagination

    # before issue 16 the proposals' list used the tagged `encode_sort_cursor`; one scheme since
    encode = getattr(pagination, "encode_sort_cursor", None) or pagination.encode_cursor
    return str(encode(created_at, row_id))


# --- the server -----------------------------------------------------------------------------


RATE_LIMITS = ("GRANTS_RATE_LIMIT_IP", "GRANTS_RATE_LIMIT_ANONYMOUS_IP")
RATE_LIMITS += ("GRANTS_RATE_LIMIT_API_KEY", "GRANTS_RATE_LIMIT_USER")


class Server:
    rate_limits = "on"
    """`on`: every limit at 10^9 per window (the limiter counts, in leases of the default size,
    and never refuses: its cost is measured); `off`: every limit 0 (no limiter at all)."""

    def __init__(self, url: str, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": sa_url(url),
                "GRANTS_DATABASE_URL": sa_url(url),
                "GRANTS_TOTP_REQUIRED_ROLES": "[]",
                "GRANTS_SECOND_CONFIRMATION_ABOVE": str(10**15),
                "GRANTS_LOG_LEVEL": "WARNING",
                # no document is asked for: the renderers would only take CPU from the
                # first measurements while they start
                "GRANTS_DOCUMENTS_WARM": "false",
            }
        )
        env.update(dict.fromkeys(RATE_LIMITS, str(10**9) if self.rate_limits == "on" else "0"))
        grants = str(Path(sys.executable).with_name("grants"))
        cmd = [grants, "serve", "--port", str(self.port), "--workers", str(workers)]
        helptext = subprocess.run(  # noqa: S603  (the project's own command)
            [grants, "serve", "--help"], capture_output=True, text=True, env=env, check=False
        )
        if "--no-jobs" in helptext.stdout:  # no job worker inside the server under test
            cmd.append("--no-jobs")
        self.proc = subprocess.Popen(  # noqa: S603  (the project's own command)
            cmd,
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"grants serve exited {self.proc.returncode}: {err[-2000:]}")
            try:
                if httpx.get(f"{self.base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError("grants serve did not answer /health/live in 120 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: it and its workers
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def sign_in(base: str, local: str) -> str:
    from service.demo import DEMO_PASSWORD

    r = httpx.post(
        f"{base}/api/v1/auth/token",
        json={"email": f"{local}@{DEMO_DOMAIN}", "password": DEMO_PASSWORD},
        timeout=30,
    )
    r.raise_for_status()
    token: str = r.json()["access_token"]
    return token


def disbursement_cycle(base: str, tokens: dict[str, str], n: int) -> list[float]:
    """Pay an approved tranche n times (reverse and re-approve it between payments); the
    latencies of the payments alone."""
    officer = {"Authorization": f"Bearer {tokens['officer']}"}
    payer = {"Authorization": f"Bearer {tokens['finance']}"}
    reverser = {"Authorization": f"Bearer {tokens['finance2']}"}
    times: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        tranche = _approved_tranche(client, officer)
        today = datetime.now(UTC).date().isoformat()
        for i in range(n):
            body = {
                "amount": tranche["amount"],
                "value_date": today,
                "reference": f"BENCH-{uuid.uuid4().hex[:12]}",
                "bank_details": {"bank": "KICB", "account": "1280000000000001"},
                "rates": RATES,
            }
            headers = {**payer, "Idempotency-Key": uuid.uuid4().hex}
            t = time.perf_counter()
            r = client.post(
                f"/api/v1/tranches/{tranche['id']}/disbursements", json=body, headers=headers
            )
            times.append(time.perf_counter() - t)
            if r.status_code != 201:
                raise RuntimeError(f"payment {i}: {r.status_code} {r.text[:500]}")
            entry = r.json()
            r = client.post(
                f"/api/v1/ledger-entries/{entry['id']}/reversal",
                json={
                    "reason": "Benchmark: paid again",
                    "value_date": today,
                    "reference": f"BENCH-RET-{uuid.uuid4().hex[:10]}",
                },
                headers={**reverser, "Idempotency-Key": uuid.uuid4().hex},
            )
            if r.status_code != 201:
                raise RuntimeError(f"reversal {i}: {r.status_code} {r.text[:500]}")
            current = client.get(f"/api/v1/tranches/{tranche['id']}", headers=officer).json()
            r = client.post(
                f"/api/v1/tranches/{tranche['id']}/approval",
                json={"version": current["version"], "comment": "benchmark"},
                headers=officer,
            )
            if r.status_code != 200:
                raise RuntimeError(f"approval {i}: {r.status_code} {r.text[:500]}")
            tranche = r.json()
    return times


def _approved_tranche(client: httpx.Client, officer: dict[str, str]) -> dict[str, Any]:
    grants = client.get("/api/v1/grants", params={"limit": 100}, headers=officer).json()["items"]
    for g in grants:
        grant = client.get(f"/api/v1/grants/{g['id']}", headers=officer).json()
        for t in grant["tranches"]:
            if t["status"] == "approved":
                return dict(t)
    raise RuntimeError("the demo has no approved tranche")


# --- the run --------------------------------------------------------------------------------


@dataclass
class Figures:
    lines: list[str]

    def add(self, label: str, value: str) -> None:
        line = f"  {label:<58} {value}"
        self.lines.append(line)
        print(line, flush=True)


def measure_server(
    url: str, workers: int, args: argparse.Namespace, floor: dict[str, float], out: Figures
) -> dict[str, float]:
    secs = args.seconds
    print(f"\n== grants serve --workers {workers}", flush=True)
    server = Server(url, workers)
    results: dict[str, float] = {}
    try:
        tokens = {who: sign_in(server.base, who) for who in ("officer", "finance", "finance2")}
        auth = {"Authorization": f"Bearer {tokens['officer']}"}
        live = wrk(
            f"{server.base}/health/live", connections=32, seconds=secs, headers={}, server=server
        )
        out.add(
            "/health/live, 32 connections",
            f"{live.rps:,.0f} req/s  p50 {fmt_ms(live.p50)}  p99 {fmt_ms(live.p99)}"
            f"  (server CPU {fmt_ms(live.cpu)}/req)",
        )
        pid = httpx.get(f"{server.base}/api/v1/proposals?limit=1", headers=auth).json()["items"][0][
            "id"
        ]
        one = wrk(
            f"{server.base}/api/v1/proposals/{pid}",
            connections=1,
            seconds=secs,
            headers=auth,
            server=server,
        )
        out.add(
            "GET /proposals/{id}, 1 connection, p50",
            f"{fmt_ms(one.p50)} = {one.p50 / floor['fetchrow']:.1f}× fetchrow  "
            f"({one.rps:,.0f} req/s, errors {one.errors}, server CPU {fmt_ms(one.cpu)}/req)",
        )
        lst = wrk(
            f"{server.base}/api/v1/proposals?limit=50",
            connections=32,
            seconds=secs,
            headers=auth,
            server=server,
        )
        out.add(
            "GET /proposals?limit=50, 32 connections",
            f"{lst.rps:,.0f} req/s = {100 * lst.rps / live.rps:.1f}% of /health/live  "
            f"p50 {fmt_ms(lst.p50)}  p99 {fmt_ms(lst.p99)}  (errors {lst.errors}, "
            f"server CPU {fmt_ms(lst.cpu)}/req)",
        )
        cpu_before = group_cpu_seconds(server.proc.pid)
        pay = disbursement_cycle(server.base, tokens, args.payments)
        cycle_cpu = (group_cpu_seconds(server.proc.pid) - cpu_before) / len(pay)
        p50 = statistics.median(pay)
        out.add(
            f"POST /tranches/{{id}}/disbursements, p50 of {len(pay)}",
            f"{fmt_ms(p50)} = {p50 / floor['insert']:.1f}× INSERT  (p90 {fmt_ms(pct(pay, 0.9))})"
            f"  (server CPU {fmt_ms(cycle_cpu)} per pay + reverse + GET + approve)",
        )
        results.update(live=live.rps, one=one.p50, list_rps=lst.rps, list_p99=lst.p99, pay=p50)
    finally:
        server.stop()
    return results


def _list_p50s(url: str, server: Server, auth: dict[str, str], secs: float) -> dict[str, float]:
    created_at, row_id = asyncio.run(keyset_rows(url, 0.9))
    cursor = cursor_for(created_at, row_id)
    base = f"{server.base}/api/v1/proposals?limit=50"
    got = {}
    for name, target in (
        ("first page", base),
        ("deep keyset page", f"{base}&cursor={cursor}"),
        ("status=withdrawn", f"{base}&status=withdrawn"),
    ):
        check = httpx.get(target, headers=auth, timeout=30)
        check.raise_for_status()
        got[name] = wrk(target, connections=1, seconds=secs, headers=auth, server=server).p50
    return got


def scale_lists(url: str, args: argparse.Namespace, out: Figures) -> dict[str, float]:
    print(
        f"\n== the list at {args.proposals:,} proposals vs {args.small_proposals:,} (1 worker)",
        flush=True,
    )
    server = Server(url, 1)
    try:
        auth = {"Authorization": f"Bearer {sign_in(server.base, 'officer')}"}
        return _scale_lists(url, server, auth, args, out)
    finally:
        server.stop()


def _scale_lists(
    url: str, server: Server, auth: dict[str, str], args: argparse.Namespace, out: Figures
) -> dict[str, float]:
    small_count = asyncio.run(_count(url))
    if args.small_proposals > small_count:  # the small table: the demo's and copies, to 1,000
        small_count = asyncio.run(add_proposals(url, args.small_proposals - small_count))
    small = _list_p50s(url, server, auth, args.seconds)
    big_count = asyncio.run(add_proposals(url, args.proposals - small_count))
    big = _list_p50s(url, server, auth, args.seconds)
    results = {}
    for name in small:
        out.add(
            f"list {name}, {big_count:,} vs {small_count} proposals, p50",
            f"{fmt_ms(big[name])} vs {fmt_ms(small[name])} = {big[name] / small[name]:.1f}×",
        )
        results[f"scale {name}"] = big[name] / small[name]
    return results


async def _count(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        n: int = await conn.fetchval("SELECT count(*) FROM proposal")
        return n
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--short", action="store_true", help="CI smoke run: tiny durations and sizes"
    )
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to create the bench database on"
    )
    parser.add_argument("--workers-list", default="2", help="comma-separated worker counts after 1")
    parser.add_argument(
        "--database-name",
        default=DB_NAME,
        help="the bench database on --database-url's server (dropped and made again): give "
        "concurrent runs on one server names of their own",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="each wrk run")
    parser.add_argument("--proposals", type=int, default=100_000, help="the large list's rows")
    parser.add_argument(
        "--small-proposals", type=int, default=1_000, help="the small list's rows (vs the large)"
    )
    parser.add_argument("--payments", type=int, default=100)
    parser.add_argument("--floor-samples", type=int, default=2000)
    parser.add_argument(
        "--only-scale", action="store_true", help="the floors and the 100,000 vs 11 lists alone"
    )
    parser.add_argument(
        "--rate-limits",
        choices=("on", "off"),
        default="on",
        help="on: the limiter counts every request (limits too high to refuse); off: no limiter",
    )
    args = parser.parse_args()
    Server.rate_limits = args.rate_limits
    if args.short:
        args.seconds, args.proposals, args.payments, args.floor_samples = 1, 2_000, 3, 200
        args.small_proposals = 100
        args.workers_list = "2"
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (Debian: apt-get install wrk)")
    sys.path.insert(0, str(ROOT))
    from service.persistence import migrate

    out = Figures(lines=[])
    with database(args.database_url, args.database_name) as url:
        migrate.upgrade(sa_url(url))
        asyncio.run(load_demo(url))
        floor = asyncio.run(floors(url, args.floor_samples))
        print("== floors (asyncpg, same database)", flush=True)
        out.add("asyncpg fetchrow of one proposal row, p50", fmt_ms(floor["fetchrow"]))
        out.add("committed single-row INSERT, p50", fmt_ms(floor["insert"]))
        one = {} if args.only_scale else measure_server(url, 1, args, floor, out)
        for n in (int(x) for x in args.workers_list.split(",") if x.strip() and one):
            many = measure_server(url, n, args, floor, out)
            out.add(
                f"--workers {n} vs 1: /health/live and list throughput",
                f"{many['live'] / one['live']:.2f}× / {many['list_rps'] / one['list_rps']:.2f}×",
            )
        scale_lists(url, args, out)
    print("\nDONE", flush=True)


if __name__ == "__main__":
    main()
