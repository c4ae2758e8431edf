"""E-mail notifications: written to the outbox with the change, sent by the real job queue's
worker to a real SMTP server on loopback (aiosmtpd) that the tests read; in the recipient's
language; as each person chose; never twice; retried while the SMTP server is down."""

from __future__ import annotations

import asyncio
import email
import logging
import re
import socket
import string
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import Language, MembershipRole, OrganisationKind
from contracts.notifications import NotificationKind
from service.app import create_app
from service.context import clock
from service.demo import load_demo_data
from service.identity.secrets import new_token
from service.jobs import run_worker
from service.notifications import sender
from service.notifications.sender import render, send_email
from service.notifications.service import money, notify, notify_assignment, notify_grant
from service.notifications.texts import LANGS, TEXTS
from service.persistence.database import Database
from service.persistence.models import (
    AppUser,
    AuthToken,
    Grant,
    Membership,
    Organisation,
    OutboxMessage,
    ReviewAssignment,
    Territory,
)
from service.settings import Settings
from tests.conftest import TEST_SETTINGS, hashed_test_password

# --- the catalogue and the templates (pure) ------------------------------------------------


def _placeholders(s: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(s) if name}


def test_every_phrase_has_three_languages_with_the_same_placeholders() -> None:
    for key, phrases in TEXTS.items():
        assert len(phrases) == len(LANGS), key
        assert all(p.strip() for p in phrases), key
        assert _placeholders(phrases[1]) == _placeholders(phrases[0]), key
        assert _placeholders(phrases[2]) == _placeholders(phrases[0]), key
        assert phrases[1] != phrases[0], key
        assert phrases[2] != phrases[0], key


SAMPLE: dict[str, Any] = {
    "title": "Youth dialogue <clubs> & more",
    "receipt": "W1-0007",
    "window": {"en": "Window 1", "ru": "Окно 1", "ky": "1-терезе"},
    "submitted_at": {"instant": "2026-12-06T05:00:00+00:00"},
    "deadline": {"instant": "2026-12-20T12:00:00+00:00"},
    "amount": {"minor": 12_345_678, "currency": "KGS"},
    "start": {"date": "2027-01-01"},
    "end": {"date": "2027-12-31"},
    "value_date": {"date": "2027-02-01"},
    "tranches": 3,
    "number": 2,
    "reference": "PAY-42",
    "comment": "Add the receipts",
}
OUTCOMES = {
    NotificationKind.ELIGIBILITY_RESULT: ["eligible", "ineligible"],
    NotificationKind.DECISION: ["selected", "reserve", "not_selected"],
}


@pytest.mark.parametrize("kind", list(NotificationKind))
@pytest.mark.parametrize("lang", LANGS)
def test_every_kind_renders_in_every_language(kind: NotificationKind, lang: str) -> None:
    for outcome in OUTCOMES.get(kind, [""]):
        params = {**SAMPLE, "outcome": outcome}
        subject, plain, html = render(kind, lang, "Айгүл", params, TEST_SETTINGS)
        assert "{" not in subject + plain
        assert "Айгүл" in plain
        assert "http://localhost:8000/account/notifications" in plain
        if kind == NotificationKind.GRANT_CREATED:
            assert re.search(r"123.456.78", plain), plain  # 123,456.78 KGS in some format
        assert "Youth dialogue &lt;clubs&gt; &amp; more" in html or "Youth" not in plain
        if lang != "en":
            assert re.search("[а-яөүң]", plain), plain  # Cyrillic text


