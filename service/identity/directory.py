"""The directory of organisations: names, kinds and territories, for choosing partners."""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import identity as c
from contracts import permissions as p
from contracts.enums import OrganisationKind
from service.context import RequestContext
from service.persistence.models import Organisation


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_directory(
    session: AsyncSession,
    ctx: RequestContext,
    territory_ids: list[uuid.UUID],
    q: str | None,
    limit: int,
) -> c.OrganisationDirectory:
    ctx.require(p.can_read_organisation_directory(ctx.actor))
    stmt = select(
        col(Organisation.id),
        col(Organisation.name),
        col(Organisation.kind),
        col(Organisation.territory_id),
    )
    if territory_ids:
        stmt = stmt.where(col(Organisation.territory_id).in_(territory_ids))
    if q and q.strip():
        pattern = f"%{_like_escaped(q.strip().lower())}%"
        stmt = stmt.where(func.lower(col(Organisation.name)).like(pattern, escape="\\"))
    stmt = stmt.order_by(func.lower(col(Organisation.name)), col(Organisation.id)).limit(limit)
    rows = (await session.execute(stmt)).all()
    return c.OrganisationDirectory(
        items=[
            c.OrganisationBrief(id=i, name=n, kind=OrganisationKind(k), territory_id=t)
            for i, n, k, t in rows
        ]
    )
