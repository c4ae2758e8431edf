"""Small helpers shared by the awards modules (package-private)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.enums import TrancheStatus
from service.persistence.models import AppUser, Tranche
from service.problems import InvalidInput, issue


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[issue(field, message)])


def _rate_str(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


async def _names(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The full names of the staff who approved, confirmed or paid (one query)."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(col(AppUser.id), col(AppUser.full_name)).where(col(AppUser.id).in_(wanted))
    )
    return {uid: name for uid, name in rows.all()}


async def grant_tranches(
    session: AsyncSession,
    grant_id: uuid.UUID,
    *,
    status: TrancheStatus | None = None,
    lock: bool = False,
) -> list[Tranche]:
    """The grant's tranches in order (by position); only those in `status` when given, locked
    (`FOR UPDATE`, in that order: see the lock order in service.awards) when `lock`."""
    query = select(Tranche).where(col(Tranche.grant_id) == grant_id)
    if status is not None:
        query = query.where(col(Tranche.status) == status)
    query = query.order_by(col(Tranche.position))
    if lock:
        query = query.with_for_update()
    return list((await session.execute(query)).scalars())