# --- a real SMTP server, real commits, the real worker ---------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.stall: str | None = None
        """A recipient whose next message the server stalls on (before answering DATA) until
        `gate` is set; `arrived` is set when it does."""
        self.gate = threading.Event()
        self.arrived = threading.Event()
        self.stalled: list[str] = []  # the Message-IDs it stalled on

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.stall is not None and self.stall in envelope.rcpt_tos:
            self.stall = None
            stalled = email.message_from_bytes(envelope.original_content)
            self.stalled.append(str(stalled["Message-ID"]))
            self.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 30)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(
            email.message_from_bytes(envelope.original_content, policy=default_policy)  # type: ignore[arg-type]  # EmailMessage with the default policy
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.inbox.gate.set()  # nothing left stalled
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(_free_port())
    server.start()
    yield server
    server.stop()


def _settings(port: int) -> Settings:
    return TEST_SETTINGS.model_copy(
        update={
            "email_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": False,
            "email_from": "PCC grants <grants@pcc.example>",
            "email_backoff_seconds": 0.3,
        }
    )


class Mail:
    def __init__(self, url: str, database: Database, users: dict[str, AppUser]) -> None:
        self.url = url
        self.database = database
        self.users = users

    async def work(self, settings: Settings) -> None:
        await run_worker(self.url, settings, queues=["email"], wait=False)

    async def notify_committed(
        self, kind: NotificationKind, params: dict[str, Any], *users: str
    ) -> list[uuid.UUID]:
        async with self.database.session() as session, session.begin():
            return await notify(session, kind, [self.users[u].id for u in users], params)

    async def count(self, sql: str) -> int:
        async with self.database.session() as session:
            return int((await session.execute(text(sql))).scalar_one())


@pytest.fixture
async def mail(fresh_db: str) -> AsyncIterator[Mail]:
    database = Database.from_url(fresh_db, pool_size=4)
    users: dict[str, AppUser] = {}
    async with database.session() as session, session.begin():
        territory = Territory(
            code=f"t-{uuid.uuid4().hex[:6]}",
            kind="city",
            name={"en": "Osh", "ru": "Ош", "ky": "Ош"},
            region={"en": "Osh"},
        )
        session.add(territory)
        await session.flush()
        org = Organisation(
            name="Ынтымак",
            kind=OrganisationKind.CSO,
            territory_id=territory.id,
            founded_year=2015,
        )
        session.add(org)
        for lang, name in (("en", "Ann Lee"), ("ru", "Анна Ли"), ("ky", "Айгүл Токтогулова")):
            user = AppUser(
                email=f"{lang}-{uuid.uuid4().hex[:6]}@test.example",
                full_name=name,
                password_hash=hashed_test_password(),
                preferred_language=Language(lang),
            )
            session.add(user)
            users[lang] = user
        await session.flush()
        for user in users.values():
            session.add(
                Membership(user_id=user.id, organisation_id=org.id, role=MembershipRole.MEMBER)
            )
    yield Mail(fresh_db, database, users)
    await database.dispose()


PAID = {
    "title": "Youth dialogue clubs",
    "receipt": "W1-0007",
    "number": 2,
    "amount": money(12_345_678, "KGS"),
    "value_date": {"date": "2026-12-01"},
    "reference": "PAY-42",
}


async def test_emails_arrive_by_smtp_in_each_recipients_language(
    mail: Mail, smtp: SmtpServer
) -> None:
    written = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "en", "ru", "ky")
    assert len(written) == 3
    await mail.work(_settings(smtp.port))

    by_to = {m["To"].addresses[0].addr_spec: m for m in smtp.inbox.messages}
    assert set(by_to) == {u.email for u in mail.users.values()}
    en, ru, ky = (by_to[mail.users[lang].email] for lang in ("en", "ru", "ky"))
    assert en["Subject"] == "Tranche 2 paid: Youth dialogue clubs"
    assert ru["Subject"] == "Транш 2 выплачен: Youth dialogue clubs"
    assert ky["Subject"] == "2-транш төлөндү: Youth dialogue clubs"
    ru_text = ru.get_body(("plain",)).get_content()  # type: ignore[union-attr]  # it has one
    assert "Здравствуйте, Анна Ли!" in ru_text
    assert "PAY-42" in ru_text
    assert re.search(r"123\s456,78", ru_text), ru_text  # the Russian number format
    ky_text = ky.get_body(("plain",)).get_content()  # type: ignore[union-attr]  # it has one
    assert "Саламатсызбы, Айгүл Токтогулова!" in ky_text
    assert ky.get_body(("html",)) is not None
    assert {m["Message-ID"] for m in smtp.inbox.messages} == {f"<{w}@pcc.example>" for w in written}
    assert smtp.inbox.envelopes[0][0] == "grants@pcc.example"
    assert await mail.count("SELECT count(*) FROM outbox WHERE delivered_at IS NULL") == 0


async def test_nothing_is_sent_twice(mail: Mail, smtp: SmtpServer) -> None:
    settings = _settings(smtp.port)
    [outbox_id] = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "en")
    async with mail.database.session() as session, session.begin():
        from service.jobs import defer
        from service.notifications.tasks import send

        await defer(session, send, outbox_id=str(outbox_id))  # a second job for it
    await mail.work(settings)
    assert await send_email(mail.database, settings, outbox_id) is False
    assert await sender.deliver_pending(mail.database, settings) == 0
    assert len(smtp.inbox.messages) == 1
    jobs = "SELECT count(*) FROM procrastinate_jobs WHERE status = "
    assert await mail.count(jobs + "'succeeded'") == 2
    # the send's watchdog waits for the end of its lease (and will find the e-mail sent)
    assert await mail.count(jobs + "'todo'") == 1


