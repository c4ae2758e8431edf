"""Idempotency-Key on proposal submission: replay, reuse, per-principal keys, errors, races."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
import pytest
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlmodel import col, select

from contracts.awards import TrancheTransition
from contracts.client import GrantsClient
from contracts.enums import (
    ActionPlanStatus,
    FundingSourceKind,
    IdempotencyStatus,
    MembershipRole,
    OrganisationKind,
    ProposalStatus,
    Role,
)
from contracts.proposals import ProposalCreate, ProposalUpdate
from service.app import create_app
from service.context import Clock, clock
from service.idempotency import ABANDONED_AFTER, purge_expired, request_hash
from service.identity.secrets import new_token
from service.persistence.database import Database
from service.persistence.models import (
    ActionPlan,
    ActionPlanItem,
    AppUser,
    AuditEvent,
    AuthToken,
    FundingSource,
    IdempotencyRecord,
    Membership,
    Organisation,
    Pcc,
    Territory,
    UserRole,
)
from tests.conftest import TEST_SETTINGS, hashed_test_password, run_cli
from tests.factories import (
    TRANCHE,
    Arranged,
    arranged,
    grant_with_tranches,
    payment_body,
    post_payment,
)
from tests.journey import NOW, Programme, complete_draft, published_call

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

PROBLEM = "urn:pcc-grants:problem:"


async def _submit(
    who: GrantsClient, proposal_id: uuid.UUID, body: dict[str, Any], key: str | None
) -> httpx.Response:
    headers = {"authorization": f"Bearer {who.token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await who.http.post(f"proposals/{proposal_id}/submission", json=body, headers=headers)


async def _submitted_events(session: AsyncSession, proposal_id: uuid.UUID) -> int:
    return (
        await session.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                col(AuditEvent.action) == "proposal.submitted",
                col(AuditEvent.entity_id) == str(proposal_id),
            )
        )
    ).scalar_one()


async def _records(session: AsyncSession) -> list[IdempotencyRecord]:
    return list((await session.execute(select(IdempotencyRecord))).scalars())


async def _ready(w: Programme) -> tuple[uuid.UUID, int]:
    _, w1, _ = await published_call(w)
    proposal_id = await complete_draft(w, w1)
    return proposal_id, (await w.applicant.get_proposal(proposal_id)).version


async def test_same_key_twice_submits_once_and_replays_the_answer(
    programme: Programme, session: AsyncSession
) -> None:
    w = programme
    proposal_id, version = await _ready(w)
    # the same JSON, spelled differently the second time: the canonical body is what counts
    first = await _submit(w.applicant, proposal_id, {"version": version}, "submit-1")
    second = await w.applicant.http.post(
        f"proposals/{proposal_id}/submission",
        content=b'{ "version" : %d }' % version,
        headers={
            "authorization": f"Bearer {w.applicant.token}",
            "Idempotency-Key": "submit-1",
            "content-type": "application/json",
        },
    )
    assert first.status_code == 201
    assert first.headers.get("idempotent-replayed") is None
    assert second.status_code == 201
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.content == first.content
    assert second.json()["proposal"]["status"] == ProposalStatus.ELIGIBLE
    assert await _submitted_events(session, proposal_id) == 1
    records = await _records(session)
    assert [(r.status, r.response_status) for r in records] == [(IdempotencyStatus.COMPLETED, 201)]
    assert records[0].request_hash == request_hash(
        "POST", f"/api/v1/proposals/{proposal_id}/submission", b'{"version":%d}' % version
    )


async def test_same_key_for_a_different_request_is_refused(programme: Programme) -> None:
    w = programme
    proposal_id, version = await _ready(w)
    assert (await _submit(w.applicant, proposal_id, {"version": version}, "k")).status_code == 201
    reused = await _submit(w.applicant, proposal_id, {"version": version + 1}, "k")
    assert reused.status_code == 422
    assert reused.headers["content-type"].startswith("application/problem+json")
    assert reused.json()["type"] == PROBLEM + "idempotency-key-reused"


async def test_keys_belong_to_their_principal(programme: Programme, session: AsyncSession) -> None:
    w = programme
    _, w1, _ = await published_call(w)
    mine = await complete_draft(w, w1)
    version = (await w.applicant.get_proposal(mine)).version
    theirs = await w.young.create_proposal(
        w1, ProposalCreate(organisation_id=w.young_org.id, title="Youth voices")
    )
    theirs = await w.young.update_proposal(
        theirs.id, ProposalUpdate(version=theirs.version, requested_amount=1_000_000)
    )
    a = await _submit(w.applicant, mine, {"version": version}, "shared-key")
    b = await _submit(w.young, theirs.id, {"version": theirs.version}, "shared-key")
    assert (a.status_code, b.status_code) == (201, 201)
    assert b.headers.get("idempotent-replayed") is None
    assert b.json()["proposal"]["id"] == str(theirs.id)
    assert len({r.principal for r in await _records(session)}) == 2


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\there"])
async def test_an_invalid_key_is_a_problem(
    programme: Programme, session: AsyncSession, key: str
) -> None:
    w = programme
    proposal_id, version = await _ready(w)
    resp = await _submit(w.applicant, proposal_id, {"version": version}, key)
    assert resp.status_code in (400, 422)
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert (await w.applicant.get_proposal(proposal_id)).status == ProposalStatus.DRAFT
    assert await _records(session) == []


async def test_a_failed_request_is_replayed_with_its_problem(
    programme: Programme, session: AsyncSession
) -> None:
    w = programme
    proposal_id, version = await _ready(w)
    stale = await _submit(w.applicant, proposal_id, {"version": version - 1}, "stale")
    assert stale.status_code == 409
    assert stale.json()["type"] == PROBLEM + "stale-version"
    again = await _submit(w.applicant, proposal_id, {"version": version - 1}, "stale")
    assert again.status_code == 409
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.content == stale.content
    # nothing of the failed attempt was kept, and a new key with the right version goes through
    assert (await w.applicant.get_proposal(proposal_id)).status == ProposalStatus.DRAFT
    ok = await _submit(w.applicant, proposal_id, {"version": version}, "fresh")
    assert ok.status_code == 201
    assert await _submitted_events(session, proposal_id) == 1


async def test_without_a_key_nothing_is_recorded(
    programme: Programme, session: AsyncSession
) -> None:
    w = programme
    proposal_id, version = await _ready(w)
    resp = await _submit(w.applicant, proposal_id, {"version": version}, None)
    assert resp.status_code == 201
    assert await _records(session) == []


async def test_purge_keeps_a_day_of_records(
    programme: Programme, session: AsyncSession, frozen_clock: Clock
) -> None:
    w = programme
    proposal_id, version = await _ready(w)
    assert (await _submit(w.applicant, proposal_id, {"version": version}, "k")).status_code == 201
    frozen_clock.frozen = NOW + timedelta(hours=23)
    assert await purge_expired(session) == 0
    frozen_clock.frozen = NOW + timedelta(hours=24, seconds=1)
    assert await purge_expired(session, older_than=timedelta(hours=24)) == 1
    assert await _records(session) == []


# --- with real commits ------------------------------------------------------------------------


async def _committed_programme(database: Database, http: httpx.AsyncClient) -> Programme:
    """The journey's programme, committed to a database of its own."""
    async with database.session() as s:
        osh = Territory(code="osh", kind="city", name={"en": "Osh"}, region={"en": "Osh"})
        s.add(osh)
        await s.flush()
        pcc = Pcc(territory_id=osh.id, name={"en": "PCC of Osh"})
        s.add(pcc)
        await s.flush()
        plan = ActionPlan(
            pcc_id=pcc.id,
            title={"en": "Plan"},
            period_start=NOW.date().replace(month=1, day=1),
            period_end=NOW.date().replace(year=NOW.year + 1, month=12, day=31),
            status=ActionPlanStatus.ACTIVE,
        )
        s.add(plan)
        await s.flush()
        item = ActionPlanItem(
            action_plan_id=plan.id,
            code="OSH-1",
            objective={"en": "Dialogue"},
            activities="x",
            budget_estimate=100_000_000,
        )
        source = FundingSource(code="PBF", name="PBF", kind=FundingSourceKind.UN_AGENCY)
        org = Organisation(
            name="Yntymak",
            kind=OrganisationKind.CSO,
            territory_id=osh.id,
            founded_year=2015,
            registration_number="REG-1",
        )
        s.add_all([item, source, org])
        await s.flush()
        tokens: list[str] = []
        for i, role in enumerate((Role.PROGRAMME_OFFICER, None)):
            user = AppUser(
                email=f"u{i}@test.example", full_name="T", password_hash=hashed_test_password()
            )
            s.add(user)
            await s.flush()
            if role is not None:
                s.add(UserRole(user_id=user.id, role=role))
            else:
                s.add(
                    Membership(user_id=user.id, organisation_id=org.id, role=MembershipRole.MEMBER)
                )
            token, token_hash = new_token()
            s.add(
                AuthToken(
                    user_id=user.id,
                    token_hash=token_hash,
                    created_at=clock.now() - timedelta(hours=1),
                    expires_at=clock.now() + timedelta(days=90),
                )
            )
            tokens.append(token)
        await s.commit()
    anonymous = GrantsClient(http)
    return Programme(
        officer=anonymous.as_user(tokens[0]),
        applicant=anonymous.as_user(tokens[1]),
        young=anonymous,
        anonymous=anonymous,
        org=org,
        young_org=org,
        osh=osh,
        item=item,
        source=source,
    )


