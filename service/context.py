"""What a service needs to know about the request it serves: who acts, the request id, and the
operator's payment rules."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.permissions import ANONYMOUS, Actor, Decision
from service.problems import Forbidden, NotAuthenticated

if TYPE_CHECKING:
    from service.settings import Settings


@dataclass(frozen=True)
class PaymentPolicy:
    """The operator's payment rules (settings) as the awards use cases read them: from the request's
    context (`ctx.payments`). The API builds it once from its settings (`create_app`); the CLI,
    the demo and tests build contexts with theirs. The default is the settings' default."""

    second_confirmation_above: int = 50_000_000
    """A tranche above this amount (minor units) is paid only after a second finance officer
    confirmed it (`GRANTS_SECOND_CONFIRMATION_ABOVE`)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> PaymentPolicy:
        return cls(second_confirmation_above=settings.second_confirmation_above)

    def needs_confirmation(self, amount: int) -> bool:
        """Whether a tranche of `amount` needs the second confirmation before it is paid."""
        return amount > self.second_confirmation_above


@dataclass(frozen=True)
class RequestContext:
    actor: Actor
    request_id: str | None = None
    payments: PaymentPolicy = PaymentPolicy()

    @classmethod
    def system(cls, label: str = "system", request_id: str | None = None) -> RequestContext:
        """For the CLI and background work: no user, a named system actor."""
        return cls(actor=Actor(kind="system", label=label), request_id=request_id)

    def require(self, decision: Decision) -> None:
        """Raise 401 for nobody, 403 for somebody not allowed."""
        if decision.allowed or self.actor.kind == "system":
            return
        if self.actor.kind == "anonymous":
            raise NotAuthenticated(decision.reason)
        raise Forbidden(decision.reason)


class Clock:
    """The server clock. Services ask `utcnow()`; tests may `freeze()` it at an instant."""

    def __init__(self) -> None:
        self.frozen: datetime | None = None

    def now(self) -> datetime:
        return self.frozen if self.frozen is not None else datetime.now(UTC)

    @contextmanager
    def at(self, instant: datetime) -> Iterator[None]:
        """Act as if it were `instant` (demo data re-enacting the past; tests)."""
        previous = self.frozen
        self.frozen = instant
        try:
            yield
        finally:
            self.frozen = previous


clock = Clock()


def utcnow() -> datetime:
    """The server time, in UTC: every deadline is judged by this, never by the client."""
    return clock.now()


__all__ = ["ANONYMOUS", "PaymentPolicy", "RequestContext", "utcnow"]


# --- side effects outside the database: run only once the transaction's fate is known ----------

AFTER_COMMIT = "after_commit"
AFTER_ROLLBACK = "after_rollback"
_log = logging.getLogger("service.hooks")


def on_commit(session: AsyncSession, hook: Callable[[], None]) -> None:
    """Run `hook` after the request's transaction commits (e.g. delete a file whose row went)."""
    session.info.setdefault(AFTER_COMMIT, []).append(hook)


def on_rollback(session: AsyncSession, hook: Callable[[], None]) -> None:
    """Run `hook` if the transaction rolls back (e.g. remove a file stored for a row that was
    never written)."""
    session.info.setdefault(AFTER_ROLLBACK, []).append(hook)


def run_hooks(session: AsyncSession, kind: str) -> None:
    hooks: list[Callable[[], None]] = session.info.pop(kind, [])
    session.info.pop(AFTER_COMMIT if kind == AFTER_ROLLBACK else AFTER_ROLLBACK, None)
    for hook in hooks:
        try:
            hook()
        except Exception:  # a failed clean-up must not turn a done request into an error
            _log.exception("post-transaction hook failed")
