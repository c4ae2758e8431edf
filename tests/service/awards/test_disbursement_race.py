"""Races on money, with real connections and real commits: one tranche paid by 64 requests at once,
grants made concurrently against one window's envelope, and one Idempotency-Key sent many times
at once.

The checker of the disbursement race is run twice: against the service, where it must pass, and
against a deliberately naive check-then-insert payment written here, where it must fail — so the
test is shown able to catch the bug it is about.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
import pytest
from sqlalchemy import text

from contracts.awards import DisbursementCreate, TrancheTransition
from contracts.client import GrantsClient
from service.app import create_app
from service.persistence.database import Database
from tests.conftest import TEST_SETTINGS
from tests.money_world import MoneyWorld, build_money_world, grant_body

pytestmark = pytest.mark.race

PROBLEM = "urn:pcc-grants:problem:"
APP_ROLE = "grants_app"
POOL = 32  # and as many again of overflow: 64 connections, one per concurrent request
REQUESTS = 64
ROUNDS = 5
TRANCHE = 2_000_000
FINANCE_OFFICERS = ("fo1", "fo2", "fo3")


# --- what a request came back with, and the one check of the race ------------------------------


@dataclass(frozen=True)
class Outcome:
    """One payment request's answer. `key` is the principal's name and its Idempotency-Key."""

    key: str
    status: int
    replayed: bool
    body: bytes
    problem_type: str | None = None


@dataclass(frozen=True)
class Paid:
    """A disbursement row of the ledger (net of reversals)."""

    tranche_id: uuid.UUID
    amount: int


def assert_paid_exactly_once(
    outcomes: Sequence[Outcome],
    ledger_rows: Sequence[Paid],
    *,
    tranche_id: uuid.UUID,
    tranche_amount: int,
    grant_amount: int,
) -> None:
    """Exactly one request paid the tranche; every other one was refused with 409 or is a replay
    of that very answer; the ledger holds exactly one payment of the tranche, of its amount; and
    the grant's payments (`ledger_rows` are all of its disbursements) stay within its amount."""
    originals = [o for o in outcomes if 200 <= o.status < 300 and not o.replayed]
    assert len(originals) == 1, f"{len(originals)} of {len(outcomes)} requests paid the tranche"
    original = originals[0]
    for o in outcomes:
        if o is original:
            continue
        if o.status == 409:
            assert o.problem_type is not None
            assert o.problem_type.startswith(PROBLEM), o.problem_type
            continue
        assert o.replayed, f"{o.key}: {o.status} {o.body!r}"
        assert o.key == original.key, f"{o.key} replays an answer it was never given"
        assert o.status == original.status
        assert o.body == original.body
    payments = [r for r in ledger_rows if r.tranche_id == tranche_id]
    assert len(payments) == 1, f"the ledger holds {len(payments)} payments of the tranche"
    assert payments[0].amount == tranche_amount
    paid = sum(r.amount for r in ledger_rows)
    assert paid <= grant_amount, f"{paid} paid on a grant of {grant_amount}"


# --- the arrangement ----------------------------------------------------------------------------


def _plan(round_no: int) -> list[tuple[str, str]]:
    """The 64 requests of a round, as (finance officer, Idempotency-Key): 48 distinct keys, and
    4 keys each sent 4 times by one officer (retries racing the first send)."""
    plan = [(FINANCE_OFFICERS[i % 3], f"pay-{round_no}-{i}") for i in range(48)]
    for i in range(16):
        plan.append((FINANCE_OFFICERS[i % 4 % 3], f"retry-{round_no}-{i % 4}"))
    # interleave the retries with the rest, so they do not all start last
    return [plan[j] for k in range(16) for j in (3 * k, 3 * k + 1, 3 * k + 2, 48 + k)]


def _payment(amount: int, round_no: int) -> DisbursementCreate:
    return DisbursementCreate(
        amount=amount,
        value_date=date(2027, 1, 15),
        reference=f"PAY-{round_no}",
        bank_details={"bank": "KICB", "account": "1280000000000001"},
        rates={"USD": "88.0"},
    )