async def test_concurrent_retries_submit_exactly_once(
    fresh_db: str, frozen_clock: Clock, tmp_path: Path
) -> None:
    frozen_clock.frozen = NOW
    database = Database.from_url(fresh_db, pool_size=10)
    app: Any = create_app(
        TEST_SETTINGS.model_copy(update={"storage_dir": tmp_path / "storage"}), database=database
    )

    def new_http() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/", timeout=60
        )

    try:
        async with new_http() as http:
            w = await _committed_programme(database, http)
            proposal_id, version = await _ready(w)
            token = w.applicant.token

        responses: list[httpx.Response] = []

        async def one() -> None:
            async with new_http() as own:
                client = GrantsClient(own, token=token)
                responses.append(await _submit(client, proposal_id, {"version": version}, "race"))

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)

        originals = [
            r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
        ]
        assert len(originals) == 1
        original = originals[0]
        for r in responses:
            if r is original:
                continue
            if r.status_code == 201:
                assert r.headers["idempotent-replayed"] == "true"
                assert r.content == original.content
            else:
                assert r.status_code == 409
                assert r.json()["type"] == PROBLEM + "idempotency-key-in-flight"

        # once the first has committed, a retry is a replay
        async with new_http() as own:
            late = await _submit(
                GrantsClient(own, token=token), proposal_id, {"version": version}, "race"
            )
        assert late.status_code == 201
        assert late.headers["idempotent-replayed"] == "true"
        assert late.content == original.content

        async with database.session() as s:
            receipts = (
                await s.execute(
                    text("SELECT receipt_number FROM proposal WHERE receipt_number IS NOT NULL")
                )
            ).all()
            assert len(receipts) == 1
            assert await _submitted_events(s, proposal_id) == 1
            statuses = [r.status for r in await _records(s)]
            assert statuses == [IdempotencyStatus.COMPLETED]
    finally:
        await database.dispose()