async def test_a_rolled_back_change_writes_and_sends_nothing(mail: Mail, smtp: SmtpServer) -> None:
    async with mail.database.session() as session, session.begin():
        await notify(session, NotificationKind.TRANCHE_PAID, [mail.users["en"].id], PAID)
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        await session.rollback()
    await mail.work(_settings(smtp.port))
    assert smtp.inbox.messages == []
    assert await mail.count("SELECT count(*) FROM outbox") == 0
    assert await mail.count("SELECT count(*) FROM procrastinate_jobs") == 0


async def test_people_choose_which_emails_they_get(
    mail: Mail, smtp: SmtpServer, tmp_path: Path
) -> None:
    settings = _settings(smtp.port)
    ru = mail.users["ru"]
    token, token_hash = new_token()
    async with mail.database.session() as session, session.begin():
        now = clock.now()
        session.add(
            AuthToken(
                user_id=ru.id,
                token_hash=token_hash,
                created_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
    # one written before the choice: it follows the choice when it is sent
    await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "ru")
    app = create_app(
        settings.model_copy(update={"storage_dir": tmp_path / "s"}), database=mail.database
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test/api/v1/",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        before = (await http.get("me/notification-preferences")).json()
        assert {p["kind"]: p["enabled"] for p in before} == {
            k.value: True for k in NotificationKind
        }
        changed = await http.put(
            "me/notification-preferences",
            json={"preferences": [{"kind": "tranche_paid", "enabled": False}]},
        )
        assert changed.status_code == 200, changed.text
        after = {p["kind"]: p["enabled"] for p in changed.json()}
        assert after["tranche_paid"] is False
        assert after["grant_created"] is True
        bad = await http.put(
            "me/notification-preferences", json={"preferences": [{"kind": "spam", "enabled": 1}]}
        )
        assert bad.status_code in (400, 422)

    written = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "ru", "en")
    assert len(written) == 1  # not for the person who turned it off
    await mail.notify_committed(NotificationKind.GRANT_CREATED, {**PAID, **SAMPLE}, "ru")
    await mail.work(settings)
    got = [(m["To"].addresses[0].addr_spec, m["Subject"]) for m in smtp.inbox.messages]
    assert sorted(got) == sorted(
        [
            (mail.users["en"].email, "Tranche 2 paid: Youth dialogue clubs"),
            (ru.email, "Грант присуждён: Youth dialogue <clubs> & more"),
        ]
    )


async def test_an_smtp_server_down_for_a_while_gets_the_email_when_back(mail: Mail) -> None:
    server = SmtpServer(_free_port())  # not started yet
    settings = _settings(server.port)
    [outbox_id] = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "ky")
    await mail.work(settings)
    async with mail.database.session() as session:
        row = await session.get(OutboxMessage, outbox_id)
        assert row is not None
        assert (row.attempts, row.delivered_at) == (1, None)
        assert row.last_error
    server.start()
    try:
        for _ in range(20):
            await asyncio.sleep(0.2)
            await mail.work(settings)
            if server.inbox.messages:
                break
    finally:
        server.stop()
    assert [m["Message-ID"] for m in server.inbox.messages] == [f"<{outbox_id}@pcc.example>"]


async def test_the_file_backend_writes_each_email_once(mail: Mail, tmp_path: Path) -> None:
    settings = TEST_SETTINGS.model_copy(
        update={"email_backend": "file", "email_file_dir": tmp_path / "mail"}
    )
    [outbox_id] = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "ru")
    assert await send_email(mail.database, settings, outbox_id) is True
    assert await send_email(mail.database, settings, outbox_id) is False
    [written] = list((tmp_path / "mail").iterdir())
    message = email.message_from_bytes(written.read_bytes(), policy=default_policy)
    assert message["Subject"] == "Транш 2 выплачен: Youth dialogue clubs"


# --- who receives what (the demo's data, one rolled-back transaction) ------------------------