@dataclass
class Arranged:
    database: Database
    http: httpx.AsyncClient
    world: MoneyWorld

    def client(self, name: str) -> GrantsClient:
        return GrantsClient(self.http, token=self.world.tokens[name])


@asynccontextmanager
async def arranged(fresh_db: str, tmp_path: Path, **world: Any) -> AsyncIterator[Arranged]:
    """The app on a pool of 64 connections acting as the service's restricted database role, and
    a money world committed through it."""
    database = Database.from_url(fresh_db, pool_size=POOL, role=APP_ROLE)
    app: Any = create_app(
        TEST_SETTINGS.model_copy(update={"storage_dir": tmp_path / "storage"}), database=database
    )
    try:
        async with database.session() as s:
            built = await build_money_world(s, **world)
            await s.commit()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/", timeout=120
        ) as http:
            yield Arranged(database=database, http=http, world=built)
    finally:
        await database.dispose()


async def _gather(calls: Sequence[Callable[[], Awaitable[Outcome]]]) -> list[Outcome]:
    """Start every call at once and collect their outcomes."""
    outcomes: list[Outcome] = []

    async def one(call: Callable[[], Awaitable[Outcome]]) -> None:
        outcomes.append(await call())

    async with anyio.create_task_group() as tg:
        for call in calls:
            tg.start_soon(one, call)
    assert len(outcomes) == len(calls)
    return outcomes


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
    a: Arranged, officer: str, key: str, tranche_id: uuid.UUID, body: bytes
) -> Outcome:
    resp = await a.http.post(
        f"tranches/{tranche_id}/disbursements",
        content=body,
        headers={
            "authorization": f"Bearer {a.world.tokens[officer]}",
            "content-type": "application/json",
            "Idempotency-Key": key,
        },
    )
    return _outcome(f"{officer}/{key}", resp)


async def _ledger(database: Database, grant_id: uuid.UUID) -> list[Paid]:
    """The grant's disbursements not reversed."""
    async with database.session() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT d.tranche_id, d.amount FROM ledger_entry d"
                    " WHERE d.grant_id = :g AND d.kind = 'disbursement' AND NOT EXISTS"
                    " (SELECT 1 FROM ledger_entry r WHERE r.reverses_id = d.id)"
                ),
                {"g": grant_id},
            )
        ).all()
    return [Paid(tranche_id=t, amount=int(amount)) for t, amount in rows]


async def _grant_with_tranches(a: Arranged) -> tuple[uuid.UUID, list[uuid.UUID], int]:
    """A grant of the world's first proposal in ROUNDS tranches of TRANCHE (all due)."""
    grant = await a.client("po").create_grant(
        grant_body(a.world, a.world.proposals[0], [TRANCHE] * ROUNDS)
    )
    return grant.id, [t.id for t in grant.tranches], grant.amount


# --- the race on one tranche --------------------------------------------------------------------


async def test_64_concurrent_payments_of_a_tranche_pay_it_exactly_once(
    fresh_db: str, tmp_path: Path
) -> None:
    async with arranged(fresh_db, tmp_path) as a:
        grant_id, tranches, grant_amount = await _grant_with_tranches(a)
        po = a.client("po")
        for round_no, tranche_id in enumerate(tranches):
            due = await po.get_tranche(tranche_id)
            await po.approve_tranche(tranche_id, TrancheTransition(version=due.version))
            body = msgspec.json.encode(_payment(TRANCHE, round_no))
            outcomes = await _gather(
                [
                    partial(_post_payment, a, officer, key, tranche_id, body)
                    for officer, key in _plan(round_no)
                ]
            )
            # then each retried key, and the winner's, once more: all answered by now, replayed
            winner = [o.key for o in outcomes if o.status == 201 and not o.replayed]
            resent = sorted({f"{o}/{k}" for o, k in _plan(round_no) if k.startswith("retry")})
            for who_key in resent + winner[:1]:
                officer, key = who_key.split("/", 1)
                late = await _post_payment(a, officer, key, tranche_id, body)
                assert late.replayed
                outcomes.append(late)
            ledger = await _ledger(a.database, grant_id)
            assert_paid_exactly_once(
                outcomes,
                ledger,
                tranche_id=tranche_id,
                tranche_amount=TRANCHE,
                grant_amount=grant_amount,
            )
            # the service's own books agree with its ledger
            grant = await po.get_grant(grant_id)
            assert (
                grant.disbursed_amount == sum(p.amount for p in ledger) == TRANCHE * (round_no + 1)
            )
            assert grant.disbursed_amount <= grant.amount
            assert grant.tranches[round_no].status == "disbursed"
            # and the losers were refused for the right reasons
            refused = {o.problem_type for o in outcomes if o.status == 409}
            assert refused <= {PROBLEM + "conflict", PROBLEM + "idempotency-key-in-flight"}