# --- after a crash ------------------------------------------------------------------------------


async def _approved_tranche(a: Arranged) -> uuid.UUID:
    _, tranches, _ = await grant_with_tranches(a)
    po = a.client("po")
    due = await po.get_tranche(tranches[0])
    await po.approve_tranche(tranches[0], TrancheTransition(version=due.version))
    return tranches[0]


async def _payments_of(database: Database, tranche_id: uuid.UUID) -> list[str]:
    async with database.session() as s:
        rows = await s.execute(
            text("SELECT id FROM ledger_entry WHERE tranche_id = :t AND kind = 'disbursement'"),
            {"t": tranche_id},
        )
        return [str(r.id) for r in rows]


async def test_a_payment_whose_backend_dies_between_claim_and_commit_can_be_retried(
    fresh_db: str, tmp_path: Path
) -> None:
    """The request claims its key, then waits for the tranche's row lock (held here); its
    database backend is terminated there, as when the app or its connection dies. A retry with
    the same key pays (the first and only payment), and the next one replays that answer."""
    async with arranged(fresh_db, tmp_path) as a:
        tranche_id = await _approved_tranche(a)
        body = msgspec.json.encode(payment_body(TRANCHE, 0))
        outside = create_async_engine(fresh_db, isolation_level="AUTOCOMMIT")
        try:
            async with outside.connect() as blocker, outside.connect() as observer:
                await blocker.execute(text("BEGIN"))
                await blocker.execute(
                    text("SELECT id FROM tranche WHERE id = :t FOR UPDATE"), {"t": tranche_id}
                )
                blocker_pid = (await blocker.execute(text("SELECT pg_backend_pid()"))).scalar()
                first = asyncio.create_task(post_payment(a, "fo1", "crash-1", tranche_id, body))
                waiting = None
                for _ in range(200):  # the request's backend, waiting for the tranche's lock
                    waiting = (
                        await observer.execute(
                            text(
                                "SELECT pid FROM pg_stat_activity WHERE datname ="
                                " current_database() AND wait_event_type = 'Lock' AND pid <> :b"
                            ),
                            {"b": blocker_pid},
                        )
                    ).scalar()
                    if waiting is not None:
                        break
                    await asyncio.sleep(0.05)
                assert waiting is not None, "the payment never reached the tranche's lock"
                # the claim is made, and not visible outside the request's transaction
                claims = await observer.execute(
                    text("SELECT count(*) FROM idempotency_record WHERE key = 'crash-1'")
                )
                assert claims.scalar() == 0
                killed = await observer.execute(
                    text("SELECT pg_terminate_backend(:p)"), {"p": waiting}
                )
                assert killed.scalar() is True
                crashed = await first
                await blocker.execute(text("ROLLBACK"))
        finally:
            await outside.dispose()
        assert crashed.status == 500
        assert await _payments_of(a.database, tranche_id) == []

        retry = await post_payment(a, "fo1", "crash-1", tranche_id, body)
        again = await post_payment(a, "fo1", "crash-1", tranche_id, body)

        assert (retry.status, retry.replayed) == (201, False)
        assert (again.status, again.replayed, again.body) == (201, True, retry.body)
        assert await _payments_of(a.database, tranche_id) == [msgspec.json.decode(retry.body)["id"]]


