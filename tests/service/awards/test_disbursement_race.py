"""Races on money, with real connections and real commits: one tranche paid by 64 requests at once,
grants made concurrently against one window's envelope, and one Idempotency-Key sent many times
at once.

The checker of the disbursement race is run twice: against the service, where it must pass, and
against a deliberately naive check-then-insert payment written here, where it must fail — so the
test is shown able to catch the bug it is about.
"""

from __future__ import annotations

import uuid
from functools import partial
from pathlib import Path

import anyio
import msgspec
import pytest
from sqlalchemy import text

from contracts.awards import TrancheTransition
from service.persistence.database import Database
from tests.factories import (
    APP_ROLE,
    PROBLEM,
    TRANCHE,
    Outcome,
    Paid,
    arranged,
    assert_paid_exactly_once,
    gather,
    grant_with_tranches,
    ledger_payments,
    outcome,
    payment_body,
    payment_plan,
    post_payment,
)
from tests.money_world import grant_body

pytestmark = pytest.mark.race


# --- what a request came back with, and the one check of the race ------------------------------


# --- the arrangement ----------------------------------------------------------------------------


# --- the race on one tranche --------------------------------------------------------------------


async def test_64_concurrent_payments_of_a_tranche_pay_it_exactly_once(
    fresh_db: str, tmp_path: Path
) -> None:
    async with arranged(fresh_db, tmp_path) as a:
        grant_id, tranches, grant_amount = await grant_with_tranches(a)
        po = a.client("po")
        for round_no, tranche_id in enumerate(tranches):
            due = await po.get_tranche(tranche_id)
            await po.approve_tranche(tranche_id, TrancheTransition(version=due.version))
            body = msgspec.json.encode(payment_body(TRANCHE, round_no))
            outcomes = await gather(
                [
                    partial(post_payment, a, officer, key, tranche_id, body)
                    for officer, key in payment_plan(round_no)
                ]
            )
            # then each retried key, and the winner's, once more: all answered by now, replayed
            winner = [o.key for o in outcomes if o.status == 201 and not o.replayed]
            resent = sorted(
                {f"{o}/{k}" for o, k in payment_plan(round_no) if k.startswith("retry")}
            )
            for who_key in resent + winner[:1]:
                officer, key = who_key.split("/", 1)
                late = await post_payment(a, officer, key, tranche_id, body)
                assert late.replayed
                outcomes.append(late)
            ledger = await ledger_payments(a.database, grant_id)
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
        _, tranches, grant_amount = await grant_with_tranches(a)
        for round_no, tranche_id in enumerate(tranches):
            outcomes = await gather(
                [
                    partial(_naive_pay, a.database, f"{officer}/{key}", tranche_id, TRANCHE)
                    for officer, key in payment_plan(round_no)
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
            return outcome(str(n), resp)

        outcomes = await gather([partial(make, n) for n in range(8)])
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
        grant_id, tranches, _ = await grant_with_tranches(a)
        tranche_id = tranches[0]
        po = a.client("po")
        due = await po.get_tranche(tranche_id)
        await po.approve_tranche(tranche_id, TrancheTransition(version=due.version))
        body = msgspec.json.encode(payment_body(TRANCHE, 0))
        outcomes = await gather(
            [partial(post_payment, a, "fo1", "one-key", tranche_id, body) for _ in range(20)]
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
        late = await post_payment(a, "fo1", "one-key", tranche_id, body)
        assert (late.status, late.replayed, late.body) == (201, True, originals[0].body)
        other = msgspec.json.encode(payment_body(TRANCHE, 1))
        reused = await post_payment(a, "fo1", "one-key", tranche_id, other)
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