# --- the same race against a naive payment: the checker must catch it ---------------------------


async def _naive_pay(database: Database, key: str, tranche_id: uuid.UUID, amount: int) -> Outcome:
    """Check, then insert: "is the tranche paid? no: pay it" with nothing stopping a second
    request between the two (no lock, no unique index). Replays a payment made with this key."""
    async with database.session() as s:
        existing = (
            await s.execute(
                text("SELECT key, amount FROM naive_ledger WHERE tranche_id = :t LIMIT 1"),
                {"t": tranche_id},
            )
        ).first()
        if existing is not None:
            answer = msgspec.json.encode({"tranche_id": str(tranche_id), "key": existing.key})
            if existing.key == key:
                return Outcome(key=key, status=201, replayed=True, body=answer)
            return Outcome(
                key=key,
                status=409,
                replayed=False,
                body=b"{}",
                problem_type=PROBLEM + "conflict",
            )
        await anyio.sleep(0.02)  # the work between the check and the write: the race window
        await s.execute(
            text("INSERT INTO naive_ledger (tranche_id, amount, key) VALUES (:t, :a, :k)"),
            {"t": tranche_id, "a": amount, "k": key},
        )
        await s.commit()
    return Outcome(
        key=key,
        status=201,
        replayed=False,
        body=msgspec.json.encode({"tranche_id": str(tranche_id), "key": key}),
    )


async def test_a_naive_check_then_insert_fails_the_same_check(
    fresh_db: str, tmp_path: Path
) -> None:
    owner = Database.from_url(fresh_db, pool_size=1)
    try:
        async with owner.session() as s:
            await s.execute(
                text("CREATE TABLE naive_ledger (tranche_id uuid, amount bigint, key text)")
            )
            await s.execute(text(f"GRANT SELECT, INSERT ON naive_ledger TO {APP_ROLE}"))
            await s.commit()
    finally:
        await owner.dispose()
    async with arranged(fresh_db, tmp_path) as a:
        _, tranches, grant_amount = await _grant_with_tranches(a)
        for round_no, tranche_id in enumerate(tranches):
            outcomes = await _gather(
                [
                    partial(_naive_pay, a.database, f"{officer}/{key}", tranche_id, TRANCHE)
                    for officer, key in _plan(round_no)
                ]
            )
            async with a.database.session() as s:
                ledger = [
                    Paid(tranche_id=t, amount=int(amount))
                    for t, amount in (
                        await s.execute(text("SELECT tranche_id, amount FROM naive_ledger"))
                    ).all()
                ]
            with pytest.raises(AssertionError):
                assert_paid_exactly_once(
                    outcomes,
                    ledger,
                    tranche_id=tranche_id,
                    tranche_amount=TRANCHE,
                    grant_amount=grant_amount,
                )


# --- grants made concurrently against one window's envelope -------------------------------------


