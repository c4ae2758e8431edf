"""Look-ups of calls and windows that other contexts need (proposals, reviews, selection,
decisions, documents): a call or window by id as the caller may see it, and whether a window is
open. Nothing here writes; the use cases of calls stay in ``service.calls.service``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import permissions as p
from contracts.enums import CallStatus
from service.context import RequestContext
from service.persistence.models import Call, CallWindow
from service.problems import NotFound


def window_is_open(window: CallWindow, now: datetime) -> bool:
    return window.status == CallStatus.PUBLISHED and window.opens_at <= now < window.closes_at


async def call_or_404(
    session: AsyncSession, ctx: RequestContext, call_id: uuid.UUID, *, lock: bool = False
) -> Call:
    """The call; a draft call only for those who see drafts (404 for the others)."""
    call = await session.get(Call, call_id, with_for_update=lock)
    if call is None or (call.status == CallStatus.DRAFT and not p.sees_draft_calls(ctx.actor)):
        raise NotFound(f"call {call_id} does not exist")
    return call


async def window_or_404(
    session: AsyncSession, ctx: RequestContext, window_id: uuid.UUID, *, lock: bool = False
) -> tuple[CallWindow, Call]:
    """The window and its call (404 when the call is a draft the caller does not see)."""
    window = await session.get(CallWindow, window_id, with_for_update=lock)
    if window is None:
        raise NotFound(f"window {window_id} does not exist")
    call = await call_or_404(session, ctx, window.call_id)
    return window, call
