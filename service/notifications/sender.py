"""Rendering and sending one e-mail of the outbox: never by two workers at once, never again
once marked sent — at least once, not exactly once.

The outbox row is locked (`FOR UPDATE SKIP LOCKED`) while it is sent and marked delivered in the
same transaction, so two workers never send it both, and a delivered one is never sent again.
Its `Message-ID` is made from the outbox id: were a worker to die between the SMTP server's
acceptance and the commit, the row stays unsent and is sent once more, with the same
Message-ID, by which mail systems and clients drop the duplicate (exactly once is not possible
across SMTP and the database). A failure is retried with exponential back-off, up to
`email_max_attempts`."""

from __future__ import annotations

import asyncio
import logging
import uuid
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
from sqlalchemy import select
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
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            start_tls=settings.smtp_starttls and not settings.smtp_tls,
            use_tls=settings.smtp_tls,
            timeout=settings.smtp_timeout_seconds,
        )
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


async def send_email(database: Database, settings: Settings, outbox_id: uuid.UUID) -> bool:
    """Send one e-mail of the outbox unless it was sent already; True when sent now."""
    async with database.session() as session, session.begin():
        row = (
            await session.execute(
                select(OutboxMessage)
                .where(col(OutboxMessage.id) == outbox_id)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if row is None or row.delivered_at is not None or not row.topic.startswith("email."):
            return False
        now = utcnow()
        kind = NotificationKind(row.payload["kind"])
        user = await session.get(AppUser, uuid.UUID(row.payload["user_id"]))
        turned_off = (
            await session.execute(
                select(col(NotificationPreference.enabled)).where(
                    col(NotificationPreference.user_id) == uuid.UUID(row.payload["user_id"]),
                    col(NotificationPreference.kind) == kind.value,
                )
            )
        ).scalar_one_or_none() is False
        if user is None or not user.is_active or turned_off:
            row.delivered_at = now
            row.last_error = "not sent: the recipient is inactive or turned this kind off"
            return False
        lang = user.preferred_language.value
        subject, plain, html = render(kind, lang, user.full_name, row.payload["params"], settings)
        message = build_message(
            row.id, (user.full_name, user.email), subject, plain, html, settings
        )
        try:
            await deliver(message, settings)
        except (aiosmtplib.SMTPException, OSError) as exc:
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            if row.attempts < settings.email_max_attempts:
                row.available_at = now + backoff(settings, row.attempts)
                from service.notifications.tasks import send

                await defer(session, send, outbox_id=str(row.id), schedule_at=row.available_at)
            logger.warning("e-mail %s not sent: %s", row.id, row.last_error)
            return False
        row.attempts += 1
        row.delivered_at = now
        row.last_error = None
        return True


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