async def test_concurrent_grants_never_exceed_the_windows_envelope(
    fresh_db: str, tmp_path: Path
) -> None:
    kgs, usd = 18_000_000, 12_000_000
    async with arranged(
        fresh_db, tmp_path, kgs_allocation=kgs, usd_allocation=usd, proposals=8
    ) as a:
        w = a.world
        assert w.envelope == 30_000_000
        officers = ("po", "po2")

        async def make(n: int) -> Outcome:
            body = grant_body(w, w.proposals[n], [6_000_000, 4_000_000])
            resp = await a.http.post(
                "grants",
                content=msgspec.json.encode(body),
                headers={
                    "authorization": f"Bearer {w.tokens[officers[n % 2]]}",
                    "content-type": "application/json",
                },
            )
            return _outcome(str(n), resp)

        outcomes = await _gather([partial(make, n) for n in range(8)])
        statuses = sorted(o.status for o in outcomes)
        assert statuses == [201] * 3 + [409] * 5, statuses
        assert {o.problem_type for o in outcomes if o.status == 409} == {PROBLEM + "conflict"}
        async with a.database.session() as s:
            total = (
                await s.execute(
                    text("SELECT coalesce(sum(amount), 0) FROM grant_award WHERE window_id = :w"),
                    {"w": w.window_id},
                )
            ).scalar_one()
            charges: dict[uuid.UUID, int] = dict(
                (
                    await s.execute(
                        text(
                            "SELECT c.funding_source_id, sum(c.amount) FROM grant_charge c"
                            " JOIN grant_award g ON g.id = c.grant_id WHERE g.window_id = :w"
                            " GROUP BY c.funding_source_id"
                        ),
                        {"w": w.window_id},
                    )
                ).all()
            )
            awarded = (
                await s.execute(
                    text(
                        "SELECT count(*) FROM proposal WHERE window_id = :w AND status = 'awarded'"
                    ),
                    {"w": w.window_id},
                )
            ).scalar_one()
        assert total == 3 * 10_000_000 <= w.envelope
        assert charges.get(w.kgs_source, 0) <= kgs
        assert charges.get(w.usd_source, 0) <= usd
        assert sum(charges.values()) == total
        assert awarded == 3


# --- one Idempotency-Key sent many times at once -------------------------------------------------


async def test_the_same_key_at_once_pays_once_and_replays_the_same_answer(
    fresh_db: str, tmp_path: Path
) -> None:
    async with arranged(fresh_db, tmp_path) as a:
        grant_id, tranches, _ = await _grant_with_tranches(a)
        tranche_id = tranches[0]
        po = a.client("po")
        due = await po.get_tranche(tranche_id)
        await po.approve_tranche(tranche_id, TrancheTransition(version=due.version))
        body = msgspec.json.encode(_payment(TRANCHE, 0))
        outcomes = await _gather(
            [partial(_post_payment, a, "fo1", "one-key", tranche_id, body) for _ in range(20)]
        )
        successes = [o for o in outcomes if o.status == 201]
        originals = [o for o in successes if not o.replayed]
        assert len(originals) == 1
        assert all(o.body == originals[0].body for o in successes)
        for o in outcomes:
            if o.status != 201:
                assert o.status == 409
                assert o.problem_type == PROBLEM + "idempotency-key-in-flight"
        # once it is done, a retry is a replay byte for byte; another payload with the key is 422
        late = await _post_payment(a, "fo1", "one-key", tranche_id, body)
        assert (late.status, late.replayed, late.body) == (201, True, originals[0].body)
        other = msgspec.json.encode(_payment(TRANCHE, 1))
        reused = await _post_payment(a, "fo1", "one-key", tranche_id, other)
        assert reused.status == 422
        assert reused.problem_type == PROBLEM + "idempotency-key-reused"
        assert not reused.replayed
        async with a.database.session() as s:
            ledger = (
                await s.execute(
                    text("SELECT id FROM ledger_entry WHERE tranche_id = :t"), {"t": tranche_id}
                )
            ).all()
            records = (
                await s.execute(
                    text(
                        "SELECT status, response_status FROM idempotency_record"
                        " WHERE key = 'one-key'"
                    )
                )
            ).all()
        assert len(ledger) == 1
        assert str(ledger[0].id) == msgspec.json.decode(originals[0].body)["id"]
        assert [(str(r.status), r.response_status) for r in records] == [("completed", 201)]
        assert (await po.get_grant(grant_id)).disbursed_amount == TRANCHE
