"""Scale-out: two real `grants serve --only api` processes (one of them with two workers) on two
ports, against one database, keep no state of their own that matters:

- started at once on an empty database, both migrate it at start-up without tripping over each
  other (the migrations' advisory lock, migrations/env.py);
- 64 concurrent payments of one tranche, spread over both processes, pay it exactly once (the
  same checker as tests/service/awards/test_disbursement_race.py, shown there able to fail);
- the sign-in throttle counts one account's failures made on either process together;
- each process answers /metrics from its own workers' figures (several workers: added up from
  prometheus_client's multiprocess files);
- the API's rate limit of one address holds across both processes (three workers): with leases
  of one request, exactly the limit is admitted.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from contracts.awards import DisbursementCreate, TrancheTransition
from contracts.client import GrantsClient
from service.identity.ratelimit import window_of
from service.identity.throttle import account_key
from service.persistence.database import Database
from tests.conftest import ROOT, Server
from tests.factories import (
    PROBLEM,
    Outcome,
    assert_paid_exactly_once,
)
from tests.factories import gather as _gather
from tests.factories import ledger_payments as _ledger
from tests.factories import payment_plan as _plan
from tests.money_world import build_money_world, grant_body

pytestmark = pytest.mark.race


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    def wait_live(self) -> str:
        deadline = time.monotonic() + 240
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the server never answered"
            try:
                if httpx.get(f"{self.base}/health/live", timeout=2).status_code == 200:
                    return self.base
            except httpx.TransportError:
                time.sleep(0.3)


@contextmanager
def _serving(
    database_url: str, workdir: Path, workers: int, settings: dict[str, str] | None = None
) -> Iterator[Served]:
    """`grants serve --only api` started as its own process (group) on a free port; `settings`:
    more `GRANTS_…` variables."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRANTS_", "PROMETHEUS_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        GRANTS_DATABASE_URL=database_url,
        GRANTS_DATA_DIR=str(workdir / f"data-{port}"),
        GRANTS_ENVIRONMENT="test",
        GRANTS_POOL_SIZE="8",  # 3 workers × (8 + 4 overflow): 36 connections at most
        GRANTS_POOL_OVERFLOW="4",
        GRANTS_LOG_LEVEL="WARNING",
        GRANTS_IN_PROCESS_JOBS="false",
        GRANTS_METRICS_TOKEN="scrape-" + "s" * 32,
        GRANTS_DOCUMENTS_WARM="false",  # no documents here (tests/conftest.py)
    )
    env.update(settings or {})
    log = (workdir / f"serve-{port}.log").open("w")
    proc = subprocess.Popen(  # noqa: S603  (our own CLI, fixed arguments)
        [
            *(sys.executable, "-c", "from service.cli import main; main()"),
            *("serve", "--only", "api", "--port", str(port), "--workers", str(workers)),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        yield Served(base, proc, workdir / f"serve-{port}.log")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


TRANCHE = 2_000_000


def _payment(amount: int) -> DisbursementCreate:
    return DisbursementCreate(
        amount=amount,
        value_date=date(2027, 1, 15),
        reference="PAY-SCALE-OUT",
        bank_details={"bank": "KICB", "account": "1280000000000001"},
        rates={"USD": "88.0"},
    )


def _outcome(key: str, resp: httpx.Response) -> Outcome:
    problem = None
    if resp.headers.get("content-type", "").startswith("application/problem+json"):
        problem = resp.json().get("type")
    return Outcome(
        key=key,
        status=resp.status_code,
        replayed=resp.headers.get("idempotent-replayed") == "true",
        body=resp.content,
        problem_type=problem,
    )


async def _post_payment(
    http: httpx.AsyncClient, token: str, who: str, key: str, tranche_id: uuid.UUID, body: bytes
) -> Outcome:
    resp = await http.post(
        f"tranches/{tranche_id}/disbursements",
        content=body,
        headers={
            "authorization": f"Bearer {token}",
            "content-type": "application/json",
            "Idempotency-Key": key,
        },
    )
    return _outcome(f"{who}/{key}", resp)


async def _failures(database: Database, email: str) -> tuple[int, bool]:
    """The account's failure count in the shared table, and whether its last failure blocked
    it (a block set then: the first lasts 1 s, which a loaded machine may have used up before
    this reads it, so not compared with now)."""
    async with database.session() as s:
        row = (
            await s.execute(
                text(
                    "SELECT failures, coalesce(blocked_until > last_failure_at, false)"
                    " FROM sign_in_throttle WHERE key = :k"
                ),
                {"k": account_key(email)},
            )
        ).one()
    return int(row[0]), bool(row[1])


async def _email_of(database: Database, user_id: uuid.UUID) -> str:
    async with database.session() as s:
        email: str = (
            await s.execute(text("SELECT email FROM app_user WHERE id = :i"), {"i": user_id})
        ).scalar_one()
    return email


async def test_two_processes_pay_a_tranche_once_share_the_throttle_and_serve_metrics(
    server: Server, tmp_path: Path
) -> None:
    name = f"grants_scale_{uuid.uuid4().hex[:10]}"
    url = await server.create_database(name)  # empty: no template, no schema
    database = Database.from_url(url, pool_size=2)
    try:
        with ExitStack() as stack:
            # both start at once on a database not migrated yet: each migrates at start-up
            started = [
                stack.enter_context(_serving(url, tmp_path, workers=1)),
                stack.enter_context(_serving(url, tmp_path, workers=2)),
            ]
            bases = [s.wait_live() for s in started]
            async with database.session() as s:
                world = await build_money_world(s)
                await s.commit()
            https = [httpx.AsyncClient(base_url=f"{b}/api/v1/", timeout=120) for b in bases]
            try:
                po = GrantsClient(https[0], token=world.tokens["po"])
                grant = await po.create_grant(grant_body(world, world.proposals[0], [TRANCHE] * 5))
                tranche_id = grant.tranches[0].id
                due = await po.get_tranche(tranche_id)
                await po.approve_tranche(tranche_id, TrancheTransition(version=due.version))

                # 64 payments at once, alternately on either process
                body = msgspec.json.encode(_payment(TRANCHE))
                outcomes = await _gather(
                    [
                        partial(
                            _post_payment,
                            https[i % 2],
                            world.tokens[officer],
                            officer,
                            key,
                            tranche_id,
                            body,
                        )
                        for i, (officer, key) in enumerate(_plan(0))
                    ]
                )
                assert {o.status for o in outcomes} <= {201, 409}
                assert_paid_exactly_once(
                    outcomes,
                    await _ledger(database, grant.id),
                    tranche_id=tranche_id,
                    tranche_amount=TRANCHE,
                    grant_amount=grant.amount,
                )
                refused = {o.problem_type for o in outcomes if o.status == 409}
                assert refused <= {PROBLEM + "conflict", PROBLEM + "idempotency-key-in-flight"}

                # the sign-in throttle: 3 failures on one process and 2 on the other are one
                # count of 5 (the free allowance), then the account is blocked
                email = await _email_of(database, world.user_ids["member"])
                wrong = {"email": email, "password": "not-the-password-at-all"}
                fails = [await https[i].post("auth/token", json=wrong) for i in (0, 0, 0, 1, 1)]
                assert [r.status_code for r in fails] == [401] * 5
                assert await _failures(database, email) == (5, True)
                # the block doubles with each further failure (1 s, 2 s, … ): fail on either
                # until it lasts 16 s, long enough to see both refuse whatever the machine's load
                attempts = 0
                while (await _failures(database, email))[0] < 9:
                    attempts += 1
                    assert attempts < 50
                    answer = await https[attempts % 2].post("auth/token", json=wrong)
                    assert answer.status_code in (401, 429), answer.text
                    if answer.status_code == 429:  # wait the block out: then it counts again
                        await asyncio.sleep(int(answer.headers["retry-after"]))
                for http in https:
                    blocked = await http.post("auth/token", json=wrong)
                    assert blocked.status_code == 429, blocked.text
                    assert blocked.json()["type"] == PROBLEM + "too-many-sign-in-attempts"
                    assert int(blocked.headers["retry-after"]) >= 1

                # /metrics of the process with two workers: every request of either worker
                await _assert_metrics(bases[1])
            finally:
                for http in https:
                    await http.aclose()
    finally:
        await database.dispose()
        await server.drop_database(name)


async def _assert_metrics(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as raw:
        refused = await raw.get("/metrics")
        assert refused.status_code in (401, 403)  # a token is asked for even from loopback here
        scraped = await raw.get("/metrics", headers={"authorization": "Bearer scrape-" + "s" * 32})
    assert scraped.status_code == 200, scraped.text
    families = {f.name: f for f in text_string_to_metric_families(scraped.text)}
    requests = families["grants_http_request_duration_seconds"]
    counts = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in requests.samples
        if s.name.endswith("_count")
    }
    payments = {
        status: v
        for (method, route, status), v in counts.items()
        if (method, route) == ("POST", "/api/v1/tranches/{tranche_id}/disbursements")
    }
    assert sum(payments.values()) == 32, counts  # the odd-numbered half of the 64 came here
    assert set(payments) <= {"201", "409"}
    assert not any("-" in route for _, route, _ in counts)  # templates, never a raw id
    # each of the two workers has a pool of 8 (GRANTS_POOL_SIZE): the figure is their sum
    (size,) = families["grants_db_pool_size"].samples
    assert size.value == 16


RATE_LIMIT = 30
WINDOW = 3600


async def _burst(https: list[httpx.AsyncClient], address: str, n: int) -> list[int]:
    """`n` anonymous requests at once from `address` (as a trusted proxy passes it on),
    alternately on either process; their statuses."""
    headers = {"x-forwarded-for": address}
    answers = await asyncio.gather(*(https[i % 2].get("calls", headers=headers) for i in range(n)))
    problems = {a.json()["type"] for a in answers if a.status_code == 429}
    assert problems <= {PROBLEM + "too-many-requests"}
    return [a.status_code for a in answers]


async def test_the_rate_limit_of_an_address_holds_across_two_processes(
    server: Server, tmp_path: Path
) -> None:
    name = f"grants_rate_{uuid.uuid4().hex[:10]}"
    url = await server.create_database(name)
    limits = {
        "GRANTS_RATE_LIMIT_ANONYMOUS_IP": str(RATE_LIMIT),
        "GRANTS_RATE_LIMIT_LEASE": "1",
        "GRANTS_RATE_LIMIT_WINDOW_SECONDS": str(WINDOW),
    }
    try:
        with ExitStack() as stack:
            started = [
                stack.enter_context(_serving(url, tmp_path, workers=1, settings=limits)),
                stack.enter_context(_serving(url, tmp_path, workers=2, settings=limits)),
            ]
            bases = [s.wait_live() for s in started]
            https = [httpx.AsyncClient(base_url=f"{b}/api/v1/", timeout=120) for b in bases]
            try:
                for attempt in range(3):  # again only if the burst crossed into the next hour
                    address = f"198.51.100.{attempt + 1}"
                    before = window_of(time.time(), WINDOW)
                    statuses = await _burst(https, address, 3 * RATE_LIMIT)
                    if window_of(time.time(), WINDOW) == before:
                        break
                others = [(await http.get("calls")).status_code for http in https]
            finally:
                for http in https:
                    await http.aclose()
    finally:
        await server.drop_database(name)

    assert sorted(set(statuses)) == [200, 429]
    assert statuses.count(200) == RATE_LIMIT  # not one more, whichever worker served it
    assert others == [200, 200]  # another address (the client's own): its own count
