"""HTTP routes of calls, windows and the eligibility check."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, patch, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from contracts import calls as c
from service.calls import service
from service.dependencies import Ctx, Session
from service.openapi import USER, problems
from service.pagination import CursorQ, LimitQ


class CallController(Controller):
    path = "/calls"
    tags = ["calls"]

    @get("/", operation_id="ListCalls", responses=problems())
    async def list_calls(
        self,
        session: Session,
        ctx: Ctx,
        status: Annotated[c.CallFilter | None, QueryParameter()] = None,
        cursor: CursorQ = None,
        limit: LimitQ = 50,
    ) -> c.CallPage:
        """Published calls are public; `status=open` lists those with a window open now."""
        return await service.list_calls(session, ctx, status, cursor, limit)

    @post("/", operation_id="CreateCall", responses=problems(401, 403), security=USER)
    async def create_call(
        self, data: JSONBody[c.CallCreate], session: Session, ctx: Ctx
    ) -> c.CallRead:
        return await service.create_call(session, ctx, data)

    @get("/{call_id:uuid}", operation_id="GetCall", responses=problems(404))
    async def get_call(
        self, call_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.CallRead:
        return await service.get_call(session, ctx, call_id)

    @patch(
        "/{call_id:uuid}",
        operation_id="UpdateCall",
        responses=problems(401, 403, 404, 409),
        security=USER,
    )
    async def update_call(
        self, call_id: FromPath[uuid.UUID], data: JSONBody[c.CallUpdate], session: Session, ctx: Ctx
    ) -> c.CallRead:
        return await service.update_call(session, ctx, call_id, data)

    @post(
        "/{call_id:uuid}/transitions",
        operation_id="CreateCallTransition",
        responses=problems(401, 403, 404, 409),
        security=USER,
    )
    async def create_call_transition(
        self,
        call_id: FromPath[uuid.UUID],
        data: JSONBody[c.CallTransition],
        session: Session,
        ctx: Ctx,
    ) -> c.CallRead:
        """Publish, close or archive a call (and its windows)."""
        return await service.transition_call(session, ctx, call_id, data)

    @post(
        "/{call_id:uuid}/windows",
        operation_id="CreateWindow",
        responses=problems(401, 403, 404, 409),
        security=USER,
    )
    async def create_window(
        self,
        call_id: FromPath[uuid.UUID],
        data: JSONBody[c.WindowCreate],
        session: Session,
        ctx: Ctx,
    ) -> c.WindowRead:
        return await service.create_window(session, ctx, call_id, data)


class WindowController(Controller):
    path = "/windows"
    tags = ["calls"]

    @get("/{window_id:uuid}", operation_id="GetWindow", responses=problems(404))
    async def get_window(
        self, window_id: FromPath[uuid.UUID], session: Session, ctx: Ctx
    ) -> c.WindowRead:
        return await service.get_window(session, ctx, window_id)

    @patch(
        "/{window_id:uuid}",
        operation_id="UpdateWindow",
        responses=problems(401, 403, 404, 409),
        security=USER,
    )
    async def update_window(
        self,
        window_id: FromPath[uuid.UUID],
        data: JSONBody[c.WindowUpdate],
        session: Session,
        ctx: Ctx,
    ) -> c.WindowRead:
        return await service.update_window(session, ctx, window_id, data)

    @put(
        "/{window_id:uuid}/rules",
        operation_id="UpdateWindowRules",
        responses=problems(401, 403, 404, 409),
        security=USER,
    )
    async def update_window_rules(
        self,
        window_id: FromPath[uuid.UUID],
        data: JSONBody[c.RulesReplace],
        session: Session,
        ctx: Ctx,
    ) -> c.WindowRead:
        """A new version of the eligibility rules (refused once proposals were submitted)."""
        return await service.replace_rules(session, ctx, window_id, data)