async def test_a_grant_email_goes_to_the_grantees_members_and_a_reminder_is_written_once(
    session: AsyncSession, storage_dir: Path
) -> None:
    await load_demo_data(session, storage_dir)
    grant = (await session.execute(select(Grant).limit(1))).scalar_one()
    members = set(
        (
            await session.execute(
                select(Membership.user_id).where(
                    Membership.organisation_id == grant.organisation_id
                )
            )
        ).scalars()
    )
    assert members
    written = await notify_grant(session, NotificationKind.GRANT_CREATED, grant.id)
    rows = [await session.get(OutboxMessage, w) for w in written]
    assert {uuid.UUID(r.payload["user_id"]) for r in rows if r} == members
    params = rows[0].payload["params"] if rows[0] else {}
    assert params["amount"] == {"minor": grant.amount, "currency": grant.currency}
    for lang in LANGS:
        render(NotificationKind.GRANT_CREATED, lang, "X", params, TEST_SETTINGS)

    assignment = (await session.execute(select(ReviewAssignment).limit(1))).scalar_one()
    first = await notify_assignment(session, NotificationKind.REVIEW_REMINDER, assignment.id)
    again = await notify_assignment(session, NotificationKind.REVIEW_REMINDER, assignment.id)
    assert (len(first), again) == (1, [])
    reminder = await session.get(OutboxMessage, first[0])
    assert reminder is not None
    assert uuid.UUID(reminder.payload["user_id"]) == assignment.reviewer_id


async def _row(mail: Mail, outbox_id: uuid.UUID) -> OutboxMessage:
    async with mail.database.session() as session:
        row = await session.get(OutboxMessage, outbox_id)
        assert row is not None
        return row


class _Crash(BaseException):
    """The worker dying (not an error the sender handles)."""


async def test_a_crash_after_the_smtp_server_accepted_resends_once_with_the_same_message_id(
    mail: Mail, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What holds is at least once: a worker that dies between the SMTP server's acceptance
    and the recording leaves the e-mail unsent in the outbox, claimed; the claim expires with
    its lease and the e-mail is sent again — once, with the same Message-ID (made from the
    outbox id), by which mail systems drop the duplicate. Exactly once is not possible across
    SMTP and the database."""
    settings = _settings(smtp.port)
    [outbox_id] = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "en")
    real_deliver = sender.deliver

    async def deliver_then_die(message: EmailMessage, s: Settings) -> None:
        await real_deliver(message, s)
        raise _Crash

    monkeypatch.setattr(sender, "deliver", deliver_then_die)
    with pytest.raises(_Crash):
        await send_email(mail.database, settings, outbox_id)
    assert len(smtp.inbox.messages) == 1
    row = await _row(mail, outbox_id)
    assert (row.delivered_at, row.attempts) == (None, 1)  # claimed, the result never recorded
    assert row.claim_id is not None

    monkeypatch.setattr(sender, "deliver", real_deliver)
    # within the lease: nobody sends it again
    assert await sender.deliver_pending(mail.database, settings) == 0
    assert await send_email(mail.database, settings, outbox_id) is False
    with clock.at(row.available_at + timedelta(seconds=1)):
        assert await sender.deliver_pending(mail.database, settings) == 1
        assert await sender.deliver_pending(mail.database, settings) == 0
        assert await send_email(mail.database, settings, outbox_id) is False
    assert [m["Message-ID"] for m in smtp.inbox.messages] == [f"<{outbox_id}@pcc.example>"] * 2
    row = await _row(mail, outbox_id)
    assert (row.attempts, row.claim_id, row.last_error) == (2, None, None)
    assert row.delivered_at is not None


async def test_a_crash_during_the_last_attempt_leaves_the_email_failed_not_claimed_for_ever(
    mail: Mail, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker sending an e-mail's last allowed attempt dies before the SMTP server answers:
    once that lease is over, the watchdog finds no attempt left and records the e-mail as
    failed (claim released, the reason given), and nothing sends it again."""
    settings = _settings(smtp.port).model_copy(update={"email_max_attempts": 1})
    [outbox_id] = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "en")

    async def die(message: EmailMessage, s: Settings) -> None:
        raise _Crash

    monkeypatch.setattr(sender, "deliver", die)
    with pytest.raises(_Crash):
        await send_email(mail.database, settings, outbox_id)
    row = await _row(mail, outbox_id)
    assert (row.attempts, row.last_error, row.delivered_at) == (1, None, None)
    assert row.claim_id is not None
    # within the lease: the watchdog leaves the claim alone
    assert await send_email(mail.database, settings, outbox_id) is False
    assert (await _row(mail, outbox_id)).claim_id is not None

    monkeypatch.undo()
    with clock.at(row.available_at + timedelta(seconds=1)):
        assert await send_email(mail.database, settings, outbox_id) is False  # the watchdog
        assert await sender.deliver_pending(mail.database, settings) == 0
    row = await _row(mail, outbox_id)
    assert (row.attempts, row.claim_id, row.delivered_at) == (1, None, None)
    assert row.last_error == sender.WORKER_LOST
    assert smtp.inbox.messages == []


