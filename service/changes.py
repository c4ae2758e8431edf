"""The one way services change rows: partial updates with optimistic locking, each change audited.

Every later service uses these, so that "a stale version is 409", "a change bumps the version" and
"every change leaves an audit event with before and after" hold everywhere by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from contracts.enums import ProposalStatus
from contracts.lifecycles import PROPOSAL_TRANSITIONS, allowed_next, can_move
from service.audit.service import record, snapshot
from service.context import RequestContext, utcnow
from service.problems import IllegalTransition, StaleVersion


def apply_update(row: Any, update: msgspec.Struct, *, skip: tuple[str, ...] = ("version",)) -> bool:
    """Copy the fields the client sent (not UNSET) onto the row; True when anything changed."""
    changed = False
    for name in update.__struct_fields__:
        if name in skip:
            continue
        value = getattr(update, name)
        if value is msgspec.UNSET:
            continue
        if isinstance(value, msgspec.Struct | list | dict):
            value = msgspec.to_builtins(value)  # JSON columns take plain data
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def check_version(row: Any, body: Any) -> None:
    """409 with the current version when the client edited an older one."""
    if body.version != row.version:
        raise StaleVersion(row.version)


async def update_versioned(
    session: AsyncSession,
    ctx: RequestContext,
    row: Any,
    body: msgspec.Struct,
    *,
    entity: str,
    validate: Callable[[Any], None] | None = None,
) -> bool:
    """Apply a versioned partial update: check the version, copy the sent fields, validate the
    result, bump the version (and `updated_at`), flush, audit before → after. False when the
    request changed nothing (then nothing is written, not even an event)."""
    check_version(row, body)
    before = snapshot(row)
    if not apply_update(row, body):
        return False
    if validate is not None:
        validate(row)
    row.version += 1
    if hasattr(row, "updated_at"):
        row.updated_at = utcnow()
    await session.flush()
    await record(
        session,
        ctx,
        action=f"{entity}.updated",
        entity=entity,
        entity_id=row.id,
        before=before,
        after=snapshot(row),
    )
    return True


async def record_created(
    session: AsyncSession,
    ctx: RequestContext,
    entity: str,
    row: SQLModel,
    *,
    extra: dict[str, Any] | None = None,
) -> None:
    await record(
        session,
        ctx,
        action=f"{entity}.created",
        entity=entity,
        entity_id=getattr(row, "id"),  # noqa: B009  (every audited row has an id)
        after={**(snapshot(row) or {}), **(extra or {})},
    )


async def delete_audited(
    session: AsyncSession, ctx: RequestContext, entity: str, row: SQLModel
) -> None:
    """Delete the row and record what it was."""
    before = snapshot(row)
    row_id = getattr(row, "id")  # noqa: B009  (every audited row has an id)
    await session.delete(row)
    await session.flush()
    await record(
        session, ctx, action=f"{entity}.deleted", entity=entity, entity_id=row_id, before=before
    )


def move_proposal(row: Any, target: ProposalStatus) -> None:
    """Move a proposal along its lifecycle table; anything else is 409 naming the allowed."""
    if not can_move(PROPOSAL_TRANSITIONS, row.status, target):
        raise IllegalTransition(
            f"a {row.status} proposal cannot become {target}",
            allowed=[s.value for s in allowed_next(PROPOSAL_TRANSITIONS, row.status)],
        )
    row.status = target
