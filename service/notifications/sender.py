"""Rendering and sending one e-mail of the outbox: never by two workers at once, never again
once marked sent — at least once, not exactly once.

No lock and no database connection is held while the SMTP server is talked to (a slow or stalled
server would hold both for the whole timeout): the e-mail is claimed first in a committed
transaction (a lease, see `_claim`: its `claim_id` set, the attempt counted, `available_at`
moved to the lease's end, a watchdog job queued for then), then sent, then its result recorded.
The claim is conditional on the e-mail being due and unsent, so two workers never send it both;
a sent one is never sent again. A failure is recorded only if the claim is still this worker's,
and retried with exponential back-off, up to `email_max_attempts`.

Its `Message-ID` is made from the outbox id: were a worker to die between the SMTP server's
acceptance and the recording, the claim expires with its lease and the e-mail is sent once
more, with the same Message-ID, by which mail systems and clients drop the duplicate (exactly
once is not possible across SMTP and the database)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosmtplib
from babel.dates import format_date
from babel.dates import format_datetime as babel_datetime
from babel.numbers import format_currency
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import case, select, update
from sqlmodel import col

from contracts.notifications import NotificationKind
from service.context import utcnow
from service.finance.views import minor_unit_exponent
from service.jobs import defer
from service.notifications.texts import text
from service.persistence.database import Database
from service.persistence.models import AppUser, NotificationPreference, OutboxMessage
from service.settings import Settings

logger = logging.getLogger(__name__)

BISHKEK = ZoneInfo("Asia/Bishkek")
MAX_BACKOFF = timedelta(hours=6)

_ENV = Environment(
    loader=PackageLoader("service.notifications", "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)

BODY_KEYS: dict[NotificationKind, str] = {
    NotificationKind.SUBMISSION_RECEIPT: "submission_receipt.body",
    NotificationKind.REVIEW_ASSIGNED: "review_assigned.body",
    NotificationKind.REVIEW_REMINDER: "review_reminder.body",
    NotificationKind.GRANT_CREATED: "grant_created.body",
    NotificationKind.TRANCHE_DUE: "tranche_due.body",
    NotificationKind.TRANCHE_PAID: "tranche_paid.body",
    NotificationKind.REPORT_RETURNED: "report_returned.body",
}


def _value(value: Any, lang: str) -> Any:
    """A fact in the recipient's language: i18n text, money, instants and dates."""
    if isinstance(value, dict):
        if "minor" in value and "currency" in value:
            exponent = minor_unit_exponent(value["currency"])
            amount = Decimal(int(value["minor"])).scaleb(-exponent)
            return format_currency(amount, value["currency"], locale=lang)
        if "instant" in value:
            at = datetime.fromisoformat(value["instant"]).astimezone(BISHKEK)
            return babel_datetime(at, "medium", tzinfo=BISHKEK, locale=lang)
        if "date" in value:
            return format_date(date.fromisoformat(value["date"]), "long", locale=lang)
        return value.get(lang) or value.get("en") or next(iter(value.values()), "")
    return value


def render(
    kind: NotificationKind, lang: str, name: str, params: dict[str, Any], settings: Settings
) -> tuple[str, str, str]:
    """The subject, the plain text and the HTML of an e-mail."""
    facts = {k: _value(v, lang) for k, v in params.items()}
    if kind in BODY_KEYS:
        body = text(BODY_KEYS[kind], lang, **facts)
    else:  # eligibility and decision: one body per outcome
        body = text(f"{kind.value}.{params['outcome']}", lang, **facts)
    url = settings.public_base_url.rstrip("/") + "/account/notifications"  # the choice of e-mails
    context = {
        "lang": lang,
        "subject": text(f"{kind.value}.subject", lang, **facts),
        "greeting": text("greeting", lang, name=name),
        "body": body,
        "signature": text("signature", lang),
        "footer": text("footer", lang, url=url),
        "footer_before": text("footer", lang, url="").rstrip(),
        "url": url,
    }
    return (
        str(context["subject"]),
        _ENV.get_template("email.txt").render(context),
        _ENV.get_template("email.html").render(context),
    )