async def test_the_console_backend_logs_one_line_and_the_message_only_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = TEST_SETTINGS.model_copy(update={"email_backend": "console"})
    outbox_id = uuid.uuid4()
    subject, plain, html = render(NotificationKind.TRANCHE_PAID, "en", "Ann Lee", PAID, settings)
    message = sender.build_message(
        outbox_id, ("Ann Lee", "ann@test.example"), subject, plain, html, settings
    )
    assert "PAY-42" in message.as_string()

    with caplog.at_level(logging.INFO, logger=sender.__name__):
        await sender.deliver(message, settings)
    [line] = [r.getMessage() for r in caplog.records]
    assert "\n" not in line
    assert "ann@test.example" in line
    assert subject in line
    assert str(outbox_id) in line
    assert "PAY-42" not in line  # nothing of the body

    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=sender.__name__):
        await sender.deliver(message, settings)
    levels = [(r.levelno, "PAY-42" in r.getMessage()) for r in caplog.records]
    assert levels == [(logging.INFO, False), (logging.DEBUG, True)]


# --- claims: no lock nor connection across SMTP; one send at a time; crashed workers ---------


async def _stalled(smtp: SmtpServer) -> None:
    assert await asyncio.to_thread(smtp.inbox.arrived.wait, 10), "the message never arrived"


def _checked_out(database: Database) -> int:
    assert database.engine is not None
    return int(database.engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]  # QueuePool's


async def test_a_stalled_smtp_server_holds_no_lock_nor_connection_and_delays_no_other_email(
    mail: Mail, smtp: SmtpServer
) -> None:
    settings = _settings(smtp.port)
    [slow_id] = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "ru")
    [fast_id] = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "en")
    smtp.inbox.stall = mail.users["ru"].email
    worker_db = Database.from_url(mail.url, pool_size=2)
    try:
        sending = asyncio.create_task(send_email(worker_db, settings, slow_id))
        await _stalled(smtp)
        # the SMTP server stalls: its worker holds no connection, and nothing locks the row
        assert _checked_out(worker_db) == 0
        async with mail.database.session() as session, session.begin():
            locked = await session.execute(
                text("SELECT id FROM outbox WHERE id = :id FOR UPDATE NOWAIT"), {"id": slow_id}
            )
            assert locked.scalar_one() == slow_id
        # another e-mail goes out meanwhile
        assert await send_email(mail.database, settings, fast_id) is True
        assert [m["Message-ID"] for m in smtp.inbox.messages] == [f"<{fast_id}@pcc.example>"]
        assert not sending.done()

        smtp.inbox.gate.set()
        assert await sending is True
        row = await _row(mail, slow_id)
        assert (row.attempts, row.claim_id) == (1, None)
        assert row.delivered_at is not None
        assert len(smtp.inbox.messages) == 2
    finally:
        smtp.inbox.gate.set()
        await worker_db.dispose()


async def test_two_workers_racing_for_one_email_send_it_once(mail: Mail, smtp: SmtpServer) -> None:
    settings = _settings(smtp.port)
    first_db = Database.from_url(mail.url, pool_size=2)
    second_db = Database.from_url(mail.url, pool_size=2)
    try:
        [outbox_id] = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "ky")
        smtp.inbox.stall = mail.users["ky"].email
        first = asyncio.create_task(send_email(first_db, settings, outbox_id))
        await _stalled(smtp)
        # while the first send is under way, a second worker (or the safety net) finds
        # nothing to do
        assert await send_email(second_db, settings, outbox_id) is False
        assert await sender.deliver_pending(second_db, settings) == 0
        smtp.inbox.gate.set()
        assert await first is True
        assert len(smtp.inbox.messages) == 1

        # both at the very same moment, for a new e-mail: one send
        [second_id] = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "ky")
        results = await asyncio.gather(
            send_email(first_db, settings, second_id),
            send_email(second_db, settings, second_id),
        )
        assert sorted(results) == [False, True]
        assert [m["Message-ID"] for m in smtp.inbox.messages] == [
            f"<{outbox_id}@pcc.example>",
            f"<{second_id}@pcc.example>",
        ]
    finally:
        smtp.inbox.gate.set()
        await first_db.dispose()
        await second_db.dispose()


