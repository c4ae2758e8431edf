"""Use cases of funding sources."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from contracts import finance as c
from contracts import permissions as p
from service.changes import delete_audited, record_created, update_versioned
from service.context import RequestContext
from service.mapping import to_read
from service.pagination import keyset, split_page
from service.persistence.models import FundingSource
from service.problems import Conflict, NotFound


def _read(s: FundingSource) -> c.FundingSourceRead:
    return to_read(c.FundingSourceRead, s)


async def list_sources(
    session: AsyncSession, ctx: RequestContext, cursor: str | None, limit: int
) -> c.FundingSourcePage:
    ctx.require(p.can_read_funding_sources(ctx.actor))
    stmt = keyset(select(FundingSource), FundingSource.created_at, FundingSource.id, cursor, limit)
    rows = list((await session.execute(stmt)).scalars())
    rows, next_cursor = split_page(rows, limit, lambda s: (s.created_at, s.id))
    return c.FundingSourcePage(items=[_read(s) for s in rows], next_cursor=next_cursor)


async def _source_or_404(
    session: AsyncSession, source_id: uuid.UUID, *, lock: bool = False
) -> FundingSource:
    row = await session.get(FundingSource, source_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"funding source {source_id} does not exist")
    return row


async def get_source(
    session: AsyncSession, ctx: RequestContext, source_id: uuid.UUID
) -> c.FundingSourceRead:
    ctx.require(p.can_read_funding_sources(ctx.actor))
    return _read(await _source_or_404(session, source_id))


async def create_source(
    session: AsyncSession, ctx: RequestContext, body: c.FundingSourceCreate
) -> c.FundingSourceRead:
    ctx.require(p.can_manage_funding_sources(ctx.actor))
    taken = (
        await session.execute(select(FundingSource.id).where(FundingSource.code == body.code))
    ).first()
    if taken is not None:
        raise Conflict(f"a funding source with code {body.code} already exists")
    row = FundingSource(
        code=body.code,
        name=body.name,
        kind=body.kind,
        currency=body.currency,
        description=body.description,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await record_created(session, ctx, "funding_source", row)
    return _read(row)


async def update_source(
    session: AsyncSession, ctx: RequestContext, source_id: uuid.UUID, body: c.FundingSourceUpdate
) -> c.FundingSourceRead:
    ctx.require(p.can_manage_funding_sources(ctx.actor))
    row = await _source_or_404(session, source_id, lock=True)
    await update_versioned(session, ctx, row, body, entity="funding_source")
    return _read(row)


async def delete_source(session: AsyncSession, ctx: RequestContext, source_id: uuid.UUID) -> None:
    """Only a source nothing refers to can go; the database refuses the rest (409)."""
    ctx.require(p.can_manage_funding_sources(ctx.actor))
    row = await _source_or_404(session, source_id, lock=True)
    await delete_audited(session, ctx, "funding_source", row)
