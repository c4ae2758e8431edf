"""Request-scoped dependencies: one session (one transaction, one commit) and the context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.permissions import Actor
from service.context import AFTER_COMMIT, AFTER_ROLLBACK, RequestContext, run_hooks
from service.identity.authn import authenticate
from service.persistence.database import Database
from service.settings import Settings

Session = NamedDependency[AsyncSession]
"""The request's session (one transaction)."""
Ctx = NamedDependency[RequestContext]
"""Who acts, and the request id."""
AppSettings = NamedDependency[Settings]


async def provide_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed once after the handler returns, rolled back when it
    raises. Services flush but never commit.

    The caller is authenticated here, inside the generator, so that a 401 still closes the
    session and gives its connection back (Litestar does not clean up a generator dependency
    whose dependants fail to resolve)."""
    db: Database = state.db
    async with db.sessionmaker() as session:
        try:
            request.state.actor = await authenticate(
                session,
                request.headers.get("authorization"),
                request.headers.get("x-api-key"),
            )
            yield session
        except BaseException:
            await session.rollback()
            run_hooks(session, AFTER_ROLLBACK)
            raise
        else:
            await session.commit()
            run_hooks(session, AFTER_COMMIT)


async def provide_context(request: Request[Any, Any, Any], session: Session) -> RequestContext:
    """Who acts (authenticated with the session) and the request id."""
    actor: Actor = request.state.actor
    rid = request.scope.get("state", {}).get("request_id")
    return RequestContext(actor=actor, request_id=rid if isinstance(rid, str) else None)