def build_message(
    outbox_id: uuid.UUID,
    to: tuple[str, str],
    subject: str,
    plain: str,
    html: str,
    settings: Settings,
) -> EmailMessage:
    message = EmailMessage()
    sender = parseaddr(settings.email_from)
    message["From"] = formataddr(sender)
    message["To"] = formataddr(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    domain = sender[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{outbox_id}@{domain}>"
    message.set_content(plain)
    message.add_alternative(html, subtype="html")
    return message


async def deliver(message: EmailMessage, settings: Settings) -> None:
    """Hand the message to the configured backend."""
    if settings.email_backend == "smtp":
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            start_tls=settings.smtp_starttls and not settings.smtp_tls,
            use_tls=settings.smtp_tls,
            timeout=settings.smtp_timeout_seconds,
        )
        # not `aiosmtplib.send`: on cancellation (a timeout, a worker stopping) it says QUIT
        # and waits for the answer, from a server that may be the one not answering
        try:
            await client.connect()
            await client.send_message(message)
            await client.quit()
        finally:
            if client.is_connected:
                client.close()
    elif settings.email_backend == "file":
        folder = settings.email_file_dir or settings.data_dir / "mail"
        name = message["Message-ID"].strip("<>").partition("@")[0]
        await asyncio.to_thread(_write_file, folder, f"{name}.eml", message.as_bytes())
    else:
        # one line at INFO (who, what, which message); the whole message only at DEBUG: it
        # carries personal data and links that do not belong in everyday logs
        logger.info(
            "e-mail (console backend) to %s, subject %r, message id %s",
            message["To"],
            message["Subject"],
            message["Message-ID"],
        )
        logger.debug("e-mail (console backend) in full\n%s", message.as_string())


def _write_file(folder: Path, name: str, content: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)


def backoff(settings: Settings, attempts: int) -> timedelta:
    seconds = settings.email_backoff_seconds * 2 ** max(0, attempts - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


LEASE_MARGIN = timedelta(seconds=30)
"""A claim lasts the SMTP conversation's whole timeout and this much more (the claim's and the
result's transactions); a worker that has not recorded a result by then is taken to have died."""

CLOCK_SLACK = timedelta(seconds=5)
"""An e-mail counts as due this much before its time: the queue runs a retry's job by the
database's clock, the claim judges by this host's; a host a little behind the database would
otherwise find the e-mail not yet due, and nothing would queue it again."""

WORKER_LOST = "no result: the worker sending the last attempt stopped"


def lease(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.smtp_timeout_seconds) + LEASE_MARGIN


@dataclass(frozen=True)
class _Claim:
    """What one send needs, read and rendered in the claim's transaction (no connection is
    held while the SMTP server is talked to)."""

    outbox_id: uuid.UUID
    claim_id: uuid.UUID
    attempt: int
    message: EmailMessage


async def _claim(database: Database, settings: Settings, outbox_id: uuid.UUID) -> _Claim | None:
    """Claim a due e-mail in a short transaction of its own, committed before the send: its
    `claim_id` set, its attempt counted and `available_at` moved to the end of the lease, and a
    watchdog job queued for then. The claiming UPDATE is conditional on the e-mail being due
    and unsent, so of two workers racing for it one gets it (the other's UPDATE waits for the
    row, then finds it no longer due). None when there is nothing to send (not due, someone
    else's, sent, or not to be sent: then marked so)."""
    from service.notifications.tasks import send

    now = utcnow()
    claim_id = uuid.uuid4()
    async with database.session() as session, session.begin():
        claimed = (
            await session.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == outbox_id,
                    col(OutboxMessage.delivered_at).is_(None),
                    col(OutboxMessage.topic).startswith("email."),
                    col(OutboxMessage.available_at) <= now + CLOCK_SLACK,
                    col(OutboxMessage.attempts) < settings.email_max_attempts,
                )
                .values(
                    claim_id=claim_id,
                    available_at=now + lease(settings),
                    attempts=col(OutboxMessage.attempts) + 1,
                    # a claim never settled: its worker died (or lost its lease) mid-send
                    last_error=case(
                        (col(OutboxMessage.claim_id).is_not(None), WORKER_LOST),
                        else_=col(OutboxMessage.last_error),
                    ),
                )
                .returning(col(OutboxMessage.attempts), col(OutboxMessage.payload))
                .execution_options(synchronize_session=False)
            )
        ).one_or_none()
        if claimed is None:
            # the last attempt's lease is over and its worker never settled it: no attempt is
            # left, so the e-mail is failed now (its claim released, the reason recorded)
            # rather than left claimed for ever with no error
            await session.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == outbox_id,
                    col(OutboxMessage.delivered_at).is_(None),
                    col(OutboxMessage.topic).startswith("email."),
                    col(OutboxMessage.available_at) <= now + CLOCK_SLACK,
                    col(OutboxMessage.attempts) >= settings.email_max_attempts,
                    col(OutboxMessage.claim_id).is_not(None),
                )
                .values(claim_id=None, last_error=WORKER_LOST)
                .execution_options(synchronize_session=False)
            )
            return None
        attempt, payload = claimed
        kind = NotificationKind(payload["kind"])
        user_id = uuid.UUID(payload["user_id"])
        user = await session.get(AppUser, user_id)
        turned_off = (
            await session.execute(
                select(col(NotificationPreference.enabled)).where(
                    col(NotificationPreference.user_id) == user_id,
                    col(NotificationPreference.kind) == kind.value,
                )
            )
        ).scalar_one_or_none() is False
        if user is None or not user.is_active or turned_off:
            await session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == outbox_id)
                .values(
                    delivered_at=now,
                    claim_id=None,
                    last_error="not sent: the recipient is inactive or turned this kind off",
                )
                .execution_options(synchronize_session=False)
            )
            return None
        lang = user.preferred_language.value
        subject, plain, html = render(kind, lang, user.full_name, payload["params"], settings)
        message = build_message(
            outbox_id, (user.full_name, user.email), subject, plain, html, settings
        )
        # the watchdog: should this worker die mid-send, the e-mail is sent again once the
        # lease is over (a job that finds it sent by then does nothing)
        await defer(session, send, outbox_id=str(outbox_id), schedule_at=now + lease(settings))
        return _Claim(outbox_id=outbox_id, claim_id=claim_id, attempt=attempt, message=message)


