"""What a service needs to know about the request it serves: who acts, and the request id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from contracts.permissions import ANONYMOUS, Actor, Decision
from service.problems import Forbidden, NotAuthenticated


@dataclass(frozen=True)
class RequestContext:
    actor: Actor
    request_id: str | None = None

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


clock = Clock()


def utcnow() -> datetime:
    """The server time, in UTC: every deadline is judged by this, never by the client."""
    return clock.now()


__all__ = ["ANONYMOUS", "RequestContext", "utcnow"]
