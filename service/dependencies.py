"""Request-scoped dependencies: one session (one transaction, one commit) and the context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.permissions import ANONYMOUS, Actor
from service.context import AFTER_COMMIT, AFTER_ROLLBACK, RequestContext, run_hooks
from service.identity.authn import ACTOR_STATE, SESSION_STATE
from service.persistence.database import Database, is_read_only
from service.problems import ProblemError
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

    The caller was authenticated by `AuthenticationMiddleware` before the handler's arguments
    were resolved; when it used the database for that, the request goes on in the same session
    (the middleware closes it after the response)."""
    shared: AsyncSession | None = request.scope.get("state", {}).get(SESSION_STATE)
    if shared is not None and is_read_only(request.route_handler):
        # every statement of a READ_ONLY operation commits on its own: no unit of work to end
        yield shared
        return
    if shared is not None:
        async with _unit_of_work(shared):
            yield shared
        return
    db: Database = state.db
    async with db.sessionmaker_for(request.route_handler)() as session, _unit_of_work(session):
        yield session


@asynccontextmanager
async def _unit_of_work(session: AsyncSession) -> AsyncIterator[None]:
    try:
        yield
    except ProblemError as exc:
        if exc.keep_changes:  # a refusal that must be remembered (a failed sign-in)
            await session.commit()
            run_hooks(session, AFTER_COMMIT)
        else:
            await session.rollback()
            run_hooks(session, AFTER_ROLLBACK)
        raise
    except BaseException:
        await session.rollback()
        run_hooks(session, AFTER_ROLLBACK)
        raise
    else:
        await session.commit()
        run_hooks(session, AFTER_COMMIT)


async def provide_context(
    state: State, request: Request[Any, Any, Any], session: Session
) -> RequestContext:
    """Who acts (authenticated with the session), the request id and the payment rules (built
    once from the settings by `create_app`)."""
    actor: Actor = request.scope.get("state", {}).get(ACTOR_STATE, ANONYMOUS)
    rid = request.scope.get("state", {}).get("request_id")
    return RequestContext(
        actor=actor, request_id=rid if isinstance(rid, str) else None, payments=state.payments
    )