async def send_email(database: Database, settings: Settings, outbox_id: uuid.UUID) -> bool:
    """Send one e-mail of the outbox unless it was sent already (or is being sent, or is not
    due); True when sent now.

    Three steps, none holding a lock or a connection across the SMTP conversation: claim
    (committed), send, record the result."""
    claim = await _claim(database, settings, outbox_id)
    if claim is None:
        return False
    error: str | None = None
    try:
        async with asyncio.timeout(settings.smtp_timeout_seconds):  # so the lease outlasts it
            await deliver(claim.message, settings)
    except TimeoutError:
        error = f"no answer within {settings.smtp_timeout_seconds:g} s"
    except (aiosmtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]

    now = utcnow()
    async with database.session() as session, session.begin():
        if error is None:
            # sent: marked so even if the lease ran out meanwhile (a later claim's send may be
            # under way; marking it sent now keeps any further one from starting)
            await session.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == outbox_id,
                    col(OutboxMessage.delivered_at).is_(None),
                )
                .values(delivered_at=now, claim_id=None, last_error=None)
                .execution_options(synchronize_session=False)
            )
            return True
        logger.warning("e-mail %s not sent: %s", outbox_id, error)
        retry = claim.attempt < settings.email_max_attempts
        available_at = now + backoff(settings, claim.attempt) if retry else now
        recorded = (
            await session.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == outbox_id,
                    col(OutboxMessage.claim_id) == claim.claim_id,
                    col(OutboxMessage.delivered_at).is_(None),
                )
                .values(claim_id=None, last_error=error, available_at=available_at)
                .returning(col(OutboxMessage.id))
                .execution_options(synchronize_session=False)
            )
        ).one_or_none()
        if recorded is not None and retry:
            from service.notifications.tasks import send

            await defer(session, send, outbox_id=str(outbox_id), schedule_at=available_at)
        # else: the lease ran out and the e-mail was claimed again; it is that claim's to settle
        return False


async def deliver_pending(database: Database, settings: Settings, *, limit: int = 100) -> int:
    """Send every e-mail of the outbox that is due and not sent (a safety net beside the queue);
    returns how many were sent."""
    async with database.session() as session:
        due = list(
            (
                await session.execute(
                    select(col(OutboxMessage.id))
                    .where(
                        col(OutboxMessage.delivered_at).is_(None),
                        col(OutboxMessage.topic).startswith("email."),
                        col(OutboxMessage.available_at) <= utcnow(),
                        col(OutboxMessage.attempts) < settings.email_max_attempts,
                    )
                    .order_by(col(OutboxMessage.available_at))
                    .limit(limit)
                )
            ).scalars()
        )
    sent = 0
    for outbox_id in due:
        sent += await send_email(database, settings, outbox_id)
    return sent
