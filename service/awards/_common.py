"""Small helpers shared by the awards modules (package-private)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.persistence.models import AppUser
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
