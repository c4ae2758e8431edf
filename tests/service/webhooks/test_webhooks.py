"""Webhooks end to end on a real PostgreSQL with real commits, the real job queue's worker and a
real HTTP receiver on loopback: signatures verify with the `standardwebhooks` package; a
rolled-back change sends nothing; a receiver that was down gets the event when it is back;
a redelivery carries the same event id; a rotated secret signs beside the new one during the
overlap."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from contracts.enums import ApiScope, Role
from contracts.webhooks import EventType
from service.app import create_app
from service.context import clock
from service.identity.secrets import new_api_key, new_token
from service.jobs import run_worker
from service.persistence.database import Database
from service.persistence.models import (
    ApiKey,
    AppUser,
    AuthToken,
    Territory,
    UserRole,
    WebhookDelivery,
)
from service.settings import Settings
from service.webhooks.delivery import (
    UnsafeUrl,
    attempt_delivery,
    check_url_target,
    deliver_pending,
)
from service.webhooks.events import emit
from tests.conftest import TEST_SETTINGS, hashed_test_password

SETTINGS = TEST_SETTINGS.model_copy(
    update={
        "webhook_allow_insecure_urls": True,
        "webhook_backoff_seconds": 0.3,
        "webhook_max_attempts": 4,
    }
)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 in a thread; records every POST."""

    port: int
    status: int = 200
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    gate: threading.Event | None = None
    """When set: each POST, once recorded, waits for the gate before answering (a slow
    receiver, held as long as a test needs)."""
    arrived: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
                receiver.arrived.set()
                if receiver.gate is not None:
                    receiver.gate.wait(30)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class World:
    url: str
    database: Database
    http: httpx.AsyncClient
    admin_token: str

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    async def work(self, settings: Settings = SETTINGS) -> None:
        """The queue's worker, until no job is due."""
        await run_worker(self.url, settings, queues=["webhooks"], wait=False)

    async def subscribe(self, url: str, *types: EventType) -> dict[str, Any]:
        response = await self.http.post(
            "webhooks/subscriptions",
            json={"url": url, "event_types": list(types)},
            headers=self.admin(),
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def emit_committed(self, event_type: EventType, **data: str) -> uuid.UUID:
        async with self.database.session() as session, session.begin():
            return await emit(session, event_type, data)

    async def count(self, sql: str) -> int:
        async with self.database.session() as session:
            return int((await session.execute(text(sql))).scalar_one())


@pytest.fixture(scope="module")
async def webhooks_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """The app of SETTINGS, built once for the module; each `world` binds its own database to
    it (the /metrics scrape below reads only counters of this process, not the database)."""
    unbound = Database.from_url("postgresql+asyncpg://unused@localhost:1/unused")
    storage = tmp_path_factory.mktemp("webhooks-storage")
    yield create_app(SETTINGS.model_copy(update={"storage_dir": storage}), database=unbound)
    await unbound.dispose()


@pytest.fixture
async def world(fresh_db: str, webhooks_app: Any) -> AsyncIterator[World]:
    database = Database.from_url(fresh_db, pool_size=4)
    token, token_hash = new_token()
    async with database.session() as session, session.begin():
        admin = AppUser(
            email=f"admin-{uuid.uuid4().hex[:8]}@test.example",
            full_name="Webhook Admin",
            password_hash=hashed_test_password(),
        )
        session.add(admin)
        await session.flush()
        session.add(UserRole(user_id=admin.id, role=Role.ADMIN))
        now = clock.now()
        session.add(
            AuthToken(
                user_id=admin.id,
                token_hash=token_hash,
                created_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
    unbound = webhooks_app.state.db
    webhooks_app.state.db = database
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=webhooks_app), base_url="http://test/api/v1/"
        ) as http:
            yield World(fresh_db, database, http, token)
    finally:
        webhooks_app.state.db = unbound
        await database.dispose()


@pytest.fixture
def receiver() -> Any:
    r = Receiver(port=_free_port())
    r.start()
    yield r
    r.stop()


async def test_a_committed_event_is_delivered_signed_and_logged(
    world: World, receiver: Receiver
) -> None:
    created = await world.subscribe(receiver.url, EventType.GRANT_CREATED)
    other = Receiver(port=_free_port())
    other.start()
    try:
        await world.subscribe(other.url, EventType.REPORT_ACCEPTED)
        grant_id = str(uuid.uuid4())
        event_id = await world.emit_committed(EventType.GRANT_CREATED, grant_id=grant_id)
        await world.work()
    finally:
        other.stop()

    assert other.received == []  # subscribed to another event type
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.headers["webhook-id"] == str(event_id)
    payload = Webhook(created["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "grant.created"
    assert payload["id"] == str(event_id)
    assert payload["data"] == {"grant_id": grant_id}
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(got.body.replace(b"grant", b"grunt"), got.headers)

    log = await world.http.get(
        f"webhooks/subscriptions/{created['subscription']['id']}/deliveries",
        headers=world.admin(),
    )
    assert log.status_code == 200
    [delivery] = log.json()["items"]
    assert (delivery["event_id"], delivery["status"]) == (str(event_id), "succeeded")
    assert [(a["status_code"], a["error"]) for a in delivery["attempts"]] == [(200, None)]


async def test_a_rolled_back_change_sends_nothing(world: World, receiver: Receiver) -> None:
    await world.subscribe(receiver.url, EventType.CALL_PUBLISHED)
    async with world.database.session() as session, session.begin():
        session.add(
            Territory(
                code=f"t-{uuid.uuid4().hex[:8]}",
                kind="city",
                name={"en": "Uzgen"},
                region={"en": "Osh"},
            )
        )
        await emit(session, EventType.CALL_PUBLISHED, {"call_id": str(uuid.uuid4())})
        assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
        await session.rollback()
    await world.work()
    await deliver_pending(world.database, SETTINGS)

    assert receiver.received == []
    assert await world.count("SELECT count(*) FROM outbox") == 0
    assert await world.count("SELECT count(*) FROM webhook_delivery") == 0
    assert await world.count("SELECT count(*) FROM procrastinate_jobs") == 0

    # the same change committed is delivered (the rollback above is what stopped it)
    await world.emit_committed(EventType.CALL_PUBLISHED, call_id=str(uuid.uuid4()))
    await world.work()
    assert len(receiver.received) == 1


async def test_a_receiver_down_for_a_while_gets_the_event_when_it_is_back(
    world: World,
) -> None:
    down = Receiver(port=_free_port())  # nothing listens on its port yet
    created = await world.subscribe(down.url, EventType.TRANCHE_DISBURSED)
    event_id = await world.emit_committed(EventType.TRANCHE_DISBURSED, tranche_id="t-1")
    await world.work()  # refused: retried after the back-off
    await world.work()  # not yet due: nothing happens
    async with world.database.session() as session:
        delivery = (await session.execute(select(WebhookDelivery))).scalar_one()
    assert (delivery.status, delivery.attempt_count) == ("pending", 1)
    assert delivery.next_attempt_at is not None

    down.start()
    try:
        for _ in range(20):
            await asyncio.sleep(0.2)
            await world.work()
            if down.received:
                break
    finally:
        down.stop()
    assert [r.headers["webhook-id"] for r in down.received] == [str(event_id)]
    Webhook(created["secret"]).verify(down.received[0].body, down.received[0].headers)
    log = await world.http.get(
        f"webhooks/subscriptions/{created['subscription']['id']}/deliveries",
        headers=world.admin(),
    )
    [entry] = log.json()["items"]
    attempts = entry["attempts"]
    assert entry["status"] == "succeeded"
    assert attempts[0]["status_code"] is None
    assert "Connect" in attempts[0]["error"]
    assert attempts[-1]["status_code"] == 200


async def test_a_receiver_that_keeps_failing_is_given_up_after_the_last_attempt(
    world: World, receiver: Receiver
) -> None:
    receiver.status = 500
    await world.subscribe(receiver.url, EventType.REPORT_ACCEPTED)
    await world.emit_committed(EventType.REPORT_ACCEPTED, report_id="r-1")
    for _ in range(60):
        await world.work()
        async with world.database.session() as session:
            delivery = (await session.execute(select(WebhookDelivery))).scalar_one()
        if delivery.status != "pending":
            break
        await asyncio.sleep(0.2)
    assert (delivery.status, delivery.attempt_count) == ("failed", SETTINGS.webhook_max_attempts)
    assert len(receiver.received) == SETTINGS.webhook_max_attempts
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1


async def test_a_redelivery_carries_the_same_event_id_and_body(
    world: World, receiver: Receiver
) -> None:
    created = await world.subscribe(receiver.url, EventType.SELECTION_APPROVED)
    event_id = await world.emit_committed(EventType.SELECTION_APPROVED, window_id="w-1")
    await world.work()
    log = await world.http.get(
        f"webhooks/subscriptions/{created['subscription']['id']}/deliveries",
        headers=world.admin(),
    )
    delivery_id = log.json()["items"][0]["id"]

    again = await world.http.post(
        f"webhooks/deliveries/{delivery_id}/redeliver", headers=world.admin()
    )
    assert again.status_code == 202, again.text
    await world.work()

    assert [r.headers["webhook-id"] for r in receiver.received] == [str(event_id)] * 2
    assert receiver.received[0].body == receiver.received[1].body
    for r in receiver.received:
        Webhook(created["secret"]).verify(r.body, r.headers)


async def test_a_rotated_secret_signs_beside_the_new_one_during_the_overlap(
    world: World, receiver: Receiver
) -> None:
    created = await world.subscribe(receiver.url, EventType.PROPOSAL_SUBMITTED)
    sub_id = created["subscription"]["id"]
    old = created["secret"]
    rotated = await world.http.post(
        f"webhooks/subscriptions/{sub_id}/rotate-secret",
        json={"overlap_hours": 24},
        headers=world.admin(),
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    await world.emit_committed(EventType.PROPOSAL_SUBMITTED, proposal_id="p-1")
    await world.work()
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(got.body, got.headers)
    Webhook(new).verify(got.body, got.headers)

    # no overlap: the previous secret stops signing at once
    newest = (
        await world.http.post(
            f"webhooks/subscriptions/{sub_id}/rotate-secret",
            json={"overlap_hours": 0},
            headers=world.admin(),
        )
    ).json()["secret"]
    await world.emit_committed(EventType.PROPOSAL_SUBMITTED, proposal_id="p-2")
    await world.work()
    got = receiver.received[-1]
    Webhook(newest).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(got.body, got.headers)


async def test_subscriptions_belong_to_their_partner_key(world: World) -> None:
    keys: list[str] = []
    async with world.database.session() as session, session.begin():
        admin_id = (await session.execute(select(AppUser.id))).scalar_one()
        for scopes in ([ApiScope.RECEIVE_WEBHOOKS], [ApiScope.RECEIVE_WEBHOOKS], []):
            raw, prefix, key_hash = new_api_key()
            session.add(
                ApiKey(
                    name="partner",
                    prefix=prefix,
                    key_hash=key_hash,
                    scopes=[s.value for s in scopes],
                    created_by=admin_id,
                )
            )
            keys.append(raw)
    first, second, unscoped = ({"X-API-Key": k} for k in keys)
    body = {"url": "https://partner.example/hook", "event_types": ["grant.created"]}
    created = await world.http.post("webhooks/subscriptions", json=body, headers=first)
    assert created.status_code == 201, created.text
    sub_id = created.json()["subscription"]["id"]

    own = await world.http.get(f"webhooks/subscriptions/{sub_id}", headers=first)
    assert own.status_code == 200
    assert (
        await world.http.get(f"webhooks/subscriptions/{sub_id}", headers=second)
    ).status_code == 404
    assert (await world.http.get("webhooks/subscriptions", headers=second)).json() == []
    assert (await world.http.get("webhooks/subscriptions", headers=unscoped)).status_code == 403
    listed = await world.http.get("webhooks/subscriptions", headers=world.admin())
    assert [s["id"] for s in listed.json()] == [sub_id]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "http://93.184.216.34/hook",
    ],
)
async def test_production_refuses_http_and_private_addresses(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        await check_url_target(url, TEST_SETTINGS)


async def test_production_accepts_https_to_a_public_address() -> None:
    await check_url_target("https://93.184.216.34/hook", TEST_SETTINGS)


async def test_an_http_subscription_is_refused_unless_allowed(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    admin = await make_user(Role.ADMIN)
    response = await http.post(
        "webhooks/subscriptions",
        json={"url": "http://partner.example/hook", "event_types": ["grant.created"]},
        headers={"Authorization": f"Bearer {admin.token}"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.url"
    officer = await make_user(Role.PROGRAMME_OFFICER)
    response = await http.post(
        "webhooks/subscriptions",
        json={"url": "https://partner.example/hook", "event_types": ["grant.created"]},
        headers={"Authorization": f"Bearer {officer.token}"},
    )
    assert response.status_code == 403


# --- claims: no lock nor connection across the POST; one POST at a time; crashed workers -----


async def _delivery_of(world: World, subscription: dict[str, Any]) -> WebhookDelivery:
    async with world.database.session() as session:
        return (
            await session.execute(
                select(WebhookDelivery).where(
                    WebhookDelivery.subscription_id == uuid.UUID(subscription["subscription"]["id"])
                )
            )
        ).scalar_one()


def _slow_receiver() -> Receiver:
    slow = Receiver(port=_free_port(), gate=threading.Event())
    slow.start()
    return slow


async def _arrived(r: Receiver) -> None:
    assert await asyncio.to_thread(r.arrived.wait, 10), "the POST never arrived"


async def test_a_slow_receiver_holds_no_lock_nor_connection_and_delays_no_other_delivery(
    world: World, receiver: Receiver
) -> None:
    slow = _slow_receiver()
    worker_db = Database.from_url(world.url, pool_size=2)
    try:
        slow_sub = await world.subscribe(slow.url, EventType.GRANT_CREATED)
        fast_sub = await world.subscribe(receiver.url, EventType.GRANT_CREATED)
        await world.emit_committed(EventType.GRANT_CREATED, grant_id="g-1")
        slow_id = (await _delivery_of(world, slow_sub)).id
        fast_id = (await _delivery_of(world, fast_sub)).id

        sending = asyncio.create_task(attempt_delivery(worker_db, SETTINGS, slow_id))
        await _arrived(slow)
        # the POST hangs: its worker holds no connection, and nothing locks the delivery
        assert worker_db.engine is not None
        assert worker_db.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # QueuePool's
        async with world.database.session() as session, session.begin():
            locked = await session.execute(
                text("SELECT id FROM webhook_delivery WHERE id = :id FOR UPDATE NOWAIT"),
                {"id": slow_id},
            )
            assert locked.scalar_one() == slow_id
        # another subscription's delivery goes through meanwhile
        assert await attempt_delivery(world.database, SETTINGS, fast_id) == "succeeded"
        assert len(receiver.received) == 1
        assert not sending.done()

        assert slow.gate is not None
        slow.gate.set()
        assert await sending == "succeeded"
        done = await _delivery_of(world, slow_sub)
        assert (done.status, done.attempt_count, done.claim_id) == ("succeeded", 1, None)
    finally:
        slow.stop()
        await worker_db.dispose()


async def test_two_workers_racing_for_one_delivery_post_it_once(world: World) -> None:
    slow = _slow_receiver()
    first_db = Database.from_url(world.url, pool_size=2)
    second_db = Database.from_url(world.url, pool_size=2)
    try:
        created = await world.subscribe(slow.url, EventType.REPORT_ACCEPTED)
        await world.emit_committed(EventType.REPORT_ACCEPTED, report_id="r-1")
        delivery_id = (await _delivery_of(world, created)).id

        first = asyncio.create_task(attempt_delivery(first_db, SETTINGS, delivery_id))
        await _arrived(slow)
        # while the first POST is under way: a second worker finds nothing to do, and a
        # manual redelivery is refused (it would be a second POST at once)
        assert await attempt_delivery(second_db, SETTINGS, delivery_id) is None
        again = await world.http.post(
            f"webhooks/deliveries/{delivery_id}/redeliver", headers=world.admin()
        )
        assert again.status_code == 409, again.text
        assert slow.gate is not None
        slow.gate.set()
        assert await first == "succeeded"
        assert len(slow.received) == 1

        # both at the very same moment, for a new event: one POST
        await world.emit_committed(EventType.REPORT_ACCEPTED, report_id="r-2")
        async with world.database.session() as session:
            second_id = (
                await session.execute(
                    select(WebhookDelivery.id).where(
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.subscription_id == uuid.UUID(created["subscription"]["id"]),
                    )
                )
            ).scalar_one()
        results = await asyncio.gather(
            attempt_delivery(first_db, SETTINGS, second_id),
            attempt_delivery(second_db, SETTINGS, second_id),
        )
        assert sorted(map(str, results)) == ["None", "succeeded"]
        assert len(slow.received) == 2
        assert len({r.headers["webhook-id"] for r in slow.received}) == 2
    finally:
        slow.stop()
        await first_db.dispose()
        await second_db.dispose()


async def test_a_crashed_workers_claim_expires_and_the_delivery_is_tried_again(
    world: World,
) -> None:
    slow = _slow_receiver()
    try:
        created = await world.subscribe(slow.url, EventType.TRANCHE_DUE)
        event_id = await world.emit_committed(EventType.TRANCHE_DUE, tranche_id="t-9")
        delivery_id = (await _delivery_of(world, created)).id

        # a worker dies mid-POST (its task cancelled: the result is never recorded)
        crashing = asyncio.create_task(attempt_delivery(world.database, SETTINGS, delivery_id))
        await _arrived(slow)
        crashing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await crashing
        claimed = await _delivery_of(world, created)
        assert claimed.claim_id is not None
        assert (claimed.status, claimed.attempt_count) == ("pending", 1)
        assert claimed.next_attempt_at is not None
        # a watchdog job waits for the end of the lease
        assert (
            await world.count(
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'"
                " AND task_name = 'webhooks.deliver' AND scheduled_at IS NOT NULL"
            )
            == 1
        )

        # within the lease: nobody sends it again
        assert await attempt_delivery(world.database, SETTINGS, delivery_id) is None
        assert len(slow.received) == 1

        assert slow.gate is not None
        slow.gate.set()
        with clock.at(claimed.next_attempt_at + timedelta(seconds=1)):
            assert await attempt_delivery(world.database, SETTINGS, delivery_id) == "succeeded"
        assert [r.headers["webhook-id"] for r in slow.received] == [str(event_id)] * 2
        log = await world.http.get(
            f"webhooks/subscriptions/{created['subscription']['id']}/deliveries",
            headers=world.admin(),
        )
        [entry] = log.json()["items"]
        assert entry["status"] == "succeeded"
        assert [(a["status_code"], a["error"]) for a in entry["attempts"]] == [
            (None, "no result: the worker sending this attempt stopped"),
            (200, None),
        ]
    finally:
        slow.stop()


async def test_a_delivery_due_by_the_databases_clock_is_sent_though_this_hosts_is_behind(
    world: World, receiver: Receiver
) -> None:
    created = await world.subscribe(receiver.url, EventType.GRANT_CREATED)
    await world.emit_committed(EventType.GRANT_CREATED, grant_id="g-4")
    delivery_id = (await _delivery_of(world, created)).id

    async def due_in(seconds: float) -> None:
        async with world.database.session() as session, session.begin():
            await session.execute(
                text("UPDATE webhook_delivery SET next_attempt_at = :at WHERE id = :id"),
                {"at": clock.now() + timedelta(seconds=seconds), "id": delivery_id},
            )

    await due_in(60)  # not due: left alone
    assert await attempt_delivery(world.database, SETTINGS, delivery_id) is None
    await due_in(2)  # the queue ran its job: this host's clock is 2 s behind the database's
    assert await attempt_delivery(world.database, SETTINGS, delivery_id) == "succeeded"
    assert len(receiver.received) == 1


# --- failures in /metrics ------------------------------------------------------------------


def _failures(exposition: str, reason: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
        if s.name == "grants_webhook_delivery_failures_total" and s.labels == {"reason": reason}
    )


async def test_failed_deliveries_are_counted_in_metrics_by_reason(
    world: World, receiver: Receiver
) -> None:
    async def scrape() -> str:
        answer = await world.http.get("http://test/metrics")
        assert answer.status_code == 200
        return answer.text

    before = await scrape()
    receiver.status = 503
    answering = await world.subscribe(receiver.url, EventType.CALL_PUBLISHED)
    down = await world.subscribe(Receiver(port=_free_port()).url, EventType.CALL_PUBLISHED)
    slow = _slow_receiver()
    try:
        hanging = await world.subscribe(slow.url, EventType.CALL_PUBLISHED)
        await world.emit_committed(EventType.CALL_PUBLISHED, call_id="c-1")
        impatient = SETTINGS.model_copy(update={"webhook_timeout_seconds": 0.5})
        for sub in (answering, down, hanging):
            delivery_id = (await _delivery_of(world, sub)).id
            assert await attempt_delivery(world.database, impatient, delivery_id) == "pending"
    finally:
        slow.stop()
    after = await scrape()

    assert _failures(after, "http_status") - _failures(before, "http_status") == 1
    assert _failures(after, "connection") - _failures(before, "connection") == 1
    assert _failures(after, "timeout") - _failures(before, "timeout") == 1
    assert _failures(after, "refused_url") == _failures(before, "refused_url")


# --- secrets sealed at rest ----------------------------------------------------------------


async def test_secrets_are_stored_sealed_never_plain(world: World, receiver: Receiver) -> None:
    created = await world.subscribe(receiver.url, EventType.GRANT_CREATED)
    sub_id = created["subscription"]["id"]
    first = created["secret"]
    rotated = await world.http.post(
        f"webhooks/subscriptions/{sub_id}/rotate-secret",
        json={"overlap_hours": 2},
        headers=world.admin(),
    )
    second = rotated.json()["secret"]
    async with world.database.session() as session:
        stored, previous = (
            await session.execute(
                text("SELECT secret, previous_secret FROM webhook_subscription WHERE id = :id"),
                {"id": uuid.UUID(sub_id)},
            )
        ).one()
    for secret in (first, second):
        key_part = secret.removeprefix("whsec_")
        for column in (stored, previous):
            assert secret not in column
            assert key_part not in column
            assert column.startswith("v1:")
    # and yet both sign during the overlap
    await world.emit_committed(EventType.GRANT_CREATED, grant_id="g-3")
    await world.work()
    got = receiver.received[-1]
    Webhook(first).verify(got.body, got.headers)
    Webhook(second).verify(got.body, got.headers)
