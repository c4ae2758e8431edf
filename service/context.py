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


def utcnow() -> datetime:
    """The server clock, in UTC. Services take time from here so tests can freeze it."""
    return datetime.now(UTC)


__all__ = ["ANONYMOUS", "RequestContext", "utcnow"]