async def test_a_worker_cancelled_mid_send_leaves_a_claim_that_expires_and_it_is_sent_again(
    mail: Mail, smtp: SmtpServer
) -> None:
    settings = _settings(smtp.port)
    [outbox_id] = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "en")
    smtp.inbox.stall = mail.users["en"].email
    # a worker dies mid-send (its task cancelled: the result is never recorded)
    crashing = asyncio.create_task(send_email(mail.database, settings, outbox_id))
    await _stalled(smtp)
    crashing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashing
    claimed = await _row(mail, outbox_id)
    assert claimed.claim_id is not None
    assert (claimed.attempts, claimed.delivered_at) == (1, None)
    assert claimed.available_at - clock.now() > timedelta(seconds=settings.smtp_timeout_seconds)
    # a watchdog job waits for the end of the lease
    assert (
        await mail.count(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'"
            " AND task_name = 'notifications.send' AND scheduled_at IS NOT NULL"
        )
        == 1
    )
    # within the lease: nobody sends it again
    assert await send_email(mail.database, settings, outbox_id) is False
    assert await sender.deliver_pending(mail.database, settings) == 0
    smtp.inbox.gate.set()

    with clock.at(claimed.available_at + timedelta(seconds=1)):
        assert await send_email(mail.database, settings, outbox_id) is True
        assert await send_email(mail.database, settings, outbox_id) is False
    assert smtp.inbox.stalled == [f"<{outbox_id}@pcc.example>"]
    assert smtp.inbox.messages[-1]["Message-ID"] == f"<{outbox_id}@pcc.example>"
    row = await _row(mail, outbox_id)
    assert (row.attempts, row.claim_id, row.last_error) == (2, None, None)
    assert row.delivered_at is not None


async def test_an_smtp_server_that_stalls_past_the_timeout_is_a_failure_retried_later(
    mail: Mail, smtp: SmtpServer
) -> None:
    settings = _settings(smtp.port).model_copy(update={"smtp_timeout_seconds": 1.0})
    [outbox_id] = await mail.notify_committed(NotificationKind.TRANCHE_PAID, PAID, "ru")
    smtp.inbox.stall = mail.users["ru"].email
    assert await send_email(mail.database, settings, outbox_id) is False  # bounded: 1 s
    assert smtp.inbox.stalled == [f"<{outbox_id}@pcc.example>"]
    failed = await _row(mail, outbox_id)
    assert (failed.attempts, failed.claim_id, failed.delivered_at) == (1, None, None)
    assert failed.last_error == "no answer within 1 s"
    # the retry is queued for the end of the back-off, not of the lease
    assert failed.available_at - clock.now() < timedelta(seconds=1)
    assert (
        await mail.count(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'"
            " AND task_name = 'notifications.send'"
        )
        == 3  # the first job (never run by a worker here), the claim's watchdog, the retry
    )
    smtp.inbox.gate.set()
    with clock.at(failed.available_at + timedelta(seconds=1)):
        assert await send_email(mail.database, settings, outbox_id) is True
    assert smtp.inbox.messages[-1]["Message-ID"] == f"<{outbox_id}@pcc.example>"


async def test_e_mails_are_written_in_batches_each_once_with_its_job(
    mail: Mail, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One INSERT and one deferral per batch (issue 16): three recipients in batches of two are
    all written, in the recipients' order, each with its job; a dedupe key writes them once."""
    import service.jobs.queue as queue
    import service.notifications.service as notifications

    monkeypatch.setattr(notifications, "_BATCH", 2)
    monkeypatch.setattr(queue, "_BATCH", 2)
    recipients = sorted(mail.users[u].id for u in ("en", "ru", "ky"))
    async with mail.database.session() as session, session.begin():
        written = await notify(
            session, NotificationKind.TRANCHE_DUE, recipients, PAID, dedupe_key="batch"
        )
        again = await notify(
            session, NotificationKind.TRANCHE_DUE, recipients, PAID, dedupe_key="batch"
        )
    assert again == []
    assert len(written) == 3
    async with mail.database.session() as session:
        rows = {
            m.id: m.payload["user_id"]
            for m in (await session.execute(select(OutboxMessage))).scalars()
        }
        jobs = set(
            (
                await session.execute(text("SELECT args->>'outbox_id' FROM procrastinate_jobs"))
            ).scalars()
        )
    assert [rows[i] for i in written] == [str(u) for u in recipients]
    assert jobs == {str(i) for i in written}