async def test_a_claim_committed_by_a_dead_request_is_taken_over_after_its_lease(
    fresh_db: str, tmp_path: Path
) -> None:
    """An in-flight record committed by a request that died (as the previous version left them,
    claim committed apart from the work): refused while young, then taken over by a retry of
    the same request, which pays once; a different request with the key stays refused."""
    async with arranged(fresh_db, tmp_path) as a:
        tranche_id = await _approved_tranche(a)
        body = msgspec.json.encode(payment_body(TRANCHE, 0))
        path = f"/api/v1/tranches/{tranche_id}/disbursements"
        digest = request_hash("POST", path, body)
        async with a.database.session() as s:
            await s.execute(
                text(
                    "INSERT INTO idempotency_record (id, principal, key, request_hash, status,"
                    " created_at) VALUES (:id, :principal, 'left', :digest, 'in_flight', now())"
                ),
                {
                    "id": uuid.uuid4(),
                    "principal": f"user:{a.world.user_ids['fo1']}",
                    "digest": digest,
                },
            )
            await s.commit()

        young = await post_payment(a, "fo1", "left", tranche_id, body)
        async with a.database.session() as s:
            await s.execute(
                text(
                    "UPDATE idempotency_record SET created_at = now() - make_interval(secs => :s)"
                    " WHERE key = 'left'"
                ),
                {"s": (ABANDONED_AFTER + timedelta(seconds=1)).total_seconds()},
            )
            await s.commit()
        other_body = msgspec.json.encode(payment_body(TRANCHE, 1))
        other = await post_payment(a, "fo1", "left", tranche_id, other_body)
        retry = await post_payment(a, "fo1", "left", tranche_id, body)
        again = await post_payment(a, "fo1", "left", tranche_id, body)

        assert (young.status, young.problem_type) == (409, PROBLEM + "idempotency-key-in-flight")
        assert (other.status, other.problem_type) == (422, PROBLEM + "idempotency-key-reused")
        assert (retry.status, retry.replayed) == (201, False)
        assert (again.status, again.replayed, again.body) == (201, True, retry.body)
        assert await _payments_of(a.database, tranche_id) == [msgspec.json.decode(retry.body)["id"]]


async def test_the_purge_command_deletes_records_older_than_a_day(fresh_db: str) -> None:
    database = Database.from_url(fresh_db)
    try:
        async with database.session() as s:
            for key, hours in (("old", 25), ("young", 23)):
                await s.execute(
                    text(
                        "INSERT INTO idempotency_record (id, principal, key, request_hash,"
                        " status, created_at) VALUES (:id, 'user:x', :key, :digest, 'completed',"
                        " now() - make_interval(hours => :hours))"
                    ),
                    {"id": uuid.uuid4(), "key": key, "digest": "0" * 64, "hours": hours},
                )
            await s.commit()

        purged = run_cli("idempotency", "purge", url=fresh_db)

        assert purged.returncode == 0, purged.stderr
        assert purged.stdout == "purged 1 idempotency records older than 24 hours\n"
        async with database.session() as s:
            keys = (await s.execute(text("SELECT key FROM idempotency_record"))).scalars()
            assert list(keys) == ["young"]
    finally:
        await database.dispose()
